"""Logged data with known propensities: a biased behaviour policy rolled out on a simulator.

The behaviour policy ``beta`` is a softmax over item popularity with a temperature,
``beta(j) = pop_j^(1/tau) / sum_i pop_i^(1/tau)`` (``tau -> 0``: always the chart's top item;
``tau -> inf``: uniform), and a slate is ``k`` items sampled i.i.d. from ``beta`` (the
behaviour model Chen et al. 2019, §4.3, assume). It ignores the user, so
``beta(j | state) = beta(j)``; the log records it as the propensity of the consumed item, which is
what the off-policy corrections and estimators need. Because the simulator's truth is known, the
behaviour policy's true value (mean return over the logged episodes) comes with the log.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import pandas as pd
from tf_agents.policies import py_policy
from tf_agents.trajectories import policy_step
from tf_agents.trajectories import time_step as ts

from tfrec.environments.episodes import run_episodes
from tfrec.specs import FIRST_ITEM_INDEX, NUM_RESERVED


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
        super().__init__(time_step_spec, action_spec)
        num_items = int(action_spec.maximum) + 1 - NUM_RESERVED
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
        return policy_step.PolicyStep((rows + FIRST_ITEM_INDEX).astype(np.int32), policy_state, ())


@dataclasses.dataclass(frozen=True, eq=False)
class LoggedData:
    """A simulated log and the truth about the policy that produced it.

    Attributes:
      log: the :class:`tfrec.data.InteractionLog` (user = ``episode_<id>``, item = ``item_<j>``,
        timestamp = step, reward, propensity = ``beta(item)``; with impressions also
        ``position``, ``clicked``).
      behavior_probabilities: float64 ``[num_items]`` ``beta`` over catalog rows.
      episode_returns: float64 ``[num_episodes]`` true returns of the logged episodes.
      true_value: mean of ``episode_returns``: the behaviour policy's value.
      true_value_stderr: its standard error.
      num_slates: slates shown (environment steps taken by the logged episodes).
    """

    log: Any
    behavior_probabilities: np.ndarray
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
) -> LoggedData:
    """Rolls out :class:`PopularitySoftmaxPolicy` on ``env`` and returns the log.

    Args:
      env: a batched tfrec environment (re-seeded with ``seed`` and reset).
      num_episodes: episodes to log (each becomes one user, ``episode_<id>``).
      temperature: behaviour softmax temperature.
      popularity: float ``[num_items]`` positive popularity; default ``env.item_popularity()``.
      impressions: False: one row per click; True: one row per shown slate item (columns
        ``position``, ``clicked``; ``reward`` is nonzero only on the clicked row).
      seed: seed of the environment and the behaviour policy.

    Returns:
      A :class:`LoggedData`.

    Raises:
      ValueError: no popularity given and the environment has no ``item_popularity``, or the
        rollout produced no click (no log to return).
    """
    from tfrec.data import InteractionLog  # local: tfrec.data loads pandas machinery

    if popularity is None:
        if not hasattr(env, "item_popularity"):
            raise ValueError(
                f"{type(env).__name__} has no item_popularity(); pass popularity=[num_items]."
            )
        popularity = env.item_popularity()
    policy = PopularitySoftmaxPolicy(
        env.time_step_spec(), env.action_spec(), popularity, temperature, seed=seed
    )
    returns = np.zeros(num_episodes)
    frames: list[dict[str, np.ndarray]] = []
    num_slates = 0
    for batch in run_episodes(env, policy, num_episodes, seed=seed):
        np.add.at(returns, batch.episode, batch.reward)
        n, k = batch.action.shape
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
            "propensity": policy.item_propensity(columns.pop("item")).astype(np.float32),
            **columns,
        }
    )
    log = InteractionLog.from_dataframe(df, source="generate_logged_data")
    stderr = float(returns.std(ddof=1) / math.sqrt(num_episodes)) if num_episodes > 1 else math.nan
    return LoggedData(
        log=log,
        behavior_probabilities=policy.probabilities,
        episode_returns=returns,
        true_value=float(returns.mean()),
        true_value_stderr=stderr,
        num_slates=num_slates,
    )
