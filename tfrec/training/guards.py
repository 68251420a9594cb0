"""Training guards: stop on a NaN/Inf loss with an error that names the step.

A non-finite loss means the weights are about to be (or already are) garbage. The loops stop at
once, without writing a checkpoint, so the newest checkpoint on disk is the last good one:

* offline REINFORCE (:func:`tfrec.training.offline.train_offline`): the loop checks the loss
  of every step and raises :class:`NonFiniteLossError` (it also converts the
  ``tf.debugging.check_numerics`` error ``ReinforceAgent`` raises when that check runs). The
  in-memory weights after the error may hold the bad update: restore the checkpoint.
* Keras ``fit`` (supervised next-item model): :class:`NonFiniteLossGuard` raises after the
  first batch whose loss is not finite (``tf.keras.callbacks.TerminateOnNaN`` would stop
  silently and let ``fit`` return as if training had ended).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import tensorflow as tf

__all__ = ["NonFiniteLossError", "NonFiniteLossGuard", "check_finite_loss", "is_non_finite_error"]

_CHECK_NUMERICS_MESSAGE = "Loss is inf or nan"


class NonFiniteLossError(FloatingPointError):
    """The training loss became NaN or infinite.

    Attributes:
      step: the training step (1-based, counted like ``train_step_counter`` after the step) whose
        loss was not finite.
      last_checkpoint: the newest checkpoint kept on disk (None when there is none).
    """

    def __init__(self, step: int, detail: str = "", last_checkpoint: str | Path | None = None):
        self.step = int(step)
        self.last_checkpoint = None if last_checkpoint is None else str(last_checkpoint)
        kept = (
            f"the last good checkpoint is {self.last_checkpoint}"
            if self.last_checkpoint
            else "no checkpoint was written"
        )
        super().__init__(
            f"non-finite training loss at step {self.step}{': ' + detail if detail else ''}; "
            f"training stopped and {kept}. Lower the learning rate, set gradient clipping, or "
            "check the data (rewards, propensities) of that step for NaN/Inf."
        )


def is_non_finite_error(error: BaseException) -> bool:
    """Whether ``error`` is TF-Agents' ``check_numerics`` failure on the loss."""
    return isinstance(error, tf.errors.InvalidArgumentError) and _CHECK_NUMERICS_MESSAGE in str(
        error
    )


def check_finite_loss(
    terms: dict[str, float], step: int, last_checkpoint: str | Path | None = None
) -> None:
    """Raises if any loss term is NaN or infinite.

    Args:
      terms: loss-term name -> value (e.g. ``tfrec.training.summaries.loss_terms(loss_info)``).
      step: the step that produced them.
      last_checkpoint: the newest checkpoint on disk, quoted in the error.

    Raises:
      NonFiniteLossError: naming ``step`` and the non-finite terms.
    """
    bad = {name: value for name, value in terms.items() if not math.isfinite(value)}
    if bad:
        detail = ", ".join(f"{name}={value}" for name, value in bad.items())
        raise NonFiniteLossError(step, detail, last_checkpoint)


class NonFiniteLossGuard(tf.keras.callbacks.Callback):
    """Keras callback: raises :class:`NonFiniteLossError` at the first non-finite batch loss.

    Place it first in the callback list so that no later callback (``ModelCheckpoint``) saves
    the broken weights. The step reported is the number of batches trained in this ``fit``.

    Args:
      checkpoint_dir: quoted in the error as where the last good weights are.
    """

    def __init__(self, checkpoint_dir: str | Path | None = None) -> None:
        super().__init__()
        self.checkpoint_dir = checkpoint_dir
        self.step = 0

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self.step += 1
        loss = (logs or {}).get("loss")
        if loss is not None:
            check_finite_loss({"loss": float(loss)}, self.step, self.checkpoint_dir)
