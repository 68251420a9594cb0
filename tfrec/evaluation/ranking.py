"""Full-catalog ranking metrics: HR@K, NDCG@K, MRR@K and catalog coverage@K.

Every real item of the catalog is ranked (no sampled negatives: Krichene & Rendle, KDD 2020,
"On Sampled Metrics for Item Recommendation", show that sampled metrics can reverse model orders).
The rank of the target is computed without sorting the catalog: it is the number of candidate
items scoring strictly higher than the target, plus the tied items under the chosen tie policy.
Candidates are the real items ``2 .. vocab_size - 1`` (padding 0 and OOV 1 are never ranked),
minus the items excluded per row (e.g. the items already in the history).

Tie policy (``ties``):
  * ``"pessimistic"`` (default): the target ranks after every other candidate with the same score,
    so a constant scorer gets no credit;
  * ``"optimistic"``: the target ranks before them.

A target that is not a candidate (OOV, or excluded because it is in the history) is a miss.
Ranks are 0-based: ``HR@K = [rank < K]``, ``NDCG@K = [rank < K] / log2(rank + 2)`` (one relevant
item, so IDCG = 1), ``MRR@K = [rank < K] / (rank + 1)``. ``coverage@K`` is the fraction of real
items that appear in at least one top-K list.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import tensorflow as tf

from tfrec.specs import FIRST_ITEM_INDEX, PAD_INDEX

Scorer = Callable[[tf.Tensor], tf.Tensor]
"""Maps histories int32 ``[batch, seq_len]`` to scores float ``[batch, vocab_size]``."""

TIE_POLICIES = ("pessimistic", "optimistic")


def candidate_mask(vocab_size: int, exclude: tf.Tensor | None = None) -> tf.Tensor:
    """Boolean mask of the items that may be ranked.

    Args:
      vocab_size: number of indices including the reserved ones.
      exclude: optional int ``[batch, m]`` item indices to remove per row (0 entries are padding
        and ignored).

    Returns:
      bool ``[batch, vocab_size]`` (``[1, vocab_size]`` without ``exclude``): True for real items
      not excluded.
    """
    real = tf.range(vocab_size) >= FIRST_ITEM_INDEX
    if exclude is None:
        return real[tf.newaxis]
    exclude = tf.cast(exclude, tf.int32)
    batch = tf.shape(exclude)[0]
    rows = tf.broadcast_to(tf.range(batch)[:, tf.newaxis], tf.shape(exclude))
    indices = tf.reshape(tf.stack([rows, exclude], axis=-1), [-1, 2])
    excluded = tf.scatter_nd(
        indices, tf.ones([tf.shape(indices)[0]], tf.int32), tf.stack([batch, vocab_size])
    )
    return tf.logical_and(real[tf.newaxis], excluded == 0)


def target_ranks(
    scores: tf.Tensor,
    targets: tf.Tensor,
    exclude: tf.Tensor | None = None,
    ties: str = "pessimistic",
) -> tf.Tensor:
    """0-based rank of each target among the candidate items, without sorting.

    Args:
      scores: float ``[batch, vocab_size]``.
      targets: int ``[batch]`` target item indices.
      exclude: optional int ``[batch, m]`` items removed from the candidates (0 = none).
      ties: ``"pessimistic"`` or ``"optimistic"`` (see the module docstring).

    Returns:
      int32 ``[batch]``: the rank, or ``vocab_size`` (a miss at every K) when the target is not a
      candidate.
    """
    if ties not in TIE_POLICIES:
        raise ValueError(f"ties must be one of {TIE_POLICIES}, got {ties!r}.")
    scores = tf.convert_to_tensor(scores)
    targets = tf.cast(targets, tf.int32)
    vocab_size = tf.shape(scores)[-1]
    valid = candidate_mask(vocab_size, exclude)
    target_score = tf.gather(scores, targets, batch_dims=1)[:, tf.newaxis]
    higher = tf.logical_and(valid, scores > target_score)
    rank = tf.reduce_sum(tf.cast(higher, tf.int32), axis=-1)
    if ties == "pessimistic":
        not_target = tf.not_equal(tf.range(vocab_size)[tf.newaxis], targets[:, tf.newaxis])
        tied = tf.logical_and(tf.logical_and(valid, scores == target_score), not_target)
        rank += tf.reduce_sum(tf.cast(tied, tf.int32), axis=-1)
    valid = tf.broadcast_to(valid, tf.shape(scores))
    target_valid = tf.gather(valid, targets, batch_dims=1)
    return tf.where(target_valid, rank, vocab_size)


def metrics_at_k(ranks: tf.Tensor, k: int) -> dict[str, tf.Tensor]:
    """Per-example HR@K, NDCG@K and MRR@K of 0-based ranks.

    Args:
      ranks: int ``[batch]`` 0-based ranks (from :func:`target_ranks`).
      k: cut-off.

    Returns:
      dict ``hr``, ``ndcg``, ``mrr`` of float32 ``[batch]``.
    """
    ranks = tf.cast(ranks, tf.float32)
    hit = tf.cast(ranks < k, tf.float32)
    return {
        "hr": hit,
        "ndcg": hit / (tf.math.log(ranks + 2.0) / tf.math.log(2.0)),
        "mrr": hit / (ranks + 1.0),
    }


def top_k_items(scores: tf.Tensor, k: int, exclude: tf.Tensor | None = None) -> tf.Tensor:
    """Top-K candidate items of each row (``-1`` where fewer than K candidates exist).

    Args:
      scores: float ``[batch, vocab_size]``.
      k: list length; larger than the catalog is allowed.
      exclude: optional int ``[batch, m]`` items removed from the candidates.

    Returns:
      int32 ``[batch, min(k, vocab_size)]`` item indices, best first.
    """
    scores = tf.convert_to_tensor(scores)
    vocab_size = tf.shape(scores)[-1]
    valid = tf.broadcast_to(candidate_mask(vocab_size, exclude), tf.shape(scores))
    masked = tf.where(valid, scores, scores.dtype.min)
    _, items = tf.math.top_k(masked, k=tf.minimum(int(k), vocab_size))
    return tf.where(tf.gather(valid, items, batch_dims=1), items, -1)


@tf.function(reduce_retracing=True)
def _batch_metrics(scores, targets, exclude, ks, ties, coverage):
    ranks = target_ranks(scores, targets, exclude, ties=ties)
    sums = {}
    tops = {}
    for k in ks:
        for name, values in metrics_at_k(ranks, k).items():
            sums[f"{name}@{k}"] = tf.reduce_sum(values)
        if coverage:
            tops[k] = top_k_items(scores, k, exclude)
    return sums, tops


def evaluate_ranking(
    scorer: Scorer,
    histories: np.ndarray,
    targets: np.ndarray,
    ks: Sequence[int] = (10, 20),
    exclude_history: bool = False,
    exclude: np.ndarray | None = None,
    batch_size: int = 256,
    ties: str = "pessimistic",
    coverage: bool = True,
    trim_padding: bool = False,
) -> dict[str, float]:
    """Full-catalog ranking evaluation, batched so that only ``[batch_size, vocab_size]`` scores
    live in memory at once.

    With ``trim_padding``, rows are scored in order of history length and each batch is cut to
    its longest history (the leading all-padding columns of left-padded histories are dropped).
    For a scorer that ignores leading padding, as tfrec's encoders (positions aligned on the most
    recent item, padding masked) and baselines do, the scores are the same as for the full-width
    batch, and data of short histories costs a fraction of the Transformer work. The metrics are
    sums over rows, so the order does not change them.

    Args:
      scorer: callable histories int32 ``[batch, seq_len]`` -> scores ``[batch, vocab_size]``
        (a ``SequenceEncoder.score_items``, a baseline from :mod:`tfrec.evaluation.baselines`...).
      histories: int ``[n, seq_len]`` left-padded histories fed to the scorer.
      targets: int ``[n]`` item index to retrieve for each history.
      ks: cut-offs.
      exclude_history: also exclude the items of ``histories`` from the candidates.
      exclude: optional int ``[n, m]`` further items to exclude per row (0 = padding), e.g. the
        full, untruncated histories when the scorer only sees the last ``seq_len`` items.
      batch_size: rows scored at once.
      ties: tie policy, ``"pessimistic"`` (default) or ``"optimistic"``.
      coverage: also compute ``coverage@K`` (a top-K per row; off for early stopping).
      trim_padding: sort rows by history length and drop each batch's leading padding columns
        (only for scorers that ignore leading padding, see above).

    Returns:
      dict with ``hr@K``, ``ndcg@K``, ``mrr@K`` and (with ``coverage``) ``coverage@K`` for each
      K (floats in [0, 1]), and ``num_examples``.

    Raises:
      ValueError: on mismatched shapes, targets that are padding or outside the catalog, bad K.
    """
    histories = np.asarray(histories)
    targets = np.asarray(targets)
    if histories.ndim != 2:
        raise ValueError(f"histories must be [n, seq_len], got shape {histories.shape}.")
    if targets.shape != (histories.shape[0],):
        raise ValueError(
            f"targets must be [n] with n = {histories.shape[0]} (one per history), got shape "
            f"{targets.shape}."
        )
    if exclude is not None and np.asarray(exclude).shape[0] != histories.shape[0]:
        raise ValueError(
            f"exclude must have one row per history ({histories.shape[0]}), got shape "
            f"{np.asarray(exclude).shape}."
        )
    ks = tuple(int(k) for k in ks)
    if not ks or min(ks) < 1:
        raise ValueError(f"ks must be positive cut-offs, got {ks}.")
    if ties not in TIE_POLICIES:
        raise ValueError(f"ties must be one of {TIE_POLICIES}, got {ties!r}.")
    if (targets == PAD_INDEX).any():
        row = int(np.flatnonzero(targets == PAD_INDEX)[0])
        raise ValueError(f"target of row {row} is the padding index 0: drop rows with no target.")
    n = histories.shape[0]
    totals: dict[str, float] = {}
    covered: dict[int, np.ndarray] = {}
    vocab_size = None
    if trim_padding:
        order = np.argsort((histories != PAD_INDEX).sum(axis=1), kind="stable")
        histories, targets = histories[order], targets[order]
        if exclude is not None:
            exclude = np.asarray(exclude)[order]
    for start in range(0, n, batch_size):
        batch_histories = histories[start : start + batch_size].astype(np.int32)
        if trim_padding:  # the batch's all-padding columns go (windows are left-padded)
            used = np.flatnonzero((batch_histories != PAD_INDEX).any(axis=0))
            if len(used):
                batch_histories = batch_histories[:, used[0] :]
        scores = tf.convert_to_tensor(scorer(tf.constant(batch_histories)))
        if scores.shape.rank != 2 or scores.shape[0] != batch_histories.shape[0]:
            raise ValueError(
                f"the scorer must return [batch, vocab_size] scores, got shape {scores.shape} "
                f"for a batch of {batch_histories.shape[0]} histories."
            )
        vocab_size = int(scores.shape[1])
        batch_targets = targets[start : start + batch_size].astype(np.int32)
        if batch_targets.min() < 0 or batch_targets.max() >= vocab_size:
            raise ValueError(
                f"target indices must lie in [2, {vocab_size - 1}] (the scorer's catalog), got "
                f"values in [{batch_targets.min()}, {batch_targets.max()}]."
            )
        parts = []
        if exclude_history:
            parts.append(batch_histories)
        if exclude is not None:
            parts.append(np.asarray(exclude)[start : start + batch_size].astype(np.int32))
        batch_exclude = (
            np.concatenate(parts, axis=1) if parts else np.zeros((len(batch_targets), 1), np.int32)
        )
        sums, tops = _batch_metrics(
            scores, tf.constant(batch_targets), tf.constant(batch_exclude), ks, ties, coverage
        )
        for name, value in sums.items():
            totals[name] = totals.get(name, 0.0) + float(value)
        for k, items in tops.items():
            seen = covered.setdefault(k, np.zeros(vocab_size, bool))
            items = items.numpy().ravel()
            seen[items[items >= 0]] = True
    results = {name: value / max(n, 1) for name, value in totals.items()}
    for k in ks if coverage else ():
        num_items = (vocab_size or FIRST_ITEM_INDEX) - FIRST_ITEM_INDEX
        results[f"coverage@{k}"] = (
            float(covered[k].sum()) / num_items if k in covered and num_items else 0.0
        )
    results["num_examples"] = n
    return results
