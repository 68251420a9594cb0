"""Slate impression logs as episodes for the per-decision off-policy estimators.

An impression log (one row per shown item, e.g. from
``tfrec.policies.generate_logged_data(..., impressions=True)``) holds slates of ``k`` items
per step. :class:`SlateEpisodes` regroups it into ``[num_episodes, num_steps]`` arrays with the
behaviour's slate log-probabilities; :func:`independent_slate_log_probs` gives a target's slate
log-probabilities when it draws the ``k`` items i.i.d.; :func:`additive_slate_model` is a simple
reward model for :func:`tfrec.evaluation.off_policy.doubly_robust`, and
:func:`additive_item_values` gives its parts for targets whose item distribution changes from
step to step.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from tfrec.evaluation.off_policy_data import OffPolicyData
from tfrec.specs import FIRST_ITEM_INDEX

__all__ = [
    "SlateEpisodes",
    "additive_item_values",
    "additive_slate_model",
    "independent_slate_log_probs",
]


@dataclasses.dataclass(frozen=True)
class SlateEpisodes:
    """An impression log regrouped into episodes of slates, ready for per-decision estimators.

    Attributes:
      rewards: float64 ``[num_episodes, num_steps]`` reward of each shown slate (0 after the end).
      slates: int32 ``[num_episodes, num_steps, k]`` item indices of the slates (0 after the end).
      mask: bool ``[num_episodes, num_steps]``, True for real steps.
      behavior_log_probs: float64 ``[num_episodes, num_steps]`` ``log beta(slate_t | s_t)``: the
        sum of the logged items' log-propensities, i.e. the slate's log-probability when the
        behaviour policy draws its ``k`` items i.i.d. (as
        ``tfrec.policies.PopularitySoftmaxPolicy`` does); 0 after the end.
      episode_ids: the log's ``user`` value of each episode (row order).
    """

    rewards: np.ndarray
    slates: np.ndarray
    mask: np.ndarray
    behavior_log_probs: np.ndarray
    episode_ids: np.ndarray

    @classmethod
    def from_impressions(cls, log: object, vocabulary: object, slate_size: int) -> SlateEpisodes:
        """Regroups an impression log (one row per shown item) into slates per episode.

        Each ``user`` is an episode, each of its ``timestamp`` values one step (in time order),
        whose ``slate_size`` rows are the slate's positions ``0 .. k-1`` (column ``position``).
        This is the layout of ``tfrec.policies.generate_logged_data(..., impressions=True)``.

        Args:
          log: a :class:`tfrec.data.InteractionLog` with columns ``user``, ``item``,
            ``timestamp``, ``reward``, ``propensity`` and ``position``.
          vocabulary: the :class:`tfrec.data.ItemVocabulary` mapping item ids to indices.
          slate_size: ``k``, rows per step.

        Returns:
          The :class:`SlateEpisodes`.

        Raises:
          ValueError: if a column is missing, a step does not have exactly ``slate_size`` rows
            with positions ``0 .. k-1``, an item is unknown to the vocabulary, or a propensity is
            missing, zero or negative.
        """
        df = getattr(log, "df", None)
        if df is None:
            raise TypeError(f"log must be a tfrec.data.InteractionLog, got {type(log).__name__}.")
        missing = [c for c in ("position", "propensity") if c not in df.columns]
        if missing:
            raise ValueError(
                f"the log has no column {missing}: an impression log (one row per shown item, "
                "e.g. generate_logged_data(..., impressions=True)) is needed."
            )
        if slate_size < 1:
            raise ValueError(f"slate_size must be >= 1, got {slate_size}.")
        propensity = df["propensity"].to_numpy(np.float64)
        if not (np.isfinite(propensity) & (propensity > 0)).all():
            bad = int(np.flatnonzero(~(np.isfinite(propensity) & (propensity > 0)))[0])
            raise ValueError(
                f"row {bad} has propensity {propensity[bad]}: every shown item needs its "
                "behaviour probability > 0."
            )
        items = vocabulary.lookup(df["item"])
        if (items < FIRST_ITEM_INDEX).any():
            bad = int(np.flatnonzero(items < FIRST_ITEM_INDEX)[0])
            raise ValueError(
                f"item {df['item'].iloc[bad]!r} (row {bad}) is not in the vocabulary: build the "
                "vocabulary from the environment's catalog (env.vocabulary)."
            )
        episode_codes, episode_ids = pd.factorize(df["user"])
        # Steps of an episode in time order; rows of a step in position order.
        order = np.lexsort((df["position"].to_numpy(), df["timestamp"].to_numpy(), episode_codes))
        ep = episode_codes[order]
        ts_ = df["timestamp"].to_numpy()[order]
        position = df["position"].to_numpy()[order]
        new_step = np.ones(len(order), dtype=bool)
        new_step[1:] = (ep[1:] != ep[:-1]) | (ts_[1:] != ts_[:-1])
        step_start = np.flatnonzero(new_step)
        step_rows = np.diff(np.append(step_start, len(order)))
        position_in_step = np.arange(len(order)) - np.repeat(step_start, step_rows)
        wrong = (np.repeat(step_rows, step_rows) != slate_size) | (position != position_in_step)
        if wrong.any():
            bad = int(np.argmax(wrong))
            raise ValueError(
                f"episode {df['user'].iloc[order[bad]]!r}, timestamp {ts_[bad]}: every step needs "
                f"exactly slate_size={slate_size} rows with positions 0..{slate_size - 1}; check "
                "slate_size and that the log holds impressions, not clicks only."
            )
        step_episode = ep[step_start]
        first_of_episode = np.ones(len(step_start), dtype=bool)
        first_of_episode[1:] = step_episode[1:] != step_episode[:-1]
        episode_first = np.flatnonzero(first_of_episode)
        lengths = np.diff(np.append(episode_first, len(step_start)))
        step_in_episode = np.arange(len(step_start)) - np.repeat(episode_first, lengths)
        num_episodes, num_steps = len(episode_first), int(lengths.max())
        e, t = step_episode, step_in_episode
        rewards = np.zeros((num_episodes, num_steps))
        slates = np.zeros((num_episodes, num_steps, slate_size), np.int32)
        behavior = np.zeros((num_episodes, num_steps))
        mask = np.zeros((num_episodes, num_steps), dtype=bool)
        step_of_row = np.repeat(np.arange(len(step_start)), slate_size)
        rewards[e, t] = np.bincount(
            step_of_row, df["reward"].to_numpy(np.float64)[order], len(step_start)
        )
        if "slate_log_propensity" in df.columns:  # the ordered slate's log β (impression log)
            behavior[e, t] = df["slate_log_propensity"].to_numpy(np.float64)[order][step_start]
        else:  # per-position β of i.i.d. slates
            behavior[e, t] = np.bincount(step_of_row, np.log(propensity[order]), len(step_start))
        slates[e, t] = items[order].reshape(-1, slate_size)
        mask[e, t] = True
        return cls(
            rewards, slates, mask, behavior, np.asarray(episode_ids)[step_episode[episode_first]]
        )

    def off_policy_data(self, target_log_probs: np.ndarray) -> OffPolicyData:
        """The :class:`OffPolicyData` of a target policy on these episodes.

        Args:
          target_log_probs: float ``[num_episodes, num_steps]`` ``log pi(slate_t | s_t)`` of the
            logged slates under the target policy (e.g. :func:`independent_slate_log_probs`).

        Returns:
          Per-trajectory :class:`OffPolicyData`.
        """
        target = np.where(self.mask, target_log_probs, 0.0)
        return OffPolicyData.from_log_probs(
            self.rewards, target, self.behavior_log_probs, mask=self.mask
        )


def independent_slate_log_probs(item_probabilities: np.ndarray, slates: np.ndarray) -> np.ndarray:
    """Log-probability of slates whose ``k`` items are drawn i.i.d. from one distribution.

    ``log P(slate) = sum_i log p(slate_i)`` (ordered slate, repeats allowed).

    Args:
      item_probabilities: float ``[vocab_size]`` probability of each item index (0 on the
        reserved indices 0 and 1).
      slates: int ``[..., k]`` item indices.

    Returns:
      float64 ``[...]`` (``-inf`` for a slate holding an item of probability 0).
    """
    p = np.asarray(item_probabilities, dtype=np.float64)
    slates = np.asarray(slates)
    if p.ndim != 1 or slates.size and slates.max() >= len(p):
        raise ValueError(
            f"item_probabilities must be [vocab_size] covering every slate index; got shape "
            f"{p.shape} for slates up to index {slates.max() if slates.size else None}."
        )
    with np.errstate(divide="ignore"):
        return np.log(p)[slates].sum(axis=-1)


def additive_item_values(
    episodes: SlateEpisodes, vocab_size: int, prior_weight: float = 10.0
) -> tuple[np.ndarray, np.ndarray]:
    """The two parts of :func:`additive_slate_model`'s reward model, for any target policy.

    Args:
      episodes: the logged slates.
      vocab_size: number of item indices (covering every logged item).
      prior_weight: pseudo-impressions of the shrinkage towards the global mean.

    Returns:
      ``(c, g_next)``: float64 ``[vocab_size]`` mean reward per impression of each item
      (shrunk towards the global mean; 0 on the reserved indices) and float64 ``[num_steps]``
      the logged mean return after step ``t``. The value of slate ``S`` at step ``t`` is
      ``sum_{j in S} c_j + g_next[t]``; under a target drawing ``k`` items i.i.d. from
      ``pi_t`` (possibly a different distribution at every step) it is
      ``k * pi_t . c + g_next[t]``.
    """
    if prior_weight < 0:
        raise ValueError(f"prior_weight must be >= 0, got {prior_weight}.")
    if vocab_size <= int(episodes.slates.max()):
        raise ValueError(
            f"vocab_size={vocab_size} does not cover the logged item index "
            f"{int(episodes.slates.max())}."
        )
    k = episodes.slates.shape[-1]
    shown = episodes.slates[episodes.mask].ravel()  # [n * k]
    # The slate's reward is credited to each of its items in equal shares.
    share = np.repeat(episodes.rewards[episodes.mask] / k, k)
    counts = np.bincount(shown, minlength=vocab_size).astype(np.float64)
    totals = np.bincount(shown, weights=share, minlength=vocab_size)
    global_mean = totals.sum() / max(counts.sum(), 1.0)
    denominator = counts + prior_weight
    c = np.divide(
        totals + prior_weight * global_mean,
        denominator,
        out=np.full(vocab_size, global_mean),  # items never shown: the global mean
        where=denominator > 0,
    )
    c[:FIRST_ITEM_INDEX] = 0.0
    # g[t] = mean over episodes alive at step t-1 of the return from step t on.
    to_go = np.cumsum(episodes.rewards[:, ::-1], axis=1)[:, ::-1]  # return from t on
    alive = episodes.mask.sum(axis=0).astype(np.float64)  # episodes reaching step t
    after = np.concatenate([to_go[:, 1:], np.zeros_like(to_go[:, :1])], axis=1)
    g_next = np.where(alive > 0, after.sum(axis=0) / np.maximum(alive, 1.0), 0.0)
    return c, g_next


def additive_slate_model(
    episodes: SlateEpisodes, target_item_probabilities: np.ndarray, prior_weight: float = 10.0
) -> tuple[np.ndarray, np.ndarray]:
    """A simple reward model for :func:`doubly_robust` on slate episodes of i.i.d. item draws.

    The value-to-go of showing slate ``S`` at step ``t`` is modelled as
    ``q(t, S) = sum_{j in S} c_j + g_{t+1}``: ``c_j`` is item ``j``'s mean reward per impression
    in the log (shrunk towards the global mean with ``prior_weight`` pseudo-impressions) and
    ``g_{t+1}`` the logged mean return after step ``t`` of the episodes that reached step ``t``
    (both from :func:`additive_item_values`). Under a target drawing ``k`` items i.i.d. from
    ``p``, ``v(t) = k sum_j p_j c_j + g_{t+1}``. The model ignores the user and the slate's
    competition, so it is biased; the doubly robust estimator stays unbiased with exact weights
    and uses it only to reduce variance.

    Args:
      episodes: the logged slates.
      target_item_probabilities: float ``[vocab_size]`` the target's item distribution.
      prior_weight: pseudo-impressions of the shrinkage towards the global mean.

    Returns:
      ``(logged_q, target_v)``, float64 ``[num_episodes, num_steps]`` each, 0 after the end.
    """
    if prior_weight < 0:
        raise ValueError(f"prior_weight must be >= 0, got {prior_weight}.")
    p = np.asarray(target_item_probabilities, dtype=np.float64)
    if p.ndim != 1 or p.shape[0] <= int(episodes.slates.max()):
        raise ValueError(
            f"target_item_probabilities must be [vocab_size] covering every logged item index, "
            f"got shape {p.shape}."
        )
    c, g_next = additive_item_values(episodes, len(p), prior_weight)
    k = episodes.slates.shape[-1]
    logged_q = np.where(episodes.mask, c[episodes.slates].sum(axis=-1) + g_next, 0.0)
    target_v = np.where(episodes.mask, k * float(p @ c) + g_next, 0.0)
    return logged_q, target_v
