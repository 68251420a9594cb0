"""Online training pieces: episode buffer, click collector, evaluation, learning (slow)."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
from tf_agents.policies import py_policy
from tf_agents.trajectories import policy_step, trajectory
from tf_agents.trajectories import time_step as ts

from tfrec.environments.catalog import CatalogConfig
from tfrec.environments.simulator import InterestEvolutionConfig, InterestEvolutionEnv
from tfrec.evaluation.rollouts import evaluate_policy
from tfrec.training.builders import build_agent, build_encoder
from tfrec.training.click_episodes import ClickCollector, EpisodeBuffer
from tfrec.training.config import AgentConfig, EncoderConfig, OnlineConfig
from tfrec.training.online import train_in_simulator

FIRST, MID, LAST = int(ts.StepType.FIRST), int(ts.StepType.MID), int(ts.StepType.LAST)


def test_episode_buffer_layout_and_chunking():
    buffer = EpisodeBuffer(capacity=10, max_steps=2, seed=0)
    obs = np.arange(9, dtype=np.int32).reshape(3, 3)
    buffer.add(obs, np.array([5, 6, 7]), np.array([1.0, 2.0, 3.0]), np.log([0.5, 0.25, 0.1]))
    assert len(buffer) == 2  # 3 clicks, max_steps 2 -> chunks of 2 and 1
    batch = buffer.sample(8)
    assert batch.observation.shape == (8, 3, 3)
    for row in range(8):
        actions = batch.action.numpy()[row]
        if actions[0] == 5:  # the first chunk: two real steps then one boundary step
            np.testing.assert_array_equal(actions, [5, 6, 2])
            np.testing.assert_array_equal(batch.step_type.numpy()[row], [FIRST, MID, LAST])
            np.testing.assert_array_equal(batch.next_step_type.numpy()[row], [MID, LAST, FIRST])
            np.testing.assert_allclose(batch.reward.numpy()[row], [1.0, 2.0, 0.0])
            np.testing.assert_allclose(batch.discount.numpy()[row], [1.0, 0.0, 1.0])
            np.testing.assert_allclose(
                batch.policy_info["log_propensity"].numpy()[row], [np.log(0.5), np.log(0.25), 0]
            )
        else:
            np.testing.assert_array_equal(actions, [7, 2, 2])
            np.testing.assert_array_equal(batch.step_type.numpy()[row], [FIRST, LAST, LAST])
    with pytest.raises(ValueError, match="empty"):
        EpisodeBuffer(1, 1).sample(1)


def test_click_collector_turns_clicks_into_episodes():
    buffer = EpisodeBuffer(capacity=10, max_steps=5)
    collector = ClickCollector(buffer, batch_size=2)

    def step(step_type, next_step_type, reward, clicked, position):
        traj = trajectory.Trajectory(
            step_type=np.array(step_type, np.int32),
            observation=np.array([[0, 4], [0, 5]], np.int32),
            action=np.array([[3, 4], [5, 6]], np.int32),
            policy_info={"log_probability": np.log([[0.6, 0.4], [0.7, 0.3]]).astype(np.float32)},
            next_step_type=np.array(next_step_type, np.int32),
            reward=np.array(reward, np.float32),
            discount=np.ones(2, np.float32),
        )
        collector.observe_trajectory(traj)
        collector.observe_info({"clicked_item": np.array(clicked), "click_position": position})

    # User 0 clicks item 4 (position 1), then no click (reward 0.5 joins the click), episode ends.
    # User 1 never clicks: no episode.
    step([FIRST, FIRST], [MID, MID], [2.0, 0.0], [4, 0], np.array([1, -1]))
    step([MID, MID], [LAST, LAST], [0.5, 0.0], [0, 0], np.array([-1, -1]))
    assert len(buffer) == 1
    batch = buffer.sample(1)
    assert batch.action.numpy()[0, 0] == 4
    assert batch.reward.numpy()[0, 0] == pytest.approx(2.5)
    assert batch.policy_info["log_propensity"].numpy()[0, 0] == pytest.approx(np.log(0.4))


class UniformSlatePolicy(py_policy.PyPolicy):
    """Uniformly random slates of distinct items (the 'random' reference)."""

    def __init__(self, env: InterestEvolutionEnv, seed: int = 0):
        super().__init__(env.time_step_spec(), env.action_spec())
        self._rng = np.random.default_rng(seed)
        self._env = env

    def _action(self, time_step, policy_state):
        batch = time_step.observation.shape[0]
        items = np.stack(
            [
                self._rng.choice(self._env.num_items, self._env.slate_size, replace=False) + 2
                for _ in range(batch)
            ]
        ).astype(np.int32)
        return policy_step.PolicyStep(items, policy_state, ())


@pytest.mark.slow
def test_click_only_online_training_beats_random_slates():
    config = InterestEvolutionConfig(
        catalog=CatalogConfig(num_items=30), slate_size=3, max_len=5, max_steps=10
    )
    env = InterestEvolutionEnv(config, batch_size=8, seed=0)
    tf.keras.utils.set_random_seed(0)
    encoder = build_encoder(
        EncoderConfig(max_len=5, dim=16, num_layers=1, num_heads=1, dropout=0.0), env.vocab_size
    )
    agent = build_agent(
        AgentConfig(slate_size=3, learning_rate=3e-3, num_candidates=10, experience="clicks"),
        encoder,
        5,
    )
    history = train_in_simulator(
        agent,
        env,
        OnlineConfig(
            num_iterations=40,
            collect_steps_per_iteration=10,
            batch_size=16,
            max_steps=10,
            eval_every=20,
            eval_episodes=16,
            progress=False,
        ),
        eval_env=InterestEvolutionEnv(config, batch_size=8, seed=1),
    )
    assert history.eval_steps[0] == 0 and len(history.eval_returns) == 3
    assert len(history.steps) == 40
    eval_env = InterestEvolutionEnv(config, batch_size=16, seed=7)
    trained = evaluate_policy(eval_env, agent.policy, 64).mean_return
    eval_env = InterestEvolutionEnv(config, batch_size=16, seed=7)
    random = evaluate_policy(eval_env, UniformSlatePolicy(eval_env), 64).mean_return
    print(f"trained greedy return {trained:.2f} vs uniform random {random:.2f}")
    assert trained > random
