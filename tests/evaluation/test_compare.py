"""Comparison tables (tfrec.evaluation.compare): the ranking table of several scorers."""

from __future__ import annotations

import pytest

from tfrec.data import ItemVocabulary, build_sequences, leave_last_out
from tfrec.evaluation import MostPopular, ranking_table


@pytest.fixture(scope="module")
def log(three_user_log):
    return three_user_log


def test_ranking_table_rows(log):
    vocab = ItemVocabulary.from_items(log.df["item"])  # all counts tie: x=2, y=3, z=4
    train, _, test = leave_last_out(build_sequences(log, vocab))
    # Train counts x 1, y 2, z 2; both test users (a, c) have target x, ranked after y and z.
    table = ranking_table({"pop": MostPopular.from_sequences(train, vocab.size)}, test, 3, (1, 3))
    row = table.iloc[0]
    assert row["model"] == "pop" and len(table) == 1
    assert row["hr@1"] == 0.0 and row["hr@3"] == 1.0
    assert row["ndcg@3"] == pytest.approx(0.5) and row["mrr@3"] == pytest.approx(1 / 3)
    assert row["coverage@1"] == pytest.approx(1 / 3) and row["coverage@3"] == 1.0
