"""Behaviour policy and logged data: propensities, log layout, true value."""

from __future__ import annotations

import numpy as np
import pytest

from tfrec.environments import CatalogConfig, InterestEvolutionConfig, InterestEvolutionEnv
from tfrec.evaluation.rollouts import evaluate_policy
from tfrec.policies import (
    PersonalizedSoftmaxPolicy,
    PopularitySoftmaxPolicy,
    generate_logged_data,
    personalized_probabilities,
)


def make_env() -> InterestEvolutionEnv:
    config = InterestEvolutionConfig(
        catalog=CatalogConfig(num_items=20, num_topics=4), slate_size=3
    )
    return InterestEvolutionEnv(config, batch_size=8, seed=0)


def test_softmax_over_popularity_hand_computed():
    env = InterestEvolutionEnv(
        InterestEvolutionConfig(
            catalog=CatalogConfig(num_items=4, num_topics=2, num_clickbait_topics=1), slate_size=2
        )
    )
    spec = (env.time_step_spec(), env.action_spec())
    pop = np.array([1.0, 2.0, 3.0, 4.0])
    np.testing.assert_allclose(PopularitySoftmaxPolicy(*spec, pop).probabilities, pop / 10)
    # temperature 0.5 squares the popularity: [1, 4, 9, 16] / 30
    np.testing.assert_allclose(
        PopularitySoftmaxPolicy(*spec, pop, temperature=0.5).probabilities,
        np.array([1, 4, 9, 16]) / 30,
    )


def test_sampled_slates_follow_the_propensities():
    env = make_env()
    pop = np.arange(1.0, 21.0)
    policy = PopularitySoftmaxPolicy(env.time_step_spec(), env.action_spec(), pop, 0.7, seed=0)
    np.testing.assert_allclose(policy.probabilities.sum(), 1.0)
    observation = np.zeros((5000, env.max_len), np.int32)
    action = policy.action(env.reset()._replace(observation=observation)).action
    assert action.shape == (5000, 3) and action.dtype == np.int32
    freq = np.bincount(action.ravel() - 2, minlength=20) / action.size
    np.testing.assert_allclose(freq, policy.probabilities, atol=0.01)


def test_click_log_propensities_rewards_and_true_value():
    env = make_env()
    data = generate_logged_data(env, num_episodes=12, temperature=0.5, seed=3)
    df = data.log.df
    np.testing.assert_allclose(data.behavior_probabilities.sum(), 1.0)
    rows = df["item"].str.removeprefix("item_").astype(int).to_numpy()
    np.testing.assert_allclose(df["propensity"], data.behavior_probabilities[rows], rtol=1e-6)
    assert df["user"].nunique() <= 12 and (df["reward"] > 0).all()
    per_episode = df.groupby("user")["reward"].sum()
    for user, total in per_episode.items():
        np.testing.assert_allclose(total, data.episode_returns[int(user.split("_")[1])], rtol=1e-5)
    assert data.true_value == pytest.approx(data.episode_returns.mean())
    # The same seed reproduces the behaviour policy's value with evaluate_policy.
    policy = PopularitySoftmaxPolicy(
        env.time_step_spec(), env.action_spec(), env.item_popularity(), 0.5, seed=3
    )
    result = evaluate_policy(env, policy, 12, seed=3)
    np.testing.assert_allclose(result.returns, data.episode_returns)


def test_impression_log_has_one_row_per_shown_item():
    env = make_env()
    data = generate_logged_data(env, num_episodes=6, impressions=True, seed=1)
    df = data.log.df
    assert len(df) == data.num_slates * 3
    assert set(df["position"].unique()) <= {0, 1, 2}
    assert (df.loc[df["clicked"] == 0, "reward"] == 0).all()
    assert df.groupby(["user", "timestamp"])["clicked"].sum().max() <= 1
    np.testing.assert_allclose(df["reward"].sum(), data.episode_returns.sum(), rtol=1e-5)


def test_bad_popularity_raises():
    env = make_env()
    spec = (env.time_step_spec(), env.action_spec())
    with pytest.raises(ValueError, match="shape"):
        PopularitySoftmaxPolicy(*spec, np.ones(5))
    with pytest.raises(ValueError, match="> 0"):
        PopularitySoftmaxPolicy(*spec, np.zeros(20))
    with pytest.raises(ValueError, match="temperature"):
        PopularitySoftmaxPolicy(*spec, np.ones(20), temperature=0.0)


def test_personalized_probabilities_hand_computed():
    logits = np.array([[0.0, np.log(2.0), np.log(3.0)], [0.0, 0.0, 0.0]])
    log_pop = np.log(np.array([3.0, 1.0, 2.0]))
    # a = 1, b = 0: softmax of the click logits, exp = [1, 2, 3] / 6 and uniform.
    np.testing.assert_allclose(
        personalized_probabilities(logits, log_pop, 1.0, 0.0),
        [[1 / 6, 2 / 6, 3 / 6], [1 / 3, 1 / 3, 1 / 3]],
    )
    # a = 1, b = 1: weights [1*3, 2*1, 3*2] = [3, 2, 6] / 11 and the popularity [3, 1, 2] / 6.
    np.testing.assert_allclose(
        personalized_probabilities(logits, log_pop, 1.0, 1.0),
        [[3 / 11, 2 / 11, 6 / 11], [3 / 6, 1 / 6, 2 / 6]],
    )
    # a = 2, b = 0.5: exp(2 s) = [1, 4, 9], pop^0.5 = [sqrt 3, 1, sqrt 2].
    w = np.array([np.sqrt(3.0), 4.0, 9 * np.sqrt(2.0)])
    np.testing.assert_allclose(
        personalized_probabilities(logits, log_pop, 2.0, 0.5)[0], w / w.sum()
    )


def test_personalized_policy_reports_the_propensities_of_its_slates():
    env = make_env()
    pop = np.arange(1.0, 21.0)
    policy = PersonalizedSoftmaxPolicy(env, pop, interest_weight=1.0, popularity_weight=1.0)
    time_step = env.reset()
    expected = personalized_probabilities(env.click_logits(), np.log(pop), 1.0, 1.0)
    np.testing.assert_allclose(policy.probabilities(), expected)
    step = policy.action(time_step)
    assert step.action.shape == (8, 3) and step.action.dtype == np.int32
    np.testing.assert_allclose(
        step.info["slate_propensity"], np.take_along_axis(expected, step.action - 2, axis=1)
    )
    # The users differ, so beta depends on the user (unlike the popularity softmax).
    assert np.ptp(expected, axis=0).max() > 0.01
    # The info is declared, as TF-Agents drivers and replay buffers expect.
    spec = policy.info_spec["slate_propensity"]
    assert spec.shape == (3,) and spec.dtype == np.float64


def test_personalized_slates_follow_the_propensities():
    config = InterestEvolutionConfig(
        catalog=CatalogConfig(num_items=6, num_topics=2, num_clickbait_topics=1), slate_size=2
    )
    env = InterestEvolutionEnv(config, batch_size=1, seed=0)
    policy = PersonalizedSoftmaxPolicy(env, np.ones(6), seed=1)
    time_step = env.reset()
    counts = np.zeros(6)
    for _ in range(2000):  # no env.step: the user's beta stays the same
        counts += np.bincount(policy.action(time_step).action.ravel() - 2, minlength=6)
    np.testing.assert_allclose(counts / counts.sum(), policy.probabilities()[0], atol=0.02)


def test_personalized_log_records_the_users_propensity():
    env = make_env()
    pop = env.item_popularity()
    # a = 0, b = 1 / tau is the popularity softmax at temperature tau: the same propensities.
    flat = PersonalizedSoftmaxPolicy(env, pop, interest_weight=0.0, popularity_weight=2.0)
    data = generate_logged_data(env, num_episodes=10, policy=flat, seed=3)
    reference = PopularitySoftmaxPolicy(env.time_step_spec(), env.action_spec(), pop, 0.5)
    rows = data.log.df["item"].str.removeprefix("item_").astype(int).to_numpy()
    np.testing.assert_allclose(data.log.df["propensity"], reference.probabilities[rows], rtol=1e-5)
    assert data.behavior_probabilities is None
    # With the user's click logits, the same item gets different propensities for different users.
    personal = PersonalizedSoftmaxPolicy(env, pop, interest_weight=1.0, popularity_weight=1.0)
    data = generate_logged_data(env, num_episodes=20, policy=personal, seed=3)
    df = data.log.df
    assert (df["propensity"] > 0).all() and (df["propensity"] <= 1).all()
    assert (df.groupby("item")["propensity"].nunique() > 1).any()
    impressions = generate_logged_data(env, 5, policy=personal, impressions=True, seed=3)
    assert (impressions.log.df["propensity"] > 0).all()


def test_personalized_policy_bad_input_raises():
    env = make_env()
    with pytest.raises(ValueError, match="shape"):
        PersonalizedSoftmaxPolicy(env, np.ones(5))
    with pytest.raises(ValueError, match=">= 0"):
        PersonalizedSoftmaxPolicy(env, np.ones(20), interest_weight=-1.0)
    other = make_env()
    with pytest.raises(ValueError, match="built on"):
        generate_logged_data(other, 2, policy=PersonalizedSoftmaxPolicy(env, np.ones(20)))
    with pytest.raises(ValueError, match="would be ignored"):
        generate_logged_data(
            env, 2, policy=PersonalizedSoftmaxPolicy(env, np.ones(20)), temperature=0.5
        )
    policy = PersonalizedSoftmaxPolicy(env, np.ones(20))
    time_step = env.reset()
    with pytest.raises(ValueError, match="batched time step"):
        policy.action(time_step._replace(observation=time_step.observation[:2]))


def test_sample_iid_per_row_is_the_inverse_cdf_of_each_row():
    from tfrec.policies.behavior import sample_iid_per_row

    probs = np.array([[0.5, 0.5, 0.0], [0.0, 0.25, 0.75], [0.2, 0.3, 0.5]])
    draws = sample_iid_per_row(np.random.default_rng(3), probs, 4)
    # The same uniforms counted against the cumulative masses by brute force.
    u = np.random.default_rng(3).random((3, 4)) * probs.sum(1, keepdims=True)
    expected = (np.cumsum(probs, 1)[:, None, :] <= u[:, :, None]).sum(-1)
    np.testing.assert_array_equal(draws, np.minimum(expected, 2))
    assert draws.shape == (3, 4) and not (draws[0] == 2).any() and not (draws[1] == 0).any()
