"""Supervised training from a log: vocabulary -> leave-last-out -> SASRec next-item model.

* :func:`train_supervised`: an ``InteractionLog`` to a trained :class:`~tfrec.models.NextItemModel`
  (TensorBoard logs, test ranking metrics), returned as a :class:`SupervisedRun`;
* :class:`EpochProgress`: a tqdm bar over the ``model.fit`` epochs;
* :func:`training_rows`: the rows of a log that leave-last-out keeps for training, for the
  log-based learners (``tfrec.training.offline.train_from_log``) that must not see the test items.

The fit loop itself is :func:`tfrec.training.supervised.train_next_item_model`.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

import tensorflow as tf
from tqdm.auto import tqdm

from tfrec.data import (
    EvalSet,
    InteractionLog,
    ItemVocabulary,
    Sequences,
    build_sequences,
    leave_last_out,
)
from tfrec.encoders import SequenceEncoder
from tfrec.evaluation.ranking import evaluate_ranking
from tfrec.models import NextItemModel
from tfrec.training.supervised import SupervisedConfig, inference_scorer, train_next_item_model

__all__ = ["EpochProgress", "SupervisedRun", "train_supervised", "training_rows"]


@dataclasses.dataclass
class SupervisedRun:
    """What :func:`train_supervised` returns.

    Attributes:
      model: the trained ``NextItemModel`` (best validation weights).
      vocabulary: the item vocabulary it was trained with.
      train: training sequences; ``valid`` / ``test``: the leave-last-out evaluation sets.
      history: Keras per-epoch logs (``loss``, ``val_hr@K``, ``val_ndcg@K``, ``val_mrr@K``).
      test_metrics: full-catalog ranking metrics on ``test``.
    """

    model: NextItemModel
    vocabulary: ItemVocabulary
    train: Sequences
    valid: EvalSet
    test: EvalSet
    history: dict[str, list[float]]
    test_metrics: dict[str, float]

    @property
    def encoder(self) -> SequenceEncoder:
        """The trained ``SequenceEncoder`` (warm-starts REINFORCE, exports, explains)."""
        return self.model.encoder


class EpochProgress(tf.keras.callbacks.Callback):
    """A tqdm bar over ``model.fit`` epochs showing the latest epoch logs (``loss``, ``val_*``).

    Args:
      epochs: the ``epochs`` given to ``fit`` (the bar's total; early stopping ends it sooner).
      description: the bar's label.
    """

    def __init__(self, epochs: int, description: str = "supervised") -> None:
        super().__init__()
        self.epochs = int(epochs)
        self.description = description
        self.bar: Any = None

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self.bar = tqdm(total=self.epochs, desc=self.description, unit="epoch")

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.bar.update(1)
        self.bar.set_postfix({k: f"{float(v):.4f}" for k, v in (logs or {}).items()})

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        self.bar.close()


def train_supervised(
    log: InteractionLog,
    config: SupervisedConfig,
    vocabulary: ItemVocabulary | None = None,
    logdir: str | os.PathLike | None = None,
    checkpoint_dir: str | os.PathLike | None = None,
    ks: tuple[int, ...] = (10,),
    progress: bool = False,
) -> SupervisedRun:
    """Trains the SASRec next-item model on a log (Kang & McAuley 2018; full softmax CE).

    Args:
      log: the interactions.
      config: model and training settings (``epochs``, ``patience`` ...).
      vocabulary: item vocabulary (default: built from ``log``); pass a simulator's
        ``env.vocabulary`` so indices match its catalog.
      logdir: TensorBoard folder (``tf.keras.callbacks.TensorBoard``: ``epoch_loss`` and the
        validation ranking metrics per epoch).
      checkpoint_dir: folder of the best-weights checkpoint.
      ks: cut-offs of the test metrics.
      progress: show a tqdm bar over the epochs.

    Returns:
      A :class:`SupervisedRun`.

    Raises:
      ValueError: no user has the 3 interactions leave-last-out needs.
    """
    vocabulary = vocabulary or ItemVocabulary.from_items(log.df["item"])
    train, valid, test = leave_last_out(build_sequences(log, vocabulary))
    if len(valid) == 0:
        raise ValueError(
            f"no user of the log has 3 or more interactions ({log.num_users} users, "
            f"{log.num_interactions} interactions): leave-last-out needs them for validation."
        )
    callbacks: list[tf.keras.callbacks.Callback] = []
    if logdir is not None:
        callbacks.append(tf.keras.callbacks.TensorBoard(str(logdir), write_graph=False))
    if progress:
        callbacks.append(EpochProgress(config.epochs))
    model, keras_history = train_next_item_model(
        train, valid, config, vocabulary.size, callbacks=callbacks, checkpoint_dir=checkpoint_dir
    )
    metrics = evaluate_ranking(
        inference_scorer(model.encoder),
        test.padded_histories(config.encoder.max_len),
        test.targets,
        ks=ks,
    )
    history = {k: [float(v) for v in values] for k, values in keras_history.history.items()}
    return SupervisedRun(model, vocabulary, train, valid, test, history, metrics)


def training_rows(log: InteractionLog, min_length: int = 3) -> InteractionLog:
    """The rows of ``log`` that ``leave_last_out`` keeps for training (no held-out item).

    Users with at least ``min_length`` interactions lose their last two (the validation and test
    targets); shorter users keep everything, as in :func:`tfrec.data.leave_last_out`. Train
    log-based learners (e.g. ``tfrec.training.offline.train_from_log``) on it so that the test
    targets stay unseen.

    Args:
      log: the full log.
      min_length: shortest sequence that gets held-out items.

    Returns:
      A new ``InteractionLog`` of the training rows.
    """
    df = log.df
    counts = df.groupby("user", sort=False)["item"].transform("size")
    from_end = df.groupby("user", sort=False).cumcount(ascending=False)
    return InteractionLog(df[(counts < min_length) | (from_end >= 2)], source=log.source)
