"""Behaviour policy and logged data: propensities, log layout, true value."""

from __future__ import annotations

import numpy as np
import pytest

from tfrec.environments import (
    CatalogConfig,
    InterestEvolutionConfig,
    InterestEvolutionEnv,
    PopularitySoftmaxPolicy,
    generate_logged_data,
)
from tfrec.evaluation.rollouts import evaluate_policy


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
    assert (df.loc[~df["clicked"], "reward"] == 0).all()
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
