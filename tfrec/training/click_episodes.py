"""Click-only online experience: the clicks of each episode, for ``experience="clicks"``.

:class:`ClickCollector` turns each step's click (``env.get_info()["clicked_item"]``) into an
item-action step whose logged propensity is the collect policy's probability of the clicked item
(``policy_info["log_probability"]`` at the click position); finished episodes go to an
:class:`EpisodeBuffer`. A step with no click has no item action; its reward (0 with a click
reward) is added to the previous click of the episode. This is the paper's click-only
formulation, kept as an explicitly named mode: its gradient is biased toward clicks (see
docs/concepts.md); impression experience (:mod:`tfrec.training.impressions`) is the default.
"""

from __future__ import annotations

import collections

import numpy as np
import tensorflow as tf
from tf_agents.trajectories import trajectory

from tfrec.agents.reinforce import LOG_PROPENSITY
from tfrec.policies.topk import LOG_PROBABILITY
from tfrec.specs import FIRST_ITEM_INDEX
from tfrec.training.episode_store import (
    EpisodeFifo,
    StepObserver,
    empty_step_types,
    fill_episode_row,
)

__all__ = ["ClickCollector", "EpisodeBuffer"]

_Episode = collections.namedtuple("_Episode", "observations items rewards log_propensities")


class EpisodeBuffer(EpisodeFifo):
    """A FIFO replay buffer of click episodes, sampled as padded ``[batch, T]`` trajectories.

    Episodes longer than ``max_steps`` are stored as consecutive chunks of at most ``max_steps``
    clicks (returns are truncated at a chunk end, as in ``tfrec.data.session_dataset``).

    Args:
      capacity: most episodes (chunks) kept; the oldest are dropped first.
      max_steps: real steps per row; rows have ``T = max_steps + 1`` steps.
      seed: seed of the uniform sampling.
    """

    def __init__(self, capacity: int, max_steps: int, seed: int | None = 0) -> None:
        super().__init__(capacity, max_steps, seed, _Episode)

    def add(
        self,
        observations: np.ndarray,
        items: np.ndarray,
        rewards: np.ndarray,
        log_propensities: np.ndarray,
    ) -> None:
        """Stores one episode of ``n`` clicks.

        Args:
          observations: int32 ``[n, max_len]`` histories before each click.
          items: int32 ``[n]`` clicked items.
          rewards: float32 ``[n]`` rewards.
          log_propensities: float32 ``[n]`` log-probability of each clicked item under the
            policy that collected it.
        """
        n = len(items)
        if not n == len(observations) == len(rewards) == len(log_propensities):
            raise ValueError("observations, items, rewards and log_propensities differ in length.")
        for start in range(0, n, self._max_steps):
            part = slice(start, start + self._max_steps)
            self._episodes.append(
                _Episode(
                    np.asarray(observations[part], np.int32),
                    np.asarray(items[part], np.int32),
                    np.asarray(rewards[part], np.float32),
                    np.asarray(log_propensities[part], np.float32),
                )
            )

    def sample(self, batch_size: int) -> trajectory.Trajectory:
        """Uniformly samples ``batch_size`` episodes (with replacement) as a Trajectory batch.

        Returns:
          Trajectory of tensors ``[batch_size, T, ...]``, ``T = max_steps + 1``: real steps
          (FIRST then MID, next LAST on the last click, discount 0 there) then boundary steps
          (LAST -> FIRST, reward 0, action ``FIRST_ITEM_INDEX``), the layout of
          ``tfrec.data.session_dataset``; ``policy_info = {"log_propensity": [B, T]}``.

        Raises:
          ValueError: if the buffer is empty.
        """
        if not self._episodes:
            raise ValueError("the episode buffer is empty: collect episodes before sampling.")
        chosen = self._rng.integers(len(self._episodes), size=batch_size)
        steps = self._max_steps + 1
        max_len = self._episodes[0].observations.shape[1]
        obs = np.zeros((batch_size, steps, max_len), np.int32)
        action = np.full((batch_size, steps), FIRST_ITEM_INDEX, np.int32)
        reward = np.zeros((batch_size, steps), np.float32)
        log_prop = np.zeros((batch_size, steps), np.float32)
        discount = np.ones((batch_size, steps), np.float32)
        step_type, next_step_type = empty_step_types(batch_size, steps)
        for row, index in enumerate(chosen):
            episode = self._episodes[index]
            n = len(episode.items)
            fill_episode_row(row, episode.observations, obs, step_type, next_step_type)
            action[row, :n] = episode.items
            reward[row, :n] = episode.rewards
            log_prop[row, :n] = episode.log_propensities
            discount[row, n - 1] = 0.0
        return trajectory.Trajectory(
            step_type=tf.constant(step_type),
            observation=tf.constant(obs),
            action=tf.constant(action),
            policy_info={LOG_PROPENSITY: tf.constant(log_prop)},
            next_step_type=tf.constant(next_step_type),
            reward=tf.constant(reward),
            discount=tf.constant(discount),
        )


class ClickCollector(StepObserver):
    """Driver observer: slate transitions + ``get_info()`` clicks -> click episodes in a buffer.

    Register :meth:`observe_trajectory` as a ``PyDriver`` observer and :meth:`observe_info` as
    an info observer (the driver calls them in that order after every step).

    Args:
      buffer: where finished episodes go.
      batch_size: the environment's batch size.
    """

    def observe_info(self, info: dict[str, np.ndarray]) -> None:
        """Turns the stored transition's clicks into steps; flushes finished episodes."""
        traj = self._stored_trajectory()
        clicked = np.asarray(info["clicked_item"])
        position = np.asarray(info["click_position"])
        log_probability = np.asarray(traj.policy_info[LOG_PROBABILITY])
        boundary, last = np.asarray(traj.is_boundary()), np.asarray(traj.is_last())
        for i in range(self._batch_size):
            if boundary[i]:
                continue
            pending = self._pending[i]
            reward = float(traj.reward[i])
            if clicked[i] >= FIRST_ITEM_INDEX:
                pending.append(
                    (
                        traj.observation[i],
                        int(clicked[i]),
                        reward,
                        float(log_probability[i, position[i]]),
                    )
                )
            elif pending:
                obs, item, previous, log_prop = pending[-1]
                pending[-1] = (obs, item, previous + reward, log_prop)
            if last[i] and pending:
                obs, items, rewards, log_props = zip(*pending)
                self._buffer.add(
                    np.stack(obs), np.array(items), np.array(rewards), np.array(log_props)
                )
                self._pending[i] = []
        self._trajectory = None
