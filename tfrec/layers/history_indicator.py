"""Which catalog items occur in a history: the indicator behind the learned repeat bias.

A repeat-aware recommender (RepeatNet: Ren et al., AAAI 2019, "RepeatNet: A Repeat Aware Neural
Recommendation Machine for Session-based Recommendation") scores re-consumption apart from
exploration. ``SequenceEncoder(repeat_bias=True)`` keeps the lightest form of it: one learned
scalar added to the logit of every item of the input history. :func:`history_indicator` decides
which items those are as a dense ``[batch, vocab_size]`` indicator (the encoder's scores,
``ActorNetwork``, consumed-item masking); :func:`history_pairs` gives the same items as sparse
(row, item) pairs, for the supervised loss and serving, whose cost must not grow with the
catalog.
"""

from __future__ import annotations

import tensorflow as tf

from tfrec.specs import FIRST_ITEM_INDEX

__all__ = ["history_indicator", "history_pairs"]


def history_indicator(ids: tf.Tensor, vocab_size: int) -> tf.Tensor:
    """1.0 for every real item that occurs in a history, 0.0 elsewhere.

    Args:
      ids: int ``[batch, seq_len]`` item indices (0 = padding, 1 = OOV, real items ``>= 2``).
        An item repeated in a row counts once; padding and OOV never count; indices outside
        ``[0, vocab_size)`` are ignored.
      vocab_size: number of item indices, reserved ones included.

    Returns:
      float32 ``[batch, vocab_size]``: entry ``[b, i]`` is 1.0 if real item ``i`` occurs in
      ``ids[b, :]``, else 0.0. Columns 0 and 1 are always 0.

    Raises:
      TypeError: if ``ids`` is not an integer tensor.
      ValueError: if ``ids`` is not of rank 2 or ``vocab_size`` leaves no real item.
    """
    ids = tf.convert_to_tensor(ids)
    if not ids.dtype.is_integer:
        raise TypeError(
            f"history_indicator expects integer item indices, got dtype {ids.dtype.name}."
        )
    if ids.shape.rank is not None and ids.shape.rank != 2:
        raise ValueError(f"history_indicator expects ids [batch, seq_len], got shape {ids.shape}.")
    if int(vocab_size) <= FIRST_ITEM_INDEX:
        raise ValueError(f"vocab_size={vocab_size} leaves no real item (indices 0, 1 reserved).")
    ids = tf.cast(ids, tf.int32)
    real = (ids >= FIRST_ITEM_INDEX) & (ids < vocab_size)
    rows = tf.broadcast_to(tf.range(tf.shape(ids)[0])[:, tf.newaxis], tf.shape(ids))
    # Non-real entries are sent to column 0 with a 0 update: a no-op under the max.
    indices = tf.stack([rows, tf.where(real, ids, 0)], axis=-1)  # [batch, seq_len, 2]
    return tf.tensor_scatter_nd_max(
        tf.zeros(tf.stack([tf.shape(ids)[0], int(vocab_size)]), tf.float32),
        tf.reshape(indices, [-1, 2]),
        tf.reshape(tf.cast(real, tf.float32), [-1]),
    )


def history_pairs(history: tf.Tensor, vocab_size: int) -> tf.Tensor:
    """The distinct ``(row, item)`` pairs of a batch of histories.

    Args:
      history: int32 ``[batch, seq_len]`` item indices; entries below ``FIRST_ITEM_INDEX``
        (padding, OOV) are ignored, so are indices ``>= vocab_size``.
      vocab_size: number of indices, reserved ones included.

    Returns:
      int64 ``[num_pairs, 2]``: each (row, item index) once, in first-occurrence order.
    """
    history = tf.cast(history, tf.int64)
    rows = tf.broadcast_to(
        tf.range(tf.shape(history, out_type=tf.int64)[0])[:, tf.newaxis],
        tf.shape(history, out_type=tf.int64),
    )
    real = (history >= FIRST_ITEM_INDEX) & (history < vocab_size)
    keys, _ = tf.unique(tf.boolean_mask(rows * vocab_size + history, real))
    return tf.stack([keys // vocab_size, keys % vocab_size], axis=1)
