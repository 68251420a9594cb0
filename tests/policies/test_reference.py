"""Reference policies: exact MNL slate vs brute force, most-popular, random, ordering."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from tfrec.environments import CatalogConfig, InterestEvolutionConfig, InterestEvolutionEnv
from tfrec.evaluation.rollouts import evaluate_policy
from tfrec.policies.reference import (
    MostPopularPolicy,
    OraclePolicy,
    best_mnl_slate,
    far_sighted_policy,
    oracle_myopic_policy,
    random_slate_policy,
)


def brute_force(logits, values, s0, k):
    best = -np.inf
    for size in range(1, k + 1):
        for subset in itertools.combinations(range(len(logits)), size):
            w = np.exp(logits[list(subset)])
            best = max(best, (w * values[list(subset)]).sum() / (np.exp(s0) + w.sum()))
    return best


def test_best_mnl_slate_hand_computed():
    # Equal values: take the k most attractive items. w = [1, e, e^2], w0 = 1, k = 2:
    # value = (e + e^2) / (1 + e + e^2).
    rows, value = best_mnl_slate(np.array([[0.0, 1.0, 2.0]]), np.ones(3), 0.0, 2)
    assert sorted(rows[0]) == [1, 2]
    e = np.e
    np.testing.assert_allclose(value, [(e + e**2) / (1 + e + e**2)])


def test_best_mnl_slate_drops_items_that_lower_the_value():
    # Item 1 is attractive but worth little: showing it steals clicks from item 0.
    # {0}: 10 * 1 / 2 = 5; {0, 1}: (10 + 0.1 * 10) / 12 = 0.917 -> repeat item 0.
    rows, value = best_mnl_slate(np.array([[0.0, np.log(10.0)]]), np.array([10.0, 0.1]), 0.0, 2)
    np.testing.assert_array_equal(rows, [[0, 0]])
    np.testing.assert_allclose(value, [5.0])


@pytest.mark.parametrize("k", [1, 2, 3])
def test_best_mnl_slate_matches_brute_force(k):
    rng = np.random.default_rng(k)
    logits = rng.normal(size=(40, 7))
    values = rng.uniform(-1.0, 3.0, size=(40, 7))
    rows, value = best_mnl_slate(logits, values, 0.5, k)
    expected = [brute_force(logits[i], values[i], 0.5, k) for i in range(40)]
    positive = np.array(expected) > 0
    np.testing.assert_allclose(value[positive], np.array(expected)[positive], rtol=1e-9)
    # the returned slate achieves the returned value
    for i in np.flatnonzero(positive):
        items = np.unique(rows[i])
        w = np.exp(logits[i, items])
        np.testing.assert_allclose((w * values[i, items]).sum() / (np.exp(0.5) + w.sum()), value[i])


def make_env(batch_size=4) -> InterestEvolutionEnv:
    config = InterestEvolutionConfig(
        catalog=CatalogConfig(num_items=40, num_topics=4), slate_size=3
    )
    return InterestEvolutionEnv(config, batch_size=batch_size, seed=0)


def test_most_popular_skips_consumed_items():
    env = make_env()
    pop = np.arange(40, dtype=float)  # item index 41 is the most popular
    policy = MostPopularPolicy(env.time_step_spec(), env.action_spec(), pop)
    history = np.zeros((2, env.max_len), np.int32)
    history[1, -2:] = [41, 39]
    action = policy.action(env.reset()._replace(observation=history)).action
    np.testing.assert_array_equal(action, [[41, 40, 39], [40, 38, 37]])
    # [vocab_size] popularity (e.g. ItemVocabulary.frequencies) gives the same chart.
    by_index = MostPopularPolicy(env.time_step_spec(), env.action_spec(), np.r_[99.0, 99.0, pop])
    np.testing.assert_array_equal(
        by_index.action(env.reset()._replace(observation=history)).action, action
    )
    with pytest.raises(ValueError, match="popularity"):
        MostPopularPolicy(env.time_step_spec(), env.action_spec(), np.ones(7))


def test_random_policy_covers_the_catalog_uniformly():
    env = make_env()
    policy = random_slate_policy(env.time_step_spec(), env.action_spec(), seed=0)
    obs = np.zeros((4000, env.max_len), np.int32)
    action = policy.action(env.reset()._replace(observation=obs)).action
    assert action.shape == (4000, 3) and action.dtype == np.int32
    assert action.min() == 2 and action.max() == 41
    counts = np.bincount(action.ravel() - 2, minlength=40)
    assert counts.min() > 0.7 * counts.mean()


def test_oracles_read_the_true_users():
    env = make_env()
    step = env.reset()
    myopic = oracle_myopic_policy(env).action(step).action
    assert myopic.shape == (4, 3) and myopic.min() >= 2
    # The myopic slate maximises the expected immediate reward among slates of 3 items.
    rng = np.random.default_rng(0)
    for _ in range(20):
        other = rng.integers(2, 42, size=(4, 3), dtype=np.int32)
        assert np.all(env.expected_reward(myopic) >= env.expected_reward(other) - 1e-9)
    far = far_sighted_policy(env).action(step).action
    assert (
        env.expected_reward(far) + env.expected_budget_effect(far)
        >= env.expected_reward(myopic) + env.expected_budget_effect(myopic) - 1e-9
    ).all()
    with pytest.raises(ValueError, match="batch_size=4"):
        oracle_myopic_policy(env).action(step._replace(observation=step.observation[:2]))
    with pytest.raises(ValueError, match="budget_value"):
        OraclePolicy(env, budget_value=-1.0)


@pytest.mark.slow
def test_reference_ordering_in_a_small_default_config():
    config = InterestEvolutionConfig(catalog=CatalogConfig(num_items=200))
    env = InterestEvolutionEnv(config, batch_size=64, seed=0)
    spec = (env.time_step_spec(), env.action_spec())
    policies = [
        random_slate_policy(*spec, seed=1),
        MostPopularPolicy(*spec, env.item_popularity(num_users=500)),
        oracle_myopic_policy(env),
        far_sighted_policy(env),
    ]
    results = [evaluate_policy(env, p, 128, seed=5) for p in policies]
    for worse, better in zip(results, results[1:]):
        assert worse.return_upper < better.return_lower, (worse, better)
