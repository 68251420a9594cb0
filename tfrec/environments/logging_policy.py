"""Logged data with known propensities: a biased behaviour policy rolled out on a simulator.

Two behaviour policies ``beta``; each shows a slate of ``k`` items sampled i.i.d. from ``beta``
(the behaviour model Chen et al. 2019, §4.3, assume) and reports ``beta`` of every slate item in
``PolicyStep.info["slate_propensity"]`` (float64 ``[B, k]``):

* :class:`PopularitySoftmaxPolicy` — a softmax over item popularity with a temperature,
  ``beta(j) = pop_j^(1/tau) / sum_i pop_i^(1/tau)`` (``tau -> 0``: always the chart's top item;
  ``tau -> inf``: uniform). It ignores the user: ``beta(j | state) = beta(j)``.
* :class:`PersonalizedSoftmaxPolicy` — a personalised but biased production recommender,
  ``beta(j | u) ∝ exp(a * s_j(u) + b * log pop_j)``, where ``s_j(u)`` is the simulator's true
  click logit of item ``j`` for user ``u`` now (appeal + interest match - satiation): a perfectly
  calibrated click-through model, tilted toward the chart. It favours what gets clicked, i.e.
  high-appeal clickbait, not what is worth the user's time (quality).

The log records ``beta`` of the consumed item as its propensity, which is what the off-policy
corrections and estimators need. Because the simulator's truth is known, the behaviour policy's
true value (mean return over the logged episodes) comes with the log.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import pandas as pd
from tf_agents.policies import py_policy
from tf_agents.specs import array_spec
from tf_agents.trajectories import policy_step
from tf_agents.trajectories import time_step as ts

from tfrec.environments.episodes import run_episodes
from tfrec.specs import FIRST_ITEM_INDEX, NUM_RESERVED


def slate_propensity_spec(action_spec: Any) -> dict[str, array_spec.ArraySpec]:
    """The ``info_spec`` of the logging policies: ``{"slate_propensity": float64 [k]}``.

    Args:
      action_spec: the slate action spec (shape ``[k]``).

    Returns:
      The info spec (unbatched, as TF-Agents specs are).
    """
    return {"slate_propensity": array_spec.ArraySpec(tuple(action_spec.shape), np.float64)}


class PopularitySoftmaxPolicy(py_policy.PyPolicy):
    """Slates of ``k`` items sampled i.i.d. from a tempered softmax over popularity.

    Args:
      time_step_spec: the environment's ``time_step_spec()``.
      action_spec: the environment's slate ``action_spec()``.
      popularity: float ``[num_items]`` positive popularity of catalog row ``j`` (item index
        ``j + 2``).
      temperature: ``tau > 0``.
      seed: seed of the sampler.
    """

    def __init__(
        self,
        time_step_spec: ts.TimeStep,
        action_spec: Any,
        popularity: np.ndarray,
        temperature: float = 1.0,
        seed: int | None = 0,
    ):
        super().__init__(time_step_spec, action_spec, info_spec=slate_propensity_spec(action_spec))
        num_items = int(action_spec.maximum) + 1 - NUM_RESERVED
        popularity = _check_popularity(popularity, num_items)
        if not temperature > 0:
            raise ValueError(f"temperature must be > 0, got {temperature}.")
        logits = np.log(popularity) / temperature
        p = np.exp(logits - logits.max())
        self.probabilities = p / p.sum()  # float64 [num_items]
        self.temperature = float(temperature)
        self._cumulative = np.cumsum(self.probabilities)
        self._k = int(action_spec.shape[0])
        self._rng = np.random.default_rng(seed)

    def item_propensity(self, items: np.ndarray) -> np.ndarray:
        """``beta(item)`` of item indices (any shape, values ``>= 2``)."""
        return self.probabilities[np.asarray(items) - FIRST_ITEM_INDEX]

    def _action(self, time_step: ts.TimeStep, policy_state: Any) -> policy_step.PolicyStep:
        observation = np.asarray(time_step.observation)
        outer = observation.shape[:-1]
        u = self._rng.random((*outer, self._k)) * self._cumulative[-1]
        rows = np.minimum(
            np.searchsorted(self._cumulative, u, side="right"), len(self._cumulative) - 1
        )
        info = {"slate_propensity": self.probabilities[rows]}
        return policy_step.PolicyStep(
            (rows + FIRST_ITEM_INDEX).astype(np.int32), policy_state, info
        )


def personalized_probabilities(
    click_logits: np.ndarray,
    log_popularity: np.ndarray,
    interest_weight: float,
    popularity_weight: float,
) -> np.ndarray:
    """``beta(j | u) = softmax_j(a * s_j(u) + b * log pop_j)``.

    Args:
      click_logits: float ``[B, N]`` click logits ``s_j(u)`` of every item for each user.
      log_popularity: float ``[N]`` log popularity of each item.
      interest_weight: ``a``.
      popularity_weight: ``b``.

    Returns:
      float64 ``[B, N]``, rows summing to 1.
    """
    logits = (
        interest_weight * np.asarray(click_logits, np.float64)
        + popularity_weight * (np.asarray(log_popularity, np.float64)[None, :])
    )
    logits -= logits.max(axis=1, keepdims=True)
    p = np.exp(logits)
    return p / p.sum(axis=1, keepdims=True)


class PersonalizedSoftmaxPolicy(py_policy.PyPolicy):
    """Slates of ``k`` items sampled i.i.d. from ``softmax(a * s(u) + b * log pop)`` per user.

    A personalised but biased behaviour policy: ``s_j(u)`` are the simulator's true click logits
    of the current users (``env.click_logits()``, so the policy is a perfectly calibrated
    click model), ``b * log pop_j`` tilts it toward the chart. It reads the environment's
    *current* users, like the oracle policies of :mod:`tfrec.policies.reference`, so it must be
    called on that environment's latest batched time step.

    Args:
      env: the batched simulator it recommends in (needs ``click_logits() -> [B, N]``).
      popularity: float ``[num_items]`` positive popularity (catalog row ``j`` = item ``j + 2``).
      interest_weight: ``a >= 0``, weight of the user's click logits.
      popularity_weight: ``b >= 0``, weight of the log popularity.
      seed: seed of the sampler.
    """

    def __init__(
        self,
        env: Any,
        popularity: np.ndarray,
        interest_weight: float = 1.0,
        popularity_weight: float = 1.0,
        seed: int | None = 0,
    ):
        super().__init__(
            env.time_step_spec(),
            env.action_spec(),
            info_spec=slate_propensity_spec(env.action_spec()),
        )
        if not hasattr(env, "click_logits"):
            raise ValueError(
                f"{type(env).__name__} has no click_logits(); PersonalizedSoftmaxPolicy needs a "
                "simulator that exposes its users' true click logits (e.g. InterestEvolutionEnv)."
            )
        self.log_popularity = np.log(_check_popularity(popularity, env.num_items))
        if interest_weight < 0 or popularity_weight < 0:
            raise ValueError(
                f"interest_weight and popularity_weight must be >= 0, got {interest_weight}, "
                f"{popularity_weight}."
            )
        self.env = env
        self.interest_weight = float(interest_weight)
        self.popularity_weight = float(popularity_weight)
        self._k = int(env.action_spec().shape[0])
        self._rng = np.random.default_rng(seed)

    def probabilities(self) -> np.ndarray:
        """``beta(j | u)`` of every item for the environment's current users: float64 ``[B, N]``."""
        return personalized_probabilities(
            self.env.click_logits(),
            self.log_popularity,
            self.interest_weight,
            self.popularity_weight,
        )

    def _action(self, time_step: ts.TimeStep, policy_state: Any) -> policy_step.PolicyStep:
        observation = np.asarray(time_step.observation)
        if observation.ndim != 2 or observation.shape[0] != self.env.batch_size:
            raise ValueError(
                "PersonalizedSoftmaxPolicy reads the simulator's current users, so it needs that "
                f"environment's batched time step [batch_size={self.env.batch_size}, max_len]; "
                f"got observation shape {list(observation.shape)}."
            )
        probs = self.probabilities()  # [B, N]
        cumulative = np.cumsum(probs, axis=1)
        u = self._rng.random((probs.shape[0], self._k)) * cumulative[:, -1:]
        # Inverse-CDF sampling per user: the number of cumulative masses <= u (a binary search
        # per user row; no [B, k, N] comparison tensor).
        rows = np.stack(
            [np.searchsorted(row, draws, side="right") for row, draws in zip(cumulative, u)]
        )
        rows = np.minimum(rows, probs.shape[1] - 1)
        info = {"slate_propensity": np.take_along_axis(probs, rows, axis=1)}
        return policy_step.PolicyStep(
            (rows + FIRST_ITEM_INDEX).astype(np.int32), policy_state, info
        )


def _check_popularity(popularity: np.ndarray, num_items: int) -> np.ndarray:
    popularity = np.asarray(popularity, dtype=np.float64)
    if popularity.shape != (num_items,):
        raise ValueError(
            f"popularity must have shape [num_items={num_items}], got {list(popularity.shape)}."
        )
    if not np.all(np.isfinite(popularity)) or np.any(popularity <= 0):
        raise ValueError(
            "popularity must be finite and > 0 for every item (add a small count to unseen "
            "items, e.g. counts + 1)."
        )
    return popularity


@dataclasses.dataclass(frozen=True, eq=False)
class LoggedData:
    """A simulated log and the truth about the policy that produced it.

    Attributes:
      log: the :class:`tfrec.data.InteractionLog` (user = ``episode_<id>``, item = ``item_<j>``,
        timestamp = step, reward, propensity = ``beta(item)``; with impressions also
        ``position``, ``clicked``).
      behavior_probabilities: float64 ``[num_items]`` ``beta`` over catalog rows when the
        behaviour ignores the user (:class:`PopularitySoftmaxPolicy`), else None.
      episode_returns: float64 ``[num_episodes]`` true returns of the logged episodes.
      true_value: mean of ``episode_returns``: the behaviour policy's value.
      true_value_stderr: its standard error.
      num_slates: slates shown (environment steps taken by the logged episodes).
    """

    log: Any
    behavior_probabilities: np.ndarray | None
    episode_returns: np.ndarray
    true_value: float
    true_value_stderr: float
    num_slates: int


def generate_logged_data(
    env: Any,
    num_episodes: int,
    *,
    temperature: float = 1.0,
    popularity: np.ndarray | None = None,
    impressions: bool = False,
    seed: int = 0,
    policy: PopularitySoftmaxPolicy | PersonalizedSoftmaxPolicy | None = None,
) -> LoggedData:
    """Rolls out a behaviour policy on ``env`` and returns the log.

    Args:
      env: a batched tfrec environment (re-seeded with ``seed`` and reset).
      num_episodes: episodes to log (each becomes one user, ``episode_<id>``).
      temperature: behaviour softmax temperature (default behaviour only).
      popularity: float ``[num_items]`` positive popularity; default ``env.item_popularity()``
        (default behaviour only).
      impressions: False: one row per click; True: one row per shown slate item (columns
        ``position``, ``clicked``; ``reward`` is nonzero only on the clicked row).
      seed: seed of the environment and of the default behaviour policy.
      policy: the behaviour policy; default :class:`PopularitySoftmaxPolicy` (``popularity``,
        ``temperature``, ``seed``). Any policy whose ``PolicyStep.info["slate_propensity"]``
        holds ``beta`` of each slate item (float ``[B, k]``) works; a
        :class:`PersonalizedSoftmaxPolicy` must have been built on ``env``.

    Returns:
      A :class:`LoggedData`.

    Raises:
      ValueError: no popularity given and the environment has no ``item_popularity``;
        ``temperature`` / ``popularity`` given together with ``policy``; or the rollout produced
        no click (no log to return).
    """
    from tfrec.data import InteractionLog  # local: tfrec.data loads pandas machinery

    if policy is None:
        if popularity is None:
            if not hasattr(env, "item_popularity"):
                raise ValueError(
                    f"{type(env).__name__} has no item_popularity(); pass popularity=[num_items]."
                )
            popularity = env.item_popularity()
        policy = PopularitySoftmaxPolicy(
            env.time_step_spec(), env.action_spec(), popularity, temperature, seed=seed
        )
    elif popularity is not None or temperature != 1.0:
        raise ValueError(
            "temperature / popularity configure the default behaviour policy; with policy= they "
            "would be ignored: set them on the policy instead."
        )
    elif getattr(policy, "env", env) is not env:
        raise ValueError(
            f"{type(policy).__name__} reads the users of the environment it was built on; build "
            "it on the environment passed to generate_logged_data."
        )
    returns = np.zeros(num_episodes)
    frames: list[dict[str, np.ndarray]] = []
    num_slates = 0
    for batch in run_episodes(env, policy, num_episodes, seed=seed):
        np.add.at(returns, batch.episode, batch.reward)
        n, k = batch.action.shape
        if "slate_propensity" not in batch.policy_info:
            raise ValueError(
                f"{type(policy).__name__} does not report info['slate_propensity'] [B, k]; the "
                "log needs the behaviour's propensity of every shown item."
            )
        slate_propensity = batch.policy_info["slate_propensity"]
        num_slates += n
        if impressions:
            position = np.tile(np.arange(k, dtype=np.int32), n)
            clicked = position == np.repeat(batch.click_position, k)
            frames.append(
                {
                    "episode": np.repeat(batch.episode, k),
                    "step": np.repeat(batch.step, k),
                    "item": batch.action.ravel(),
                    "position": position,
                    "clicked": clicked,
                    "reward": np.where(clicked, np.repeat(batch.reward, k), 0.0),
                    "propensity": slate_propensity.ravel(),
                }
            )
        else:
            click = batch.click_position >= 0
            frames.append(
                {
                    "episode": batch.episode[click],
                    "step": batch.step[click],
                    "item": batch.clicked_item[click],
                    "reward": batch.reward[click].astype(np.float64),
                    "propensity": slate_propensity[click, batch.click_position[click]],
                }
            )
    columns = {key: np.concatenate([f[key] for f in frames]) for key in frames[0]}
    if columns["item"].size == 0:
        raise ValueError(
            f"the behaviour policy got no click in {num_episodes} episodes; log more episodes "
            "or lower the simulator's no-click logit."
        )
    df = pd.DataFrame(
        {
            "user": pd.Series(columns.pop("episode")).map("episode_{}".format),
            "item": pd.Series(columns["item"] - FIRST_ITEM_INDEX).map("item_{}".format),
            "timestamp": columns.pop("step").astype(np.int64),
            "reward": columns.pop("reward").astype(np.float32),
            "propensity": columns.pop("propensity").astype(np.float32),
            **{key: value for key, value in columns.items() if key != "item"},
        }
    )
    log = InteractionLog.from_dataframe(df, source="generate_logged_data")
    stderr = float(returns.std(ddof=1) / math.sqrt(num_episodes)) if num_episodes > 1 else math.nan
    return LoggedData(
        log=log,
        behavior_probabilities=(
            policy.probabilities if isinstance(policy, PopularitySoftmaxPolicy) else None
        ),
        episode_returns=returns,
        true_value=float(returns.mean()),
        true_value_stderr=stderr,
        num_slates=num_slates,
    )
