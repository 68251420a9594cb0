"""Top-``k`` items of a sharded :class:`~tfrec.export.compression.ItemTable`, with core ops only.

Each shard is scored (``MatMul``), adjusted for the request's history, and cut to its own top
``k`` (``TopKV2``); the ``num_shards * k`` survivors are merged by one more ``TopKV2``. The shards
do not depend on each other, so TensorFlow's executor (and TF Serving's, which runs the same
graph) computes them concurrently on its inter-op threads. The result is exactly the top ``k`` of
the unsharded scores, ties included: every shard's list is sorted with ties broken by lower index,
shards are concatenated in index order, and ``TopKV2`` keeps the earlier of equal values.

History adjustments work on the unique ``(row, item)`` pairs of the request (at most
``batch * max_len`` of them), scattered into each shard's scores, so their cost does not grow with
the catalog:

* ``history_bias``: a scalar added once to the score of every item of the row's history (the
  encoder's learned repeat bias, :class:`~tfrec.encoders.SequenceEncoder` ``repeat_bias``);
* ``exclude_history``: those items get ``float32.min`` and are never returned while other items
  remain; if fewer than ``k`` items remain, the missing slots keep score ``float32.min`` (callers
  turn them into padding).
"""

from __future__ import annotations

import tensorflow as tf

from tfrec.export.compression import ItemTable
from tfrec.layers.history_indicator import history_pairs


def _adjust_shard(
    scores: tf.Tensor,
    pairs: tf.Tensor,
    offset: int,
    size: int,
    history_bias: tf.Tensor | None,
    exclude_history: bool,
) -> tf.Tensor:
    """Applies the history bias / exclusion to one shard's scores ``[batch, size]``."""
    in_shard = (pairs[:, 1] >= offset) & (pairs[:, 1] < offset + size)
    local = tf.boolean_mask(pairs, in_shard) - tf.constant([0, offset], tf.int64)
    count = tf.shape(local)[0:1]
    if history_bias is not None:
        scores = tf.tensor_scatter_nd_add(
            scores, local, tf.fill(count, tf.cast(history_bias, tf.float32))
        )
    if exclude_history:
        scores = tf.tensor_scatter_nd_update(scores, local, tf.fill(count, tf.float32.min))
    return scores


def sharded_top_k(
    table: ItemTable,
    states: tf.Tensor,
    k: int,
    history: tf.Tensor | None = None,
    history_bias: tf.Tensor | None = None,
    exclude_history: bool = False,
) -> tuple[tf.Tensor, tf.Tensor]:
    """The ``k`` best real items for each state, best first.

    Args:
      table: the sharded scoring table.
      states: float ``[batch, dim]``.
      k: items per row, ``1 <= k <= table.num_items``.
      history: int32 ``[batch, seq_len]`` item indices of each row's history; needed when
        ``history_bias`` or ``exclude_history`` is used.
      history_bias: optional scalar added once to the score of each history item.
      exclude_history: never return history items (score ``float32.min``).

    Returns:
      ``(indices, scores)``: int32 ``[batch, k]`` item indices (``>= FIRST_ITEM_INDEX``) and
      float32 ``[batch, k]`` scores.

    Raises:
      ValueError: ``k`` out of range, or a history adjustment without ``history``.
    """
    if not 1 <= k <= table.num_items:
        raise ValueError(f"k={k} must be between 1 and the number of items ({table.num_items}).")
    adjust = history_bias is not None or exclude_history
    if adjust and history is None:
        raise ValueError("history_bias / exclude_history need the request's history indices.")
    pairs = history_pairs(history, table.vocab_size) if adjust else None
    values, indices = [], []
    for shard, (offset, size) in enumerate(zip(table.offsets, table.sizes)):
        scores = table.shard_scores(states, shard)  # [batch, size]
        if adjust:
            scores = _adjust_shard(scores, pairs, offset, size, history_bias, exclude_history)
        shard_values, shard_indices = tf.math.top_k(scores, k=min(k, size), sorted=True)
        values.append(shard_values)
        indices.append(shard_indices + offset)
    if len(values) == 1:
        return indices[0], values[0]
    merged_values, position = tf.math.top_k(tf.concat(values, axis=1), k=k, sorted=True)
    merged = tf.gather(tf.concat(indices, axis=1), position, batch_dims=1)
    return merged, merged_values
