"""``tf.train.CheckpointManager`` helpers for agents (weights, optimizer state, step counter)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import tensorflow as tf

from tfrec.training.resume import restore_newest_valid

__all__ = ["make_checkpoint_manager", "restore_latest"]


def make_checkpoint_manager(
    directory: str | Path, agent: Any, max_to_keep: int = 3, **extra: Any
) -> tf.train.CheckpointManager:
    """A checkpoint manager over an agent (its networks, optimizer and ``train_step_counter``).

    Args:
      directory: folder of the checkpoints (created when missing).
      agent: a TF-Agents agent (e.g. ``TopKOffPolicyReinforceAgent``).
      max_to_keep: how many recent checkpoints are kept.
      **extra: further trackables to save with it (e.g. ``replay_buffer=...``).

    Returns:
      A ``tf.train.CheckpointManager`` whose ``checkpoint_interval`` is counted in agent steps.
    """
    if max_to_keep < 1:
        raise ValueError(f"max_to_keep must be >= 1, got {max_to_keep}.")
    checkpoint = tf.train.Checkpoint(agent=agent, **extra)
    return tf.train.CheckpointManager(
        checkpoint,
        str(directory),
        max_to_keep=max_to_keep,
        step_counter=agent.train_step_counter,
    )


def restore_latest(manager: tf.train.CheckpointManager) -> int | None:
    """Restores the newest intact checkpoint of ``manager``, if any.

    A damaged newest checkpoint is skipped with a warning and the previous one restored (see
    :func:`tfrec.training.resume.restore_newest_valid`).

    Args:
      manager: from :func:`make_checkpoint_manager`.

    Returns:
      The agent step restored, or None when the directory holds no checkpoint.

    Raises:
      ValueError: if checkpoints exist but none can be read.
    """
    if restore_newest_valid(manager) is None:
        return None
    return int(manager.checkpoint.agent.train_step_counter.numpy())
