"""InteractionLog: construction, stable ordering, reward sources, validation, filters, files."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tfrec.data.log import InteractionLog


def _frame(**extra) -> pd.DataFrame:
    data = {
        "u": ["b", "a", "b", "a", "a"],
        "i": [10, 11, 12, 13, 14],
        "t": [5, 3, 5, 1, 3],
    }
    data.update(extra)
    return pd.DataFrame(data)


def test_sorted_by_user_then_time_ties_keep_input_order():
    log = InteractionLog.from_dataframe(_frame(), user_col="u", item_col="i", timestamp_col="t")
    df = log.df
    # a: t=1 (row 3), t=3 (rows 1 then 4, input order); b: t=5 (rows 0 then 2).
    assert df["user"].tolist() == ["a", "a", "a", "b", "b"]
    assert df["item"].tolist() == ["13", "11", "14", "10", "12"]
    assert df["timestamp"].tolist() == [1, 3, 3, 5, 5]
    assert df["timestamp"].dtype == np.int64
    assert df["reward"].dtype == np.float32 and (df["reward"] == 1.0).all()
    assert df["propensity"].isna().all() and not log.has_propensity
    assert (log.num_users, log.num_items, len(log)) == (2, 5, 5)


def test_default_column_names_and_extra_columns_kept():
    df = pd.DataFrame(
        {"user": ["x", "x"], "item": ["p", "q"], "timestamp": [2.5, 1.0], "note": ["n1", "n2"]}
    )
    log = InteractionLog.from_dataframe(df)
    assert log.df["item"].tolist() == ["q", "p"]
    assert log.df["note"].tolist() == ["n2", "n1"]
    assert log.df["timestamp"].dtype == np.float64


def test_reward_from_column_event_mapping_and_rating_function():
    by_column = InteractionLog.from_dataframe(
        _frame(r=[0.5, 1, 2, 3, 4]), user_col="u", item_col="i", timestamp_col="t", reward_col="r"
    )
    assert by_column.df["reward"].tolist() == [3.0, 1.0, 4.0, 0.5, 2.0]
    by_event = InteractionLog.from_dataframe(
        _frame(e=["click", "purchase", "click", "click", "purchase"]),
        user_col="u",
        item_col="i",
        timestamp_col="t",
        event_col="e",
        event_rewards={"click": 0.2, "purchase": 1.0},
    )
    np.testing.assert_allclose(by_event.df["reward"], [0.2, 1.0, 1.0, 0.2, 0.2])
    assert by_event.df["e"].tolist() == ["click", "purchase", "purchase", "click", "click"]
    by_rating = InteractionLog.from_dataframe(
        _frame(stars=[5, 4, 1, 2, 3]),
        user_col="u",
        item_col="i",
        timestamp_col="t",
        rating_col="stars",
        rating_to_reward=lambda r: r / 5,
    )
    np.testing.assert_allclose(by_rating.df["reward"], [0.4, 0.8, 0.6, 1.0, 0.2])


def test_propensity_and_datetime_timestamps():
    df = pd.DataFrame(
        {
            "user": ["a", "a"],
            "item": ["x", "y"],
            "timestamp": pd.to_datetime(["1970-01-01 00:00:10", "1970-01-01 00:00:05"]),
            "p": [0.5, 1.0],
        }
    )
    log = InteractionLog.from_dataframe(df, propensity_col="p")
    assert log.df["timestamp"].tolist() == [5, 10]
    np.testing.assert_allclose(log.df["propensity"], [1.0, 0.5])
    assert log.has_propensity


@pytest.mark.parametrize(
    ("frame", "kwargs", "message"),
    [
        (_frame(), {"user_col": "uid", "item_col": "i", "timestamp_col": "t"}, "'uid' is missing"),
        (
            _frame().assign(u=["b", None, "b", "a", "a"]),
            {"user_col": "u", "item_col": "i", "timestamp_col": "t"},
            r"'u' \(user id\) has 1 null value\(s\) at rows \[1\]",
        ),
        (
            _frame().assign(i=["x", "y\nz", "w", "v", "s"]),
            {"user_col": "u", "item_col": "i", "timestamp_col": "t"},
            r"line break at rows \[1\]",
        ),
        (
            _frame().assign(t=["1", "2", "soon", "4", "5"]),
            {"user_col": "u", "item_col": "i", "timestamp_col": "t"},
            r"'t' \(timestamp\) is not numeric at rows \[2\]",
        ),
        (
            _frame().assign(t=[1.0, np.nan, 2.0, 3.0, 4.0]),
            {"user_col": "u", "item_col": "i", "timestamp_col": "t"},
            r"'t' \(timestamp\) has NaN.*rows \[1\]",
        ),
        (
            _frame(r=[1.0, np.inf, np.nan, 0.0, 1.0]),
            {"user_col": "u", "item_col": "i", "timestamp_col": "t", "reward_col": "r"},
            r"'r' \(reward\) .* at rows \[1, 2\]",
        ),
        (
            _frame(p=[0.5, 0.0, 1.5, np.nan, 1.0]),
            {"user_col": "u", "item_col": "i", "timestamp_col": "t", "propensity_col": "p"},
            r"'p' \(propensity\) must be a probability in \(0, 1\].*rows \[1, 2\]",
        ),
        (
            _frame(e=["click", "view", "click", "click", "like"]),
            {
                "user_col": "u",
                "item_col": "i",
                "timestamp_col": "t",
                "event_col": "e",
                "event_rewards": {"click": 1.0},
            },
            r"event\(s\) \['like', 'view'\] at rows \[1, 4\]",
        ),
        (_frame().iloc[:0], {"user_col": "u"}, "empty"),
    ],
    ids=[
        "missing-column",
        "null-id",
        "newline-id",
        "non-numeric-timestamp",
        "nan-timestamp",
        "nan-inf-reward",
        "propensity-range",
        "unknown-event",
        "empty",
    ],
)
def test_bad_input_raises_clear_error(frame, kwargs, message):
    with pytest.raises(ValueError, match=message):
        InteractionLog.from_dataframe(frame, **kwargs)


def test_conflicting_reward_sources_and_wrong_type():
    with pytest.raises(ValueError, match="not several"):
        InteractionLog.from_dataframe(
            _frame(r=[1] * 5, s=[1] * 5), reward_col="r", rating_col="s", rating_to_reward=abs
        )
    with pytest.raises(TypeError, match="DataFrame"):
        InteractionLog.from_dataframe([("a", "b", 1)])


def _chain_log() -> InteractionLog:
    # u1 {a, b}, u2 {a, b}, u3 {b, c}, u4 {c, d}: item counts a 2, b 3, c 2, d 1.
    pairs = [("u1", "a"), ("u1", "b"), ("u2", "a"), ("u2", "b")]
    pairs += [("u3", "b"), ("u3", "c"), ("u4", "c"), ("u4", "d")]
    df = pd.DataFrame(pairs, columns=["user", "item"]).assign(timestamp=[1, 2] * 4)
    return InteractionLog.from_dataframe(df)


def test_filter_one_pass_reports_what_it_removed():
    log = _chain_log()
    filtered, report = log.filter(min_user_interactions=2, min_item_interactions=2)
    # Drops item d, then user u4 (left with one interaction); c keeps 1 interaction (one pass).
    assert report.removed_items.tolist() == ["d"]
    assert report.removed_users.tolist() == ["u4"]
    assert (report.removed_interactions, report.remaining_interactions, report.rounds) == (2, 6, 1)
    assert filtered.df["item"].tolist() == ["a", "b", "a", "b", "b", "c"]
    assert "removed 2 interactions, 1 users and 1 items" in str(report)


def test_filter_k_core_iterates_until_stable():
    core, report = _chain_log().filter(2, 2, k_core=True)
    # Round 2 drops c (now seen once), then u3 (left with b only): a and b keep 2 users each.
    assert report.removed_items.tolist() == ["c", "d"]
    assert report.removed_users.tolist() == ["u3", "u4"]
    assert (report.removed_interactions, report.rounds) == (4, 2)
    assert core.df["user"].tolist() == ["u1", "u1", "u2", "u2"]


def test_filter_that_removes_everything_raises():
    with pytest.raises(ValueError, match="removes every interaction"):
        _chain_log().filter(min_user_interactions=5)


@pytest.mark.smoke
def test_csv_and_parquet_round_trip(tmp_path):
    log = InteractionLog.from_dataframe(
        _frame(p=[0.5, 0.25, 1.0, 0.5, 0.5]),
        user_col="u",
        item_col="i",
        timestamp_col="t",
        propensity_col="p",
    )
    for path in (log.to_csv(tmp_path / "log.csv"), log.to_parquet(tmp_path / "log.parquet")):
        back = InteractionLog.from_file(path)
        pd.testing.assert_frame_equal(back.df, log.df, check_dtype=False)
        assert back.df["item"].tolist() == ["13", "11", "14", "10", "12"]


def test_csv_keeps_leading_zeros_and_reads_tsv(tmp_path):
    path = tmp_path / "log.tsv"
    path.write_text("user\titem\ttimestamp\n007\t0042\t3\n007\t01\t2\n")
    log = InteractionLog.from_file(path)
    assert log.df["user"].tolist() == ["007", "007"]
    assert log.df["item"].tolist() == ["01", "0042"]


def test_file_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="not found"):
        InteractionLog.from_csv(tmp_path / "missing.csv")
    with pytest.raises(ValueError, match="not a file"):
        InteractionLog.from_csv(tmp_path)
    malformed = tmp_path / "bad.csv"
    malformed.write_text('user,item,timestamp\na,x,1\nb,"y,2\n')
    with pytest.raises(ValueError, match=r"bad\.csv: malformed CSV"):
        InteractionLog.from_csv(malformed)
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(ValueError, match="empty"):
        InteractionLog.from_csv(empty)
    not_parquet = tmp_path / "log.parquet"
    not_parquet.write_text("user,item\n")
    with pytest.raises(ValueError, match="not a readable Parquet"):
        InteractionLog.from_parquet(not_parquet)
    with pytest.raises(ValueError, match="unknown log format '.json'"):
        InteractionLog.from_file(tmp_path / "log.json")
