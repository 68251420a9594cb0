"""Workflow steps: training rows, model folders, greedy encoder policy, ranking table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf
from tf_agents.trajectories import time_step as ts

from tfrec.data import InteractionLog, ItemVocabulary, build_sequences, leave_last_out
from tfrec.encoders import SequenceEncoder
from tfrec.evaluation.baselines import MostPopular
from tfrec.training.supervised_log import training_rows
from tfrec.workflow import (
    greedy_policy,
    load_model_dir,
    ranking_table,
    save_model_dir,
)


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


@pytest.fixture(scope="module")
def encoder():
    tf.keras.utils.set_random_seed(1)
    model = SequenceEncoder(vocab_size=7, max_len=3, dim=8, num_layers=1, num_heads=2, dropout=0.0)
    model(tf.zeros([1, 3], tf.int32))
    return model


def test_model_folder_round_trip_and_errors(encoder, tmp_path):
    vocab = ItemVocabulary(np.array(["a", "b", "c", "d", "e"]))
    folder = save_model_dir(tmp_path / "m", encoder, vocab, {"algo": "test"})
    loaded, loaded_vocab, info = load_model_dir(folder)
    ids = tf.constant([[0, 2, 5]])
    np.testing.assert_allclose(loaded.score_items(ids), encoder.score_items(ids), rtol=1e-6)
    assert list(loaded_vocab.ids) == list(vocab.ids) and info == {"algo": "test"}
    with pytest.raises(FileNotFoundError, match="not a tfrec model folder"):
        load_model_dir(tmp_path)


def test_greedy_policy_returns_the_encoders_top_k(encoder):
    policy = greedy_policy(encoder, k=2)
    history = tf.constant([[0, 3, 4]], tf.int32)
    step = ts.restart(history, batch_size=1)
    action = policy.action(step).action.numpy()[0]
    scores = encoder.score_items(history).numpy()[0]
    np.testing.assert_array_equal(action, np.argsort(-scores)[:2])


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
