"""Logit masking shared by the actor network and the top-K policies.

Masked entries get the smallest finite value of the dtype, never ``-inf`` (``-inf`` yields NaNs in
softmaxes and in ``tfp`` distributions).
"""

from __future__ import annotations

import tensorflow as tf

from tfrec.layers import history_indicator
from tfrec.layers.embedding import mask_reserved_logits

__all__ = ["mask_consumed_logits", "mask_reserved_logits"]


def mask_consumed_logits(logits: tf.Tensor, history: tf.Tensor) -> tf.Tensor:
    """Masks the items already present in each history window.

    Args:
      logits: float ``[batch, vocab_size]`` scores over the catalog.
      history: int ``[batch, max_len]`` left-padded item indices (0 = padding, 1 = OOV; these
        reserved indices are ignored here, mask them with :func:`mask_reserved_logits`).

    Returns:
      ``logits`` ``[batch, vocab_size]`` with every real item of the row's history set to
      ``dtype.min``.

    Raises:
      ValueError: if the ranks or batch sizes of ``logits`` and ``history`` differ.
    """
    logits = tf.convert_to_tensor(logits)
    history = tf.cast(history, tf.int32)
    if logits.shape.rank != 2 or history.shape.rank != 2:
        raise ValueError(
            "mask_consumed_logits expects logits [batch, vocab_size] and history "
            f"[batch, max_len], got shapes {logits.shape} and {history.shape}."
        )
    vocab_size = logits.shape[-1]
    if vocab_size is None:
        raise ValueError(
            "mask_consumed_logits needs logits with a static catalog size [batch, vocab_size], "
            f"got shape {logits.shape}."
        )
    # The same rule as the repeat bias: real items of the row, each once; no [B, L, V] one-hot.
    consumed = history_indicator(history, vocab_size) > 0
    return tf.where(consumed, tf.cast(logits.dtype.min, logits.dtype), logits)
