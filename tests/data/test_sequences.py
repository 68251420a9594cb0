"""Sequences: CSR layout built from a log, left-padded windows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tfrec.data.log import InteractionLog
from tfrec.data.sequences import Sequences, build_sequences, gather_windows, ranges
from tfrec.data.vocab import ItemVocabulary


def small_log() -> InteractionLog:
    df = pd.DataFrame(
        {
            "user": ["u2", "u1", "u2", "u1", "u2", "u1", "u3"],
            "item": ["a", "b", "c", "a", "a", "zz", "b"],
            "timestamp": [3, 1, 1, 5, 3, 2, 9],
            "propensity": [0.5, 0.25, 1.0, 0.5, 0.5, 0.5, 0.125],
            "reward": [1, 2, 3, 4, 5, 6, 7],
        }
    )
    return InteractionLog.from_dataframe(df)


def test_build_sequences_is_csr_in_time_order():
    log = small_log()
    vocab = ItemVocabulary(["a", "b", "c"])  # a=2, b=3, c=4; "zz" is OOV (1)
    seqs = build_sequences(log, vocab)
    assert seqs.users.tolist() == ["u1", "u2", "u3"]
    assert seqs.offsets.tolist() == [0, 3, 6, 7]
    # u1: b(t1), zz(t2), a(t5); u2: c(t1), a(t3, row 0), a(t3, row 4); u3: b.
    assert seqs.items.tolist() == [3, 1, 2, 4, 2, 2, 3]
    assert seqs.rewards.tolist() == [2, 6, 4, 3, 1, 5, 7]
    assert seqs.propensities.tolist() == [0.25, 0.5, 0.5, 1.0, 0.5, 0.5, 0.125]
    assert seqs.timestamps.tolist() == [1, 2, 5, 1, 3, 3, 9]
    assert seqs.lengths.tolist() == [3, 3, 1] and len(seqs) == 3 and seqs.num_interactions == 7
    assert seqs.user_items(1).tolist() == [4, 2, 2]


def test_padded_keeps_last_items_left_padded():
    seqs = build_sequences(small_log(), ItemVocabulary(["a", "b", "c"]))
    assert seqs.padded(2).tolist() == [[1, 2], [2, 2], [0, 3]]
    assert seqs.padded(4).tolist() == [[0, 3, 1, 2], [0, 4, 2, 2], [0, 0, 0, 3]]
    assert seqs.padded(4).dtype == np.int32


def test_select_and_helpers():
    seqs = build_sequences(small_log(), ItemVocabulary(["a", "b", "c"]))
    sub = seqs.select(np.array([False, True, True]))
    assert sub.users.tolist() == ["u2", "u3"] and sub.offsets.tolist() == [0, 3, 4]
    assert sub.items.tolist() == [4, 2, 2, 3]
    assert ranges(np.array([5, 0]), np.array([2, 3])).tolist() == [5, 6, 0, 1, 2]
    items = np.array([7, 8, 9], dtype=np.int32)
    assert gather_windows(items, np.array([3, 1]), np.array([1, 0]), 3).tolist() == [
        [0, 8, 9],
        [0, 0, 7],
    ]


def test_invalid_sequences_rejected():
    with pytest.raises(ValueError, match="offsets must start at 0"):
        Sequences(
            users=np.array(["u"], dtype=object),
            offsets=np.array([0, 3]),
            items=np.array([2, 3], dtype=np.int32),
            rewards=np.ones(2, np.float32),
            propensities=np.ones(2, np.float32),
            timestamps=np.arange(2),
        )
    with pytest.raises(TypeError, match="InteractionLog"):
        build_sequences(pd.DataFrame(), ItemVocabulary(["a"]))
    with pytest.raises(ValueError, match="max_len must be >= 1"):
        build_sequences(small_log(), ItemVocabulary(["a"])).padded(0)


def test_item_counts_counts_each_index_and_names_a_too_small_vocabulary():
    seqs = build_sequences(small_log(), ItemVocabulary(["a", "b", "c"]))
    # items [3, 1, 2, 4, 2, 2, 3]: OOV (1) once, a (2) three times, b (3) twice, c (4) once.
    counts = seqs.item_counts(5)
    assert counts.tolist() == [0.0, 1.0, 3.0, 2.0, 1.0] and counts.dtype == np.float64
    assert seqs.item_counts(7).tolist() == [0.0, 1.0, 3.0, 2.0, 1.0, 0.0, 0.0]
    with pytest.raises(ValueError, match="item index 4 but vocab_size=4"):
        seqs.item_counts(4)
