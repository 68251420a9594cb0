"""Sharded top-k: identical to the unsharded top-k, with the history bias and exclusion."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from tfrec.export.compression import ItemTable
from tfrec.export.retrieval import history_pairs, sharded_top_k

MIN = np.finfo(np.float32).min


def _table(rows: list[list[float]]) -> np.ndarray:
    """A table with the 2 reserved rows, then item ``i`` (index ``i + 2``) = ``rows[i]``."""
    return np.concatenate([np.zeros((2, len(rows[0])), np.float32), np.float32(rows)])


def test_history_pairs_are_unique_and_skip_reserved_and_out_of_range() -> None:
    history = tf.constant([[0, 3, 5, 3, 1], [4, 4, 0, 0, 9]], tf.int32)
    pairs = history_pairs(history, vocab_size=8).numpy()
    np.testing.assert_array_equal(pairs, [[0, 3], [0, 5], [1, 4]])


@pytest.mark.parametrize("num_shards", [1, 2, 3, 6])
def test_sharded_top_k_equals_the_full_top_k_including_ties(num_shards: int) -> None:
    # 1-D embeddings and state [1.0]: item scores are the embeddings themselves.
    # Scores by item index 2..7: [0.5, 0.9, 0.5, 0.9, 0.1, 0.5]; ties go to the lower index.
    table = ItemTable(_table([[0.5], [0.9], [0.5], [0.9], [0.1], [0.5]]), num_shards=num_shards)
    indices, scores = sharded_top_k(table, tf.constant([[1.0]]), k=4)
    np.testing.assert_array_equal(indices.numpy(), [[3, 5, 2, 4]])
    np.testing.assert_allclose(scores.numpy(), [[0.9, 0.9, 0.5, 0.5]])


@pytest.mark.parametrize("num_shards", [1, 4])
def test_random_catalog_matches_numpy(num_shards: int) -> None:
    rng = np.random.default_rng(1)
    rows = rng.normal(size=(50, 8)).astype(np.float32)
    states = rng.normal(size=(3, 8)).astype(np.float32)
    table = ItemTable(np.concatenate([np.zeros((2, 8), np.float32), rows]), num_shards=num_shards)
    indices, scores = sharded_top_k(table, tf.constant(states), k=7)
    full = states @ rows.T
    expected = np.argsort(-full, axis=1, kind="stable")[:, :7]
    np.testing.assert_array_equal(indices.numpy(), expected + 2)
    np.testing.assert_allclose(scores.numpy(), np.take_along_axis(full, expected, 1), rtol=1e-5)


@pytest.mark.parametrize("num_shards", [1, 2])
def test_history_bias_is_added_once_per_history_item(num_shards: int) -> None:
    # Scores 2..5: [4, 3, 2, 1]; row 0's history {3, 5} (3 twice) gets -2.5 each: [4, 0.5, 2, -1.5].
    table = ItemTable(_table([[4.0], [3.0], [2.0], [1.0]]), num_shards=num_shards)
    history = tf.constant([[3, 0, 5, 3], [0, 0, 0, 1]], tf.int32)
    indices, scores = sharded_top_k(
        table, tf.constant([[1.0], [1.0]]), k=4, history=history, history_bias=tf.constant(-2.5)
    )
    np.testing.assert_array_equal(indices.numpy(), [[2, 4, 3, 5], [2, 3, 4, 5]])
    np.testing.assert_allclose(scores.numpy(), [[4.0, 2.0, 0.5, -1.5], [4.0, 3.0, 2.0, 1.0]])


@pytest.mark.parametrize("num_shards", [1, 2])
def test_excluded_history_items_come_last_with_the_minimum_score(num_shards: int) -> None:
    table = ItemTable(_table([[4.0], [3.0], [2.0]]), num_shards=num_shards)
    history = tf.constant([[2, 4]], tf.int32)
    indices, scores = sharded_top_k(
        table,
        tf.constant([[1.0]]),
        k=3,
        history=history,
        history_bias=tf.constant(10.0),
        exclude_history=True,
    )
    np.testing.assert_array_equal(indices.numpy()[0, 0], 3)
    np.testing.assert_allclose(scores.numpy(), [[3.0, MIN, MIN]])


def test_bad_k_and_missing_history_are_rejected() -> None:
    table = ItemTable(_table([[1.0], [2.0]]))
    with pytest.raises(ValueError, match="k=3 must be between 1 and the number of items"):
        sharded_top_k(table, tf.constant([[1.0]]), k=3)
    with pytest.raises(ValueError, match="need the request's history"):
        sharded_top_k(table, tf.constant([[1.0]]), k=1, exclude_history=True)
