"""The supervised next-item model: SASRec trained with a softmax over the catalog at every position.

* Architecture: SASRec (Kang & McAuley, ICDM 2018, arXiv 1808.09781) = :class:`SequenceEncoder`
  with the item table tied between input and output.
* Losses (``loss``, ``sampler``):

  - ``"full"``: cross-entropy of the full softmax over the catalog at every non-padded position
    (Klenitskiy & Vasilev, RecSys 2023, "Turning Dross Into Gold Loss: is BERT4Rec really better
    than SASRec?", show it beats SASRec's one-negative BCE). Cost ``O(targets x items)``.
  - ``"sampled"`` with ``sampler`` ``"uniform"``, ``"popularity"`` or ``"log_uniform"``: sampled
    softmax over the target and ``num_sampled`` negatives shared by the batch, drawn from ``Q``,
    with the logQ correction (Jean et al., ACL 2015; Yi et al., RecSys 2019,
    "Sampling-bias-corrected neural modeling") and accidental hits removed, through
    ``tf.nn.sampled_softmax_loss``. eSASRec (Tikhonov et al. 2025) trains SASRec this way with
    256 negatives.
  - ``"sampled"`` with ``sampler="in_batch"``: the negatives of a target are the *other targets
    of the batch* (every position of every window), each logit corrected by ``log q(item)`` with
    ``q`` the items' training frequency (Yi et al. 2019); other positions with the same item as
    the target are not negatives (masked). No sampling op, and the negatives follow popularity.

* Learned repeat bias (``repeat_bias``, RepeatNet-style, Ren et al. AAAI 2019; see
  :class:`SequenceEncoder`): at position ``t`` the history is ``history[b, :t + 1]`` and the
  encoder's scalar ``repeat_weight`` is added to the logits of its items, as at inference. Full
  softmax only.

The fit loop, its configuration and the ranking callback are in :mod:`tfrec.training.supervised`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf

from tfrec.encoders import SequenceEncoder
from tfrec.layers import history_pairs
from tfrec.specs import FIRST_ITEM_INDEX, NUM_RESERVED

__all__ = [
    "LOSSES",
    "NEGATIVE_SAMPLERS",
    "NextItemModel",
    "REPEAT_BIAS_NEEDS_FULL",
    "sampling_distribution",
]

LOSSES = ("full", "sampled")
NEGATIVE_SAMPLERS = ("uniform", "popularity", "log_uniform", "in_batch")
REPEAT_BIAS_NEEDS_FULL = (
    "repeat_bias needs loss='full': the sampled softmax does not add the repeat weight to its "
    "candidates' logits. Use loss='full' or repeat_bias=False."
)


def sampling_distribution(
    counts: np.ndarray, sampler: str = "popularity", exponent: float = 0.75
) -> np.ndarray:
    """Negative-sampling probabilities over the catalog (0 on the reserved indices).

    Args:
      counts: float ``[vocab_size]`` training interaction counts.
      sampler: ``"popularity"`` (``(count + 1) ** exponent``), ``"in_batch"`` (the items'
        frequency as targets, ``count + 1``: the distribution in-batch negatives follow),
        ``"log_uniform"`` (Zipf over
        popularity ranks: ``log((r + 2) / (r + 1))`` for the item of rank ``r``, the
        distribution of ``tf.random.log_uniform_candidate_sampler`` without requiring the
        vocabulary to be sorted by popularity) or ``"uniform"``.
      exponent: popularity exponent.

    Returns:
      float64 ``[vocab_size]`` probabilities summing to 1.
    """
    counts = np.asarray(counts, np.float64)
    if sampler not in NEGATIVE_SAMPLERS:
        raise ValueError(f"sampler must be one of {NEGATIVE_SAMPLERS}, got {sampler!r}.")
    if counts.ndim != 1 or len(counts) <= NUM_RESERVED:
        raise ValueError(f"counts must be [vocab_size] with vocab_size > 2, got {counts.shape}.")
    real = counts[FIRST_ITEM_INDEX:]
    if sampler == "popularity":
        weights = (real + 1.0) ** exponent
    elif sampler == "in_batch":
        weights = real + 1.0
    elif sampler == "log_uniform":
        ranks = np.empty(len(real))
        ranks[np.argsort(-real, kind="stable")] = np.arange(len(real))
        weights = np.log((ranks + 2.0) / (ranks + 1.0))
    else:
        weights = np.ones(len(real))
    return np.concatenate([np.zeros(NUM_RESERVED), weights / weights.sum()])


class NextItemModel(tf.keras.Model):
    """SASRec next-item model: a :class:`SequenceEncoder` trained at every position.

    Args:
      encoder: the backbone; its tied item table scores the catalog.
      loss: ``"full"`` or ``"sampled"`` (see the module docstring).
      sampling_probabilities: float ``[vocab_size]`` negative distribution (required for
        ``loss="sampled"``, see :func:`sampling_distribution`).
      num_sampled: negatives per batch for the sampled softmax (ignored by ``in_batch``).
      in_batch: with ``loss="sampled"``, use the batch's other targets as the negatives
        (``sampling_probabilities`` is then their frequency, for the logQ correction).
      label_smoothing: ``eps`` of the label smoothing of the full softmax (0 = none).
      **kwargs: forwarded to ``tf.keras.Model``.

    Call:
      ``ids`` int ``[batch, seq_len]`` -> next-item logits ``[batch, vocab_size]`` (0/1 masked).

    Training data: ``(history [B, L], targets [B, L])`` from :func:`tfrec.data.sequence_dataset`;
    positions with ``targets == 0`` are ignored.
    """

    def __init__(
        self,
        encoder: SequenceEncoder,
        loss: str = "full",
        sampling_probabilities: np.ndarray | None = None,
        num_sampled: int = 256,
        label_smoothing: float = 0.0,
        in_batch: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}.")
        if loss != "full" and getattr(encoder, "repeat_weight", None) is not None:
            raise ValueError(REPEAT_BIAS_NEEDS_FULL)
        if not 0.0 <= label_smoothing < 1.0 or (label_smoothing and loss != "full"):
            raise ValueError(
                f"label_smoothing must be in [0, 1) and needs loss='full'; got {label_smoothing} "
                f"with loss={loss!r}."
            )
        self.label_smoothing = float(label_smoothing)
        if loss == "sampled":
            if sampling_probabilities is None:
                raise ValueError(
                    "loss='sampled' needs sampling_probabilities [vocab_size] "
                    "(tfrec.models.sampling_distribution(counts))."
                )
            if len(sampling_probabilities) != encoder.vocab_size:
                raise ValueError(
                    f"sampling_probabilities has {len(sampling_probabilities)} entries, the "
                    f"encoder's vocab_size is {encoder.vocab_size}."
                )
        self.encoder = encoder
        self.loss_type = loss
        self.num_sampled = int(num_sampled)
        self.in_batch = bool(in_batch)
        self.sampling_log_probs = (
            tf.constant(np.log(np.maximum(sampling_probabilities, 1e-30)), tf.float32)
            if sampling_probabilities is not None
            else None
        )
        self.loss_tracker = tf.keras.metrics.Mean(name="loss")

    @property
    def metrics(self) -> list[tf.keras.metrics.Metric]:
        return [self.loss_tracker]

    def call(self, ids: tf.Tensor, training: bool | None = None) -> tf.Tensor:
        return self.encoder.score_items(ids, training=training)

    def next_item_loss(self, history: tf.Tensor, targets: tf.Tensor, training: bool) -> tf.Tensor:
        """Mean next-item cross-entropy over the non-padded positions.

        Args:
          history: int ``[batch, seq_len]``.
          targets: int ``[batch, seq_len]``, 0 where there is no target.
          training: enables dropout.

        Returns:
          scalar float32 loss.
        """
        states = self.encoder.sequence_states(history, training=training)  # [B, L, dim]
        targets = tf.cast(targets, tf.int32)
        real = targets >= FIRST_ITEM_INDEX  # padding and OOV positions have no target
        states = tf.boolean_mask(states, real)  # [N, dim]
        labels = tf.boolean_mask(targets, real)  # [N]
        if self.loss_type == "full":
            seen = (
                self._prefix_pairs(history, real)
                if getattr(self.encoder, "repeat_weight", None) is not None
                else None
            )
            losses = self._full_softmax(states, labels, seen)
        elif self.in_batch:
            losses = self._in_batch_softmax(states, labels)
        else:
            losses = self._sampled_softmax(states, labels)
        # divide_no_nan: a replica's share of a distributed batch may hold no target.
        return tf.math.divide_no_nan(tf.reduce_sum(losses), tf.cast(tf.size(losses), tf.float32))

    def _prefix_pairs(self, history: tf.Tensor, real: tf.Tensor) -> tf.Tensor:
        """Items of the history prefix of every target position, for the repeat bias.

        Args:
          history: int ``[batch, seq_len]``.
          real: bool ``[batch, seq_len]``, the positions kept by ``boolean_mask``.

        Returns:
          int64 ``[num_pairs, 2]``: the distinct ``(n, item)`` pairs, ``n`` the index of the
          position ``(b, t)`` in ``boolean_mask`` order and ``item`` a real item of
          ``history[b, :t + 1]`` (:func:`~tfrec.layers.history_pairs`): at most ``N * seq_len``
          pairs, so the bias costs nothing per catalog item.
        """
        history = tf.cast(history, tf.int32)
        positions = tf.cast(tf.where(real), tf.int32)  # [N, 2] (b, t), row-major like boolean_mask
        rows = tf.gather(history, positions[:, 0])  # [N, seq_len]
        in_prefix = tf.range(tf.shape(history)[1])[tf.newaxis] <= positions[:, 1:]
        return history_pairs(tf.where(in_prefix, rows, 0), self.encoder.vocab_size)

    def _full_softmax(
        self, states: tf.Tensor, labels: tf.Tensor, seen: tf.Tensor | None = None
    ) -> tf.Tensor:
        """Cross-entropy over the real items only: the same values as masking the reserved
        logits with ``dtype.min`` (their probability is 0 either way), without a masking pass
        over the ``[N, vocab_size]`` logits (this matmul and softmax dominate a training step).

        Args:
          states: float ``[N, dim]``.
          labels: int32 ``[N]`` real item indices (``>= FIRST_ITEM_INDEX``).
          seen: int64 ``[num_pairs, 2]`` (position, item) pairs of each position's history
            (repeat bias, see ``_prefix_pairs``), or None.

        Returns:
          float32 ``[N]`` losses.
        """
        table = self.encoder.item_embedding
        logits = tf.linalg.matmul(
            states, table.table()[FIRST_ITEM_INDEX:], transpose_b=True
        )  # [N, vocab_size - 2]
        if table.output_bias is not None:
            logits += table.output_bias[FIRST_ITEM_INDEX:]
        if seen is not None:
            weight = self.encoder.repeat_weight
            logits = tf.tensor_scatter_nd_add(
                logits,
                tf.cast(seen, tf.int32) - tf.constant([0, FIRST_ITEM_INDEX]),
                tf.fill(tf.shape(seen)[:1], tf.cast(weight, logits.dtype)),
            )
        labels -= FIRST_ITEM_INDEX
        if not self.label_smoothing:
            return tf.nn.sparse_softmax_cross_entropy_with_logits(labels, logits)
        # (1 - eps) * CE(label) + eps * CE(uniform over the real items).
        log_probs = tf.nn.log_softmax(logits)
        label_term = tf.gather(log_probs, labels, batch_dims=1)
        eps = self.label_smoothing
        return -(1.0 - eps) * label_term - eps * tf.reduce_mean(log_probs, axis=-1)

    def _in_batch_softmax(self, states: tf.Tensor, labels: tf.Tensor) -> tf.Tensor:
        """Softmax over the batch's targets, logQ-corrected, other copies of the label masked.

        Args:
          states: float ``[N, dim]``.
          labels: int32 ``[N]`` real item indices.

        Returns:
          float32 ``[N]`` losses: ``-log softmax(s_ij - log q_j)[i, i]`` over the columns ``j``
          whose item differs from ``labels[i]`` (and ``j = i``).
        """
        table = self.encoder.item_embedding
        logits = tf.linalg.matmul(
            states, tf.gather(table.embeddings, labels), transpose_b=True
        )  # [N, N]
        if table.output_bias is not None:
            logits += tf.gather(table.output_bias, labels)[tf.newaxis]
        logits -= tf.gather(self.sampling_log_probs, labels)[tf.newaxis]
        n = tf.shape(labels)[0]
        duplicate = tf.equal(labels[:, tf.newaxis], labels[tf.newaxis, :])
        duplicate &= ~tf.cast(tf.eye(n), tf.bool)
        logits = tf.where(duplicate, tf.cast(logits.dtype.min, logits.dtype), logits)
        return tf.nn.sparse_softmax_cross_entropy_with_logits(tf.range(n), logits)

    def _sampled_softmax(
        self, states: tf.Tensor, labels: tf.Tensor, sampled: tf.Tensor | None = None
    ) -> tf.Tensor:
        """Sampled softmax with the logQ correction over ``num_sampled`` shared negatives.

        Args:
          states: float ``[N, dim]``.
          labels: int32 ``[N]`` real item indices.
          sampled: optional int64 ``[num_sampled]`` negatives (default: drawn i.i.d. from the
            sampling distribution ``Q``).

        Returns:
          float32 ``[N]`` losses ``-log softmax([s_y - log(m Q_y), s_j - log(m Q_j) ...])[0]``
          with ``m = num_sampled`` and the negatives equal to ``y`` removed.
        """
        table = self.encoder.item_embedding
        if sampled is None:
            sampled = tf.random.categorical(
                self.sampling_log_probs[tf.newaxis], self.num_sampled
            )[0]
        sampled = tf.cast(sampled, tf.int64)
        probabilities = tf.exp(self.sampling_log_probs)
        expected = float(self.num_sampled) * probabilities
        labels = tf.cast(labels, tf.int64)
        biases = (
            table.output_bias
            if table.output_bias is not None
            else tf.zeros([self.encoder.vocab_size], states.dtype)
        )
        return tf.nn.sampled_softmax_loss(
            weights=table.embeddings,
            biases=biases,
            labels=labels[:, tf.newaxis],
            inputs=states,
            num_sampled=self.num_sampled,
            num_classes=self.encoder.vocab_size,
            sampled_values=(
                sampled,
                tf.gather(expected, labels)[:, tf.newaxis],
                tf.gather(expected, sampled),
            ),
            remove_accidental_hits=True,
        )

    def train_step(self, data: Any) -> dict[str, tf.Tensor]:
        history, targets = data
        with tf.GradientTape() as tape:
            loss = self.next_item_loss(history, targets, training=True)
        variables = self.trainable_variables
        self.optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        self.loss_tracker.update_state(loss)
        return {"loss": self.loss_tracker.result()}

    def test_step(self, data: Any) -> dict[str, tf.Tensor]:
        history, targets = data
        self.loss_tracker.update_state(self.next_item_loss(history, targets, training=False))
        return {"loss": self.loss_tracker.result()}
