"""What the click and impression collectors and their episode FIFOs share.

A TF-Agents ``PyDriver`` calls a trajectory observer and then an info observer after every
environment step; :class:`StepObserver` keeps the batched transition between the two calls and the
per-user episodes in progress, and saves them for a resumable loop. :class:`EpisodeFifo` is the
bounded FIFO of finished episodes with a seeded uniform sampler, whose contents and sampler state
a checkpoint can hold (``tfrec.training.online.train_in_simulator``).

Sampled episodes become padded ``[batch, steps]`` trajectory rows (:func:`empty_step_types`,
:func:`fill_episode_row`): a row holds one episode of ``n`` real steps, step types ``FIRST, MID,
..., MID`` then ``LAST`` padding, next-step types ``MID, ..., MID, LAST`` then ``FIRST`` padding
(the padding steps are episode boundaries, which the agent's losses mask out), and the last
observation repeated over the padding.
"""

from __future__ import annotations

import collections
from typing import Any

import numpy as np
from tf_agents.trajectories import time_step as ts
from tf_agents.trajectories import trajectory

__all__ = ["EpisodeFifo", "StepObserver", "empty_step_types", "fill_episode_row"]


class EpisodeFifo:
    """Bounded FIFO of episodes (namedtuples of ``episode_type``) with a seeded sampler.

    Args:
      capacity: most episodes kept (the oldest are dropped first).
      max_steps: real steps per sampled row.
      seed: seed of the uniform sampling.
      episode_type: the namedtuple class of the stored episodes.
    """

    def __init__(self, capacity: int, max_steps: int, seed: int | None, episode_type: type) -> None:
        if capacity < 1 or max_steps < 1:
            raise ValueError(f"capacity and max_steps must be >= 1, got {capacity}, {max_steps}.")
        self._episodes: collections.deque[Any] = collections.deque(maxlen=capacity)
        self._max_steps = int(max_steps)
        self._rng = np.random.default_rng(seed)
        self._episode_type = episode_type

    def __len__(self) -> int:
        return len(self._episodes)

    def get_state(self) -> dict[str, Any]:
        """Contents and sampler state, for a checkpoint (see :meth:`set_state`)."""
        return {"episodes": list(self._episodes), "rng": self._rng.bit_generator.state}

    def set_state(self, state: dict[str, Any]) -> None:
        """Restores what :meth:`get_state` returned."""
        self._episodes.clear()
        self._episodes.extend(self._episode_type(*e) for e in state["episodes"])
        self._rng.bit_generator.state = state["rng"]


class StepObserver:
    """Driver observer base: the transition between its two calls and the episodes in progress.

    Subclasses implement ``observe_info(info)``, reading ``self._trajectory``.

    Args:
      buffer: where finished episodes go.
      batch_size: the environment's batch size.
    """

    def __init__(self, buffer: Any, batch_size: int) -> None:
        self._buffer = buffer
        self._batch_size = int(batch_size)
        self._trajectory: trajectory.Trajectory | None = None
        self.reset()

    def reset(self) -> None:
        """Drops the episodes in progress (call it after resetting the environment)."""
        self._pending: list[list[tuple[Any, ...]]] = [[] for _ in range(self._batch_size)]
        self._trajectory = None

    def get_state(self) -> dict[str, Any]:
        """The episodes in progress and the counters, for a checkpoint."""
        return {k: v for k, v in vars(self).items() if k not in ("_buffer", "_trajectory")}

    def set_state(self, state: dict[str, Any]) -> None:
        """Restores what :meth:`get_state` returned."""
        vars(self).update(state)
        self._trajectory = None

    def observe_trajectory(self, traj: trajectory.Trajectory) -> None:
        """Keeps the batched slate transition until its info arrives."""
        self._trajectory = traj

    def _stored_trajectory(self) -> trajectory.Trajectory:
        if self._trajectory is None:
            raise RuntimeError("observe_info called before observe_trajectory.")
        return self._trajectory


def empty_step_types(batch: int, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """int32 ``(step_type, next_step_type)``, both ``[batch, steps]``, all padding (boundaries)."""
    return (
        np.full((batch, steps), ts.StepType.LAST, np.int32),
        np.full((batch, steps), ts.StepType.FIRST, np.int32),
    )


def fill_episode_row(
    row: int,
    observations: np.ndarray,
    obs: np.ndarray,
    step_type: np.ndarray,
    next_step_type: np.ndarray,
) -> None:
    """Writes one episode's observations and step types into row ``row`` (in place).

    Args:
      row: the row.
      observations: int ``[n, max_len]`` the episode's observations, one per real step.
      obs: int ``[batch, steps, max_len]``; the padding steps repeat the last observation.
      step_type: int32 ``[batch, steps]`` from :func:`empty_step_types`.
      next_step_type: int32 ``[batch, steps]`` from :func:`empty_step_types`.
    """
    n = len(observations)
    obs[row, :n] = observations
    obs[row, n:] = observations[-1]
    step_type[row, :n] = ts.StepType.MID
    step_type[row, 0] = ts.StepType.FIRST
    next_step_type[row, : n - 1] = ts.StepType.MID
    next_step_type[row, n - 1] = ts.StepType.LAST
