"""Impression logs: layout, validation, and the impression-level trajectory pipeline."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from tf_agents.trajectories import time_step as ts

from tfrec.data import (
    ImpressionLog,
    InteractionLog,
    ItemVocabulary,
    impression_dataset,
    impression_steps,
)
from tfrec.specs import (
    CLICK_POSITION,
    FIRST_ITEM_INDEX,
    INCLUSION_PROPENSITY,
    SLATE_LOG_PROPENSITY,
    impression_info_spec,
)

F, M, L = int(ts.StepType.FIRST), int(ts.StepType.MID), int(ts.StepType.LAST)


def tiny_frame() -> pd.DataFrame:
    """User u: 3 slates (click b, no click, click c); user v: 1 slate without a click. k = 2.

    Rows are deliberately out of order (the log sorts them by user, time, slate, position).
    """
    return pd.DataFrame(
        {
            "user": ["v", "v", "u", "u", "u", "u", "u", "u"],
            "timestamp": [0, 0, 1, 0, 0, 1, 2, 2],
            "slate": ["s3", "s3", "s1", "s0", "s0", "s1", "s2", "s2"],
            "position": [1, 0, 0, 1, 0, 1, 0, 1],
            "item": ["b", "a", "c", "b", "a", "a", "c", "d"],
            "clicked": [0, 0, 0, 1, 0, 0, 1, 0],
            "reward": [0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 2.0, 0.0],
            "propensity": [0.5, 0.5, 0.25, 0.5, 0.5, 0.5, 0.25, 0.25],
            "slate_log_propensity": [-1.0, -1.0, -2.0, -1.5, -1.5, -2.0, -3.0, -3.0],
        }
    )


VOCAB = ItemVocabulary(["a", "b", "c", "d"])  # a=2, b=3, c=4, d=5
A, B, C, D = 2, 3, 4, 5


def test_log_sorts_slates_and_keeps_every_row() -> None:
    log = ImpressionLog.from_dataframe(tiny_frame())
    df = log.df
    assert isinstance(log, InteractionLog) and len(df) == 8
    assert log.slate_size == 2 and log.num_slates == 4
    assert list(df["slate"]) == ["s0", "s0", "s1", "s1", "s2", "s2", "s3", "s3"]
    assert list(df["item"]) == ["a", "b", "c", "a", "c", "d", "a", "b"]
    assert list(df["position"]) == [0, 1] * 4
    assert df["clicked"].dtype == np.int8 and list(df["clicked"]) == [0, 1, 0, 0, 1, 0, 0, 0]
    assert df["slate_log_propensity"].dtype == np.float32
    # Slates without a click are kept (s1, s3), and so is a log of only no-click slates.
    no_clicks = tiny_frame().assign(clicked=0, reward=0.0)
    assert ImpressionLog.from_dataframe(no_clicks).num_slates == 4
    # Absent slate log-propensity / propensity: NaN (unknown).
    unknown = ImpressionLog.from_dataframe(tiny_frame().drop(columns=["slate_log_propensity"]))
    assert unknown.df["slate_log_propensity"].isna().all()
    with pytest.raises(ValueError, match="cannot be filtered"):
        log.filter(min_user_interactions=2)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_file_round_trip(tmp_path, suffix) -> None:
    log = ImpressionLog.from_dataframe(tiny_frame())
    path = tmp_path / f"log{suffix}"
    log.to_csv(path) if suffix == ".csv" else log.to_parquet(path)
    back = ImpressionLog.from_file(path)
    pd.testing.assert_frame_equal(back.df, log.df)


def test_boolean_clicked_column_is_accepted() -> None:
    log = ImpressionLog.from_dataframe(tiny_frame().assign(clicked=lambda d: d["clicked"] == 1))
    assert list(log.df["clicked"]) == [0, 1, 0, 0, 1, 0, 0, 0]


def _edit(**changes) -> pd.DataFrame:
    df = tiny_frame()
    for column, (row, value) in changes.items():
        df[column] = df[column].astype(object)
        df.loc[row, column] = value
    return df


@pytest.mark.parametrize(
    ("df", "message"),
    [
        (tiny_frame().drop(columns=["slate"]), r"needs the column\(s\) \['slate'\]"),
        (_edit(slate=(0, None)), r"column 'slate' \(slate id\) is null at rows \[0\]"),
        # s2 gets a second click (input rows 6 and 7 are its rows).
        (
            _edit(clicked=(7, 1)),
            r"slate 's2' \(rows \[6, 7\]\), column 'clicked': a slate has at most one",
        ),
        (_edit(clicked=(2, 2)), r"column 'clicked' must be 0 or 1; rows \[2\] have 2"),
        # s1 shows position 0 twice (input rows 2 and 5).
        (
            _edit(position=(5, 0)),
            r"slate 's1' \(rows \[2, 5\]\), column 'position': positions must be 0..1",
        ),
        (_edit(position=(5, 1.5)), r"column 'position' must hold integers; rows \[5\]"),
        (
            _edit(reward=(5, 0.5)),
            r"slate 's1' \(rows \[2, 5\]\), column 'reward': the reward belongs",
        ),
        (
            _edit(slate=(7, "s3")),
            r"slate 's2' \(rows \[6\]\), column 'slate': every slate must show the same number",
        ),
        (_edit(user=(5, "w")), r"slate 's1' \(rows \[2, 5\]\), column 'user'"),
        (_edit(timestamp=(5, 7)), r"slate 's1' \(rows \[2, 5\]\), column 'timestamp'"),
        (
            _edit(propensity=(3, 1.5)),
            r"'propensity' \(propensity\) must be a probability in \(0, 1\].*rows \[3\]",
        ),
        (_edit(propensity=(3, 0.0)), r"must be a probability in \(0, 1\]"),
        (
            _edit(slate_log_propensity=(3, 0.5)),
            r"'slate_log_propensity' must be a finite log-probability <= 0.*rows \[3\]",
        ),
        (_edit(slate_log_propensity=(3, -np.inf)), r"finite log-probability"),
        (
            _edit(slate_log_propensity=(3, -1.0)),
            r"slate 's0' \(rows \[3, 4\]\), column 'slate_log_propensity': every row",
        ),
        # exp(-0.1) = 0.905 > the inclusion propensity 0.5 of s3's items.
        (
            tiny_frame().assign(slate_log_propensity=[-0.1, -0.1, -2, -1.5, -1.5, -2, -3, -3]),
            r"slate 's3' \(rows \[0, 1\]\), column 'propensity': an item's inclusion propensity must be >=",
        ),
    ],
)
def test_validation_errors(df, message) -> None:
    with pytest.raises(ValueError, match=message):
        ImpressionLog.from_dataframe(df)


def test_validation_error_is_one_line_and_plain_logs_are_checked() -> None:
    with pytest.raises(ValueError) as err:
        ImpressionLog.from_dataframe(_edit(clicked=(7, 1)))
    assert "\n" not in str(err.value)
    clicks = InteractionLog.from_dataframe(tiny_frame().drop(columns=["position"]))
    with pytest.raises(ValueError, match=r"needs the column\(s\) \['position'\]"):
        impression_dataset(clicks, VOCAB, max_len=3, max_steps=2, batch_size=4)
    with pytest.raises(ValueError, match="item 'd' of slate 's2' is not in the vocabulary"):
        impression_steps(tiny_frame(), ItemVocabulary(["a", "b", "c"]), max_steps=2)
    with pytest.raises(TypeError, match="ImpressionLog, InteractionLog or pandas DataFrame"):
        impression_steps([1, 2], VOCAB, max_steps=2)


def test_impression_steps_hand_computed() -> None:
    steps = impression_steps(tiny_frame(), VOCAB, max_steps=2)
    np.testing.assert_array_equal(steps.slates, [[A, B], [C, A], [C, D], [A, B]])
    np.testing.assert_array_equal(steps.click_position, [1, -1, 0, -1])
    np.testing.assert_allclose(steps.rewards, [1.0, 0.0, 2.0, 0.0])
    np.testing.assert_allclose(steps.slate_log_propensity, [-1.5, -2.0, -3.0, -1.0])
    np.testing.assert_allclose(steps.inclusion_propensity[1], [0.25, 0.5])
    np.testing.assert_array_equal(steps.clicked_items, [B, C])
    np.testing.assert_array_equal(steps.chunk_starts, [0, 2, 3])  # u: [s0, s1], [s2]; v: [s3]
    np.testing.assert_array_equal(steps.chunk_lengths, [2, 1, 1])
    np.testing.assert_array_equal(steps.chunk_terminal, [False, True, True])
    np.testing.assert_array_equal(steps.histories(3), [[0, 0, 0], [0, 0, B], [0, 0, B], [0, 0, 0]])


def test_dataset_hand_computed() -> None:
    ds = impression_dataset(
        tiny_frame(), VOCAB, max_len=3, max_steps=2, batch_size=8, shuffle=False
    )
    traj = next(iter(ds))
    np.testing.assert_array_equal(traj.step_type, [[F, M, L], [F, L, L], [F, L, L]])
    np.testing.assert_array_equal(traj.next_step_type, [[M, L, F], [L, F, F], [L, F, F]])
    # u's session is split after 2 slates: its first chunk is truncated (discount 1), not ended.
    np.testing.assert_array_equal(traj.discount, [[1, 1, 1], [0, 1, 1], [0, 1, 1]])
    pad = [FIRST_ITEM_INDEX] * 2
    np.testing.assert_array_equal(
        traj.action, [[[A, B], [C, A], pad], [[C, D], pad, pad], [[A, B], pad, pad]]
    )
    np.testing.assert_allclose(traj.reward, [[1, 0, 0], [2, 0, 0], [0, 0, 0]])
    info = traj.policy_info
    np.testing.assert_array_equal(info[CLICK_POSITION], [[1, -1, -1], [0, -1, -1], [-1, -1, -1]])
    np.testing.assert_allclose(info[SLATE_LOG_PROPENSITY], [[-1.5, -2, 0], [-3, 0, 0], [-1, 0, 0]])
    np.testing.assert_allclose(info[INCLUSION_PROPENSITY][0], [[0.5, 0.5], [0.25, 0.5], [1, 1]])
    # Histories hold clicked items only; the no-click slate s1 does not extend them; boundary
    # steps show the history after the chunk; chunk 2 of u starts with u's earlier click.
    np.testing.assert_array_equal(
        traj.observation,
        [
            [[0, 0, 0], [0, 0, B], [0, 0, B]],
            [[0, 0, B], [0, B, C], [0, B, C]],
            [[0, 0, 0], [0, 0, 0], [0, 0, 0]],
        ],
    )


def test_element_spec_matches_the_specs_layout() -> None:
    ds = impression_dataset(tiny_frame(), VOCAB, max_len=3, max_steps=2, batch_size=2)
    spec = ds.element_spec
    assert spec.observation.shape.as_list() == [None, 3, 3]
    assert spec.action.shape.as_list() == [None, 3, 2] and spec.action.dtype.name == "int32"
    assert spec.reward.dtype.name == "float32" and spec.step_type.dtype.name == "int32"
    for key, info_spec in impression_info_spec(2).items():
        assert spec.policy_info[key].shape.as_list() == [None, 3, *info_spec.shape]
        assert spec.policy_info[key].dtype.name == np.dtype(info_spec.dtype).name


def test_seeded_shuffle() -> None:
    def epochs(seed: int) -> list[np.ndarray]:
        ds = impression_dataset(tiny_frame(), VOCAB, 3, 1, batch_size=4, seed=seed).repeat(3)
        return [b.policy_info[SLATE_LOG_PROPENSITY].numpy()[:, 0] for b in ds]

    first, again = epochs(0), epochs(0)
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    assert all(sorted(e) == [-3.0, -2.0, -1.5, -1.0] for e in first)  # each epoch: every chunk
    assert len({tuple(e) for e in first + epochs(1)}) > 1


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="max_len"):
        impression_dataset(tiny_frame(), VOCAB, max_len=0, max_steps=2, batch_size=2)
    with pytest.raises(ValueError, match="batch_size"):
        impression_dataset(tiny_frame(), VOCAB, max_len=2, max_steps=2, batch_size=0)
    with pytest.raises(ValueError, match="max_steps"):
        impression_dataset(tiny_frame(), VOCAB, max_len=2, max_steps=0, batch_size=2)
