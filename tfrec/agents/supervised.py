"""Supervised next-item model: SASRec trained with a softmax over the catalog at every position.

* Architecture: SASRec (Kang & McAuley, ICDM 2018, arXiv 1808.09781) = :class:`SequenceEncoder`
  with the item table tied between input and output.
* Loss: cross-entropy of the full softmax over the catalog at every non-padded position
  (Klenitskiy & Vasilev, RecSys 2023, "Turning Dross Into Gold Loss: is BERT4Rec really better
  than SASRec?", show it beats SASRec's one-negative BCE), or, for catalogs too large for a full
  softmax, sampled softmax with logQ correction (Jean et al. 2015; Yi et al., RecSys 2019,
  "Sampling-bias-corrected neural modeling") through ``tf.nn.sampled_softmax_loss``, with
  negatives drawn from the popularity, log-uniform (over popularity ranks) or uniform
  distribution and accidental hits removed.
* Learned repeat bias (``repeat_bias``, RepeatNet-style, Ren et al. AAAI 2019; see
  :class:`SequenceEncoder`): at position ``t`` the history is ``history[b, :t + 1]`` and the
  encoder's scalar ``repeat_weight`` is added to the logits of its items, as at inference. Full
  softmax only.
* Training: ``model.fit`` on :func:`tfrec.data.sequence_dataset`; :class:`RankingCallback`
  writes the full-ranking validation NDCG@K into the epoch logs so the stock
  ``tf.keras.callbacks.EarlyStopping`` (``restore_best_weights``) and ``ModelCheckpoint`` use it.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf

from tfrec.data import EvalSet, Sequences, sequence_dataset
from tfrec.encoders import SequenceEncoder
from tfrec.evaluation.ranking import evaluate_ranking
from tfrec.layers import history_pairs
from tfrec.specs import FIRST_ITEM_INDEX, NUM_RESERVED
from tfrec.training.distribute import (
    average_across_replicas,
    check_global_batch,
    make_strategy,
    validate_strategy_name,
)
from tfrec.training.guards import NonFiniteLossGuard

LOSSES = ("full", "sampled")
SAMPLERS = ("popularity", "log_uniform", "uniform")
REPEAT_BIAS_NEEDS_FULL = (
    "repeat_bias needs loss='full': the sampled softmax does not add the repeat weight to its "
    "candidates' logits. Use loss='full' or repeat_bias=False."
)


@dataclasses.dataclass(frozen=True)
class SupervisedConfig:
    """Hyper-parameters of the supervised next-item model.

    Attributes:
      max_len: history window length of the encoder.
      dim: model width.
      num_layers: Transformer blocks.
      num_heads: attention heads.
      dropout: dropout rate.
      repeat_bias: learned scalar added to the scores of the history's items
        (``SequenceEncoder(repeat_bias=True)``); needs ``loss="full"``.
      use_output_bias: learned per-item bias on the output scores (untied from the table).
      label_smoothing: weight ``eps`` of the uniform distribution over the real items mixed
        into the full-softmax target (Szegedy et al., CVPR 2016); needs ``loss="full"``.
      weight_decay: decoupled weight decay of AdamW (Loshchilov & Hutter, ICLR 2019) on the
        weight matrices and tables (not on biases, LayerNorm scales or the repeat weight);
        0 = plain Adam.
      learning_rate: Adam learning rate.
      batch_size: training windows per batch.
      epochs: maximum epochs.
      patience: epochs without validation improvement before early stopping.
      loss: ``"full"`` softmax or ``"sampled"`` softmax with logQ correction.
      num_sampled: negatives per batch for the sampled softmax.
      sampler: ``"popularity"``, ``"log_uniform"`` or ``"uniform"`` negative distribution.
      popularity_exponent: exponent of the counts in the popularity sampler.
      metric_k: K of the validation NDCG@K used for early stopping.
      exclude_history: mask history items when computing the validation metric.
      eval_batch_size: validation users scored at once.
      seed: seed of the weights, the dropout and the data order.
      strategy: ``tf.distribute`` strategy (``tfrec.training.distribute.STRATEGIES``);
        ``batch_size`` is the global batch, split over the replicas.
    """

    max_len: int = 50
    dim: int = 64
    num_layers: int = 2
    num_heads: int = 2
    dropout: float = 0.2
    repeat_bias: bool = False
    use_output_bias: bool = False
    label_smoothing: float = 0.0
    weight_decay: float = 0.0
    learning_rate: float = 1e-3
    batch_size: int = 128
    epochs: int = 100
    patience: int = 5
    loss: str = "full"
    num_sampled: int = 256
    sampler: str = "popularity"
    popularity_exponent: float = 0.75
    metric_k: int = 10
    exclude_history: bool = False
    eval_batch_size: int = 512
    seed: int = 0
    strategy: str = "default"

    def __post_init__(self) -> None:
        validate_strategy_name(self.strategy, "SupervisedConfig.strategy")
        if self.loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}, got {self.loss!r}.")
        if self.sampler not in SAMPLERS:
            raise ValueError(f"sampler must be one of {SAMPLERS}, got {self.sampler!r}.")
        if self.repeat_bias and self.loss != "full":
            raise ValueError(REPEAT_BIAS_NEEDS_FULL)
        if not 0.0 <= self.label_smoothing < 1.0 or self.weight_decay < 0.0:
            raise ValueError(
                "label_smoothing must be in [0, 1) and weight_decay >= 0; got "
                f"{self.label_smoothing}, {self.weight_decay}."
            )
        if self.label_smoothing and self.loss != "full":
            raise ValueError("label_smoothing needs loss='full' (or label_smoothing=0).")
        for name in ("max_len", "dim", "num_layers", "num_heads", "batch_size", "epochs"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}.")
        if self.patience < 0 or self.num_sampled < 1 or self.metric_k < 1:
            raise ValueError(
                "patience must be >= 0 and num_sampled, metric_k >= 1; got "
                f"{self.patience}, {self.num_sampled}, {self.metric_k}."
            )


def sampling_distribution(
    counts: np.ndarray, sampler: str = "popularity", exponent: float = 0.75
) -> np.ndarray:
    """Negative-sampling probabilities over the catalog (0 on the reserved indices).

    Args:
      counts: float ``[vocab_size]`` training interaction counts.
      sampler: ``"popularity"`` (``(count + 1) ** exponent``), ``"log_uniform"`` (Zipf over
        popularity ranks: ``log((r + 2) / (r + 1))`` for the item of rank ``r``, the
        distribution of ``tf.random.log_uniform_candidate_sampler`` without requiring the
        vocabulary to be sorted by popularity) or ``"uniform"``.
      exponent: popularity exponent.

    Returns:
      float64 ``[vocab_size]`` probabilities summing to 1.
    """
    counts = np.asarray(counts, np.float64)
    if sampler not in SAMPLERS:
        raise ValueError(f"sampler must be one of {SAMPLERS}, got {sampler!r}.")
    if counts.ndim != 1 or len(counts) <= NUM_RESERVED:
        raise ValueError(f"counts must be [vocab_size] with vocab_size > 2, got {counts.shape}.")
    real = counts[FIRST_ITEM_INDEX:]
    if sampler == "popularity":
        weights = (real + 1.0) ** exponent
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
      num_sampled: negatives per batch for the sampled softmax.
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
                    "(tfrec.agents.supervised.sampling_distribution(counts))."
                )
            if len(sampling_probabilities) != encoder.vocab_size:
                raise ValueError(
                    f"sampling_probabilities has {len(sampling_probabilities)} entries, the "
                    f"encoder's vocab_size is {encoder.vocab_size}."
                )
        self.encoder = encoder
        self.loss_type = loss
        self.num_sampled = int(num_sampled)
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

    def _sampled_softmax(self, states: tf.Tensor, labels: tf.Tensor) -> tf.Tensor:
        table = self.encoder.item_embedding
        sampled = tf.cast(
            tf.random.categorical(self.sampling_log_probs[tf.newaxis], self.num_sampled)[0],
            tf.int64,
        )
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


def full_batches(dataset: tf.data.Dataset, batch_size: int) -> tf.data.Dataset:
    """Pads every ``(history, targets)`` batch to ``batch_size`` rows of padding (no target).

    An epoch's last, smaller batch would make Keras trace the training step a second time (a
    new input shape; seconds of a short training budget) and could leave a replica of a
    distributed step without rows. Padded rows have no target, so the loss, a mean over the
    real targets, is unchanged.

    Args:
      dataset: batches of int ``(history [B, L], targets [B, L])`` with ``B <= batch_size``.
      batch_size: rows of every output batch.

    Returns:
      The same batches with static shape ``[batch_size, L]``.
    """

    def pad(history: tf.Tensor, targets: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        missing = [[0, batch_size - tf.shape(history)[0]], [0, 0]]
        seq_len = history.shape[1]
        return (
            tf.ensure_shape(tf.pad(history, missing), [batch_size, seq_len]),
            tf.ensure_shape(tf.pad(targets, missing), [batch_size, seq_len]),
        )

    return dataset.map(pad)


def inference_scorer(encoder: SequenceEncoder) -> Any:
    """A compiled ``histories [batch, seq_len] -> logits [batch, vocab_size]`` scorer
    (dropout off), the interface of :func:`tfrec.evaluation.ranking.evaluate_ranking`."""
    return tf.function(
        lambda histories: encoder.score_items(histories, training=False),
        input_signature=[tf.TensorSpec([None, None], tf.int32, name="histories")],
    )


class RankingCallback(tf.keras.callbacks.Callback):
    """Full-ranking evaluation at the end of every epoch, written into the epoch logs.

    Place it before ``EarlyStopping`` / ``ModelCheckpoint`` in the callback list so that they see
    ``<prefix>ndcg@K`` (e.g. ``val_ndcg@10``). The evaluation time is not training time:
    ``eval_seconds`` accumulates it.

    Args:
      eval_set: histories and targets (e.g. the ``valid`` part of ``leave_last_out``).
      max_len: history window fed to the model.
      ks: cut-offs reported.
      exclude_history: mask the (whole, untruncated) history items from the candidates.
      prefix: log-key prefix.
      batch_size: users scored at once.
    """

    def __init__(
        self,
        eval_set: EvalSet,
        max_len: int,
        ks: Sequence[int] = (10,),
        exclude_history: bool = False,
        prefix: str = "val_",
        batch_size: int = 512,
    ) -> None:
        super().__init__()
        if not isinstance(eval_set, EvalSet):
            raise TypeError(f"eval_set must be a tfrec.data.EvalSet, got {type(eval_set)}.")
        if len(eval_set) == 0:
            raise ValueError("eval_set is empty: no user has a validation target.")
        self.histories = eval_set.padded_histories(max_len)
        self.targets = np.asarray(eval_set.targets)
        self.exclude = (
            eval_set.padded_histories(int(eval_set.histories.lengths.max()))
            if exclude_history
            else None
        )
        self.ks = tuple(ks)
        self.prefix = prefix
        self.batch_size = batch_size
        self.eval_seconds = 0.0
        self.results: list[dict[str, float]] = []
        self._scorer = None

    def evaluate(self) -> dict[str, float]:
        """Ranks the evaluation set with the current weights; returns the metrics dict."""
        if self._scorer is None:
            self._scorer = inference_scorer(self.model.encoder)
        return evaluate_ranking(
            self._scorer,
            self.histories,
            self.targets,
            ks=self.ks,
            exclude=self.exclude,
            batch_size=self.batch_size,
        )

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        start = time.perf_counter()
        metrics = self.evaluate()
        self.eval_seconds += time.perf_counter() - start
        self.results.append(metrics)
        if logs is not None:
            for k in self.ks:
                for name in ("hr", "ndcg", "mrr"):
                    logs[f"{self.prefix}{name}@{k}"] = metrics[f"{name}@{k}"]


def build_next_item_model(
    config: SupervisedConfig,
    vocab_size: int,
    item_counts: np.ndarray | None = None,
    strategy: tf.distribute.Strategy | None = None,
) -> NextItemModel:
    """Builds and compiles the model described by ``config``.

    Args:
      config: hyper-parameters.
      vocab_size: number of indices including the reserved ones.
      item_counts: float ``[vocab_size]`` training counts (needed by the popularity and
        log-uniform samplers of ``loss="sampled"``).
      strategy: the ``tf.distribute`` strategy whose scope holds the variables (None: the
        current one). Its optimizer averages the replicas' gradients.

    Returns:
      A compiled :class:`NextItemModel` (Adam, or AdamW when ``config.weight_decay > 0``).
    """
    strategy = strategy or tf.distribute.get_strategy()
    tf.keras.utils.set_random_seed(config.seed)
    with strategy.scope():
        return _build_next_item_model(config, vocab_size, item_counts)


def _build_next_item_model(
    config: SupervisedConfig, vocab_size: int, item_counts: np.ndarray | None
) -> NextItemModel:
    encoder = SequenceEncoder(
        vocab_size,
        config.max_len,
        dim=config.dim,
        num_layers=config.num_layers,
        num_heads=config.num_heads,
        dropout=config.dropout,
        repeat_bias=config.repeat_bias,
        use_output_bias=config.use_output_bias,
    )
    # Variables now, under the caller's strategy scope, not lazily inside a distributed step.
    encoder.build(None)
    probabilities = None
    if config.loss == "sampled":
        if item_counts is None and config.sampler != "uniform":
            raise ValueError(f"sampler={config.sampler!r} needs item_counts [vocab_size].")
        counts = item_counts if item_counts is not None else np.ones(vocab_size)
        probabilities = sampling_distribution(counts, config.sampler, config.popularity_exponent)
    model = NextItemModel(
        encoder,
        loss=config.loss,
        sampling_probabilities=probabilities,
        num_sampled=config.num_sampled,
        label_smoothing=config.label_smoothing,
    )
    if config.weight_decay:
        optimizer = tf.keras.optimizers.AdamW(
            config.learning_rate, weight_decay=config.weight_decay
        )
        # Decay the weight matrices and tables only (the usual AdamW practice).
        optimizer.exclude_from_weight_decay(
            var_names=["bias", "gamma", "beta", "repeat_weight", "output_bias"]
        )
    else:
        optimizer = tf.keras.optimizers.Adam(config.learning_rate)
    model.compile(optimizer=average_across_replicas(optimizer))
    return model


def train_next_item_model(
    train_seqs: Sequences,
    valid: EvalSet,
    config: SupervisedConfig,
    vocab_size: int,
    callbacks: Sequence[tf.keras.callbacks.Callback] = (),
    checkpoint_dir: str | Path | None = None,
    verbose: int = 0,
    strategy: tf.distribute.Strategy | None = None,
    backup_dir: str | Path | None = None,
) -> tuple[NextItemModel, tf.keras.callbacks.History]:
    """Trains the supervised next-item model with early stopping on validation NDCG@K.

    Args:
      train_seqs: training sequences (the ``train`` part of ``leave_last_out``).
      valid: validation examples, ranked against the full catalog after each epoch.
      config: hyper-parameters.
      vocab_size: number of indices including the reserved ones (``ItemVocabulary.size``).
      callbacks: extra Keras callbacks, run after the validation ranking.
      checkpoint_dir: if given, the best weights are saved there (``ModelCheckpoint``).
      verbose: Keras ``fit`` verbosity.
      strategy: a ready ``tf.distribute`` strategy (None: ``config.strategy`` is created).
      backup_dir: if given, ``tf.keras.callbacks.BackupAndRestore`` saves the weights, the
        optimizer state and the epoch there after each epoch, and a re-run of a killed job
        resumes from the last finished epoch.

    Returns:
      ``(model, history)``: the model holds the best validation weights; ``history.history``
      has ``loss`` and ``val_{hr,ndcg,mrr}@K`` per epoch.

    Raises:
      NonFiniteLossError: at the first batch whose loss is NaN/Inf (no later callback runs, so
        the checkpoints on disk are the last good ones).
    """
    items = np.asarray(train_seqs.items)
    if items.size and items.max() >= vocab_size:
        raise ValueError(
            f"train_seqs hold item index {int(items.max())} but vocab_size={vocab_size}: pass "
            "ItemVocabulary.size."
        )
    counts = np.bincount(items.astype(np.int64), minlength=vocab_size).astype(np.float64)
    strategy = strategy or make_strategy(config.strategy)
    check_global_batch(config.batch_size, strategy)
    model = build_next_item_model(config, vocab_size, counts, strategy)
    dataset = full_batches(
        sequence_dataset(train_seqs, config.max_len, config.batch_size, seed=config.seed),
        config.batch_size,
    )
    monitor = f"val_ndcg@{config.metric_k}"
    all_callbacks: list[tf.keras.callbacks.Callback] = [
        NonFiniteLossGuard(checkpoint_dir),
        RankingCallback(
            valid,
            config.max_len,
            ks=(config.metric_k,),
            exclude_history=config.exclude_history,
            batch_size=config.eval_batch_size,
        ),
        *callbacks,
        tf.keras.callbacks.EarlyStopping(
            monitor=monitor, mode="max", patience=config.patience, restore_best_weights=True
        ),
    ]
    if backup_dir is not None:
        all_callbacks.append(tf.keras.callbacks.BackupAndRestore(str(backup_dir)))
    if checkpoint_dir is not None:
        Path(checkpoint_dir).mkdir(parents=True, exist_ok=True)
        all_callbacks.append(
            tf.keras.callbacks.ModelCheckpoint(
                str(Path(checkpoint_dir) / "best.weights.h5"),
                monitor=monitor,
                mode="max",
                save_best_only=True,
                save_weights_only=True,
            )
        )
    history = model.fit(dataset, epochs=config.epochs, callbacks=all_callbacks, verbose=verbose)
    return model, history
