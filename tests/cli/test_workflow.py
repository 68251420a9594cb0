"""Workflow steps: the training rows of a log.

(The model-folder, greedy-encoder-policy and ranking-table tests moved with their code to
``tests/export/test_model_dir.py``, ``tests/policies/test_topk.py`` and
``tests/evaluation/test_compare.py``.)
"""

from __future__ import annotations

import pandas as pd
import pytest

from tfrec.data import InteractionLog, ItemVocabulary, build_sequences, leave_last_out
from tfrec.training.supervised_log import training_rows


@pytest.fixture(scope="module")
def log():
    # user a: 4 items, user b: 2 items (too short for held-out items), user c: 3 items.
    rows = [("a", "x", 1), ("a", "y", 2), ("a", "z", 3), ("a", "x", 4)]
    rows += [("b", "y", 1), ("b", "z", 2), ("c", "z", 1), ("c", "y", 2), ("c", "x", 3)]
    return InteractionLog.from_dataframe(pd.DataFrame(rows, columns=["user", "item", "timestamp"]))


def test_training_rows_drop_the_two_held_out_items(log):
    train = training_rows(log)
    assert list(zip(train.df["user"], train.df["item"])) == [
        ("a", "x"), ("a", "y"), ("b", "y"), ("b", "z"), ("c", "z")
    ]  # fmt: skip
    vocab = ItemVocabulary.from_items(log.df["item"])
    expected, _, _ = leave_last_out(build_sequences(log, vocab))
    assert train.num_interactions == expected.num_interactions
    counts = expected.item_counts(vocab.size)
    assert counts.tolist() == [0, 0] + [
        float((train.df["item"] == item).sum()) for item in vocab.ids
    ]
