"""``SequenceEncoder``: item-index histories -> user state (SASRec backbone).

Architecture of SASRec (Kang & McAuley 2018, arXiv 1808.09781) with pre-LayerNorm blocks:
item embedding (scaled by ``sqrt(dim)``) + learned position embedding (aligned on the most recent
item), dropout, ``num_layers`` causal :class:`~tfrec.layers.TransformerBlock`, final LayerNorm.
The encoder knows nothing of the task: the supervised next-item model and the RL actor both put a
head on it, and the scores of the catalog come from the tied item table
(:meth:`SequenceEncoder.score_items`).

Optional learned repeat bias (``repeat_bias=True``), a minimal form of RepeatNet's repeat/explore
split (Ren et al., AAAI 2019, "RepeatNet: A Repeat Aware Neural Recommendation Machine for
Session-based Recommendation"): one trainable scalar ``w`` (:attr:`SequenceEncoder.repeat_weight`)
is added to the score of every item that occurs in the input history
(:func:`tfrec.layers.history_indicator`). With a tied item table, a state built from the
history's embeddings scores those same items high; ``w`` learns from the data how much to
correct that: strongly negative where users never re-consume (MovieLens ratings), positive where
they do (music, groceries). It is a model parameter, not an evaluation mask.
"""

from __future__ import annotations

import math
from typing import Any

import tensorflow as tf

from tfrec.layers import ItemEmbedding, PositionEmbedding, TransformerBlock, history_indicator
from tfrec.specs import PAD_INDEX


@tf.keras.utils.register_keras_serializable(package="tfrec")
class SequenceEncoder(tf.keras.Model):
    """Causal Transformer encoder of left-padded item histories.

    Args:
      vocab_size: number of item indices, including padding (0) and OOV (1).
      max_len: longest history the encoder accepts (its position table size).
      dim: model width and item-embedding size.
      num_layers: number of Transformer blocks.
      num_heads: attention heads per block (``dim`` must be divisible by it).
      dropout: dropout rate (embeddings, attention, residual branches).
      ff_dim: feed-forward hidden width (default ``dim``).
      use_output_bias: adds a learned per-item bias to :meth:`score_items` logits.
      repeat_bias: adds the learned scalar :attr:`repeat_weight` to the :meth:`score_items`
        logit of every item occurring in the input history.
      **kwargs: forwarded to ``tf.keras.Model`` (e.g. ``name``).

    Call:
      ``ids`` int ``[batch, seq_len]`` (``seq_len <= max_len``; left-padded with 0, most recent
      item last) -> final state ``[batch, dim]`` (the state at the last position).

    Attributes:
      repeat_weight: trainable float32 scalar ``tf.Variable`` (initialised to 0.0) when
        ``repeat_bias``, else None.
    """

    def __init__(
        self,
        vocab_size: int,
        max_len: int,
        dim: int = 64,
        num_layers: int = 2,
        num_heads: int = 2,
        dropout: float = 0.2,
        ff_dim: int | None = None,
        use_output_bias: bool = False,
        repeat_bias: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if int(num_layers) < 1:
            raise ValueError(f"num_layers must be >= 1, got {num_layers}.")
        self.vocab_size = int(vocab_size)
        self.max_len = int(max_len)
        self.dim = int(dim)
        self.num_layers = int(num_layers)
        self.num_heads = int(num_heads)
        self.dropout = float(dropout)
        self.ff_dim = int(ff_dim) if ff_dim is not None else None
        self.use_output_bias = bool(use_output_bias)
        self.repeat_bias = bool(repeat_bias)
        self.repeat_weight: tf.Variable | None = None

        self.item_embedding = ItemEmbedding(
            self.vocab_size, self.dim, use_output_bias=self.use_output_bias, name="item_embedding"
        )
        self.position_embedding = PositionEmbedding(
            self.max_len, self.dim, name="position_embedding"
        )
        self.embedding_dropout = tf.keras.layers.Dropout(self.dropout, name="embedding_dropout")
        self.blocks = [
            TransformerBlock(
                self.dim,
                self.num_heads,
                ff_dim=self.ff_dim,
                dropout=self.dropout,
                name=f"block_{i}",
            )
            for i in range(self.num_layers)
        ]
        self.final_norm = tf.keras.layers.LayerNormalization(epsilon=1e-6, name="final_norm")
        if self.repeat_bias:
            self.repeat_weight = self.add_weight(
                name="repeat_weight", shape=(), dtype=tf.float32, initializer="zeros"
            )

    def build(self, input_shape: Any = None) -> None:
        """Builds every sublayer for ids of shape ``[batch, max_len]``."""
        state_shape = tf.TensorShape([None, self.max_len, self.dim])
        for layer, shape in [
            (self.item_embedding, None),
            (self.position_embedding, state_shape),
            *[(block, state_shape) for block in self.blocks],
            (self.final_norm, state_shape),
        ]:
            with tf.name_scope(layer.name):
                layer.build(shape)
        # Model.build(shape) would trace call() on float placeholders; the sublayers are built.
        self._build_input_shape = tf.TensorShape([None, self.max_len])
        self.built = True

    def _check_ids(self, ids: tf.Tensor) -> tf.Tensor:
        ids = tf.convert_to_tensor(ids)
        if not ids.dtype.is_integer:
            raise TypeError(
                f"SequenceEncoder expects integer item indices, got dtype {ids.dtype.name}: map "
                "item ids to indices with tfrec.data.ItemVocabulary.lookup first."
            )
        if ids.shape.rank is not None and ids.shape.rank != 2:
            raise ValueError(
                f"SequenceEncoder expects ids of shape [batch, seq_len], got shape {ids.shape}."
            )
        if ids.shape[-1] is not None and ids.shape[-1] > self.max_len:
            raise ValueError(
                f"history length {ids.shape[-1]} exceeds max_len={self.max_len}: keep the last "
                f"{self.max_len} items (Sequences.padded(max_len)) or build a larger encoder."
            )
        return tf.cast(ids, tf.int32)

    def _run(
        self, ids: tf.Tensor, training: bool | None, with_attention: bool
    ) -> tuple[tf.Tensor, list[tf.Tensor]]:
        ids = self._check_ids(ids)
        if not self.built:  # sequence_states / attention_weights may run before any __call__
            self.build(ids.shape)
        padding_mask = tf.not_equal(ids, PAD_INDEX)
        x = self.item_embedding(ids) * math.sqrt(self.dim)
        x += self.position_embedding(x)
        x = self.embedding_dropout(x, training=training)
        x *= tf.cast(padding_mask, x.dtype)[..., tf.newaxis]
        attention = []
        for block in self.blocks:
            if with_attention:
                x, scores = block(
                    x, padding_mask=padding_mask, training=training, return_attention_scores=True
                )
                attention.append(scores)
            else:
                x = block(x, padding_mask=padding_mask, training=training)
        return self.final_norm(x), attention

    def sequence_states(self, ids: tf.Tensor, training: bool | None = None) -> tf.Tensor:
        """Per-position states.

        Args:
          ids: int ``[batch, seq_len]`` left-padded item indices.
          training: enables dropout.

        Returns:
          float32 ``[batch, seq_len, dim]``; the state at position ``t`` summarises items
          ``<= t`` (causal) and predicts the item at ``t + 1``.
        """
        return self._run(ids, training, with_attention=False)[0]

    def call(self, ids: tf.Tensor, training: bool | None = None) -> tf.Tensor:
        """Final state ``[batch, dim]`` of ``ids`` ``[batch, seq_len]`` (the last position)."""
        return self.sequence_states(ids, training=training)[:, -1, :]

    def attention_weights(self, ids: tf.Tensor) -> list[tf.Tensor]:
        """Attention probabilities of every block (inference mode, no dropout).

        Args:
          ids: int ``[batch, seq_len]``.

        Returns:
          list of ``num_layers`` float tensors ``[batch, num_heads, seq_len, seq_len]``; entry
          ``[b, h, i, j]`` is how much query position ``i`` attends to key position ``j``.
        """
        return self._run(ids, training=False, with_attention=True)[1]

    def score_items(self, ids: tf.Tensor, training: bool | None = None) -> tf.Tensor:
        """Next-item logits over the catalog.

        Args:
          ids: int ``[batch, seq_len]``.
          training: enables dropout.

        Returns:
          float32 ``[batch, vocab_size]``, indices 0 and 1 set to ``dtype.min``; with
          ``repeat_bias``, ``repeat_weight`` is added to every item occurring in ``ids[b]``.
        """
        return self.with_repeat_bias(self.item_embedding.logits(self(ids, training=training)), ids)

    def with_repeat_bias(self, logits: tf.Tensor, ids: tf.Tensor) -> tf.Tensor:
        """Adds the learned repeat bias to the logits of the items of each history.

        Args:
          logits: float ``[batch, vocab_size]``.
          ids: int ``[batch, seq_len]`` the histories the logits were computed from.

        Returns:
          ``logits`` plus ``repeat_weight`` on every real item occurring in ``ids[b]``
          (:func:`~tfrec.layers.history_indicator`); ``logits`` unchanged without
          ``repeat_bias``.
        """
        if self.repeat_weight is None:
            return logits
        return logits + self.repeat_weight * history_indicator(ids, self.vocab_size)

    def get_config(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "trainable": self.trainable,
            "vocab_size": self.vocab_size,
            "max_len": self.max_len,
            "dim": self.dim,
            "num_layers": self.num_layers,
            "num_heads": self.num_heads,
            "dropout": self.dropout,
            "ff_dim": self.ff_dim,
            "use_output_bias": self.use_output_bias,
            "repeat_bias": self.repeat_bias,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> SequenceEncoder:
        return cls(**config)
