"""The supervised next-item model: SASRec trained with a softmax over the catalog at every position.

* Architecture: SASRec (Kang & McAuley, ICDM 2018, arXiv 1808.09781) = :class:`SequenceEncoder`
  with the item table tied between input and output.
* Losses (``loss``, ``sampler``):

  - ``"full"``: cross-entropy of the full softmax over the catalog at every non-padded position
    (Klenitskiy & Vasilev, RecSys 2023, "Turning Dross Into Gold Loss: is BERT4Rec really better
    than SASRec?", show it beats SASRec's one-negative BCE). Cost ``O(targets x items)``.
  - ``"sampled"`` with ``sampler`` ``"uniform"``, ``"popularity"`` or ``"log_uniform"``
    (:data:`tfrec.layers.SAMPLERS`): sampled softmax over the target and ``num_sampled``
    negatives shared by the batch, drawn from ``Q``, with the logQ correction (Jean et al., ACL
    2015; Yi et al., RecSys 2019, "Sampling-bias-corrected neural modeling") and accidental hits
    removed, through :func:`tfrec.layers.corrected_logits` (the REINFORCE agent's sampled
    softmax). eSASRec (Tikhonov et al. 2025) trains SASRec this way with 256 negatives.
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

import math
from typing import Any

import numpy as np
import tensorflow as tf

from tfrec.encoders import SequenceEncoder
from tfrec.layers import corrected_logits, history_pairs
from tfrec.specs import FIRST_ITEM_INDEX

__all__ = ["LOSSES", "NextItemModel", "REPEAT_BIAS_NEEDS_FULL"]

LOSSES = ("full", "sampled")
REPEAT_BIAS_NEEDS_FULL = (
    "repeat_bias needs loss='full': the sampled softmax does not add the repeat weight to its "
    "candidates' logits. Use loss='full' or repeat_bias=False."
)


class NextItemModel(tf.keras.Model):
    """SASRec next-item model: a :class:`SequenceEncoder` trained at every position.

    Args:
      encoder: the backbone; its tied item table scores the catalog.
      loss: ``"full"`` or ``"sampled"`` (see the module docstring).
      sampling_probabilities: float ``[vocab_size]`` negative distribution (required for
        ``loss="sampled"``, see :func:`tfrec.layers.sampling_distribution`).
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
                    "(tfrec.layers.sampling_distribution(counts))."
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
        losses = self._target_losses(history, targets, training)
        # divide_no_nan: a replica's share of a distributed batch may hold no target.
        return tf.math.divide_no_nan(tf.reduce_sum(losses), tf.cast(tf.size(losses), tf.float32))

    def _target_losses(self, history: tf.Tensor, targets: tf.Tensor, training: bool) -> tf.Tensor:
        """float32 ``[N]`` cross-entropies of the ``N`` non-padded positions (row-major)."""
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
        return losses

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
          whose item differs from ``labels[i]`` (and ``j = i``): the sampled softmax whose
          negatives are the batch's targets (the copies of the label are its accidental hits).
        """
        log_q = tf.gather(self.sampling_log_probs, labels)
        return self._sampled_loss(states, labels, labels, log_q, log_q)

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
        if sampled is None:
            log_q = self.sampling_log_probs[tf.newaxis]
            sampled = tf.random.categorical(log_q, self.num_sampled)[0]
        log_expected = self.sampling_log_probs + math.log(self.num_sampled)  # log(m Q)
        return self._sampled_loss(
            states,
            labels,
            sampled,
            tf.gather(log_expected, labels),
            tf.gather(log_expected, tf.cast(sampled, tf.int32)),
        )

    def _sampled_loss(
        self,
        states: tf.Tensor,
        labels: tf.Tensor,
        negatives: tf.Tensor,
        log_q_labels: tf.Tensor,
        log_q_negatives: tf.Tensor,
    ) -> tf.Tensor:
        """``-log softmax`` of the target among :func:`tfrec.layers.corrected_logits`: ``[N]``."""
        table = self.encoder.item_embedding
        logits = corrected_logits(
            table.embeddings,
            states,
            labels,
            negatives,
            log_q_labels,
            log_q_negatives,
            biases=table.output_bias,
        )
        return -tf.nn.log_softmax(logits)[:, 0]

    def train_step(self, data: Any) -> dict[str, tf.Tensor]:
        """One optimizer step on ``(history, targets)``; returns the running mean loss.

        Under a ``tf.distribute`` strategy the optimizer sums the replicas' gradients, so each
        replica differentiates ``tf.nn.compute_average_loss`` over ``N * num_replicas`` (its
        ``N`` targets): its mean divided by the number of replicas, the step of the mean of the
        replicas' losses. The reported loss is the replicas' mean of their means.
        """
        history, targets = data
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        with tf.GradientTape() as tape:
            losses = self._target_losses(history, targets, training=True)
            count = tf.maximum(tf.size(losses), 1)  # a replica's share may hold no target
            scaled = tf.nn.compute_average_loss(losses, global_batch_size=count * replicas)
        variables = self.trainable_variables
        self.optimizer.apply_gradients(zip(tape.gradient(scaled, variables), variables))
        mean = tf.math.divide_no_nan(tf.reduce_sum(losses), tf.cast(tf.size(losses), tf.float32))
        self.loss_tracker.update_state(mean)
        return {"loss": self.loss_tracker.result()}

    def test_step(self, data: Any) -> dict[str, tf.Tensor]:
        history, targets = data
        self.loss_tracker.update_state(self.next_item_loss(history, targets, training=False))
        return {"loss": self.loss_tracker.result()}
