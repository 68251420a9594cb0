"""The optional ``position_propensity`` column of impression logs, and the logs that record it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tfrec.data import ImpressionLog


def frame(**extra: list) -> pd.DataFrame:
    """One user, two slates of k = 2 (slate log-propensities log 0.1 and log 0.2)."""
    return pd.DataFrame(
        {
            "user": ["u"] * 4,
            "timestamp": [0, 0, 1, 1],
            "slate": [0, 0, 1, 1],
            "position": [0, 1, 0, 1],
            "item": ["a", "b", "b", "c"],
            "clicked": [1, 0, 0, 0],
            "reward": [1.0, 0.0, 0.0, 0.0],
            "propensity": [0.6, 0.5, 0.5, 0.4],
            "slate_log_propensity": np.log([0.1, 0.1, 0.2, 0.2]),
            **extra,
        }
    )


def test_logs_without_the_column_still_load():
    log = ImpressionLog.from_dataframe(frame())
    assert "position_propensity" not in log.df.columns
    assert log.num_slates == 2


def test_the_column_is_kept_as_float32_with_nan_for_unknown():
    log = ImpressionLog.from_dataframe(frame(position_propensity=[0.3, 0.25, np.nan, 0.2]))
    values = log.df["position_propensity"]
    assert values.dtype == np.float32
    np.testing.assert_allclose(values.to_numpy()[[0, 1, 3]], [0.3, 0.25, 0.2], rtol=1e-6)
    assert np.isnan(values.iloc[2])


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ([0.3, 0.0, 0.3, 0.3], r"probability in \(0, 1\]"),
        ([0.3, 1.5, 0.3, 0.3], r"probability in \(0, 1\]"),
        ([0.3, "x", 0.3, 0.3], r"probability in \(0, 1\]"),
        ([0.3, 0.3, 0.3, 0.15], "at least as often as the whole slate"),
    ],
)
def test_bad_position_propensities_are_one_clear_error(values, message):
    with pytest.raises(ValueError, match=f"'position_propensity': .*{message}"):
        ImpressionLog.from_dataframe(frame(position_propensity=values))


def test_generated_impression_logs_record_the_position_marginal():
    from tfrec.environments import InterestEvolutionConfig, InterestEvolutionEnv
    from tfrec.environments.catalog import CatalogConfig
    from tfrec.policies import (
        EpsilonPopularityPolicy,
        PopularitySoftmaxPolicy,
        generate_logged_data,
    )

    config = InterestEvolutionConfig(catalog=CatalogConfig(num_items=30, num_topics=3), max_len=5)
    env = InterestEvolutionEnv(config, batch_size=4, seed=0)
    popularity = PopularitySoftmaxPolicy(
        env.time_step_spec(), env.action_spec(), env.item_popularity()
    )
    policy = EpsilonPopularityPolicy(popularity, epsilon=0.2, seed=0)
    logged = generate_logged_data(env, 4, impressions=True, policy=policy, seed=0)
    df = logged.log.df
    items = env.vocabulary.lookup(df["item"])
    np.testing.assert_allclose(
        df["position_propensity"], policy.position_probability(items), rtol=1e-6
    )


def test_logged_slates_reads_rewards_and_both_propensity_kinds():
    from tfrec.data import ItemVocabulary
    from tfrec.evaluation.slate_propensities import logged_slates

    vocab = ItemVocabulary(["a", "b", "c"])  # a=2, b=3, c=4
    logged = logged_slates(frame(position_propensity=[0.3, 0.25, 0.3, 0.2]), vocab, max_len=2)
    np.testing.assert_array_equal(logged.slates, [[2, 3], [3, 4]])
    np.testing.assert_allclose(logged.rewards, [[1.0, 0.0], [0.0, 0.0]])
    np.testing.assert_allclose(logged.behavior.joint, [0.1, 0.2], rtol=1e-6)
    np.testing.assert_allclose(logged.behavior.position, [[0.3, 0.25], [0.3, 0.2]], rtol=1e-6)
    # the second slate's history is the click on a
    np.testing.assert_array_equal(logged.histories, [[0, 0], [0, 2]])
    assert list(logged.sessions) == ["u", "u"]
    without = logged_slates(frame(), vocab, max_len=2)
    assert without.behavior.position is None and without.behavior.cascade is None
    unknown = frame(slate_log_propensity=[np.nan] * 4)
    with pytest.raises(ValueError, match="need the logging policy's propensities"):
        logged_slates(unknown, vocab, max_len=2)
