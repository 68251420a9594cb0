"""EpsilonPopularityPolicy: exact slate / inclusion propensities, and impression logs on a simulator."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from tf_agents.trajectories import time_step as ts

from tfrec.data import ImpressionLog, impression_dataset
from tfrec.environments import CatalogConfig, InterestEvolutionConfig, InterestEvolutionEnv
from tfrec.policies import EpsilonPopularityPolicy, PopularitySoftmaxPolicy, generate_logged_data
from tfrec.specs import CLICK_POSITION, INCLUSION_PROPENSITY, SLATE_LOG_PROPENSITY


def tiny_env(num_items: int = 4, slate_size: int = 2, batch_size: int = 4) -> InterestEvolutionEnv:
    catalog = CatalogConfig(num_items=num_items, num_topics=2, num_clickbait_topics=1)
    config = InterestEvolutionConfig(catalog=catalog, slate_size=slate_size)
    return InterestEvolutionEnv(config, batch_size=batch_size, seed=0)


def mixture(epsilon: float = 0.3, temperature: float = 1.0, **kw) -> EpsilonPopularityPolicy:
    env = tiny_env(**kw)
    pop = np.arange(1.0, env.num_items + 1.0)  # 4 items: beta_pop = [.1, .2, .3, .4]
    spec = (env.time_step_spec(), env.action_spec())
    return EpsilonPopularityPolicy(
        PopularitySoftmaxPolicy(*spec, pop, temperature), epsilon, seed=0
    )


ALL_SLATES = np.array(list(itertools.product(range(2, 6), repeat=2)))  # 16 ordered pairs


def brute_force(epsilon: float) -> np.ndarray:
    """P(slate) of every ordered pair: uniform over the 12 distinct pairs, else i.i.d. beta_pop."""
    p = np.array([0.1, 0.2, 0.3, 0.4])
    rows = ALL_SLATES - 2
    distinct = rows[:, 0] != rows[:, 1]
    return epsilon * distinct / 12 + (1 - epsilon) * p[rows[:, 0]] * p[rows[:, 1]]


def test_slate_probabilities_match_brute_force_enumeration() -> None:
    policy = mixture(0.3)
    prob = np.exp(policy.slate_log_probability(ALL_SLATES))
    np.testing.assert_allclose(prob, brute_force(0.3), rtol=1e-12)
    np.testing.assert_allclose(prob.sum(), 1.0)
    # Hand-computed: (item 2, item 2) = 0.7 * 0.01; (item 2, item 3) = 0.3 / 12 + 0.7 * 0.02.
    np.testing.assert_allclose(prob[[0, 1]], [0.007, 0.039])


def test_inclusion_and_position_probabilities_match_brute_force() -> None:
    policy = mixture(0.3)
    prob = brute_force(0.3)
    items = np.arange(2, 6)
    inclusion = [prob[(ALL_SLATES == j).any(axis=1)].sum() for j in items]
    np.testing.assert_allclose(policy.inclusion_probability(items), inclusion, rtol=1e-12)
    # Hand-computed item 2: 0.3 * 2/4 + 0.7 * (1 - 0.9^2) = 0.283.
    np.testing.assert_allclose(policy.inclusion_probability(2), 0.283)
    for position in (0, 1):
        marginal = [prob[ALL_SLATES[:, position] == j].sum() for j in items]
        np.testing.assert_allclose(policy.position_probability(items), marginal, rtol=1e-12)


def test_sampled_slates_follow_the_exact_probabilities_and_report_them() -> None:
    policy = mixture(0.3)
    env = tiny_env()
    n = 40_000
    step = policy.action(env.reset()._replace(observation=np.zeros((n, env.max_len), np.int32)))
    action = step.action
    assert action.shape == (n, 2) and action.dtype == np.int32
    code = (action[:, 0] - 2) * 4 + (action[:, 1] - 2)
    freq = np.bincount(code, minlength=16) / n
    np.testing.assert_allclose(freq, brute_force(0.3), atol=0.006)
    np.testing.assert_allclose(
        step.info[SLATE_LOG_PROPENSITY], policy.slate_log_probability(action)
    )
    np.testing.assert_allclose(
        step.info[INCLUSION_PROPENSITY], policy.inclusion_probability(action)
    )
    np.testing.assert_allclose(step.info["slate_propensity"], policy.position_probability(action))
    assert step.info[SLATE_LOG_PROPENSITY].shape == (n,)


def test_limits_epsilon_zero_and_one() -> None:
    pop_only, uniform = mixture(0.0), mixture(1.0)
    reference = PopularitySoftmaxPolicy(
        pop_only.time_step_spec, pop_only.action_spec, np.arange(1.0, 5.0)
    )
    np.testing.assert_allclose(pop_only.popularity_probabilities, reference.probabilities)
    np.testing.assert_allclose(np.exp(pop_only.slate_log_probability(ALL_SLATES)), brute_force(0))
    log_uniform = uniform.slate_log_probability(ALL_SLATES)
    repeated = ALL_SLATES[:, 0] == ALL_SLATES[:, 1]
    assert np.all(log_uniform[repeated] == -np.inf)
    np.testing.assert_allclose(log_uniform[~repeated], -np.log(12))
    np.testing.assert_allclose(uniform.inclusion_probability(np.arange(2, 6)), 0.5)


def test_every_item_has_nonzero_probability_even_when_popularity_underflows() -> None:
    # tau = 1e-5 makes beta_pop = pop^100000 / sum: every item but the top one underflows to 0.
    greedy = mixture(0.0, temperature=1e-5, num_items=20, slate_size=3)
    assert (greedy.inclusion_probability(np.arange(2, 22)) == 0).sum() == 19
    policy = mixture(0.05, temperature=1e-5, num_items=20, slate_size=3)
    inclusion = policy.inclusion_probability(np.arange(2, 22))
    assert np.all(inclusion >= 0.05 * 3 / 20 * (1 - 1e-12)) and np.all(inclusion <= 1)
    distinct = np.array([[2, 3, 4], [21, 20, 19], [5, 9, 13]])
    assert np.all(np.isfinite(policy.slate_log_probability(distinct)))


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="epsilon"):
        mixture(1.5)
    with pytest.raises(ValueError, match="temperature"):
        mixture(0.1, temperature=0.0)
    env = tiny_env()
    policy = PopularitySoftmaxPolicy(env.time_step_spec(), env.action_spec(), np.ones(4))
    with pytest.raises(ValueError, match="epsilon configure the default"):
        generate_logged_data(env, 2, policy=policy, epsilon=0.1)


# ------------------------------------------------------------------- impression logs on a simulator


def sim_env() -> InterestEvolutionEnv:
    return tiny_env(num_items=12, slate_size=3, batch_size=4)


def test_iid_impression_log_propensities_are_exact() -> None:
    data = generate_logged_data(sim_env(), 5, impressions=True, temperature=0.5, seed=2)
    df = data.log.df
    beta = data.behavior_probabilities[df["item"].str.removeprefix("item_").astype(int)]
    np.testing.assert_allclose(df["propensity"], 1 - (1 - beta) ** 3, rtol=1e-5)
    slate_log = pd.Series(np.log(beta)).groupby(df["slate"].to_numpy()).sum()
    np.testing.assert_allclose(
        df.groupby("slate")["slate_log_propensity"].first(), slate_log, rtol=1e-5
    )


def test_impression_log_keeps_every_slate_and_round_trips(tmp_path) -> None:
    env = sim_env()
    data = generate_logged_data(env, 6, impressions=True, epsilon=0.2, seed=1)
    log = data.log
    assert isinstance(log, ImpressionLog)
    df = log.df
    slates = df.groupby("slate")
    assert log.num_slates == data.num_slates == slates.ngroups and len(df) == 3 * data.num_slates
    assert (slates[["user", "timestamp"]].nunique() == 1).all().all()
    no_click = slates["clicked"].sum() == 0
    assert no_click.any() and (~no_click).any()  # no-click slates are logged too
    assert (df["propensity"] > 0).all() and np.isfinite(df["slate_log_propensity"]).all()
    np.testing.assert_allclose(df["reward"].sum(), data.episode_returns.sum(), rtol=1e-5)

    path = log.to_csv(tmp_path / "impressions.csv")
    back = ImpressionLog.from_csv(path)
    pd.testing.assert_frame_equal(back.df, df)

    max_steps, max_len = 4, 5
    ds = impression_dataset(back, env.vocabulary, max_len, max_steps, batch_size=64, shuffle=False)
    batches = list(ds)
    obs = np.concatenate([b.observation for b in batches])
    action = np.concatenate([b.action for b in batches])
    reward = np.concatenate([b.reward for b in batches])
    click = np.concatenate([b.policy_info[CLICK_POSITION] for b in batches])
    step_type = np.concatenate([b.step_type for b in batches])
    assert obs.shape[1:] == (max_steps + 1, max_len) and action.shape[1:] == (max_steps + 1, 3)
    real = step_type != ts.StepType.LAST
    assert real.sum() == data.num_slates  # one real step per shown slate
    assert np.all(step_type[:, -1] == ts.StepType.LAST)
    np.testing.assert_allclose(reward.sum(), df["reward"].sum(), rtol=1e-5)
    no_click_steps = real & (click == -1)
    assert no_click_steps.any() and np.all(reward[no_click_steps] == 0)
    # Histories grow by the clicked item on a click and stay put otherwise.
    rows, ts_ = np.nonzero(real)
    for r, t in zip(rows, ts_):
        if click[r, t] >= 0:
            expected = np.append(obs[r, t, 1:], action[r, t, click[r, t]])
        else:
            expected = obs[r, t]
        np.testing.assert_array_equal(obs[r, t + 1], expected)
