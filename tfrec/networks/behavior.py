"""Behaviour-policy head β (Chen et al., WSDM 2019, §4.2 "Estimating the behavior policy β").

The logs were produced by one or several unknown recommenders. β̂(a|s) estimates the probability
that they picked item ``a`` in state ``s``: a softmax over the catalog with its **own** output
table, fed with ``tf.stop_gradient(state)`` so that fitting β never changes the user state learnt
for the main policy π, and trained with cross-entropy on **every** logged action.
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf

from tfrec.layers.embedding import ItemEmbedding
from tfrec.networks.catalog_head import CatalogHead

__all__ = ["BehaviorHead"]


@tf.keras.utils.register_keras_serializable(package="tfrec")
class BehaviorHead(CatalogHead):
    """Softmax head estimating the logging policy β̂(a|s) from a (gradient-stopped) state.

    Args: those of :class:`~tfrec.networks.catalog_head.CatalogHead` (``vocab_size``,
    ``state_dim``).

    Call:
      ``state`` float ``[batch, state_dim]`` -> logits ``[batch, vocab_size]`` (0 and 1 masked with
      ``dtype.min``). No gradient flows back into ``state``.
    """

    def __init__(self, vocab_size: int, state_dim: int, **kwargs: Any) -> None:
        super().__init__(vocab_size, state_dim, **kwargs)
        self.table = ItemEmbedding(
            self.vocab_size, self.state_dim, use_output_bias=True, name="behavior_table"
        )

    def build(self, input_shape: Any = None) -> None:
        self.table.build(None)
        super().build(input_shape)

    @property
    def embeddings(self) -> tf.Variable:
        """The head's own output table ``[vocab_size, state_dim]``."""
        return self.table.embeddings

    @property
    def biases(self) -> tf.Variable:
        """The head's per-item output bias ``[vocab_size]``."""
        return self.table.output_bias

    def call(self, state: tf.Tensor) -> tf.Tensor:
        """Returns β̂ logits ``[batch, vocab_size]`` for ``state`` ``[batch, state_dim]``."""
        return self.table.logits(tf.stop_gradient(state))
