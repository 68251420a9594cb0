"""Item and position embeddings for sequential recommenders.

``ItemEmbedding`` holds one table used both to embed input item indices and to score every item
of the catalog from a state vector (tied input/output embeddings, as in SASRec, Kang & McAuley
2018, arXiv 1808.09781). ``PositionEmbedding`` is a learned absolute position table indexed from
the *end* of the window, so the most recent item always gets the same position embedding whatever
the window length.
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf

from tfrec.specs import FIRST_ITEM_INDEX, NUM_RESERVED


def mask_reserved_logits(logits: tf.Tensor) -> tf.Tensor:
    """Sets the logits of the reserved indices (0 = padding, 1 = OOV) to ``dtype.min``.

    Args:
      logits: float tensor ``[..., vocab_size]``.

    Returns:
      The same logits with the first ``NUM_RESERVED`` entries of the last axis replaced by the
      smallest finite value of the dtype (never ``-inf``: it yields NaNs in softmaxes).
    """
    logits = tf.convert_to_tensor(logits)
    vocab_size = tf.shape(logits)[-1]
    reserved = tf.range(vocab_size) < FIRST_ITEM_INDEX
    return tf.where(reserved, tf.cast(logits.dtype.min, logits.dtype), logits)


@tf.keras.utils.register_keras_serializable(package="tfrec")
class ItemEmbedding(tf.keras.layers.Layer):
    """One embedding table for item input lookup and catalog output scores.

    Args:
      vocab_size: number of item indices, including padding (0) and OOV (1).
      dim: embedding size.
      use_output_bias: if True, :meth:`logits` adds a learned per-item bias ``[vocab_size]``.
      embeddings_initializer: initializer of the table (a Keras initializer or its name).
      **kwargs: forwarded to ``tf.keras.layers.Layer``.

    Call:
      ``ids`` int ``[...]`` -> embeddings ``[..., dim]``.
    """

    def __init__(
        self,
        vocab_size: int,
        dim: int,
        use_output_bias: bool = False,
        embeddings_initializer: Any = "glorot_uniform",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if int(vocab_size) <= NUM_RESERVED:
            raise ValueError(
                f"vocab_size={vocab_size} leaves no real item: it must be > {NUM_RESERVED} "
                "(indices 0 = padding and 1 = OOV are reserved)."
            )
        if int(dim) < 1:
            raise ValueError(f"dim must be >= 1, got {dim}.")
        self.vocab_size = int(vocab_size)
        self.dim = int(dim)
        self.use_output_bias = bool(use_output_bias)
        self.embeddings_initializer = tf.keras.initializers.get(embeddings_initializer)

    def build(self, input_shape: Any = None) -> None:
        self.embeddings = self.add_weight(
            name="embeddings",
            shape=(self.vocab_size, self.dim),
            initializer=self.embeddings_initializer,
            trainable=True,
        )
        self.output_bias = (
            self.add_weight(
                name="output_bias", shape=(self.vocab_size,), initializer="zeros", trainable=True
            )
            if self.use_output_bias
            else None
        )
        super().build(input_shape)

    def call(self, ids: tf.Tensor) -> tf.Tensor:
        """Looks up item embeddings.

        Args:
          ids: int tensor ``[...]`` of item indices in ``[0, vocab_size)``.

        Returns:
          float tensor ``[..., dim]``.
        """
        return tf.gather(self.table(), tf.cast(ids, tf.int32))

    def table(self) -> tf.Tensor:
        """The table read once as a dense tensor ``[vocab_size, dim]``.

        Lookups and scores gather / multiply from this tensor rather than from the variable: a
        sparse read of the variable itself (``ResourceGather``) switches it to TensorFlow's
        copy-on-read mode, in which every later full read copies the whole table.
        """
        if not self.built:
            self.build(None)
        return tf.convert_to_tensor(self.embeddings)

    def logits(self, states: tf.Tensor, mask_reserved: bool = True) -> tf.Tensor:
        """Scores every item of the catalog with the tied table: ``states @ embeddings^T (+ b)``.

        Args:
          states: float tensor ``[..., dim]``.
          mask_reserved: if True, indices 0 (padding) and 1 (OOV) get ``dtype.min``.

        Returns:
          float tensor ``[..., vocab_size]``.
        """
        table = self.table()
        states = tf.convert_to_tensor(states, dtype=table.dtype)
        if states.shape.rank is not None and states.shape[-1] not in (None, self.dim):
            raise ValueError(
                f"states must have last dimension {self.dim} (the embedding size), "
                f"got shape {states.shape}."
            )
        logits = tf.linalg.matmul(tf.reshape(states, [-1, self.dim]), table, transpose_b=True)
        logits = tf.reshape(logits, tf.concat([tf.shape(states)[:-1], [self.vocab_size]], 0))
        if self.output_bias is not None:
            logits += self.output_bias
        return mask_reserved_logits(logits) if mask_reserved else logits

    def compute_output_shape(self, input_shape: Any) -> tf.TensorShape:
        return tf.TensorShape(input_shape).concatenate([self.dim])

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            {
                "vocab_size": self.vocab_size,
                "dim": self.dim,
                "use_output_bias": self.use_output_bias,
                "embeddings_initializer": tf.keras.initializers.serialize(
                    self.embeddings_initializer
                ),
            }
        )
        return config


@tf.keras.utils.register_keras_serializable(package="tfrec")
class PositionEmbedding(tf.keras.layers.Layer):
    """Learned absolute position embeddings, aligned on the most recent (last) position.

    For an input of length ``L <= max_len`` the rows ``max_len - L .. max_len - 1`` of the table
    are used, so the last (most recent) element always receives row ``max_len - 1``: a model
    trained on windows of ``max_len`` serves shorter left-padded histories consistently.

    Args:
      max_len: longest sequence the layer accepts.
      dim: embedding size (must equal the last dimension of the inputs).
      embeddings_initializer: initializer of the table.
      **kwargs: forwarded to ``tf.keras.layers.Layer``.

    Call:
      ``inputs`` float ``[batch, seq_len, dim]`` -> position embeddings broadcast to
      ``[batch, seq_len, dim]`` (add them to the inputs).
    """

    def __init__(
        self,
        max_len: int,
        dim: int,
        embeddings_initializer: Any = "glorot_uniform",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if int(max_len) < 1:
            raise ValueError(f"max_len must be >= 1, got {max_len}.")
        self.max_len = int(max_len)
        self.dim = int(dim)
        self.embeddings_initializer = tf.keras.initializers.get(embeddings_initializer)

    def build(self, input_shape: Any = None) -> None:
        self.position_embeddings = self.add_weight(
            name="position_embeddings",
            shape=(self.max_len, self.dim),
            initializer=self.embeddings_initializer,
            trainable=True,
        )
        super().build(input_shape)

    def call(self, inputs: tf.Tensor) -> tf.Tensor:
        """Returns the position embeddings of ``inputs`` ``[batch, seq_len, dim]``."""
        static_len = inputs.shape[-2]
        if static_len is not None and static_len > self.max_len:
            raise ValueError(
                f"sequence length {static_len} exceeds max_len={self.max_len}: keep only the "
                f"last {self.max_len} items of each history or build the layer with a larger "
                "max_len."
            )
        seq_len = tf.shape(inputs)[-2]
        tf.debugging.assert_less_equal(
            seq_len, self.max_len, message=f"sequence length exceeds max_len={self.max_len}"
        )
        positions = self.position_embeddings[self.max_len - seq_len :]
        return tf.broadcast_to(tf.cast(positions, inputs.dtype), tf.shape(inputs))

    def compute_output_shape(self, input_shape: Any) -> tf.TensorShape:
        return tf.TensorShape(input_shape)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            {
                "max_len": self.max_len,
                "dim": self.dim,
                "embeddings_initializer": tf.keras.initializers.serialize(
                    self.embeddings_initializer
                ),
            }
        )
        return config
