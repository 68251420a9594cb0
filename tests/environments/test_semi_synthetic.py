"""Implicit ALS and the semi-synthetic simulator (generated log; MovieLens-100k when present)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from tf_agents.drivers import dynamic_step_driver
from tf_agents.environments import tf_py_environment, utils
from tf_agents.policies import random_tf_policy
from tf_agents.trajectories import time_step as ts

from tfrec.data import InteractionLog
from tfrec.environments import SemiSyntheticConfig, SemiSyntheticEnv, fit_implicit_als
from tfrec.evaluation.rollouts import evaluate_policy
from tfrec.policies.reference import oracle_myopic_policy, random_slate_policy

SMALL = SemiSyntheticConfig(slate_size=3, max_len=6, factors=6, als_iterations=6)


@pytest.fixture(scope="module")
def block_log() -> InteractionLog:
    """60 users in 3 taste groups; group g only consumes items m{10g}..m{10g+9}."""
    rng = np.random.default_rng(0)
    rows = []
    for u in range(60):
        group = u % 3
        items = rng.choice(np.arange(10 * group, 10 * group + 10), size=6, replace=False)
        rows += [(f"u{u}", f"m{i}", t) for t, i in enumerate(items)]
    return InteractionLog.from_dataframe(pd.DataFrame(rows, columns=["user", "item", "timestamp"]))


def test_als_recovers_taste_groups(block_log):
    model = fit_implicit_als(block_log, factors=6, iterations=8)
    assert model.user_factors.shape == (60, 6) and model.item_factors.shape == (30, 6)
    scores = model.scores(np.arange(60))
    item_group = np.array([int(i[1:]) // 10 for i in model.item_ids])
    user_group = np.array([int(u[1:]) % 3 for u in model.user_ids])
    inside = item_group[None, :] == user_group[:, None]
    assert scores[inside].mean() > 0.5 > 0.1 > scores[~inside].mean()
    # CSR sequences keep each user's time order.
    row = int(np.flatnonzero(model.user_ids == "u0")[0])
    seq = model.item_ids[model.user_items[model.user_offsets[row] : model.user_offsets[row + 1]]]
    expected = block_log.df.loc[block_log.df["user"] == "u0", "item"].to_numpy()
    np.testing.assert_array_equal(seq, expected)


def test_semi_synthetic_env_contract(block_log):
    env = SemiSyntheticEnv(block_log, SMALL, batch_size=4, seed=0)
    assert (env.vocab_size, env.num_items, env.slate_size) == (32, 30, 3)
    np.testing.assert_array_equal(env.vocabulary.lookup(env.model.item_ids[:2]), [2, 3])
    utils.validate_py_environment(env, episodes=6)
    tf_env = tf_py_environment.TFPyEnvironment(env)
    policy = random_tf_policy.RandomTFPolicy(tf_env.time_step_spec(), tf_env.action_spec())
    dynamic_step_driver.DynamicStepDriver(tf_env, policy, num_steps=8).run()


def test_start_histories_are_real_prefixes(block_log):
    env = SemiSyntheticEnv(block_log, SMALL, batch_size=16, seed=1)
    first = env.reset()
    m = env.model
    for slot in range(16):
        row = env.user_rows[slot]
        seq = m.user_items[m.user_offsets[row] : m.user_offsets[row + 1]] + 2
        window = first.observation[slot][first.observation[slot] > 0]
        assert 1 <= window.size <= SMALL.max_len
        cut = int(env.seen[slot].sum())  # the prefix has no repeats in this log
        np.testing.assert_array_equal(window, seq[:cut][-SMALL.max_len :])


def test_clicks_are_marked_seen_and_patience_ends_sessions(block_log):
    env = SemiSyntheticEnv(block_log, SMALL, batch_size=8, seed=2)
    env.reset()
    rng = np.random.default_rng(0)
    ended = np.zeros(8, bool)
    for _ in range(40):
        step = env.step(rng.integers(2, env.vocab_size, size=(8, 3), dtype=np.int32))
        info = env.get_info()
        clicked = np.flatnonzero(info["clicked_item"] > 0)
        assert env.seen[clicked, info["clicked_item"][clicked] - 2].all()
        ended |= (step.step_type == ts.StepType.LAST) & (step.discount == 0.0)
    assert ended.any()


def test_oracle_beats_random_on_the_fitted_model(block_log):
    env = SemiSyntheticEnv(block_log, SMALL, batch_size=16, seed=0)
    random = evaluate_policy(
        env, random_slate_policy(env.time_step_spec(), env.action_spec(), 0), 32
    )
    oracle = evaluate_policy(env, oracle_myopic_policy(env), 32)
    assert oracle.mean_return > random.mean_return


def test_needs_log_or_model():
    with pytest.raises(ValueError, match="InteractionLog"):
        SemiSyntheticEnv()
    with pytest.raises(TypeError, match="InteractionLog.from_dataframe"):
        fit_implicit_als(pd.DataFrame({"user": ["a"], "item": ["b"]}))


@pytest.mark.movielens
@pytest.mark.slow
def test_movielens_100k(ml100k_path):
    from tfrec.data import load_movielens_100k

    log = load_movielens_100k(ml100k_path, with_titles=False)
    config = SemiSyntheticConfig(factors=16, als_iterations=3)
    env = SemiSyntheticEnv(log, config, batch_size=8, seed=0)
    assert env.num_items == 1682 and env.model.user_ids.size == 943
    utils.validate_py_environment(env, episodes=8)
    random = evaluate_policy(
        env, random_slate_policy(env.time_step_spec(), env.action_spec(), 0), 16
    )
    oracle = evaluate_policy(env, oracle_myopic_policy(env), 16)
    assert oracle.ctr > random.ctr
