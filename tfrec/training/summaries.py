"""Loss and return reporting shared by the offline and online loops (history + TensorBoard)."""

from __future__ import annotations

from typing import Any

import tensorflow as tf
from tf_agents.agents import tf_agent

from tfrec.training.training_history import TrainingHistory

__all__ = ["loss_terms", "report_losses", "report_return"]


def loss_terms(loss_info: tf_agent.LossInfo) -> dict[str, float]:
    """``{"loss": total, <every LossInfo.extra field>: value}`` as Python floats."""
    terms = {"loss": float(loss_info.loss)}
    extra = loss_info.extra
    if hasattr(extra, "_asdict"):
        terms.update({name: float(value) for name, value in extra._asdict().items()})
    return terms


def report_losses(
    history: TrainingHistory,
    writer: tf.summary.SummaryWriter | None,
    step: int,
    loss_info: tf_agent.LossInfo,
) -> dict[str, float]:
    """Records every loss term in ``history`` and as ``Losses/<term>`` TensorBoard scalars."""
    terms = loss_terms(loss_info)
    history.record_losses(step, terms)
    if writer is not None:
        with writer.as_default(step=step):
            for name, value in terms.items():
                tf.summary.scalar(f"Losses/{name}", value)
    return terms


def report_return(
    history: TrainingHistory, writer: tf.summary.SummaryWriter | None, step: int, value: Any
) -> None:
    """Records an evaluated mean return in ``history`` and as the ``Metrics/return`` scalar."""
    history.record_return(step, float(value))
    if writer is not None:
        with writer.as_default(step=step):
            tf.summary.scalar("Metrics/return", float(value))
