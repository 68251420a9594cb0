"""A small record of a training run (steps, loss terms, evaluated returns) for learning curves."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

__all__ = ["TrainingHistory"]


@dataclasses.dataclass
class TrainingHistory:
    """Losses and returns recorded during training, ready to plot.

    Attributes:
      steps: training steps at which losses were recorded.
      losses: loss-term name (``"loss"`` plus every ``LossInfo.extra`` field) -> values aligned
        with ``steps``.
      eval_steps: training steps at which the policy's return was evaluated.
      eval_returns: mean return per episode at ``eval_steps``.
      evaluations: one row per evaluation (``step`` and the fields of
        ``tfrec.evaluation.rollouts.RolloutResult.as_row``: CI, click rate, coverage ...).
      seconds: wall-clock seconds of training (collection and gradient steps; evaluation
        excluded).
      best_step: the training step whose weights were kept (``OnlineConfig.keep_best``).
    """

    steps: list[int] = dataclasses.field(default_factory=list)
    losses: dict[str, list[float]] = dataclasses.field(default_factory=dict)
    eval_steps: list[int] = dataclasses.field(default_factory=list)
    eval_returns: list[float] = dataclasses.field(default_factory=list)
    evaluations: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    seconds: float = 0.0
    best_step: int | None = None

    def record_losses(self, step: int, values: dict[str, Any]) -> None:
        """Appends one row of loss terms (scalars, tensors or arrays) at ``step``."""
        self.steps.append(int(step))
        for name, value in values.items():
            self.losses.setdefault(name, []).append(float(np.asarray(value)))

    def record_return(self, step: int, value: float) -> None:
        """Appends an evaluated mean return at ``step``."""
        self.eval_steps.append(int(step))
        self.eval_returns.append(float(value))

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python copy (JSON-serialisable)."""
        return dataclasses.asdict(self)
