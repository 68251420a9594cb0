"""Estimates and importance-weight statistics: hand-computed values and validation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tfrec.evaluation.estimate import (
    importance_weight_statistics,
    interval_estimate,
)
from tfrec.evaluation.off_policy import OffPolicyOptions


def _mean_core(values: np.ndarray):
    def core(units: np.ndarray) -> tuple[float, np.ndarray]:
        value = float(values[units].mean())
        return value, values[units] - value

    return core


def test_interval_estimate_normal_interval_by_hand() -> None:
    values = np.array([1.0, 2.0, 3.0, 6.0])
    est = interval_estimate(_mean_core(values), 4, "mean", 3.5, OffPolicyOptions())
    stderr = np.std(values, ddof=1) / 2.0
    assert est.value == pytest.approx(3.0)
    assert est.stderr == pytest.approx(stderr)
    assert est.upper - est.value == pytest.approx(1.959963984540054 * stderr)
    assert (est.num_units, est.effective_sample_size, est.method) == (4, 3.5, "mean/normal")


def test_interval_estimate_bootstrap_stays_in_the_range_and_is_seeded() -> None:
    values = np.array([1.0, 2.0, 3.0, 6.0])
    options = OffPolicyOptions(ci_method="bootstrap", num_bootstrap=50, seed=4)
    est = interval_estimate(_mean_core(values), 4, "mean", 4.0, options)
    assert 1.0 <= est.lower <= est.value <= est.upper <= 6.0
    assert est == interval_estimate(_mean_core(values), 4, "mean", 4.0, options)
    assert est.method == "mean/bootstrap"


def test_importance_weight_statistics_by_hand() -> None:
    ratios = np.array([0.5, 1.0, 1.5, 5.0])
    stats = importance_weight_statistics(ratios, cap=2.0)
    assert stats["median"] == pytest.approx(1.25)
    assert stats["mean"] == pytest.approx(2.0)
    assert stats["p99"] == pytest.approx(np.quantile(ratios, 0.99))
    assert stats["fraction_capped"] == pytest.approx(0.25)
    # capped weights [0.5, 1, 1.5, 2]: (5)^2 / (0.25 + 1 + 2.25 + 4) / 4 = 25 / 30.
    assert stats["ess_fraction"] == pytest.approx(25.0 / 30.0)
    uncapped = importance_weight_statistics(ratios)
    assert uncapped["fraction_capped"] == 0.0
    assert uncapped["ess_fraction"] == pytest.approx(64.0 / 28.5 / 4.0)
    assert math.isclose(importance_weight_statistics(np.ones(3))["ess_fraction"], 1.0)


def test_importance_weight_statistics_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="non-empty"):
        importance_weight_statistics(np.array([]))
    with pytest.raises(ValueError, match="finite and >= 0"):
        importance_weight_statistics(np.array([1.0, -1.0]))
    with pytest.raises(ValueError, match="cap must be > 0"):
        importance_weight_statistics(np.ones(2), cap=0.0)
