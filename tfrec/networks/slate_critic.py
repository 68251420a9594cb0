"""SlateQ-style slate critic: a learned click model and per-item values (Ie et al., IJCAI 2019).

SlateQ decomposes the value of showing slate ``A`` in state ``s`` over the item the user picks::

    Q(s, A) = Σ_{i ∈ A} P(i | s, A) · Q̄(s, i) + P(∅ | s, A) · Q̄(s, ∅)

* the **click model** ``P(· | s, A)`` is a multinomial logit over the slate with a no-click
  option, the choice model of RecSim's users: item ``i`` has logit ``u(s, i) = s·c_i + b_i``
  (its own item table ``c``, bias ``b``), no click has ``u_0(s) = w_0·s + b_0``; it is trained by
  cross-entropy on which position of every shown slate was clicked (or none);
* the **item values** ``Q̄(s, i) = s·g_i + e_i`` (another table) regress the return that
  followed a click on ``i`` in ``s``; ``Q̄(s, ∅) = w_∅·s + e_∅`` the return after no click.

:class:`SlateCritic` holds both and computes ``Q(s, A)`` for any slate, so the REINFORCE actor can
score slates it never showed (the ``critic="slateq"`` mode of the agent). The click model reads
the encoder state with its gradient (the clicks teach the shared encoder who the user is); the
values read it gradient-stopped (noisy returns never shape the encoder).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf

from tfrec.layers.embedding import ItemEmbedding
from tfrec.networks.catalog_head import CatalogHead

__all__ = ["SlateCritic"]


@tf.keras.utils.register_keras_serializable(package="tfrec")
class SlateCritic(CatalogHead):
    """Click model + per-item values over a catalog (see the module docstring).

    Args: those of :class:`~tfrec.networks.catalog_head.CatalogHead` (``vocab_size``,
    ``state_dim``).
    """

    def __init__(self, vocab_size: int, state_dim: int, **kwargs: Any) -> None:
        super().__init__(vocab_size, state_dim, **kwargs)
        self.click_table = ItemEmbedding(
            self.vocab_size, self.state_dim, use_output_bias=True, name="click_table"
        )
        self.value_table = ItemEmbedding(
            self.vocab_size, self.state_dim, use_output_bias=True, name="value_table"
        )
        self.no_click_logit = tf.keras.layers.Dense(1, name="no_click_logit")
        self.no_click_value = tf.keras.layers.Dense(1, name="no_click_value")

    def build(self, input_shape: Any = None) -> None:
        self.click_table.build(None)
        self.value_table.build(None)
        self.no_click_logit.build(tf.TensorShape([None, self.state_dim]))
        self.no_click_value.build(tf.TensorShape([None, self.state_dim]))
        super().build(input_shape)

    @staticmethod
    def _item_scores(table: ItemEmbedding, states: tf.Tensor, slates: tf.Tensor) -> tf.Tensor:
        """``s·t_i + b_i`` for the items of ``slates [..., K]`` and states ``[..., D]``."""
        rows = tf.gather(table.embeddings, slates)  # [..., K, D]
        return tf.einsum("...d,...kd->...k", states, rows) + tf.gather(table.output_bias, slates)

    def click_logits(self, states: tf.Tensor, slates: tf.Tensor) -> tf.Tensor:
        """Choice logits ``[..., K + 1]``: column 0 no click, column ``1 + j`` position ``j``.

        Args:
          states: float ``[..., state_dim]`` (gradient flows into them).
          slates: int ``[..., K]`` item indices.
        """
        item = self._item_scores(self.click_table, states, slates)
        # A repeated item (slates of independent draws) is one option, at its first position,
        # as the simulators' choice model counts it.
        k = slates.shape[-1]
        same = tf.equal(slates[..., :, None], slates[..., None, :])  # [..., K, K]
        before = tf.constant(np.tril(np.ones((k, k), bool), -1))  # j < i
        repeated = tf.reduce_any(same & before, axis=-1)  # [..., K]
        item = tf.where(repeated, tf.cast(item.dtype.min, item.dtype), item)
        no_click = self.no_click_logit(states)  # [..., 1]
        return tf.concat([no_click, item], axis=-1)

    def values(self, states: tf.Tensor, slates: tf.Tensor) -> tf.Tensor:
        """``[Q̄(s, ∅), Q̄(s, a_1), ..., Q̄(s, a_K)]`` ``[..., K + 1]`` (gradient-stopped states)."""
        states = tf.stop_gradient(states)
        item = self._item_scores(self.value_table, states, slates)
        return tf.concat([self.no_click_value(states), item], axis=-1)

    def slate_value(self, states: tf.Tensor, slates: tf.Tensor) -> tf.Tensor:
        """``Q(s, A) = Σ_j P(j | s, A) · Q̄(s, j)`` (no click included), float ``[...]``."""
        choice = tf.nn.softmax(self.click_logits(states, slates), axis=-1)
        return tf.reduce_sum(choice * self.values(states, slates), axis=-1)

    def call(self, states: tf.Tensor, slates: tf.Tensor) -> tf.Tensor:
        """Same as :meth:`slate_value`."""
        return self.slate_value(states, slates)
