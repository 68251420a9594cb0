"""Causal Transformer block for left-padded item sequences (SASRec, Kang & McAuley 2018).

Pre-LayerNorm residual block (Xiong et al. 2020, "On Layer Normalization in the Transformer
Architecture"): ``x + Dropout(MHA(LN(x)))`` then ``x + Dropout(FFN(LN(x)))``. Attention is causal
(position ``i`` sees positions ``<= i``) and ignores padded keys.
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf


def causal_padding_mask(padding_mask: tf.Tensor) -> tf.Tensor:
    """Builds the boolean attention mask of causal self-attention over a padded sequence.

    Args:
      padding_mask: bool ``[batch, seq_len]``, True at real (non-padding) positions.

    Returns:
      bool ``[batch, seq_len, seq_len]``: entry ``[b, i, j]`` is True when query ``i`` may attend
      to key ``j`` (``j <= i`` and ``j`` is not padding). A query with no allowed key (a padded
      position of a left-padded row) may attend to itself only, so no softmax row is empty.
    """
    padding_mask = tf.cast(padding_mask, tf.bool)
    seq_len = tf.shape(padding_mask)[1]
    causal = tf.linalg.band_part(tf.ones([seq_len, seq_len], tf.bool), -1, 0)
    mask = tf.logical_and(causal[tf.newaxis], padding_mask[:, tf.newaxis, :])
    diagonal = tf.eye(seq_len, dtype=tf.bool)[tf.newaxis]
    empty_row = tf.logical_not(tf.reduce_any(mask, axis=-1, keepdims=True))
    return tf.logical_or(mask, tf.logical_and(diagonal, empty_row))


@tf.keras.utils.register_keras_serializable(package="tfrec")
class TransformerBlock(tf.keras.layers.Layer):
    """Pre-LayerNorm causal self-attention block with a position-wise feed-forward network.

    Args:
      dim: model width (the last dimension of the inputs).
      num_heads: attention heads; ``dim`` must be divisible by it.
      ff_dim: hidden width of the feed-forward network (default ``dim``, as in SASRec).
      dropout: dropout rate on attention probabilities and both residual branches.
      activation: activation of the feed-forward network.
      layer_norm_epsilon: epsilon of both LayerNorms.
      **kwargs: forwarded to ``tf.keras.layers.Layer``.

    Call:
      ``inputs`` float ``[batch, seq_len, dim]``, ``padding_mask`` bool ``[batch, seq_len]``
      (True = real item; default all True) -> ``[batch, seq_len, dim]``, plus the attention
      probabilities ``[batch, num_heads, seq_len, seq_len]`` when
      ``return_attention_scores=True``. Outputs at padded positions are zeroed.
    """

    def __init__(
        self,
        dim: int,
        num_heads: int,
        ff_dim: int | None = None,
        dropout: float = 0.0,
        activation: str = "gelu",
        layer_norm_epsilon: float = 1e-6,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if int(num_heads) < 1 or int(dim) % int(num_heads):
            raise ValueError(
                f"dim={dim} must be a positive multiple of num_heads={num_heads} "
                "(each head gets dim // num_heads features)."
            )
        if not 0.0 <= float(dropout) < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}.")
        self.dim = int(dim)
        self.num_heads = int(num_heads)
        self.ff_dim = int(ff_dim) if ff_dim is not None else None
        self.dropout = float(dropout)
        self.activation = activation
        self.layer_norm_epsilon = float(layer_norm_epsilon)

    def build(self, input_shape: Any) -> None:
        input_shape = tf.TensorShape(input_shape)
        if input_shape[-1] is not None and input_shape[-1] != self.dim:
            raise ValueError(
                f"TransformerBlock(dim={self.dim}) got inputs of shape {input_shape}: the last "
                f"dimension must be {self.dim}."
            )
        hidden = self.ff_dim or self.dim
        self.attention_norm = tf.keras.layers.LayerNormalization(
            epsilon=self.layer_norm_epsilon, name="attention_norm"
        )
        self.attention = tf.keras.layers.MultiHeadAttention(
            num_heads=self.num_heads,
            key_dim=self.dim // self.num_heads,
            dropout=self.dropout,
            name="attention",
        )
        self.attention_dropout = tf.keras.layers.Dropout(self.dropout)
        self.ffn_norm = tf.keras.layers.LayerNormalization(
            epsilon=self.layer_norm_epsilon, name="ffn_norm"
        )
        self.ffn_hidden = tf.keras.layers.Dense(hidden, activation=self.activation, name="ffn_1")
        self.ffn_output = tf.keras.layers.Dense(self.dim, name="ffn_2")
        self.ffn_dropout = tf.keras.layers.Dropout(self.dropout)
        with tf.name_scope(self.attention_norm.name):
            self.attention_norm.build(input_shape)
        with tf.init_scope():
            # tf_keras' MultiHeadAttention creates its projection weights on its first call
            # (it has no shape-only build); one call on a [1, 1, dim] tensor builds them all.
            probe = tf.zeros([1, 1, self.dim], self.compute_dtype)
            self.attention(probe, probe)
        with tf.name_scope(self.ffn_norm.name):
            self.ffn_norm.build(input_shape)
        with tf.name_scope(self.ffn_hidden.name):
            self.ffn_hidden.build(input_shape)
        with tf.name_scope(self.ffn_output.name):
            self.ffn_output.build(input_shape[:-1].concatenate([hidden]))
        super().build(input_shape)

    def call(
        self,
        inputs: tf.Tensor,
        padding_mask: tf.Tensor | None = None,
        training: bool | None = None,
        return_attention_scores: bool = False,
    ) -> tf.Tensor | tuple[tf.Tensor, tf.Tensor]:
        if padding_mask is None:
            padding_mask = tf.ones(tf.shape(inputs)[:2], tf.bool)
        padding_mask = tf.cast(padding_mask, tf.bool)
        attention_mask = causal_padding_mask(padding_mask)
        normed = self.attention_norm(inputs)
        attended, scores = self.attention(
            normed,
            normed,
            attention_mask=attention_mask,
            return_attention_scores=True,
            training=training,
        )
        x = inputs + self.attention_dropout(attended, training=training)
        hidden = self.ffn_output(self.ffn_hidden(self.ffn_norm(x)))
        x = x + self.ffn_dropout(hidden, training=training)
        x *= tf.cast(padding_mask, x.dtype)[..., tf.newaxis]
        return (x, scores) if return_attention_scores else x

    def compute_output_shape(self, input_shape: Any) -> tf.TensorShape:
        return tf.TensorShape(input_shape)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            {
                "dim": self.dim,
                "num_heads": self.num_heads,
                "ff_dim": self.ff_dim,
                "dropout": self.dropout,
                "activation": self.activation,
                "layer_norm_epsilon": self.layer_norm_epsilon,
            }
        )
        return config
