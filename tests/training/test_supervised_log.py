"""Supervised training from a log (``tfrec.training.supervised_log``): the training rows."""

from __future__ import annotations

import pytest

from tfrec.data import ItemVocabulary, build_sequences, leave_last_out
from tfrec.training.supervised_log import training_rows


@pytest.fixture(scope="module")
def log(three_user_log):
    return three_user_log


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
