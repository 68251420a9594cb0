"""Impression-level online experience: every environment step, the whole slate, clicked or not.

:class:`ImpressionCollector` is a ``PyDriver`` observer. After every step it records, for each
simulated user, the history before the step, the slate ``[K]`` shown, the clicked position (-1:
none), the step reward (0 without a click), whether the session terminated, and the collect
policy's slate log-probability and per-item inclusion probabilities. Finished episodes go to an
:class:`ImpressionBuffer`, which samples them as ``[batch, T]`` trajectories in the layout of
``tfrec.specs`` ("impression-level experience"), the training data of
``TopKOffPolicyReinforceAgent(experience="impressions")``.

Nothing is dropped: a slate without a click is a step with reward 0, so returns are sums over
environment steps and the minutes a no-click step costs show up as a shorter session.

Why not a TF-Agents replay buffer: ``TFUniformReplayBuffer`` stores fixed-length frames and
samples windows that cut across episodes; REINFORCE needs whole episodes, left-aligned and padded
with boundary steps, so this small FIFO of episodes does that one job.
"""

from __future__ import annotations

import collections

import numpy as np
import tensorflow as tf
from tf_agents.trajectories import trajectory

from tfrec.specs import (
    CLICK_POSITION,
    FIRST_ITEM_INDEX,
    INCLUSION_PROPENSITY,
    SLATE_LOG_PROPENSITY,
)
from tfrec.training.episode_store import (
    EpisodeFifo,
    StepObserver,
    empty_step_types,
    fill_episode_row,
)

__all__ = ["ImpressionBuffer", "ImpressionCollector", "ImpressionEpisode"]

ImpressionEpisode = collections.namedtuple(
    "ImpressionEpisode",
    "observations slates rewards clicks slate_log_propensities inclusions terminated",
)
ImpressionEpisode.__doc__ = """One episode of ``n`` impression steps (numpy arrays).

Attributes:
  observations: int32 ``[n, max_len]`` histories before each step.
  slates: int32 ``[n, k]`` slates shown.
  rewards: float32 ``[n]`` step rewards (0 without a click).
  clicks: int32 ``[n]`` clicked position, -1 = none.
  slate_log_propensities: float32 ``[n]`` collect policy's log-probability of each slate.
  inclusions: float32 ``[n, k]`` collect policy's inclusion probability of each shown item.
  terminated: bool, the session ended by itself (its last discount is 0), not by truncation.
"""


class ImpressionBuffer(EpisodeFifo):
    """A FIFO of impression episodes, sampled uniformly as padded ``[batch, T]`` trajectories.

    Args:
      capacity: most episodes kept (the oldest are dropped first).
      max_steps: real steps per row, ``T = max_steps + 1``; longer episodes are split into
        chunks (returns are then truncated at a chunk end: pick ``max_steps`` >= the
        environment's step cap to avoid it).
      seed: seed of the uniform sampling.
    """

    def __init__(self, capacity: int, max_steps: int, seed: int | None = 0) -> None:
        super().__init__(capacity, max_steps, seed, ImpressionEpisode)

    @property
    def episodes(self) -> list[ImpressionEpisode]:
        """The stored episodes, oldest first."""
        return list(self._episodes)

    def clear(self) -> None:
        """Drops every stored episode."""
        self._episodes.clear()

    def add(self, episode: ImpressionEpisode) -> None:
        """Stores one episode (split into chunks of at most ``max_steps`` steps)."""
        n = len(episode.rewards)
        for start in range(0, n, self._max_steps):
            part = slice(start, start + self._max_steps)
            last_chunk = start + self._max_steps >= n
            self._episodes.append(
                ImpressionEpisode(
                    *(np.asarray(field[part]) for field in episode[:-1]),
                    terminated=bool(episode.terminated and last_chunk),
                )
            )

    def sample(self, batch_size: int) -> trajectory.Trajectory:
        """``batch_size`` episodes drawn uniformly with replacement (see :meth:`as_trajectory`)."""
        if not self._episodes:
            raise ValueError("the impression buffer is empty: collect episodes before sampling.")
        chosen = self._rng.integers(len(self._episodes), size=batch_size)
        return self.as_trajectory([self._episodes[i] for i in chosen])

    def as_trajectory(self, episodes: list[ImpressionEpisode]) -> trajectory.Trajectory:
        """Episodes as one Trajectory batch in the impression layout of ``tfrec.specs``.

        Args:
          episodes: the rows, each of at most ``max_steps`` steps.

        Returns:
          Trajectory of tensors ``[len(episodes), T, ...]``, ``T = max_steps + 1``.
        """
        batch, steps = len(episodes), self._max_steps + 1
        max_len = episodes[0].observations.shape[1]
        k = episodes[0].slates.shape[1]
        obs = np.zeros((batch, steps, max_len), np.int32)
        action = np.full((batch, steps, k), FIRST_ITEM_INDEX, np.int32)
        reward = np.zeros((batch, steps), np.float32)
        slate_log_prop = np.zeros((batch, steps), np.float32)
        inclusion = np.ones((batch, steps, k), np.float32)
        click = np.full((batch, steps), -1, np.int32)
        discount = np.ones((batch, steps), np.float32)
        step_type, next_step_type = empty_step_types(batch, steps)
        for row, episode in enumerate(episodes):
            n = len(episode.rewards)
            if n > self._max_steps:
                raise ValueError(f"episode of {n} steps exceeds max_steps={self._max_steps}.")
            fill_episode_row(row, episode.observations, obs, step_type, next_step_type)
            action[row, :n] = episode.slates
            reward[row, :n] = episode.rewards
            slate_log_prop[row, :n] = episode.slate_log_propensities
            inclusion[row, :n] = episode.inclusions
            click[row, :n] = episode.clicks
            if episode.terminated:
                discount[row, n - 1] = 0.0
        return trajectory.Trajectory(
            step_type=tf.constant(step_type),
            observation=tf.constant(obs),
            action=tf.constant(action),
            policy_info={
                SLATE_LOG_PROPENSITY: tf.constant(slate_log_prop),
                INCLUSION_PROPENSITY: tf.constant(inclusion),
                CLICK_POSITION: tf.constant(click),
            },
            next_step_type=tf.constant(next_step_type),
            reward=tf.constant(reward),
            discount=tf.constant(discount),
        )


class ImpressionCollector(StepObserver):
    """Driver observer: every slate step + its click -> impression episodes in a buffer.

    Register :meth:`observe_trajectory` as a ``PyDriver`` observer and :meth:`observe_info` as an
    info observer (the driver calls them in that order after every step). The collect policy's
    ``policy_info`` must hold ``"slate_log_propensity"`` ``[B]`` (and may hold
    ``"inclusion_propensity"`` ``[B, k]``, NaN otherwise), as
    :class:`~tfrec.policies.slate_sampling.SlateSamplingPolicy` emits.

    Args:
      buffer: where finished episodes go.
      batch_size: the environment's batch size.
    """

    def __init__(self, buffer: ImpressionBuffer, batch_size: int) -> None:
        self.num_steps = 0
        self.num_episodes = 0
        super().__init__(buffer, batch_size)

    def observe_info(self, info: dict[str, np.ndarray]) -> None:
        """Records the stored transition's steps; flushes finished episodes."""
        traj = self._stored_trajectory()
        info_in = traj.policy_info
        if SLATE_LOG_PROPENSITY not in info_in:
            raise ValueError(
                "the collect policy's policy_info has no 'slate_log_propensity': collect with "
                "tfrec.policies.SlateSamplingPolicy (agent.collect_policy in impressions mode)."
            )
        slate_log_prop = np.asarray(info_in[SLATE_LOG_PROPENSITY], np.float32)
        slates = np.asarray(traj.action, np.int32)
        inclusion = np.asarray(
            info_in.get(INCLUSION_PROPENSITY, np.full(slates.shape, np.nan)), np.float32
        )
        position = np.asarray(info["click_position"], np.int32)
        boundary, last = np.asarray(traj.is_boundary()), np.asarray(traj.is_last())
        reward = np.asarray(traj.reward, np.float32)
        discount = np.asarray(traj.discount, np.float32)
        observation = np.asarray(traj.observation, np.int32)
        for i in range(self._batch_size):
            if boundary[i]:
                continue
            pending = self._pending[i]
            pending.append(
                (observation[i], slates[i], reward[i], position[i], slate_log_prop[i], inclusion[i])
            )
            self.num_steps += 1
            if last[i]:
                obs, slate, rew, click, logp, incl = (np.stack(f) for f in zip(*pending))
                self._buffer.add(
                    ImpressionEpisode(obs, slate, rew, click, logp, incl, bool(discount[i] == 0))
                )
                self.num_episodes += 1
                self._pending[i] = []
        self._trajectory = None
