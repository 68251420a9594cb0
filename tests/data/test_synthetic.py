"""Synthetic logs: seeded, sized as asked, Zipf-skewed, with sessions and mixed rewards."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tfrec.data.synthetic import generate_log, zipf_probabilities


def test_same_seed_same_log_and_sizes():
    first = generate_log(50, 20, total_interactions=600, seed=7, with_propensity=True)
    again = generate_log(50, 20, total_interactions=600, seed=7, with_propensity=True)
    pd.testing.assert_frame_equal(first.df, again.df)
    assert len(first) == 600 and first.num_users == 50 and first.num_items <= 20
    assert first.df.groupby("user").size().min() >= 3
    assert first.has_propensity
    assert set(first.df["event"]) <= {"click", "purchase"}
    expected = np.where(first.df["event"] == "purchase", 1.0, 0.2)
    np.testing.assert_allclose(first.df["reward"], expected, rtol=1e-6)
    assert not generate_log(50, 20, total_interactions=600, seed=8).df.equals(first.df)


def test_timestamps_increase_within_users_and_form_sessions():
    log = generate_log(30, 40, 30, seed=2, mean_session_length=5, session_gap_mean=10_000)
    gaps = log.df.groupby("user")["timestamp"].diff().dropna()
    assert (gaps >= 1).all()
    assert (gaps > 3_600).any() and (gaps < 600).any()


def test_zipf_probabilities_follow_the_ranking():
    probs = zipf_probabilities(4, 1.0, np.random.default_rng(0))
    # Weights 1, 1/2, 1/3, 1/4 normalised by 25/12, in some permutation.
    np.testing.assert_allclose(np.sort(probs)[::-1], np.array([12, 6, 4, 3]) / 25)


def test_invalid_sizes():
    with pytest.raises(ValueError, match="less than min_interactions"):
        generate_log(10, 5, total_interactions=20, min_interactions=3)
    with pytest.raises(ValueError, match="num_users >= 1"):
        generate_log(0, 5)
