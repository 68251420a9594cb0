"""The ``tf.Module`` behind the serving signatures of an exported recommender.

Signatures (both take any batch size and any history length):

``serving_default``
  * input ``history``: ``tf.string [batch, seq_len]`` item ids, oldest first, most recent last.
    ``""`` is padding; ids missing from the vocabulary are dropped (not mapped to OOV); when more
    than ``max_len`` known items remain, the ``max_len`` most recent are kept.
  * outputs ``item_ids``: ``tf.string [batch, k]`` best first; ``scores``: ``tf.float32
    [batch, k]`` (the model's logits ``state · item_embedding``).

``serving_indices``
  * input ``history``: ``tf.int32 [batch, seq_len]`` item indices (0 = padding; 1 = OOV and any
    index outside ``[2, vocab_size)`` is dropped).
  * outputs ``item_indices``: ``tf.int32 [batch, k]``; ``scores``: ``tf.float32 [batch, k]``.

Reserved indices (0 = padding, 1 = OOV) are never recommended. If the encoder has a learned
repeat bias (``SequenceEncoder(repeat_bias=True)``), it is added to the scores of the items in the
history window, as in the model's own ``score_items``. With ``exclude_history`` the items of the
request's history window are not recommended; if fewer than ``k`` items remain, the missing
slots hold ``item_ids = ""`` / ``item_indices = 0`` with score ``float32.min``.

The vocabulary (one item id per line, line ``i`` = index ``i + 2``) is a SavedModel asset read by
two ``tf.lookup.StaticHashTable`` s; scoring and top-``k`` run shard by shard
(:mod:`tfrec.export.retrieval`); the encoder's variables are captured directly (the Keras model
object itself is not serialised), so only core TensorFlow ops end up in the graph.
"""

from __future__ import annotations

from collections.abc import Callable

import tensorflow as tf

from tfrec.export.compression import ItemTable
from tfrec.export.request_history import compact_history
from tfrec.export.retrieval import sharded_top_k
from tfrec.specs import FIRST_ITEM_INDEX, PAD_INDEX

HISTORY_KEY = "history"
ITEM_IDS_KEY = "item_ids"
ITEM_INDICES_KEY = "item_indices"
SCORES_KEY = "scores"
DEFAULT_SIGNATURE = "serving_default"
INDICES_SIGNATURE = "serving_indices"


def _vocabulary_table(
    vocabulary: tf.saved_model.Asset, key: tuple, value: tuple, default: int | str
) -> tf.lookup.StaticHashTable:
    """A lookup table over ``vocabulary.txt`` (line ``i`` holds the id of item index ``i + 2``).

    Args:
      vocabulary: the SavedModel asset of the vocabulary file.
      key: ``(dtype, tf.lookup.TextFileIndex)`` of the keys.
      value: ``(dtype, tf.lookup.TextFileIndex)`` of the values.
      default: the value of a missing key.
    """
    initializer = tf.lookup.TextFileInitializer(vocabulary, key[0], key[1], value[0], value[1])
    return tf.lookup.StaticHashTable(initializer, default_value=default)


class ServingModule(tf.Module):
    """Holds the vocabulary tables, encoder variables and item table; exposes both signatures.

    Args:
      encoder: the built sequence encoder: ``encoder(indices [batch, max_len]) -> [batch, dim]``.
      vocabulary_file: path of the vocabulary text file (one real item id per line); it is
        tracked as a ``tf.saved_model.Asset`` and copied into the SavedModel's ``assets/``.
      item_table: the scoring table (see :class:`~tfrec.export.compression.ItemTable`).
      k: number of recommendations per request.
      max_len: history window fed to the encoder.
      exclude_history: if True, items of the request's history are not recommended.
    """

    def __init__(
        self,
        encoder: tf.keras.Model,
        vocabulary_file: str,
        item_table: ItemTable,
        k: int,
        max_len: int,
        exclude_history: bool = False,
    ) -> None:
        super().__init__(name="tfrec_serving")
        self.k = int(k)
        self.max_len = int(max_len)
        self.exclude_history = bool(exclude_history)
        self.vocab_size = item_table.vocab_size
        self.vocabulary = tf.saved_model.Asset(vocabulary_file)
        line, number = tf.lookup.TextFileIndex.WHOLE_LINE, tf.lookup.TextFileIndex.LINE_NUMBER
        self.id_to_index = _vocabulary_table(
            self.vocabulary, (tf.string, line), (tf.int64, number), -1
        )
        self.index_to_id = _vocabulary_table(
            self.vocabulary, (tf.int64, number), (tf.string, line), ""
        )
        # Track the variables, not the Keras model: the SavedModel then holds only these
        # signatures' graphs (no Keras metadata or per-layer functions).
        self.encoder_variables = list(encoder.variables)
        self.item_table = item_table
        # The encoder's learned repeat bias (None when it has none): added to history items.
        self.repeat_weight = getattr(encoder, "repeat_weight", None)
        self._encode: Callable[[tf.Tensor], tf.Tensor] = lambda ids: encoder(ids, training=False)

    def _recommend(self, indices: tf.Tensor, valid: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """Top-``k`` item indices ``[batch, k]`` and scores ``[batch, k]`` for a raw request."""
        window = compact_history(indices, valid, self.max_len)
        top, top_scores = sharded_top_k(
            self.item_table,
            self._encode(window),
            self.k,
            history=window,
            history_bias=self.repeat_weight,
            exclude_history=self.exclude_history,
        )
        min_score = tf.constant(tf.float32.min, tf.float32)
        top = tf.where(top_scores > min_score, top, tf.constant(PAD_INDEX, tf.int32))
        return top, top_scores

    @tf.function(input_signature=[tf.TensorSpec([None, None], tf.string, name=HISTORY_KEY)])
    def serve_ids(self, history: tf.Tensor) -> dict[str, tf.Tensor]:
        """``serving_default``: item-id strings in, top-``k`` item ids and scores out."""
        line = self.id_to_index.lookup(history)  # -1 for "" and unknown ids
        indices = tf.cast(line, tf.int32) + FIRST_ITEM_INDEX
        top, top_scores = self._recommend(indices, line >= 0)
        ids = self.index_to_id.lookup(tf.cast(top, tf.int64) - FIRST_ITEM_INDEX)
        return {ITEM_IDS_KEY: ids, SCORES_KEY: top_scores}

    @tf.function(input_signature=[tf.TensorSpec([None, None], tf.int32, name=HISTORY_KEY)])
    def serve_indices(self, history: tf.Tensor) -> dict[str, tf.Tensor]:
        """``serving_indices``: int32 item indices in, top-``k`` indices and scores out."""
        valid = (history >= FIRST_ITEM_INDEX) & (history < self.vocab_size)
        top, top_scores = self._recommend(history, valid)
        return {ITEM_INDICES_KEY: top, SCORES_KEY: top_scores}

    def signatures(self) -> dict[str, tf.types.experimental.ConcreteFunction]:
        """The signature map for ``tf.saved_model.save``."""
        return {
            DEFAULT_SIGNATURE: self.serve_ids.get_concrete_function(),
            INDICES_SIGNATURE: self.serve_indices.get_concrete_function(),
        }
