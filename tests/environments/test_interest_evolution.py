"""InterestEvolutionEnv: TF-Agents contract, auto-reset, termination, seeding, oracle access."""

from __future__ import annotations

import numpy as np
import pytest
from tf_agents.drivers import dynamic_step_driver, py_driver
from tf_agents.environments import tf_py_environment, utils
from tf_agents.policies import random_tf_policy
from tf_agents.trajectories import time_step as ts

from tfrec.environments import (
    CatalogConfig,
    InterestEvolutionConfig,
    InterestEvolutionEnv,
    UserConfig,
)
from tfrec.policies.reference import random_slate_policy
from tfrec.specs import history_spec, slate_action_spec

SMALL = InterestEvolutionConfig(catalog=CatalogConfig(num_items=30, num_topics=4), slate_size=3)


def make_env(batch_size: int = 4, seed: int = 0, config=SMALL) -> InterestEvolutionEnv:
    return InterestEvolutionEnv(config, batch_size=batch_size, seed=seed)


def random_actions(env: InterestEvolutionEnv, n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(2, env.vocab_size, size=(n, env.batch_size, env.slate_size), dtype=np.int32)


def test_specs_and_contract_properties():
    env = make_env()
    assert env.batched and env.batch_size == 4
    assert env.observation_spec() == history_spec(SMALL.max_len, 32)
    assert env.action_spec() == slate_action_spec(3, 32)
    assert (env.vocab_size, env.num_items, env.max_len, env.slate_size) == (32, 30, 20, 3)
    np.testing.assert_array_equal(env.vocabulary.lookup(["item_0", "item_29"]), [2, 31])


@pytest.mark.smoke
def test_validate_py_environment():
    utils.validate_py_environment(make_env(), episodes=6)


@pytest.mark.smoke
def test_tf_py_environment_with_dynamic_step_driver():
    tf_env = tf_py_environment.TFPyEnvironment(make_env())
    policy = random_tf_policy.RandomTFPolicy(tf_env.time_step_spec(), tf_env.action_spec())
    seen = []
    driver = dynamic_step_driver.DynamicStepDriver(
        tf_env, policy, observers=[lambda traj: seen.append(traj)], num_steps=8
    )
    driver.run()
    assert len(seen) == 2  # 8 steps / batch of 4
    assert seen[0].observation.shape == (4, SMALL.max_len)
    assert seen[0].action.shape == (4, 3)


def test_py_driver_runs_py_policy():
    env = make_env()
    trajectories = []
    driver = py_driver.PyDriver(
        env,
        random_slate_policy(env.time_step_spec(), env.action_spec(), seed=0),
        observers=[trajectories.append],
        max_steps=12,
    )
    driver.run(env.reset())
    assert trajectories and trajectories[0].action.shape == (4, 3)


def test_info_and_history_record_the_click():
    env = make_env(batch_size=64)
    env.reset()
    action = random_actions(env, 1)[0]
    step = env.step(action)
    info = env.get_info()
    clicked = info["click_position"] >= 0
    assert clicked.any() and (~clicked).any()
    rows = np.flatnonzero(clicked)
    np.testing.assert_array_equal(
        info["clicked_item"][rows], action[rows, info["click_position"][rows]]
    )
    np.testing.assert_array_equal(step.observation[rows, -1], info["clicked_item"][rows])
    assert np.all(info["clicked_item"][~clicked] == 0)
    assert np.all(step.reward[~clicked] == 0) and np.all(step.reward[rows] > 0)


def test_observation_is_left_padded_history():
    env = make_env(config=InterestEvolutionConfig(catalog=CatalogConfig(num_items=30), max_len=8))
    first = env.reset()
    assert np.all(first.observation[:, :3] == 0)  # 5 initial items in a window of 8
    assert np.all(first.observation[:, 3:] >= 2)
    assert np.all(first.step_type == ts.StepType.FIRST)


def test_each_element_resets_on_its_own_after_last():
    env = make_env()
    env.reset()
    env.user_state.budget[1] = 0.5  # next step exhausts user 1's budget
    action = random_actions(env, 3)
    step = env.step(action[0])
    assert step.step_type[1] == ts.StepType.LAST and step.discount[1] == 0.0
    assert np.all(step.step_type[[0, 2, 3]] == ts.StepType.MID)
    step = env.step(action[1])
    assert step.step_type[1] == ts.StepType.FIRST and step.reward[1] == 0.0
    assert env.get_info()["click_position"][1] == -1  # its action was ignored
    assert env.user_state.budget[1] == SMALL.users.budget  # a new user
    assert env.steps_taken[1] == 0 and env.steps_taken[0] == 2
    assert np.all(step.step_type[[0, 2, 3]] != ts.StepType.FIRST)


def test_step_cap_truncates_with_discount_one():
    config = InterestEvolutionConfig(
        catalog=CatalogConfig(num_items=30), users=UserConfig(budget=1e6), max_steps=3
    )
    env = make_env(config=config)
    env.reset()
    types = [env.step(a).step_type for a in random_actions(env, 4)]
    assert np.all(types[1] == ts.StepType.MID)
    assert np.all(types[2] == ts.StepType.LAST)
    assert np.all(types[3] == ts.StepType.FIRST)
    assert np.all(env.current_time_step().discount == 1.0)


def test_budget_ends_every_session():
    env = make_env(batch_size=16)
    env.reset()
    lasts = np.zeros(16, bool)
    for action in random_actions(env, SMALL.max_steps):
        lasts |= env.step(action).step_type == ts.StepType.LAST
    assert lasts.all()


def test_same_seed_same_rollout_and_different_seed_differs():
    def rollout(seed):
        env = make_env(seed=seed)
        out = [env.reset().observation]
        for action in random_actions(env, 20):
            step = env.step(action)
            out += [step.observation, step.reward, step.step_type]
        return out

    a, b, c = rollout(3), rollout(3), rollout(4)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not all(np.array_equal(x, y) for x, y in zip(a, c))


def test_catalog_does_not_depend_on_env_seed():
    np.testing.assert_array_equal(make_env(seed=1).catalog.appeal, make_env(seed=2).catalog.appeal)


def test_oracle_access_is_consistent():
    env = make_env()
    env.reset()
    slate = random_actions(env, 1)[0]
    probs = env.click_probabilities(slate)
    np.testing.assert_allclose(probs.sum(1), 1.0)
    logits = env.click_logits()
    assert logits.shape == (4, 30)
    np.testing.assert_allclose(
        env.user_model.item_logits(env.user_state, slate - 2),
        np.take_along_axis(logits, slate - 2, 1),
        rtol=1e-5,
    )
    expected = (probs[:, 1:] * env.item_rewards()[slate - 2]).sum(1)
    np.testing.assert_allclose(env.expected_reward(slate), expected)
    budget = (probs[:, 1:] * env.item_budget_effects()[slate - 2]).sum(1) - probs[:, 0] * 3.0
    np.testing.assert_allclose(env.expected_budget_effect(slate), budget)
    pop = env.item_popularity(num_users=100)
    assert pop.shape == (30,) and np.all((pop > 0) & (pop < 1))


def test_bad_actions_raise_clear_errors():
    env = make_env()
    env.reset()
    with pytest.raises(ValueError, match=r"\[batch_size, slate_size\]"):
        env.step(np.full((4, 2), 2, np.int32))
    with pytest.raises(ValueError, match="outside"):
        env.step(np.full((4, 3), 1, np.int32))
    with pytest.raises(TypeError, match="integer"):
        env.step(np.full((4, 3), 2.0))


def test_bad_config_raises():
    with pytest.raises(ValueError, match="reward"):
        InterestEvolutionConfig(reward="likes")
    with pytest.raises(ValueError, match="slate_size"):
        InterestEvolutionConfig(catalog=CatalogConfig(num_items=3), slate_size=4)
    with pytest.raises(ValueError, match="num_clickbait_topics"):
        CatalogConfig(num_topics=2, num_clickbait_topics=3)
