"""Non-neural next-item baselines with the model's score interface.

Every scorer maps histories int32 ``[batch, seq_len]`` (left-padded, 0 = padding) to scores
float32 ``[batch, vocab_size]``, like ``SequenceEncoder.score_items``, so
:func:`tfrec.evaluation.ranking.evaluate_ranking` ranks them the same way. Reserved indices 0
(padding) and 1 (OOV) get ``float32.min``.

* :class:`MostPopular`: training interaction counts, the same list for everyone.
* :class:`RandomScorer`: i.i.d. uniform scores (seeded).
* :class:`ItemCooccurrence`: item-to-item KNN on co-occurrence within a window of the training
  sequences, cosine-normalised (Sarwar et al., WWW 2001, "Item-based collaborative filtering
  recommendation algorithms"; Linden et al. 2003 for the co-occurrence variant), summed over the
  history items with a recency decay.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from tfrec.data import Sequences
from tfrec.layers import mask_reserved_logits
from tfrec.specs import FIRST_ITEM_INDEX, NUM_RESERVED, PAD_INDEX

MAX_DENSE_ITEMS = 20_000
"""Largest catalog :class:`ItemCooccurrence` holds as a dense ``[V, V]`` float32 matrix (1.6 GB)."""


def _check_vocab(vocab_size: int) -> int:
    if int(vocab_size) <= NUM_RESERVED:
        raise ValueError(
            f"vocab_size={vocab_size} leaves no real item: it must be > {NUM_RESERVED} "
            "(indices 0 = padding and 1 = OOV are reserved)."
        )
    return int(vocab_size)


def _item_counts(seqs: Sequences, vocab_size: int) -> np.ndarray:
    if not isinstance(seqs, Sequences):
        raise TypeError(f"expected tfrec.data.Sequences, got {type(seqs).__name__}.")
    items = np.asarray(seqs.items, np.int64)
    if items.size and items.max() >= vocab_size:
        raise ValueError(
            f"the sequences hold item index {int(items.max())} but vocab_size={vocab_size}: "
            "pass the vocabulary's size (ItemVocabulary.size)."
        )
    return np.bincount(items, minlength=vocab_size).astype(np.float64)


class MostPopular:
    """Scores every item by its number of training interactions.

    Args:
      counts: float ``[vocab_size]`` interaction counts (reserved entries are ignored).
    """

    def __init__(self, counts: np.ndarray) -> None:
        counts = np.asarray(counts, np.float32)
        if counts.ndim != 1:
            raise ValueError(f"counts must be [vocab_size], got shape {counts.shape}.")
        self.vocab_size = _check_vocab(len(counts))
        self.scores = mask_reserved_logits(tf.constant(counts))

    @classmethod
    def from_sequences(cls, seqs: Sequences, vocab_size: int) -> MostPopular:
        """Counts the items of the training ``seqs`` (indices < ``vocab_size``)."""
        return cls(_item_counts(seqs, _check_vocab(vocab_size)))

    def __call__(self, histories: tf.Tensor) -> tf.Tensor:
        """Histories ``[batch, seq_len]`` -> scores ``[batch, vocab_size]`` (same row for all)."""
        batch = tf.shape(histories)[0]
        return tf.broadcast_to(self.scores, tf.stack([batch, self.vocab_size]))


class RandomScorer:
    """Independent uniform random scores (a floor every model must clear).

    Args:
      vocab_size: number of indices including the reserved ones.
      seed: seed of the ``tf.random.Generator``.
    """

    def __init__(self, vocab_size: int, seed: int = 0) -> None:
        self.vocab_size = _check_vocab(vocab_size)
        self.generator = tf.random.Generator.from_seed(seed)

    def __call__(self, histories: tf.Tensor) -> tf.Tensor:
        """Histories ``[batch, seq_len]`` -> uniform scores ``[batch, vocab_size]``."""
        batch = tf.shape(histories)[0]
        return mask_reserved_logits(self.generator.uniform(tf.stack([batch, self.vocab_size])))


class ItemCooccurrence:
    """Item-KNN on co-occurrence counts: ``score(j) = sum_t decay^(age_t) * sim(h_t, j)``.

    ``sim(i, j) = c(i, j) / sqrt(n_i * n_j)`` where ``c`` counts the pairs of interactions of the
    same user at most ``window`` positions apart and ``n`` the item counts; ``age_t`` is 0 for the
    most recent history item. Only the ``num_neighbors`` most similar items of each item are kept.

    Args:
      similarity: float ``[vocab_size, vocab_size]`` item-item similarity.
      decay: recency weight in ``(0, 1]`` (1 = the history is a bag of items).
    """

    def __init__(self, similarity: np.ndarray, decay: float = 0.8) -> None:
        similarity = np.asarray(similarity, np.float32)
        if similarity.ndim != 2 or similarity.shape[0] != similarity.shape[1]:
            raise ValueError(
                f"similarity must be [vocab_size, vocab_size], got shape {similarity.shape}."
            )
        if not 0.0 < decay <= 1.0:
            raise ValueError(f"decay must be in (0, 1], got {decay}.")
        self.vocab_size = _check_vocab(similarity.shape[0])
        self.decay = float(decay)
        self.similarity = tf.constant(similarity)

    @classmethod
    def from_sequences(
        cls,
        seqs: Sequences,
        vocab_size: int,
        window: int = 5,
        num_neighbors: int = 100,
        decay: float = 0.8,
    ) -> ItemCooccurrence:
        """Builds the similarity from training sequences.

        Args:
          seqs: training sequences (item indices < ``vocab_size``).
          vocab_size: number of indices including the reserved ones.
          window: pairs at most this many positions apart co-occur (>= 1).
          num_neighbors: similar items kept per item (>= 1).
          decay: recency weight of the history items.

        Returns:
          The fitted scorer.
        """
        vocab_size = _check_vocab(vocab_size)
        if vocab_size - NUM_RESERVED > MAX_DENSE_ITEMS:
            raise ValueError(
                f"ItemCooccurrence keeps a dense [V, V] matrix; {vocab_size - NUM_RESERVED} items "
                f"exceed its limit of {MAX_DENSE_ITEMS}. Use MostPopular or the Transformer, or "
                "filter the catalog (InteractionLog.filter)."
            )
        if window < 1 or num_neighbors < 1:
            raise ValueError(
                f"window and num_neighbors must be >= 1, got {window} and {num_neighbors}."
            )
        counts = _item_counts(seqs, vocab_size)
        items = np.asarray(seqs.items, np.int64)
        users = seqs.row_users()
        cooccurrence = np.zeros((vocab_size, vocab_size), np.float32)
        for offset in range(1, window + 1):
            same_user = users[offset:] == users[:-offset]
            first, second = items[:-offset][same_user], items[offset:][same_user]
            np.add.at(cooccurrence, (first, second), 1.0)
            np.add.at(cooccurrence, (second, first), 1.0)
        np.fill_diagonal(cooccurrence, 0.0)
        norms = np.sqrt(np.maximum(counts, 1.0)).astype(np.float32)
        similarity = cooccurrence / norms[:, None] / norms[None, :]
        similarity[:FIRST_ITEM_INDEX] = 0.0
        similarity[:, :FIRST_ITEM_INDEX] = 0.0
        if num_neighbors < vocab_size:
            cutoff = np.partition(similarity, -num_neighbors, axis=1)[:, -num_neighbors]
            similarity[similarity < cutoff[:, None]] = 0.0
        return cls(similarity, decay=decay)

    def __call__(self, histories: tf.Tensor) -> tf.Tensor:
        """Histories ``[batch, seq_len]`` -> scores ``[batch, vocab_size]``."""
        histories = tf.cast(histories, tf.int32)
        seq_len = tf.shape(histories)[1]
        ages = tf.cast(tf.range(seq_len - 1, -1, -1), tf.float32)
        weights = tf.pow(self.decay, ages)[tf.newaxis] * tf.cast(histories != PAD_INDEX, tf.float32)
        batch = tf.shape(histories)[0]
        rows = tf.broadcast_to(tf.range(batch)[:, tf.newaxis], tf.shape(histories))
        indices = tf.reshape(tf.stack([rows, histories], axis=-1), [-1, 2])
        bag = tf.scatter_nd(
            indices, tf.reshape(weights, [-1]), tf.stack([batch, self.vocab_size])
        )  # [batch, vocab_size], repeated items add up
        return mask_reserved_logits(tf.linalg.matmul(bag, self.similarity))
