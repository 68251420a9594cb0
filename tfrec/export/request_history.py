"""Turning a raw serving request into the encoder's left-padded window, with core ops only.

A request row may hold padding, unknown ids and any number of items; the encoder wants
``[batch, max_len]`` item indices, left-padded, most recent item last (see ``tfrec.specs``).
:func:`compact_history` drops the invalid entries, moves the valid ones to the right end in their
original order, and keeps the ``max_len`` most recent ones.
"""

from __future__ import annotations

import tensorflow as tf

from tfrec.specs import PAD_INDEX


def compact_history(indices: tf.Tensor, valid: tf.Tensor, max_len: int) -> tf.Tensor:
    """Left-pads each row's valid items into a window of the ``max_len`` most recent ones.

    A stable sort on the validity flag (``tf.argsort(..., stable=True)``, i.e. the core op
    ``TopKV2``) puts invalid entries first and valid ones last, each group in its original order.

    Args:
      indices: int32 ``[batch, seq_len]`` item indices (any ``seq_len``, including 0).
      valid: bool ``[batch, seq_len]``: which entries are real items.
      max_len: the window length the encoder takes.

    Returns:
      int32 ``[batch, max_len]``: valid items right-aligned in their original order, padded on the
      left with ``PAD_INDEX``; rows with more than ``max_len`` valid items keep the last ones.
    """
    indices = tf.convert_to_tensor(indices, tf.int32)
    valid = tf.convert_to_tensor(valid, tf.bool)
    order = tf.argsort(tf.cast(valid, tf.int32), axis=1, direction="ASCENDING", stable=True)
    kept = tf.where(valid, indices, tf.constant(PAD_INDEX, tf.int32))
    compacted = tf.gather(kept, order, batch_dims=1)
    width = tf.shape(compacted)[1]
    compacted = tf.pad(compacted, [[0, 0], [tf.maximum(max_len - width, 0), 0]])
    compacted = compacted[:, tf.shape(compacted)[1] - max_len :]
    return tf.reshape(compacted, [-1, max_len])
