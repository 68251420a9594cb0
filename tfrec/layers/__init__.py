"""Keras layers of tfrec's sequence encoder (keras-hub recipe on tf_keras, registered serializable).

* :class:`ItemEmbedding`: one table for item input lookup and catalog output scores.
* :class:`PositionEmbedding`: learned positions aligned on the most recent item.
* :class:`TransformerBlock`: pre-LayerNorm causal self-attention block with padding mask.
* :func:`history_indicator`: which items occur in a history (the learned repeat bias's input).
* :func:`sampled_logits`, :func:`corrected_logits`, :data:`SAMPLERS`: the sampled softmax with
  the logQ correction and its one table of negative samplers.
"""

from tfrec.layers.embedding import ItemEmbedding, PositionEmbedding, mask_reserved_logits
from tfrec.layers.history_indicator import history_indicator, history_pairs
from tfrec.layers.sampled_softmax import (
    DRAWN_SAMPLERS,
    SAMPLER_ALIASES,
    SAMPLERS,
    check_sampler,
    corrected_logits,
    sampled_logits,
    sampling_distribution,
)
from tfrec.layers.transformer import TransformerBlock, causal_padding_mask

__all__ = [
    "DRAWN_SAMPLERS",
    "SAMPLERS",
    "SAMPLER_ALIASES",
    "ItemEmbedding",
    "PositionEmbedding",
    "TransformerBlock",
    "causal_padding_mask",
    "check_sampler",
    "corrected_logits",
    "history_indicator",
    "history_pairs",
    "mask_reserved_logits",
    "sampled_logits",
    "sampling_distribution",
]
