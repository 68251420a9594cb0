"""evaluate_policy and its metrics: hand-computed CI and diversity, counting, TF policies."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf
from tf_agents.environments import tf_py_environment
from tf_agents.policies import random_tf_policy, tf_policy
from tf_agents.trajectories import policy_step

from tfrec.environments import (
    CatalogConfig,
    InterestEvolutionConfig,
    InterestEvolutionEnv,
    UserConfig,
)
from tfrec.evaluation.rollouts import (
    RolloutResult,
    evaluate_policy,
    intra_list_diversity,
    mean_confidence_interval,
    t_quantile,
)
from tfrec.policies.reference import MostPopularPolicy, random_slate_policy


def test_t_interval_hand_computed():
    assert t_quantile(0.975, 4) == pytest.approx(2.7764451, rel=1e-6)
    mean, lower, upper = mean_confidence_interval(np.array([1.0, 2.0, 3.0, 4.0, 5.0]))
    half = 2.7764451 * np.sqrt(2.5) / np.sqrt(5)  # sd = sqrt(2.5)
    assert mean == 3.0
    assert (lower, upper) == pytest.approx((3.0 - half, 3.0 + half), rel=1e-6)
    with pytest.raises(ValueError, match="at least 2"):
        mean_confidence_interval(np.array([1.0]))


def test_intra_list_diversity_hand_computed():
    features = np.array([[1.0, 0.0], [0.0, 2.0], [3.0, 0.0]])
    slates = np.array([[0, 1], [0, 2], [0, 0], [2, 1]])
    np.testing.assert_allclose(intra_list_diversity(slates, features), [1.0, 0.0, 0.0, 1.0])
    # three items: pairs (0,1)=1, (0,2)=0, (1,2)=1 -> mean 2/3
    np.testing.assert_allclose(intra_list_diversity(np.array([[0, 1, 2]]), features), [2 / 3])


def one_step_env(batch_size=4):
    config = InterestEvolutionConfig(
        catalog=CatalogConfig(num_items=30, num_topics=3),
        users=UserConfig(budget=1e6, initial_history_len=0),
        slate_size=2,
        max_steps=1,
        reward="click",
    )
    return InterestEvolutionEnv(config, batch_size=batch_size, seed=0)


def test_counts_with_one_step_episodes():
    env = one_step_env()
    policy = random_slate_policy(env.time_step_spec(), env.action_spec(), seed=0)
    result = evaluate_policy(env, policy, num_episodes=10, seed=1, name="random")
    # one step per episode, reward 1 per click: CTR = mean return, length 1
    assert result.num_episodes == 10 and result.returns.shape == (10,)
    assert set(np.unique(result.returns)) <= {0.0, 1.0}
    assert result.ctr == pytest.approx(result.mean_return)
    assert result.mean_length == 1.0
    assert result.return_lower < result.mean_return < result.return_upper
    row = result.as_row()
    assert row["policy"] == "random" and "returns" not in row
    frame = RolloutResult.to_frame([result, result])
    assert isinstance(frame, pd.DataFrame) and len(frame) == 2


def test_coverage_of_a_fixed_chart():
    env = one_step_env()
    chart = MostPopularPolicy(env.time_step_spec(), env.action_spec(), np.arange(30.0))
    result = evaluate_policy(env, chart, num_episodes=8, seed=0)
    assert result.coverage == pytest.approx(2 / 30)  # only the top-2 items are ever shown
    assert 0.0 <= result.diversity <= 2.0


def test_seeded_evaluation_is_reproducible_and_tf_policies_work():
    config = InterestEvolutionConfig(
        catalog=CatalogConfig(num_items=30, num_topics=3), slate_size=2
    )
    env = InterestEvolutionEnv(config, batch_size=4, seed=0)
    policy = random_slate_policy(env.time_step_spec(), env.action_spec(), seed=0)
    a = evaluate_policy(env, policy, 6, seed=2)
    b = evaluate_policy(
        env, random_slate_policy(env.time_step_spec(), env.action_spec(), 0), 6, seed=2
    )
    np.testing.assert_array_equal(a.returns, b.returns)
    assert a.mean_length > 1
    tf_env = tf_py_environment.TFPyEnvironment(env)
    tf_policy = random_tf_policy.RandomTFPolicy(tf_env.time_step_spec(), tf_env.action_spec())
    result = evaluate_policy(env, tf_policy, 6, seed=2)
    assert result.num_episodes == 6 and result.policy == "RandomTFPolicy"


class FirstItemsTFPolicy(tf_policy.TFPolicy):
    """Always recommends item indices 2..k+1; records the observation shapes it receives."""

    def __init__(self, time_step_spec, action_spec):
        super().__init__(time_step_spec, action_spec)
        self.shapes = []

    def _distribution(self, time_step, policy_state):
        raise NotImplementedError("deterministic test policy")

    def _action(self, time_step, policy_state, seed):
        self.shapes.append(tuple(time_step.observation.shape))
        batch = tf.shape(time_step.observation)[0]
        k = self.action_spec.shape[0]
        action = tf.tile(tf.range(2, 2 + k, dtype=tf.int32)[None], [batch, 1])
        return policy_step.PolicyStep(action, policy_state, ())


def test_tf_policy_receives_batched_observations():
    env = one_step_env(batch_size=4)
    tf_env = tf_py_environment.TFPyEnvironment(env)
    policy = FirstItemsTFPolicy(tf_env.time_step_spec(), tf_env.action_spec())
    result = evaluate_policy(env, policy, 4, seed=0)
    assert policy.shapes[0] == (4, env.max_len)  # [B, max_len], not [1, B, max_len]
    assert result.coverage == pytest.approx(2 / 30)


def test_rejects_bad_arguments():
    env = one_step_env()
    policy = random_slate_policy(env.time_step_spec(), env.action_spec())
    with pytest.raises(ValueError, match="num_episodes"):
        evaluate_policy(env, policy, 1)
    with pytest.raises(TypeError, match="PyPolicy or TFPolicy"):
        evaluate_policy(env, object(), 4)
