"""Training the supervised next-item model (:class:`tfrec.models.NextItemModel`).

* :class:`SupervisedConfig`: the recipe; its defaults are the recommended one
  (docs/benchmarks/sequential.md gives the measurements that chose it).
* :func:`train_next_item_model`: ``model.fit`` on :func:`tfrec.data.sequence_dataset`
  (length-bucketed batches, one traced step); :class:`RankingCallback` writes the full-ranking
  validation NDCG@K into the epoch logs so the stock ``tf.keras.callbacks.EarlyStopping``
  (``restore_best_weights``) and ``ModelCheckpoint`` use it; :class:`TrainingBudget` stops after
  a budget of training seconds (evaluation time excluded). The test set never selects anything.
* Optimisation: Adam (or AdamW), a linear warm-up then a constant or cosine-decayed learning rate
  (:class:`WarmupCosine`, Loshchilov & Hutter, ICLR 2017, without restarts), optional
  global-norm gradient clipping.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf

from tfrec.data import EvalSet, Sequences, sequence_batches_per_epoch, sequence_dataset
from tfrec.encoders import SequenceEncoder
from tfrec.evaluation.ranking import evaluate_ranking
from tfrec.layers.sampled_softmax import SAMPLERS, check_sampler, sampling_distribution
from tfrec.models.next_item import LOSSES, REPEAT_BIAS_NEEDS_FULL, NextItemModel
from tfrec.specs import NUM_RESERVED
from tfrec.training.builders import build_encoder
from tfrec.training.config import EncoderConfig
from tfrec.training.distribute import (
    check_global_batch,
    make_strategy,
    validate_strategy_name,
)
from tfrec.training.fit_controls import TrainingBudget, WarmupCosine
from tfrec.training.guards import NonFiniteLossGuard

__all__ = [
    "LR_SCHEDULES",
    "SUPERVISED_ENCODER",
    "RankingCallback",
    "SupervisedConfig",
    "build_next_item_model",
    "full_batches",
    "inference_scorer",
    "supervised_encoder",
    "train_next_item_model",
]

LR_SCHEDULES = ("constant", "cosine")
# The supervised recipe's encoder: a longer window and more dropout than EncoderConfig's
# defaults (docs/benchmarks/sequential.md: max_len 50, dropout 0.3).
SUPERVISED_ENCODER = EncoderConfig(
    max_len=50, dim=64, num_layers=2, num_heads=2, dropout=0.3, repeat_bias=False
)


def supervised_encoder(**fields: Any) -> EncoderConfig:
    """The supervised recipe's encoder (:data:`SUPERVISED_ENCODER`) with ``fields`` replaced.

    Args:
      **fields: ``EncoderConfig`` fields, e.g. ``max_len=10, dim=16``.

    Returns:
      The ``EncoderConfig`` for ``SupervisedConfig(encoder=...)``.
    """
    return dataclasses.replace(SUPERVISED_ENCODER, **fields)


@dataclasses.dataclass(frozen=True)
class SupervisedConfig:
    """Hyper-parameters of the supervised next-item model.

    Attributes:
      encoder: the ``SequenceEncoder`` architecture (:data:`SUPERVISED_ENCODER` by default:
        max_len 50, dim 64, 2 layers, 2 heads, dropout 0.3; :func:`supervised_encoder` replaces
        some fields). Its ``repeat_bias`` (a learned scalar added to the scores of the history's
        items) needs ``loss="full"``; ``use_output_bias`` is a learned per-item bias on the
        output scores.
      label_smoothing: weight ``eps`` of the uniform distribution over the real items mixed
        into the full-softmax target (Szegedy et al., CVPR 2016); needs ``loss="full"``.
      weight_decay: decoupled weight decay of AdamW (Loshchilov & Hutter, ICLR 2019) on the
        weight matrices and tables (not on biases, LayerNorm scales or the repeat weight);
        0 = plain Adam.
      learning_rate: Adam learning rate.
      batch_size: training windows per batch.
      epochs: maximum epochs.
      patience: epochs without validation improvement before early stopping.
      loss: ``"full"`` softmax, ``"sampled"`` softmax with logQ correction, or ``"auto"``: full
        for catalogs of at most ``full_softmax_max_items`` items (exact, and cheap there) or
        when ``repeat_bias`` / ``label_smoothing`` need it, sampled above (see
        :meth:`resolved_loss`).
      full_softmax_max_items: the ``"auto"`` threshold.
      num_sampled: negatives per batch for the sampled softmax.
      sampler: negatives of the sampled softmax, ``tfrec.layers.SAMPLERS``:
        ``"uniform"``, ``"popularity"`` (``(count + 1) ** popularity_exponent``),
        ``"log_uniform"`` (Zipf over the popularity ranks) or ``"in_batch"`` (the batch's other
        targets), all logQ-corrected.
      popularity_exponent: exponent of the counts in the popularity sampler.
      metric_k: K of the validation NDCG@K used for early stopping.
      exclude_history: mask history items when computing the validation metric.
      eval_batch_size: validation users scored at once.
      seed: seed of the weights, the dropout and the data order.
      strategy: ``tf.distribute`` strategy (``tfrec.training.distribute.STRATEGIES``);
        ``batch_size`` is the global batch, split over the replicas.
      length_buckets: window lengths of the length-bucketed batches
        (:func:`tfrec.data.sequence_dataset`); None pads every window to ``max_len``.
      warmup_steps: optimizer steps of linear learning-rate warm-up from 0.
      lr_schedule: ``"constant"`` after the warm-up, or ``"cosine"``: decayed to 0 along a
        cosine over ``epochs`` epochs.
      clipnorm: global-norm gradient clipping (None: none).
      max_train_seconds: training budget in seconds (evaluation excluded; None: none): training
        stops after the epoch that exceeds it, and the best validation weights are kept.
    """

    encoder: EncoderConfig = SUPERVISED_ENCODER
    label_smoothing: float = 0.0
    weight_decay: float = 0.0
    learning_rate: float = 2e-3
    batch_size: int = 128
    epochs: int = 100
    patience: int = 5
    loss: str = "auto"
    full_softmax_max_items: int = 4096
    num_sampled: int = 256
    sampler: str = "in_batch"
    popularity_exponent: float = 0.75
    metric_k: int = 10
    exclude_history: bool = False
    eval_batch_size: int = 512
    seed: int = 0
    strategy: str = "default"
    length_buckets: tuple[int, ...] | None = (8, 16, 32)
    warmup_steps: int = 0
    lr_schedule: str = "constant"
    clipnorm: float | None = None
    max_train_seconds: float | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.encoder, EncoderConfig):
            raise TypeError(
                f"SupervisedConfig.encoder must be an EncoderConfig, got {type(self.encoder)}."
            )
        validate_strategy_name(self.strategy, "SupervisedConfig.strategy")
        if self.loss not in (*LOSSES, "auto"):
            raise ValueError(f"loss must be one of {(*LOSSES, 'auto')}, got {self.loss!r}.")
        check_sampler(self.sampler, SAMPLERS, "SupervisedConfig.sampler")
        if self.lr_schedule not in LR_SCHEDULES:
            raise ValueError(
                f"lr_schedule must be one of {LR_SCHEDULES}, got {self.lr_schedule!r}."
            )
        if self.warmup_steps < 0 or (self.clipnorm is not None and self.clipnorm <= 0):
            raise ValueError(
                "warmup_steps must be >= 0 and clipnorm > 0 (or None); got "
                f"{self.warmup_steps}, {self.clipnorm}."
            )
        if self.max_train_seconds is not None and self.max_train_seconds <= 0:
            raise ValueError(f"max_train_seconds must be > 0, got {self.max_train_seconds}.")
        if self.encoder.repeat_bias and self.loss == "sampled":
            raise ValueError(REPEAT_BIAS_NEEDS_FULL)
        if not 0.0 <= self.label_smoothing < 1.0 or self.weight_decay < 0.0:
            raise ValueError(
                "label_smoothing must be in [0, 1) and weight_decay >= 0; got "
                f"{self.label_smoothing}, {self.weight_decay}."
            )
        if self.label_smoothing and self.loss == "sampled":
            raise ValueError("label_smoothing needs loss='full' (or label_smoothing=0).")
        for name in ("batch_size", "epochs"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}.")
        if self.patience < 0 or self.num_sampled < 1 or self.metric_k < 1:
            raise ValueError(
                "patience must be >= 0 and num_sampled, metric_k >= 1; got "
                f"{self.patience}, {self.num_sampled}, {self.metric_k}."
            )

    def resolved_loss(self, vocab_size: int) -> str:
        """``"full"`` or ``"sampled"``: ``loss``, with ``"auto"`` decided by the catalog size."""
        if self.loss != "auto":
            return self.loss
        if self.encoder.repeat_bias or self.label_smoothing:
            return "full"
        return "full" if vocab_size - NUM_RESERVED <= self.full_softmax_max_items else "sampled"


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
            coverage=False,
            trim_padding=True,
        )

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        start = time.perf_counter()
        metrics = self.evaluate()
        self.eval_seconds += time.perf_counter() - start
        if logs is not None:
            for k in self.ks:
                for name in ("hr", "ndcg", "mrr"):
                    logs[f"{self.prefix}{name}@{k}"] = metrics[f"{name}@{k}"]


def build_next_item_model(
    config: SupervisedConfig,
    vocab_size: int,
    item_counts: np.ndarray | None = None,
    strategy: tf.distribute.Strategy | None = None,
    steps_per_epoch: int | None = None,
) -> NextItemModel:
    """Builds and compiles the model described by ``config``.

    Args:
      config: hyper-parameters.
      vocab_size: number of indices including the reserved ones.
      item_counts: float ``[vocab_size]`` training counts (needed by the popularity and
        log-uniform samplers of ``loss="sampled"``).
      strategy: the ``tf.distribute`` strategy whose scope holds the variables (None: the
        current one). ``NextItemModel.train_step`` scales each replica's loss
        (``tf.nn.compute_average_loss``) so the optimizer's sum of gradients is their mean.
      steps_per_epoch: batches per epoch, for ``lr_schedule="cosine"`` (decay over
        ``config.epochs`` epochs).

    Returns:
      A compiled :class:`NextItemModel` (Adam, or AdamW when ``config.weight_decay > 0``).
    """
    strategy = strategy or tf.distribute.get_strategy()
    tf.keras.utils.set_random_seed(config.seed)
    with strategy.scope():
        return _build_next_item_model(config, vocab_size, item_counts, steps_per_epoch)


def _build_next_item_model(
    config: SupervisedConfig,
    vocab_size: int,
    item_counts: np.ndarray | None,
    steps_per_epoch: int | None,
) -> NextItemModel:
    encoder = build_encoder(config.encoder, vocab_size, resumable_dropout=False)
    probabilities = None
    loss = config.resolved_loss(vocab_size)
    if loss == "sampled":
        if item_counts is None and config.sampler != "uniform":
            raise ValueError(f"sampler={config.sampler!r} needs item_counts [vocab_size].")
        counts = item_counts if item_counts is not None else np.ones(vocab_size)
        probabilities = sampling_distribution(counts, config.sampler, config.popularity_exponent)
    model = NextItemModel(
        encoder,
        loss=loss,
        sampling_probabilities=probabilities,
        num_sampled=config.num_sampled,
        label_smoothing=config.label_smoothing,
        in_batch=config.sampler == "in_batch",
    )
    if config.lr_schedule == "cosine" and steps_per_epoch is None:
        raise ValueError("lr_schedule='cosine' needs steps_per_epoch (batches per epoch).")
    decay_steps = (
        config.epochs * steps_per_epoch - config.warmup_steps
        if config.lr_schedule == "cosine"
        else None
    )
    rate: Any = config.learning_rate
    if config.warmup_steps or decay_steps is not None:
        rate = WarmupCosine(config.learning_rate, config.warmup_steps, decay_steps)
    clip = {} if config.clipnorm is None else {"global_clipnorm": config.clipnorm}
    if config.weight_decay:
        optimizer = tf.keras.optimizers.AdamW(rate, weight_decay=config.weight_decay, **clip)
        # Decay the weight matrices and tables only (the usual AdamW practice).
        optimizer.exclude_from_weight_decay(
            var_names=["bias", "gamma", "beta", "repeat_weight", "output_bias"]
        )
    else:
        optimizer = tf.keras.optimizers.Adam(rate, **clip)
    model.compile(optimizer=optimizer)
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
    counts = train_seqs.item_counts(vocab_size)
    strategy = strategy or make_strategy(config.strategy)
    check_global_batch(config.batch_size, strategy)
    steps = None  # only the cosine schedule needs it (a windowing pass over the data)
    if config.lr_schedule == "cosine":
        steps = sequence_batches_per_epoch(
            train_seqs, config.encoder.max_len, config.batch_size, config.length_buckets
        )
    model = build_next_item_model(config, vocab_size, counts, strategy, steps_per_epoch=steps)
    dataset = full_batches(
        sequence_dataset(
            train_seqs,
            config.encoder.max_len,
            config.batch_size,
            seed=config.seed,
            length_buckets=config.length_buckets,
        ),
        config.batch_size,
    )
    monitor = f"val_ndcg@{config.metric_k}"
    all_callbacks: list[tf.keras.callbacks.Callback] = [
        NonFiniteLossGuard(checkpoint_dir),
        RankingCallback(
            valid,
            config.encoder.max_len,
            ks=(config.metric_k,),
            exclude_history=config.exclude_history,
            batch_size=config.eval_batch_size,
        ),
        *callbacks,
        *([TrainingBudget(config.max_train_seconds)] if config.max_train_seconds else []),
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
