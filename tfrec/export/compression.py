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

from tfrec.specs import FIRST_ITEM_INDEX

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
    """The catalog table that scores every real item from a state, in a serving dtype, in shards.

    Only the real items (indices ``FIRST_ITEM_INDEX ..``) are kept: the reserved padding / OOV
    rows are never recommended, so they are neither stored nor scored. The rows can be split into
    ``num_shards`` contiguous variables, scored and top-k'd independently (see
    :func:`tfrec.export.retrieval.sharded_top_k`). Measured with ``benchmarks/serving.py`` on the
    2-core project machine (exported ``serving_default``, 4 shards against 1): batch-1 p50 within
    run-to-run noise at 100k items (−0.6 to +0.3 ms), −9 % at 1M, +0.4 ms at 10k; batch-256
    throughput +49 % and +73 % at 100k (two runs) and +27 % at 1M; float16 / int8 tables got
    slower with shards (one ``Cast`` per shard). Hence the default of 1 shard; shards are an
    option for throughput on large float32 catalogs (``docs/benchmarks/serving.md``).

    Each shard is a variable of its own, never gathered: once a resource variable has been read
    sparsely (the encoder's input lookup is a ``ResourceGather``), TensorFlow copies it on every
    dense read, i.e. the whole table on every request.

    Args:
      embeddings: the float32 item table ``[vocab_size, dim]`` (a variable or an array),
        including the reserved rows; the module keeps its own non-trainable copy in ``dtype``.
      bias: optional float per-item output bias ``[vocab_size]`` (added to the scores).
      dtype: ``"float32"``, ``"float16"`` or ``"int8"`` (per-row scales).
      num_shards: number of row shards; more shards than items are clamped to one per item.
      name: module name.

    Raises:
      ValueError: unknown dtype, a table that is not 2-D or holds no real item, a bias whose
        length differs from the table's, a shard count that is not a positive int.
    """

    def __init__(
        self,
        embeddings: tf.Variable | np.ndarray,
        bias: tf.Variable | np.ndarray | None = None,
        dtype: TableDType = "float32",
        num_shards: int = 1,
        name: str = "item_table",
    ) -> None:
        super().__init__(name=name)
        if dtype not in TABLE_DTYPES:
            raise ValueError(f"item_table_dtype must be one of {TABLE_DTYPES}, got {dtype!r}.")
        self.dtype = dtype
        values = _as_array(embeddings)
        if values.ndim != 2:
            raise ValueError(f"item table must be 2-D [vocab_size, dim], got shape {values.shape}.")
        self.vocab_size, self.dim = int(values.shape[0]), int(values.shape[1])
        self.num_items = self.vocab_size - FIRST_ITEM_INDEX
        if self.num_items < 1:
            raise ValueError(
                f"item table has {self.vocab_size} rows: no real item after the "
                f"{FIRST_ITEM_INDEX} reserved ones."
            )
        bias_values = None if bias is None else _as_array(bias)
        if bias_values is not None and bias_values.shape != (self.vocab_size,):
            raise ValueError(
                f"bias must have shape ({self.vocab_size},) like the table's rows, "
                f"got {bias_values.shape}."
            )
        if isinstance(num_shards, bool) or not isinstance(num_shards, int) or num_shards < 1:
            raise ValueError(f"num_shards must be a positive int, got {num_shards!r}.")
        shards = min(num_shards, self.num_items)
        bounds = np.linspace(FIRST_ITEM_INDEX, self.vocab_size, shards + 1).astype(int)
        self.offsets = [int(start) for start in bounds[:-1]]
        self.sizes = [int(stop - start) for start, stop in zip(bounds[:-1], bounds[1:])]
        self.tables: list[tf.Variable] = []
        self.scales: list[tf.Variable] | None = [] if dtype == "int8" else None
        self.biases: list[tf.Variable] | None = [] if bias_values is not None else None
        for shard, (start, stop) in enumerate(zip(bounds[:-1], bounds[1:])):
            rows = values[start:stop]
            if dtype == "int8":
                rows, scales = quantize_int8(rows)
                self.scales.append(tf.Variable(scales, trainable=False, name=f"scales_{shard}"))
            elif dtype == "float16":
                rows = rows.astype(np.float16)
            self.tables.append(tf.Variable(rows, trainable=False, name=f"table_{shard}"))
            if bias_values is not None:
                self.biases.append(
                    tf.Variable(bias_values[start:stop], trainable=False, name=f"bias_{shard}")
                )

    @property
    def num_shards(self) -> int:
        """Number of row shards."""
        return len(self.tables)

    def shard_scores(self, states: tf.Tensor, shard: int) -> tf.Tensor:
        """Scores of one shard's items.

        Args:
          states: float ``[batch, dim]``.
          shard: shard number in ``[0, num_shards)``; its items are the indices
            ``offsets[shard] .. offsets[shard] + sizes[shard] - 1``.

        Returns:
          float32 ``[batch, sizes[shard]]``.
        """
        states = tf.cast(states, tf.float32)
        table = self.tables[shard]
        if self.dtype != "float32":
            table = tf.cast(table, tf.float32)
        scores = tf.linalg.matmul(states, table, transpose_b=True)
        if self.scales is not None:
            scores = scores * self.scales[shard][tf.newaxis, :]
        if self.biases is not None:
            scores = scores + self.biases[shard][tf.newaxis, :]
        return scores

    def scores(self, states: tf.Tensor) -> tf.Tensor:
        """Scores of every real item (for checks and small catalogs; serving uses
        :func:`tfrec.export.retrieval.sharded_top_k`).

        Args:
          states: float ``[batch, dim]``.

        Returns:
          float32 ``[batch, num_items]``; column ``j`` is item index ``j + FIRST_ITEM_INDEX``.
        """
        return tf.concat([self.shard_scores(states, s) for s in range(self.num_shards)], axis=1)

    def dequantized(self) -> np.ndarray:
        """The float32 rows this module scores with, ``[num_items, dim]`` (for agreement checks)."""
        rows = []
        for shard, table in enumerate(self.tables):
            values = table.numpy().astype(np.float32)
            if self.scales is not None:
                values = values * self.scales[shard].numpy()[:, None]
            rows.append(values)
        return np.concatenate(rows, axis=0)


def _as_array(values: tf.Variable | tf.Tensor | np.ndarray) -> np.ndarray:
    """A float32 numpy copy of a variable, tensor or array."""
    if isinstance(values, (tf.Variable, tf.Tensor)):
        values = values.numpy()
    return np.asarray(values, np.float32)
