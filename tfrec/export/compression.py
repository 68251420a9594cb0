"""Item-table storage for serving: float32, float16, or int8 with one scale per row.

Scoring a request is ``state @ table^T`` over the whole catalog, which reads every byte of the
table: at batch 1 it is bound by memory bandwidth, so a smaller table is a cheaper request. Only
core TensorFlow ops are used (``Cast``, ``MatMul``, ``Mul``), so the export stays servable by a
stock ``tensorflow_model_server``.

int8 uses symmetric per-row (per-item) quantisation: ``q[i] = round(table[i] / s[i])`` with
``s[i] = max_j |table[i, j]| / 127``, and scores are ``(state @ q^T) * s`` — the row scale factors
out of the dot product (as in Jacob et al., CVPR 2018, "Quantization and Training of Neural
Networks for Efficient Integer-Arithmetic-Only Inference", with zero point 0).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import tensorflow as tf

TableDType = Literal["float32", "float16", "int8"]
TABLE_DTYPES: tuple[str, ...] = ("float32", "float16", "int8")


def quantize_int8(table: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric per-row int8 quantisation.

    Args:
      table: float array ``[num_rows, dim]``.

    Returns:
      ``(q, scales)``: int8 ``[num_rows, dim]`` and float32 ``[num_rows]`` with
      ``table ≈ q * scales[:, None]``; an all-zero row gets scale 0 and zeros.
    """
    table = np.asarray(table, dtype=np.float32)
    if table.ndim != 2:
        raise ValueError(f"table must be 2-D [num_rows, dim], got shape {table.shape}.")
    scales = np.abs(table).max(axis=1) / 127.0
    safe = np.where(scales > 0, scales, 1.0)
    q = np.clip(np.rint(table / safe[:, None]), -127, 127).astype(np.int8)
    return q, scales.astype(np.float32)


class ItemTable(tf.Module):
    """The catalog table used to score every item from a state, in a serving dtype.

    Args:
      embeddings: the float32 item table ``[vocab_size, dim]`` (a variable or an array); the
        module keeps its own non-trainable copy in ``dtype``.
      bias: optional float per-item output bias ``[vocab_size]`` (added to the scores).
      dtype: ``"float32"``, ``"float16"`` or ``"int8"`` (per-row scales).
      name: module name.
    """

    def __init__(
        self,
        embeddings: tf.Variable | np.ndarray,
        bias: tf.Variable | np.ndarray | None = None,
        dtype: TableDType = "float32",
        name: str = "item_table",
    ) -> None:
        super().__init__(name=name)
        if dtype not in TABLE_DTYPES:
            raise ValueError(f"item_table_dtype must be one of {TABLE_DTYPES}, got {dtype!r}.")
        self.dtype = dtype
        shape = tuple(embeddings.shape)
        if len(shape) != 2:
            raise ValueError(f"item table must be 2-D [vocab_size, dim], got shape {shape}.")
        self.vocab_size, self.dim = int(shape[0]), int(shape[1])
        values = np.asarray(
            embeddings.numpy() if isinstance(embeddings, tf.Variable) else embeddings, np.float32
        )
        # Always a variable of its own, never gathered: once a resource variable has been read
        # sparsely (the encoder's input lookup is a ResourceGather), TensorFlow copies it on
        # every dense read, i.e. the whole table on every request.
        self.scales = None
        if dtype == "float32":
            self.table = tf.Variable(values, trainable=False, name="table")
        elif dtype == "float16":
            self.table = tf.Variable(values.astype(np.float16), trainable=False, name="table")
        else:
            q, scales = quantize_int8(values)
            self.table = tf.Variable(q, trainable=False, name="table")
            self.scales = tf.Variable(scales, trainable=False, name="scales")
        self.bias = bias

    def scores(self, states: tf.Tensor) -> tf.Tensor:
        """Scores of every catalog entry.

        Args:
          states: float32 ``[batch, dim]``.

        Returns:
          float32 ``[batch, vocab_size]`` (reserved indices are not masked here).
        """
        states = tf.cast(states, tf.float32)
        table = self.table if self.dtype == "float32" else tf.cast(self.table, tf.float32)
        scores = tf.linalg.matmul(states, table, transpose_b=True)
        if self.scales is not None:
            scores = scores * self.scales[tf.newaxis, :]
        if self.bias is not None:
            scores = scores + tf.cast(self.bias, tf.float32)[tf.newaxis, :]
        return scores

    def dequantized(self) -> np.ndarray:
        """The float32 table this module scores with, ``[vocab_size, dim]`` (for agreement checks)."""
        table = self.table.numpy().astype(np.float32)
        if self.scales is not None:
            table = table * self.scales.numpy()[:, None]
        return table
