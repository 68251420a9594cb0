"""Hand-computed tests of the popularity, random and item co-occurrence baselines."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from tfrec.data import Sequences
from tfrec.evaluation.baselines import ItemCooccurrence, MostPopular, RandomScorer

MIN = np.finfo(np.float32).min


def _seqs(rows: list[list[int]]) -> Sequences:
    items = np.array([i for row in rows for i in row], np.int32)
    n = len(items)
    return Sequences(
        users=np.array([f"u{i}" for i in range(len(rows))], dtype=object),
        offsets=np.concatenate([[0], np.cumsum([len(r) for r in rows])]).astype(np.int64),
        items=items,
        rewards=np.ones(n, np.float32),
        propensities=np.full(n, np.nan, np.float32),
        timestamps=np.arange(n, dtype=np.int64),
    )


def test_most_popular_counts_training_items() -> None:
    scorer = MostPopular.from_sequences(_seqs([[2, 3, 3], [3, 4]]), vocab_size=6)
    scores = scorer(tf.zeros([2, 4], tf.int32)).numpy()
    np.testing.assert_allclose(scores, [[MIN, MIN, 1, 3, 1, 0]] * 2)
    with pytest.raises(ValueError, match="vocab_size=4"):
        MostPopular.from_sequences(_seqs([[2, 5]]), vocab_size=4)


def test_most_popular_as_policy_shows_the_scorers_chart_without_the_history() -> None:
    from tf_agents.trajectories import time_step as ts

    from tfrec import specs

    # Counts: index 2 -> 1, 3 -> 3, 4 -> 1, 5 -> 0 (ties by index).
    scorer = MostPopular.from_sequences(_seqs([[2, 3, 3], [3, 4]]), vocab_size=6)
    policy = scorer.as_policy(specs.time_step_spec(3, 6), specs.slate_action_spec(2, 6))
    history = np.array([[0, 0, 0], [0, 2, 3]], np.int32)
    action = policy.action(ts.restart(history, batch_size=2)).action
    np.testing.assert_array_equal(action, [[3, 2], [4, 5]])


def test_random_scorer_is_seeded_and_masks_reserved() -> None:
    first = RandomScorer(8, seed=3)(tf.zeros([2, 3], tf.int32)).numpy()
    second = RandomScorer(8, seed=3)(tf.zeros([2, 3], tf.int32)).numpy()
    np.testing.assert_array_equal(first, second)
    assert (first[:, :2] == MIN).all() and ((first[:, 2:] >= 0) & (first[:, 2:] < 1)).all()


def test_item_cooccurrence_hand_computed() -> None:
    # Pairs within window 1: (2,3) twice (user 0 and user 1), (3,4) once.
    # Counts n2 = 2, n3 = 2, n4 = 1 -> sim(2,3) = 2/sqrt(4) = 1, sim(3,4) = 1/sqrt(2).
    scorer = ItemCooccurrence.from_sequences(
        _seqs([[2, 3], [2, 3, 4]]), vocab_size=6, window=1, decay=0.5
    )
    sim = scorer.similarity.numpy()
    np.testing.assert_allclose(sim[2, 3], 1.0)
    np.testing.assert_allclose(sim[3, 4], 1 / np.sqrt(2), rtol=1e-6)
    np.testing.assert_allclose(sim[2, 4], 0.0)
    # History [0, 2, 3]: weights 0.5 for item 2 and 1 for item 3 (most recent).
    scores = scorer(tf.constant([[0, 2, 3]])).numpy()[0]
    np.testing.assert_allclose(scores[2:], [1.0, 0.5, 1 / np.sqrt(2), 0.0], rtol=1e-6)
    assert scores[0] == scores[1] == MIN


def test_item_cooccurrence_keeps_top_neighbors_and_validates() -> None:
    scorer = ItemCooccurrence.from_sequences(
        _seqs([[2, 3], [2, 3], [2, 4]]), vocab_size=5, window=1, num_neighbors=1
    )
    sim = scorer.similarity.numpy()
    assert sim[2, 3] > 0 and sim[2, 4] == 0.0  # item 2 keeps its single best neighbour
    with pytest.raises(ValueError, match="decay"):
        ItemCooccurrence(np.zeros((4, 4)), decay=0.0)
    with pytest.raises(ValueError, match="window"):
        ItemCooccurrence.from_sequences(_seqs([[2, 3]]), vocab_size=5, window=0)
