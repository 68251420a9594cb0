"""Leave-last-out and temporal splits on hand-made sequences."""

from __future__ import annotations

import numpy as np
import pytest

from tfrec.data.sequences import Sequences
from tfrec.data.splits import leave_last_out, temporal_split


def make_sequences(items: list[list[int]], times: list[list[int]]) -> Sequences:
    lengths = [len(x) for x in items]
    n = sum(lengths)
    return Sequences(
        users=np.array([f"u{i}" for i in range(len(items))], dtype=object),
        offsets=np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
        items=np.concatenate(items).astype(np.int32),
        rewards=np.ones(n, np.float32),
        propensities=np.full(n, np.nan, np.float32),
        timestamps=np.concatenate(times).astype(np.int64),
    )


# u0: 4 items, u1: 2 items (too short for leave-last-out), u2: 3 items, u3: 1 item (late).
SEQS = make_sequences(
    [[2, 3, 4, 5], [6, 7], [8, 9, 10], [11]], [[1, 2, 3, 4], [1, 5], [2, 6, 7], [8]]
)


def _rows(seqs: Sequences) -> list[list[int]]:
    return [seqs.user_items(u).tolist() for u in range(len(seqs))]


def test_leave_last_out():
    train, valid, test = leave_last_out(SEQS)
    assert _rows(train) == [[2, 3], [6, 7], [8], [11]]
    assert valid.users.tolist() == ["u0", "u2"] and valid.targets.tolist() == [4, 9]
    assert _rows(valid.histories) == [[2, 3], [8]]
    assert test.users.tolist() == ["u0", "u2"] and test.targets.tolist() == [5, 10]
    assert _rows(test.histories) == [[2, 3, 4], [8, 9]]
    assert valid.num_skipped_users == test.num_skipped_users == 2
    assert test.padded_histories(2).tolist() == [[3, 4], [8, 9]]
    assert test.targets.dtype == np.int32


def test_leave_last_out_rejects_min_length_below_three():
    with pytest.raises(ValueError, match="min_length must be >= 3"):
        leave_last_out(SEQS, min_length=2)


def test_temporal_split_test_only():
    train, valid, test = temporal_split(SEQS, cutoff=5)
    # Before t=5: u0 all four, u1 [6], u2 [8], u3 nothing.
    assert _rows(train) == [[2, 3, 4, 5], [6], [8], []]
    # u0 has nothing after the cutoff and u3 has no history before it: both skipped.
    assert test.users.tolist() == ["u1", "u2"] and test.targets.tolist() == [7, 9]
    assert _rows(test.histories) == [[6], [8]] and test.num_skipped_users == 2
    assert len(valid) == 0 and valid.num_skipped_users == 4


def test_temporal_split_with_validation_period():
    train, valid, test = temporal_split(SEQS, cutoff=5, valid_cutoff=3)
    assert _rows(train) == [[2, 3], [6], [8], []]
    # Only u0 has an interaction in [3, 5) after a history.
    assert valid.users.tolist() == ["u0"] and valid.targets.tolist() == [4]
    assert _rows(valid.histories) == [[2, 3]] and valid.num_skipped_users == 3
    assert test.targets.tolist() == [7, 9]
    with pytest.raises(ValueError, match="earlier than cutoff"):
        temporal_split(SEQS, cutoff=5, valid_cutoff=5)
