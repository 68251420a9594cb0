"""Non-neural next-item baselines with the model's score interface.

Every scorer maps histories int32 ``[batch, seq_len]`` (left-padded, 0 = padding) to scores
float32 ``[batch, vocab_size]``, like ``SequenceEncoder.score_items``, so
:func:`tfrec.evaluation.ranking.evaluate_ranking` ranks them the same way. Reserved indices 0
(padding) and 1 (OOV) get ``float32.min``.

* :class:`MostPopular`: training interaction counts, the same list for everyone
  (:meth:`MostPopular.as_policy`: the same chart as the simulators' slate policy
  :class:`tfrec.policies.MostPopularPolicy`).
* :class:`RandomScorer`: i.i.d. uniform scores (seeded).
* :class:`ItemCooccurrence`: item-to-item KNN on co-occurrence within a window of the training
  sequences, cosine-normalised (Sarwar et al., WWW 2001, "Item-based collaborative filtering
  recommendation algorithms"; Linden et al. 2003 for the co-occurrence variant), summed over the
  history items with a recency decay; held sparse.
* :class:`EASE`: Steck's closed-form linear autoencoder (WWW 2019), the strongest cheap linear
  baseline; dense ``[V, V]``, so for catalogs up to about 10k items.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf

from tfrec.data import Sequences
from tfrec.layers import mask_reserved_logits
from tfrec.policies.reference import MostPopularPolicy
from tfrec.specs import FIRST_ITEM_INDEX, NUM_RESERVED, PAD_INDEX


def _check_vocab(vocab_size: int) -> int:
    if int(vocab_size) <= NUM_RESERVED:
        raise ValueError(
            f"vocab_size={vocab_size} leaves no real item: it must be > {NUM_RESERVED} "
            "(indices 0 = padding and 1 = OOV are reserved)."
        )
    return int(vocab_size)


def _training_counts(seqs: Sequences, vocab_size: int) -> np.ndarray:
    """Validated ``seqs.item_counts(vocab_size)``: float64 ``[vocab_size]``."""
    if not isinstance(seqs, Sequences):
        raise TypeError(f"expected tfrec.data.Sequences, got {type(seqs).__name__}.")
    return seqs.item_counts(_check_vocab(vocab_size))


class MostPopular:
    """Scores every item by its number of training interactions.

    The one most-popular concept of tfrec: this scorer ranks by ``counts`` for the ranking
    tables, :meth:`as_policy` turns the same counts into the slate policy of the simulators.

    Args:
      counts: float ``[vocab_size]`` interaction counts (reserved entries are ignored).
    """

    def __init__(self, counts: np.ndarray) -> None:
        counts = np.asarray(counts, np.float64)
        if counts.ndim != 1:
            raise ValueError(f"counts must be [vocab_size], got shape {counts.shape}.")
        self.vocab_size = _check_vocab(len(counts))
        self.counts = counts
        self.scores = mask_reserved_logits(tf.constant(counts.astype(np.float32)))

    @classmethod
    def from_sequences(cls, seqs: Sequences, vocab_size: int) -> MostPopular:
        """Counts the items of the training ``seqs`` (indices < ``vocab_size``)."""
        return cls(_training_counts(seqs, vocab_size))

    def as_policy(self, time_step_spec: Any, action_spec: Any) -> MostPopularPolicy:
        """The same chart as a simulator slate policy: the top ``k`` of ``counts`` per user,
        skipping the items of the observed history.

        Args:
          time_step_spec: the environment's ``time_step_spec()``.
          action_spec: its slate ``action_spec()`` (``maximum + 1 == vocab_size``).

        Returns:
          A :class:`tfrec.policies.MostPopularPolicy` over these counts.
        """
        return MostPopularPolicy(time_step_spec, action_spec, self.counts)

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
    most recent history item. Only the ``num_neighbors`` most similar items of each item are kept,
    so the similarity is held sparse (``[V, V]`` with at most ``V * num_neighbors`` entries):
    memory grows with the number of co-occurring pairs, not with ``V^2``.

    Args:
      similarity: float ``[vocab_size, vocab_size]`` item-item similarity, dense (numpy) or a
        ``tf.SparseTensor``.
      decay: recency weight in ``(0, 1]`` (1 = the history is a bag of items).
    """

    def __init__(self, similarity: np.ndarray | tf.SparseTensor, decay: float = 0.8) -> None:
        if not isinstance(similarity, tf.SparseTensor):
            similarity = np.asarray(similarity, np.float32)
            if similarity.ndim != 2 or similarity.shape[0] != similarity.shape[1]:
                raise ValueError(
                    f"similarity must be [vocab_size, vocab_size], got shape {similarity.shape}."
                )
            similarity = tf.sparse.from_dense(similarity)
        shape = tuple(int(d) for d in similarity.dense_shape)
        if len(shape) != 2 or shape[0] != shape[1]:
            raise ValueError(f"similarity must be [vocab_size, vocab_size], got shape {shape}.")
        if not 0.0 < decay <= 1.0:
            raise ValueError(f"decay must be in (0, 1], got {decay}.")
        self.vocab_size = _check_vocab(shape[0])
        self.decay = float(decay)
        self.sparse_similarity = tf.sparse.reorder(tf.cast(similarity, tf.float32))

    @property
    def similarity(self) -> tf.Tensor:
        """The similarity as a dense float32 ``[vocab_size, vocab_size]`` tensor (for inspection
        of small catalogs: it costs ``4 V^2`` bytes)."""
        return tf.sparse.to_dense(self.sparse_similarity)

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
          num_neighbors: similar items kept per item (>= 1; ties at the cut are broken by
            item index).
          decay: recency weight of the history items.

        Returns:
          The fitted scorer.
        """
        vocab_size = _check_vocab(vocab_size)
        if window < 1 or num_neighbors < 1:
            raise ValueError(
                f"window and num_neighbors must be >= 1, got {window} and {num_neighbors}."
            )
        counts = _training_counts(seqs, vocab_size)
        items = np.asarray(seqs.items, np.int64)
        users = seqs.row_users()
        firsts, seconds = [], []
        for offset in range(1, window + 1):
            same_user = users[offset:] == users[:-offset]
            first, second = items[:-offset][same_user], items[offset:][same_user]
            firsts += [first, second]
            seconds += [second, first]
        rows, cols = np.concatenate(firsts), np.concatenate(seconds)
        keep = (rows != cols) & (rows >= FIRST_ITEM_INDEX) & (cols >= FIRST_ITEM_INDEX)
        pairs, pair_counts = np.unique(rows[keep] * vocab_size + cols[keep], return_counts=True)
        rows, cols = pairs // vocab_size, pairs % vocab_size
        norms = np.sqrt(np.maximum(counts, 1.0))
        values = pair_counts / norms[rows] / norms[cols]
        order = np.lexsort((cols, -values, rows))  # per row, most similar first
        rows, cols, values = rows[order], cols[order], values[order]
        row_starts = np.searchsorted(rows, rows, side="left")
        top = np.arange(len(rows)) - row_starts < num_neighbors
        similarity = tf.SparseTensor(
            np.stack([rows[top], cols[top]], axis=1),
            values[top].astype(np.float32),
            [vocab_size, vocab_size],
        )
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
        # (bag @ S) = (S^T @ bag^T)^T with the sparse operand first.
        scores = tf.sparse.sparse_dense_matmul(
            self.sparse_similarity, bag, adjoint_a=True, adjoint_b=True
        )
        return mask_reserved_logits(tf.transpose(scores))


class EASE:
    """EASE^R, the closed-form linear item-item autoencoder (Steck, WWW 2019, "Embarrassingly
    Shallow Autoencoders for Sparse Data"): ``B = I - P / diag(P)`` with
    ``P = (X^T X + lambda I)^-1`` over the binary user-item matrix ``X``, and
    ``score(j) = sum_{i in history} B[i, j]``.

    It needs two dense ``[V, V]`` float64 matrices; :meth:`from_sequences` refuses catalogs whose
    fit would exceed ``max_bytes`` (by default 1.5 GB) with a one-line error.

    Args:
      weights: float ``[vocab_size, vocab_size]`` item-item weights ``B`` (zero diagonal).
    """

    def __init__(self, weights: np.ndarray) -> None:
        weights = np.asarray(weights, np.float32)
        if weights.ndim != 2 or weights.shape[0] != weights.shape[1]:
            raise ValueError(f"weights must be [vocab_size, vocab_size], got {weights.shape}.")
        self.vocab_size = _check_vocab(weights.shape[0])
        self.weights = tf.constant(weights)

    @staticmethod
    def fit_bytes(vocab_size: int) -> int:
        """Peak bytes of the fit: the Gram matrix and its inverse, float64."""
        return 2 * 8 * int(vocab_size) ** 2

    @classmethod
    def from_sequences(
        cls, seqs: Sequences, vocab_size: int, *, l2: float = 500.0, max_bytes: int = 1_500_000_000
    ) -> EASE:
        """Fits ``B`` on the training sequences (each user's set of items is one row of ``X``).

        Args:
          seqs: training sequences.
          vocab_size: number of indices including the reserved ones.
          l2: the ridge ``lambda`` (Steck's default range is 100-1000).
          max_bytes: refuse catalogs whose fit needs more memory than this.

        Returns:
          The fitted scorer.
        """
        vocab_size = _check_vocab(vocab_size)
        _training_counts(seqs, vocab_size)  # validates the indices
        if cls.fit_bytes(vocab_size) > max_bytes:
            raise ValueError(
                f"EASE needs {cls.fit_bytes(vocab_size) / 1e9:.1f} GB for {vocab_size} indices "
                f"(two dense [V, V] float64 matrices), over max_bytes={max_bytes / 1e9:.1f} GB."
            )
        if l2 <= 0:
            raise ValueError(f"l2 must be > 0, got {l2}.")
        items = np.asarray(seqs.items, np.int64)
        pairs = np.unique(seqs.row_users().astype(np.int64) * vocab_size + items)
        users, cols = pairs // vocab_size, pairs % vocab_size
        keep = cols >= FIRST_ITEM_INDEX
        users, cols = users[keep], cols[keep]
        # X^T X summed over chunks of users: no dense [users, V] matrix (exact: integer counts).
        gram = np.zeros((vocab_size, vocab_size), np.float64)
        chunk = max(1, 2**26 // vocab_size)  # ~256 MB of float32 rows at a time
        bounds = np.searchsorted(users, np.arange(0, len(seqs) + chunk, chunk))
        for lo, hi, first in zip(bounds[:-1], bounds[1:], range(0, len(seqs), chunk)):
            x = np.zeros((min(chunk, len(seqs) - first), vocab_size), np.float32)
            x[users[lo:hi] - first, cols[lo:hi]] = 1.0
            gram += x.T @ x
        gram[np.diag_indices(vocab_size)] += l2
        p = np.linalg.inv(gram)
        del gram
        p /= -np.diag(p)[None, :]
        p[np.diag_indices(vocab_size)] = 0.0
        p[:FIRST_ITEM_INDEX] = 0.0
        return cls(p)

    def __call__(self, histories: tf.Tensor) -> tf.Tensor:
        """Histories ``[batch, seq_len]`` -> scores ``[batch, vocab_size]``."""
        histories = tf.cast(histories, tf.int32)
        present = tf.math.bincount(  # the set of items of each history, [batch, vocab_size]
            histories,
            minlength=self.vocab_size,
            maxlength=self.vocab_size,
            binary_output=True,
            axis=-1,
            dtype=tf.float32,
        )
        present = present * tf.cast(tf.range(self.vocab_size) >= FIRST_ITEM_INDEX, tf.float32)
        return mask_reserved_logits(tf.linalg.matmul(present, self.weights))
