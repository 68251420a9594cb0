"""Padded ``[batch, steps]`` trajectory rows of finished episodes, shared by the click-only
(:mod:`tfrec.training.click_episodes`) and impression (:mod:`tfrec.training.impressions`) buffers.

A row holds one episode of ``n`` real steps: step types ``FIRST, MID, ..., MID`` then ``LAST``
padding, next-step types ``MID, ..., MID, LAST`` then ``FIRST`` padding (the padding steps are
episode boundaries, which the agent's losses mask out), and the last observation repeated over
the padding.
"""

from __future__ import annotations

import numpy as np
from tf_agents.trajectories import time_step as ts

__all__ = ["empty_step_types", "fill_episode_row"]


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
