"""Column checks of `tfrec.data.validation` (the InteractionLog messages are in test_interaction_log)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tfrec.data.validation import (
    canonicalize,
    finite_floats,
    format_rows,
    format_values,
    validated_timestamps,
)


def test_format_rows_and_values_show_the_first_five():
    assert format_rows(np.arange(7)) == "rows [0, 1, 2, 3, 4] and 2 more"
    assert format_rows(np.array([3])) == "rows [3]"
    assert format_values(["a", 1, None, "d", "e", "f"]) == "'a', 1, None, 'd', 'e'"


def test_timestamps_integral_floats_become_int64_and_bad_rows_are_named():
    out = validated_timestamps(pd.Series([3.0, 1.0]), "ts", "f.csv")
    assert out.dtype == np.int64 and out.tolist() == [3, 1]
    with pytest.raises(ValueError, match=r"f.csv: column 'ts' \(timestamp\) has NaN.* rows \[1\]"):
        validated_timestamps(pd.Series([1.0, np.nan]), "ts", "f.csv")
    with pytest.raises(ValueError, match=r"column 'r' \(reward\) .* rows \[0\] \(values 'x'\)"):
        finite_floats(pd.Series(["x", 1.0]), "r", "reward", "f.csv")


def test_canonicalize_sorts_stably_by_user_then_time():
    frame = pd.DataFrame({"user": ["b", "a", "a"], "item": ["i", "j", "k"], "timestamp": [0, 5, 5]})
    out = canonicalize(frame, source="DataFrame")
    assert out["item"].tolist() == ["j", "k", "i"]  # the tie at t=5 keeps the input order
    assert out["reward"].tolist() == [1.0, 1.0, 1.0] and out["propensity"].isna().all()
