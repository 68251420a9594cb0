"""Online training of the top-K off-policy REINFORCE agent in a slate simulator.

Loop (one iteration): a TF-Agents ``PyDriver`` runs the Boltzmann top-K collect policy (Chen et
al. 2019, §5) in the batched simulator; :class:`ClickCollector` turns each step's click
(``env.get_info()["clicked_item"]``) into an item-action step whose logged propensity is the
collect policy's probability of the clicked item (``policy_info["log_probability"]`` at the click
position); finished episodes go to an :class:`EpisodeBuffer`; the agent then trains on episodes
sampled from it, correcting for the gap between the collect policy (the logged β) and the
current π. Every ``eval_every`` iterations the greedy top-K policy's mean episode return is
measured (``tf_agents.metrics.py_metrics.AverageReturnMetric``).

An episode's training steps are its **clicks** (a step with no click has no item action); the
reward of a no-click step is added to the previous click of the episode (it is 0 with a click
reward), so returns are sums over the session.
"""

from __future__ import annotations

import collections
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf
from tf_agents.drivers import py_driver
from tf_agents.environments import py_environment
from tf_agents.metrics import py_metrics
from tf_agents.policies import py_tf_eager_policy, tf_policy
from tf_agents.trajectories import time_step as ts
from tf_agents.trajectories import trajectory
from tf_agents.utils import common
from tqdm.auto import tqdm

from tfrec.agents.reinforce import LOG_PROPENSITY, TopKOffPolicyReinforceAgent
from tfrec.policies.topk import LOG_PROBABILITY
from tfrec.specs import FIRST_ITEM_INDEX
from tfrec.training.config import OnlineConfig
from tfrec.training.history import TrainingHistory
from tfrec.training.summaries import report_losses, report_return

__all__ = ["ClickCollector", "EpisodeBuffer", "evaluate_return", "train_online"]

_Episode = collections.namedtuple("_Episode", "observations items rewards log_propensities")


class EpisodeBuffer:
    """A FIFO replay buffer of click episodes, sampled as padded ``[batch, T]`` trajectories.

    Episodes longer than ``max_steps`` are stored as consecutive chunks of at most ``max_steps``
    clicks (returns are truncated at a chunk end, as in ``tfrec.data.session_dataset``).

    Args:
      capacity: most episodes (chunks) kept; the oldest are dropped first.
      max_steps: real steps per row; rows have ``T = max_steps + 1`` steps.
      seed: seed of the uniform sampling.
    """

    def __init__(self, capacity: int, max_steps: int, seed: int | None = 0) -> None:
        if capacity < 1 or max_steps < 1:
            raise ValueError(f"capacity and max_steps must be >= 1, got {capacity}, {max_steps}.")
        self._episodes: collections.deque[_Episode] = collections.deque(maxlen=capacity)
        self._max_steps = int(max_steps)
        self._rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return len(self._episodes)

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
        step_type = np.full((batch_size, steps), ts.StepType.LAST, np.int32)
        next_step_type = np.full((batch_size, steps), ts.StepType.FIRST, np.int32)
        for row, index in enumerate(chosen):
            episode = self._episodes[index]
            n = len(episode.items)
            obs[row, :n] = episode.observations
            obs[row, n:] = episode.observations[-1]
            action[row, :n] = episode.items
            reward[row, :n] = episode.rewards
            log_prop[row, :n] = episode.log_propensities
            step_type[row, :n] = ts.StepType.MID
            step_type[row, 0] = ts.StepType.FIRST
            next_step_type[row, : n - 1] = ts.StepType.MID
            next_step_type[row, n - 1] = ts.StepType.LAST
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


class ClickCollector:
    """Driver observer: slate transitions + ``get_info()`` clicks -> click episodes in a buffer.

    Register :meth:`observe_trajectory` as a ``PyDriver`` observer and :meth:`observe_info` as
    an info observer (the driver calls them in that order after every step).

    Args:
      buffer: where finished episodes go.
      batch_size: the environment's batch size.
    """

    def __init__(self, buffer: EpisodeBuffer, batch_size: int) -> None:
        self._buffer = buffer
        self._batch_size = int(batch_size)
        self._trajectory: trajectory.Trajectory | None = None
        self.reset()

    def reset(self) -> None:
        """Drops the episodes in progress (call it after resetting the environment)."""
        self._pending: list[list[tuple[np.ndarray, int, float, float]]] = [
            [] for _ in range(self._batch_size)
        ]
        self._trajectory = None

    def observe_trajectory(self, traj: trajectory.Trajectory) -> None:
        """Keeps the batched slate transition until its info arrives."""
        self._trajectory = traj

    def observe_info(self, info: dict[str, np.ndarray]) -> None:
        """Turns the stored transition's clicks into steps; flushes finished episodes."""
        traj = self._trajectory
        if traj is None:
            raise RuntimeError("observe_info called before observe_trajectory.")
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


def evaluate_return(env: py_environment.PyEnvironment, policy: Any, num_episodes: int) -> float:
    """Mean undiscounted episode return of ``policy`` over ``num_episodes`` fresh episodes.

    Args:
      env: a batched ``PyEnvironment`` (it is reset first).
      policy: a ``TFPolicy`` (wrapped in ``PyTFEagerPolicy``) or a ``PyPolicy``.
      num_episodes: episodes to complete (at least; a batch may finish a few more).

    Returns:
      The mean return per completed episode.
    """
    if isinstance(policy, tf_policy.TFPolicy):
        policy = py_tf_eager_policy.PyTFEagerPolicy(
            policy, use_tf_function=True, batch_time_steps=False
        )
    metric = py_metrics.AverageReturnMetric(
        batch_size=env.batch_size or 1, buffer_size=max(num_episodes, env.batch_size or 1)
    )
    driver = py_driver.PyDriver(env, policy, observers=[metric], max_episodes=num_episodes)
    driver.run(env.reset())
    return float(metric.result())


def train_online(
    agent: TopKOffPolicyReinforceAgent,
    env: py_environment.PyEnvironment,
    config: OnlineConfig,
    eval_env: py_environment.PyEnvironment | None = None,
    logdir: str | Path | None = None,
    checkpoint_manager: tf.train.CheckpointManager | None = None,
) -> TrainingHistory:
    """Collect with the Boltzmann top-K policy, train on replayed click episodes, evaluate.

    Args:
      agent: the agent (its ``collect_policy`` collects, its ``policy`` is evaluated).
      env: batched slate ``PyEnvironment`` exposing ``get_info()["clicked_item"]`` and
        ``["click_position"]`` (e.g. ``tfrec.environments.InterestEvolutionEnv``).
      config: loop settings.
      eval_env: environment for evaluation (``env`` itself when None: it is then reset after
        each evaluation and the episodes in progress are dropped).
      logdir: TensorBoard folder (``Losses/<term>``, ``Metrics/return``).
      checkpoint_manager: saves every ``config.checkpoint_every`` iterations and at the end.

    Returns:
      :class:`TrainingHistory` with the loss terms of every training step and the greedy
      policy's mean return at step 0, every ``eval_every`` iterations and at the end.
    """
    if tuple(env.action_spec().shape) != (agent.slate_size,):
        raise ValueError(
            f"the environment takes slates of shape {env.action_spec().shape} but the agent's "
            f"slate_size is {agent.slate_size}: build both with the same slate size."
        )
    tf.keras.utils.set_random_seed(config.seed)
    history = TrainingHistory()
    writer = tf.summary.create_file_writer(str(logdir)) if logdir is not None else None
    buffer = EpisodeBuffer(config.buffer_capacity, config.max_steps, seed=config.seed)
    collector = ClickCollector(buffer, env.batch_size or 1)
    collect_policy = py_tf_eager_policy.PyTFEagerPolicy(
        agent.collect_policy, use_tf_function=True, batch_time_steps=False
    )
    greedy_policy = py_tf_eager_policy.PyTFEagerPolicy(
        agent.policy, use_tf_function=True, batch_time_steps=False
    )
    driver = py_driver.PyDriver(
        env,
        collect_policy,
        observers=[collector.observe_trajectory],
        info_observers=[collector.observe_info],
        max_steps=config.collect_steps_per_iteration * (env.batch_size or 1),
    )
    train = common.function(agent.train)
    evaluation_env = eval_env if eval_env is not None else env

    def evaluate() -> None:
        value = evaluate_return(evaluation_env, greedy_policy, config.eval_episodes)
        report_return(history, writer, int(agent.train_step_counter.numpy()), value)

    evaluate()
    time_step = env.reset()
    collector.reset()
    bar = tqdm(range(config.num_iterations), desc="online REINFORCE", disable=not config.progress)
    for iteration in bar:
        time_step, _ = driver.run(time_step)
        if len(buffer) > 0:
            for _ in range(config.train_steps_per_iteration):
                loss_info = train(buffer.sample(config.batch_size))
                report_losses(history, writer, int(agent.train_step_counter.numpy()), loss_info)
        done = iteration + 1 == config.num_iterations
        if (iteration + 1) % config.eval_every == 0 or done:
            evaluate()
            bar.set_postfix(ret=f"{history.eval_returns[-1]:.3f}")
            if eval_env is None:
                time_step = env.reset()
                collector.reset()
        if checkpoint_manager is not None and (
            done
            or (
                config.checkpoint_every is not None
                and (iteration + 1) % config.checkpoint_every == 0
            )
        ):
            checkpoint_manager.save(checkpoint_number=int(agent.train_step_counter.numpy()))
    if writer is not None:
        writer.flush()
    return history
