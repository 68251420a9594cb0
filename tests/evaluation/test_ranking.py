"""Hand-computed tests of full-catalog ranking metrics (tfrec.evaluation.ranking)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import tensorflow as tf

from tfrec.evaluation.ranking import evaluate_ranking, metrics_at_k, target_ranks, top_k_items

# vocab_size 6: indices 0 (pad) and 1 (OOV) are never ranked; real items 2..5.
SCORES = np.array(
    [
        [9.0, 9.0, 0.1, 0.5, 0.3, 0.2],  # order 3 > 4 > 5 > 2; reserved scores are ignored
        [0.0, 0.0, 0.7, 0.7, 0.7, 0.1],  # three-way tie 2 = 3 = 4
    ],
    np.float32,
)


def test_ranks_ignore_reserved_indices() -> None:
    ranks = target_ranks(SCORES[:1], np.array([4])).numpy()
    np.testing.assert_array_equal(ranks, [1])  # only item 3 scores higher; 0/1 ignored


def test_tie_policies() -> None:
    targets = np.array([2, 3])
    np.testing.assert_array_equal(target_ranks(SCORES, targets).numpy(), [3, 2])
    np.testing.assert_array_equal(target_ranks(SCORES, targets, ties="optimistic").numpy(), [3, 0])
    with pytest.raises(ValueError, match="ties must be one of"):
        target_ranks(SCORES, targets, ties="average")


def test_excluded_items_and_excluded_target() -> None:
    exclude = np.array([[3, 0], [4, 3]])  # 0 entries are padding
    ranks = target_ranks(SCORES, np.array([5, 3]), exclude=exclude).numpy()
    # Row 0: item 3 removed -> 4 > 5: rank 1. Row 1: target 3 excluded -> miss (rank = V = 6).
    np.testing.assert_array_equal(ranks, [1, 6])


def test_metrics_at_k_hand_computed() -> None:
    values = {name: v.numpy() for name, v in metrics_at_k(tf.constant([0, 1, 2, 6]), 2).items()}
    np.testing.assert_allclose(values["hr"], [1, 1, 0, 0])
    np.testing.assert_allclose(values["ndcg"], [1, 1 / math.log2(3), 0, 0], rtol=1e-6)
    np.testing.assert_allclose(values["mrr"], [1, 0.5, 0, 0])


def test_top_k_larger_than_catalog_marks_missing_with_minus_one() -> None:
    items = top_k_items(SCORES[:1], 10, exclude=np.array([[3]])).numpy()
    assert items.shape == (1, 6)
    np.testing.assert_array_equal(items[0, :3], [4, 5, 2])
    np.testing.assert_array_equal(items[0, 3:], [-1, -1, -1])


def test_evaluate_ranking_hand_computed_and_batched() -> None:
    def scorer(histories: tf.Tensor) -> tf.Tensor:
        # Row-independent scores chosen by the first history item (0 or 1 selects a SCORES row).
        return tf.gather(SCORES, histories[:, 0])

    histories = np.array([[0, 2], [1, 5], [0, 4]])
    targets = np.array([4, 3, 2])
    # Ranks: row 0 -> 1; row 1 (pessimistic 3-way tie) -> 2; row 2 -> 3.
    result = evaluate_ranking(scorer, histories, targets, ks=(1, 3, 50), batch_size=2)
    assert result["num_examples"] == 3
    np.testing.assert_allclose(result["hr@1"], 0.0)
    np.testing.assert_allclose(result["hr@3"], 2 / 3)
    np.testing.assert_allclose(result["ndcg@3"], (1 / math.log2(3) + 1 / math.log2(4)) / 3)
    np.testing.assert_allclose(result["mrr@3"], (1 / 2 + 1 / 3) / 3)
    np.testing.assert_allclose(result["hr@50"], 1.0)  # K larger than the catalog
    # Top-1 lists: item 3 (rows 0, 2) and item 2 (row 1, first of the tie) -> 2 of 4 items.
    np.testing.assert_allclose(result["coverage@1"], 0.5)
    np.testing.assert_allclose(result["coverage@50"], 1.0)
    masked = evaluate_ranking(scorer, histories, targets, ks=(3,), exclude_history=True)
    # Row 0 excludes item 2 (not competing): rank 1. Row 1 excludes item 5 (below the tie): rank 2.
    # Row 2 excludes item 4 -> candidates 3 > 5 > 2: target 2 moves from rank 3 to rank 2.
    np.testing.assert_allclose(masked["hr@3"], 1.0)
    np.testing.assert_allclose(masked["mrr@3"], (1 / 2 + 1 / 3 + 1 / 3) / 3)
    extra = evaluate_ranking(scorer, histories, targets, ks=(3,), exclude=np.array([[4], [0], [0]]))
    np.testing.assert_allclose(extra["hr@3"], 1 / 3)  # row 0's target 4 excluded -> miss


def test_evaluate_ranking_rejects_bad_input() -> None:
    def scorer(histories: tf.Tensor) -> tf.Tensor:
        return tf.zeros([tf.shape(histories)[0], 6])

    with pytest.raises(ValueError, match="padding index 0"):
        evaluate_ranking(scorer, np.zeros((2, 3)), np.array([2, 0]))
    with pytest.raises(ValueError, match=r"\[2, 5\]"):
        evaluate_ranking(scorer, np.zeros((2, 3)), np.array([2, 6]))
    with pytest.raises(ValueError, match="one per history"):
        evaluate_ranking(scorer, np.zeros((2, 3)), np.array([2, 3, 4]))
    with pytest.raises(ValueError, match=r"\[batch, vocab_size\]"):
        evaluate_ranking(lambda h: tf.zeros([6]), np.zeros((2, 3)), np.array([2, 3]))


def test_trim_padding_gives_the_same_metrics_for_a_padding_blind_scorer() -> None:
    # A bag-of-items scorer ignores leading padding: trimming each batch must not change anything.
    rng = np.random.default_rng(0)
    vocab_size = 12
    table = rng.normal(size=(vocab_size, vocab_size))
    table[0] = 0.0  # the padding row adds nothing
    item_scores = tf.constant(table, tf.float32)

    def scorer(histories: tf.Tensor) -> tf.Tensor:
        return tf.reduce_sum(tf.gather(item_scores, histories), axis=1)

    lengths = rng.integers(1, 7, size=40)
    histories = np.zeros((40, 8), np.int64)
    for row, length in enumerate(lengths):
        histories[row, 8 - length :] = rng.integers(2, vocab_size, size=length)
    targets = rng.integers(2, vocab_size, size=40)
    full = evaluate_ranking(scorer, histories, targets, ks=(1, 5), batch_size=7)
    trimmed = evaluate_ranking(
        scorer, histories, targets, ks=(1, 5), batch_size=7, trim_padding=True
    )
    assert full == pytest.approx(trimmed)
    no_coverage = evaluate_ranking(
        scorer, histories, targets, ks=(5,), coverage=False, trim_padding=True
    )
    assert "coverage@5" not in no_coverage and no_coverage["ndcg@5"] == pytest.approx(
        full["ndcg@5"]
    )
