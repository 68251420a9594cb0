"""Simulated logs: a behaviour policy of :mod:`tfrec.policies.behavior` rolled out on a
simulator, recorded as a click log or an impression log, with the behaviour's true value.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import pandas as pd

from tfrec.data import ImpressionLog, InteractionLog
from tfrec.data.impressions import POSITION_PROPENSITY
from tfrec.environments.episodes import run_episodes
from tfrec.policies.behavior import (
    EpsilonPopularityPolicy,
    PersonalizedSoftmaxPolicy,
    PopularitySoftmaxPolicy,
)
from tfrec.specs import (
    FIRST_ITEM_INDEX,
    INCLUSION_PROPENSITY,
    SLATE_LOG_PROPENSITY,
)

__all__ = ["LoggedData", "generate_logged_data"]


@dataclasses.dataclass(frozen=True, eq=False)
class LoggedData:
    """A simulated log and the truth about the policy that produced it.

    Attributes:
      log: click log: a :class:`tfrec.data.InteractionLog` (user = ``episode_<id>``, item =
        ``item_<j>``, timestamp = step, reward, propensity = ``P(position shows item)``, i.e.
        ``beta(item)`` for the i.i.d. policies). Impression log: a
        :class:`tfrec.data.ImpressionLog` (every shown slate, also those without a click; see
        ``docs/concepts.md``, "Impression logs").
      behavior_probabilities: float64 ``[num_items]`` ``beta`` over catalog rows when the
        behaviour draws the positions i.i.d. from a user-independent ``beta``
        (:class:`PopularitySoftmaxPolicy`), else None.
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


def _impression_rows(batch: Any, first_slate: int) -> dict[str, np.ndarray]:
    """One row per shown item of every slate of ``batch``; slate ids from ``first_slate``."""
    n, k = batch.action.shape
    info = batch.policy_info
    position = np.tile(np.arange(k, dtype=np.int64), n)
    clicked = position == np.repeat(batch.click_position, k)
    unknown = np.full((n, k), np.nan)
    return {
        "episode": np.repeat(batch.episode, k),
        "step": np.repeat(batch.step, k),
        "slate": np.repeat(first_slate + np.arange(n, dtype=np.int64), k),
        "position": position,
        "item": batch.action.ravel(),
        "clicked": clicked.astype(np.int8),
        "reward": np.where(clicked, np.repeat(batch.reward, k), 0.0),
        "propensity": info.get(INCLUSION_PROPENSITY, unknown).ravel(),
        SLATE_LOG_PROPENSITY: np.repeat(info.get(SLATE_LOG_PROPENSITY, unknown[:, 0]), k),
        POSITION_PROPENSITY: info["slate_propensity"].ravel(),
    }


def _click_rows(batch: Any) -> dict[str, np.ndarray]:
    """One row per click of ``batch`` (propensity: that position's probability of the item)."""
    click = batch.click_position >= 0
    return {
        "episode": batch.episode[click],
        "step": batch.step[click],
        "item": batch.clicked_item[click],
        "reward": batch.reward[click].astype(np.float64),
        "propensity": batch.policy_info["slate_propensity"][click, batch.click_position[click]],
    }


def generate_logged_data(
    env: Any,
    num_episodes: int,
    *,
    temperature: float = 1.0,
    popularity: np.ndarray | None = None,
    epsilon: float = 0.0,
    impressions: bool = False,
    seed: int = 0,
    policy: PopularitySoftmaxPolicy
    | EpsilonPopularityPolicy
    | PersonalizedSoftmaxPolicy
    | None = None,
) -> LoggedData:
    """Rolls out a behaviour policy on ``env`` and returns the log.

    Args:
      env: a batched tfrec environment (re-seeded with ``seed`` and reset).
      num_episodes: episodes to log (each becomes one user, ``episode_<id>``).
      temperature: behaviour softmax temperature (default behaviour only).
      popularity: float ``[num_items]`` positive popularity; default ``env.item_popularity()``
        (default behaviour only).
      epsilon: default behaviour only: ``> 0`` logs with :class:`EpsilonPopularityPolicy`
        (uniform slates with probability ``epsilon``), 0 with :class:`PopularitySoftmaxPolicy`.
      impressions: False: one row per click; True: one row per shown slate item, every slate
        kept (also those without a click), as a :class:`tfrec.data.ImpressionLog` with columns
        ``slate``, ``position``, ``clicked`` (0/1), ``reward`` (nonzero only on the clicked
        row), ``propensity`` (the item's inclusion probability), ``slate_log_propensity`` and
        ``position_propensity`` (the probability that this position shows the item).
      seed: seed of the environment and of the default behaviour policy.
      policy: the behaviour policy; default as described under ``epsilon``. Any policy whose
        ``PolicyStep.info["slate_propensity"]`` holds each position's probability of its item
        (float ``[B, k]``) works; impression logs take ``info[INCLUSION_PROPENSITY]`` ``[B, k]``
        and ``info[SLATE_LOG_PROPENSITY]`` ``[B]`` (NaN when the policy does not report them).
        A :class:`PersonalizedSoftmaxPolicy` must have been built on ``env``.

    Returns:
      A :class:`LoggedData`.

    Raises:
      ValueError: no popularity given and the environment has no ``item_popularity``;
        ``temperature`` / ``popularity`` / ``epsilon`` given together with ``policy``; or a
        click log whose rollout produced no click (no log to return).
    """
    if policy is None:
        if popularity is None:
            if not hasattr(env, "item_popularity"):
                raise ValueError(
                    f"{type(env).__name__} has no item_popularity(); pass popularity=[num_items]."
                )
            popularity = env.item_popularity()
        spec = (env.time_step_spec(), env.action_spec())
        policy = PopularitySoftmaxPolicy(*spec, popularity, temperature, seed=seed)
        if epsilon > 0:
            policy = EpsilonPopularityPolicy(policy, epsilon, seed=seed)
    elif popularity is not None or temperature != 1.0 or epsilon != 0.0:
        raise ValueError(
            "temperature / popularity / epsilon configure the default behaviour policy; with "
            "policy= they would be ignored: set them on the policy instead."
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
        if "slate_propensity" not in batch.policy_info:
            raise ValueError(
                f"{type(policy).__name__} does not report info['slate_propensity'] [B, k]; the "
                "log needs the behaviour's propensity of every shown item."
            )
        frames.append(_impression_rows(batch, num_slates) if impressions else _click_rows(batch))
        num_slates += len(batch.episode)
    columns = {key: np.concatenate([f[key] for f in frames]) for key in frames[0]}
    if columns["item"].size == 0:
        raise ValueError(
            f"the behaviour policy got no click in {num_episodes} episodes; log more episodes "
            "or lower the simulator's no-click logit."
        )
    df = pd.DataFrame(
        {
            "user": pd.Series(columns.pop("episode")).map("episode_{}".format),
            "item": pd.Series(columns.pop("item") - FIRST_ITEM_INDEX).map("item_{}".format),
            "timestamp": columns.pop("step").astype(np.int64),
            "reward": columns.pop("reward").astype(np.float32),
            "propensity": columns.pop("propensity").astype(np.float32),
            **columns,
        }
    )
    log_class = ImpressionLog if impressions else InteractionLog
    log = log_class.from_dataframe(df, source="generate_logged_data")
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
