"""Controls of a Keras ``fit`` loop: a warm-up + cosine learning-rate schedule and a budget of
training seconds.

* :class:`WarmupCosine`: linear warm-up, then constant or a cosine decay to 0 (Loshchilov &
  Hutter, ICLR 2017, "SGDR", without restarts; the warm-up of Goyal et al. 2017). Keras' own
  ``CosineDecay(warmup_steps=...)`` warms up from ``initial_learning_rate`` rather than 0 and has
  no constant mode, hence this small schedule.
* :class:`TrainingBudget`: counts training seconds without the epoch-end evaluations and stops
  training once a budget is spent (``EarlyStopping(restore_best_weights=True)`` then restores
  the best validation weights at the end of training).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import tensorflow as tf

__all__ = ["TrainingBudget", "WarmupCosine"]


@tf.keras.utils.register_keras_serializable(package="tfrec")
class WarmupCosine(tf.keras.optimizers.schedules.LearningRateSchedule):
    """Linear warm-up from 0 to ``peak`` over ``warmup_steps``, then constant or a cosine decay.

    Args:
      peak: the learning rate after the warm-up.
      warmup_steps: steps of the linear warm-up (0: none).
      decay_steps: steps of the cosine decay to 0 after the warm-up (None: constant).
    """

    def __init__(self, peak: float, warmup_steps: int = 0, decay_steps: int | None = None):
        super().__init__()
        self.peak = float(peak)
        self.warmup_steps = int(warmup_steps)
        self.decay_steps = None if decay_steps is None else max(int(decay_steps), 1)

    def __call__(self, step: tf.Tensor) -> tf.Tensor:
        step = tf.cast(step, tf.float32)
        rate = tf.constant(self.peak, tf.float32)
        if self.warmup_steps:
            rate *= tf.minimum((step + 1.0) / self.warmup_steps, 1.0)
        if self.decay_steps is not None:
            progress = tf.clip_by_value((step - self.warmup_steps) / self.decay_steps, 0.0, 1.0)
            rate *= 0.5 * (1.0 + tf.cos(np.pi * progress))
        return rate

    def get_config(self) -> dict[str, Any]:
        return {
            "peak": self.peak,
            "warmup_steps": self.warmup_steps,
            "decay_steps": self.decay_steps,
        }


class TrainingBudget(tf.keras.callbacks.Callback):
    """Counts training seconds (epoch start to its last batch, so the evaluations that run at
    epoch end are excluded) and stops training once ``budget_s`` is spent.

    Attributes:
      seconds: training seconds so far; ``epoch_seconds`` per epoch. ``logs["train_seconds"]``
        holds the running total at each epoch end.
    """

    def __init__(self, budget_s: float | None = None) -> None:
        super().__init__()
        self.budget_s = budget_s
        self.seconds = 0.0
        self.epoch_seconds: list[float] = []

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._start = self._last = time.perf_counter()

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self._last = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.epoch_seconds.append(self._last - self._start)
        self.seconds += self.epoch_seconds[-1]
        if logs is not None:
            logs["train_seconds"] = self.seconds
        if self.budget_s is not None and self.seconds >= self.budget_s:
            self.model.stop_training = True
