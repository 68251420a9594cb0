"""Attention rollout (hand-computed) and explanations of a tiny encoder."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from tfrec.data import ItemVocabulary
from tfrec.encoders import SequenceEncoder
from tfrec.explain import attention_rollout, explain_history


def test_rollout_of_one_block_mixes_attention_with_the_residual():
    # Two heads over 2 positions, causal: position 0 attends only to itself.
    attention = np.array([[[[1.0, 0.0], [0.2, 0.8]], [[1.0, 0.0], [0.6, 0.4]]]])  # [1, 2, 2, 2]
    # mean over heads: [[1, 0], [0.4, 0.6]]; 0.5 A + 0.5 I: [[1, 0], [0.2, 0.8]] (rows sum to 1).
    np.testing.assert_allclose(attention_rollout([attention])[0], [[1.0, 0.0], [0.2, 0.8]])


def test_rollout_multiplies_blocks_later_block_on_the_left():
    a1 = np.array([[[[1.0, 0.0], [1.0, 0.0]]]])  # block 1: position 1 reads position 0 only
    a2 = np.array([[[[1.0, 0.0], [0.0, 1.0]]]])  # block 2: identity
    # Â1 = [[1, 0], [0.5, 0.5]], Â2 = I  ->  R = Â2 · Â1 = Â1.
    np.testing.assert_allclose(attention_rollout([a1, a2])[0], [[1.0, 0.0], [0.5, 0.5]])
    # Order matters: Â1 · Â1 = [[1, 0], [0.75, 0.25]].
    np.testing.assert_allclose(attention_rollout([a1, a1])[0], [[1.0, 0.0], [0.75, 0.25]])


def test_rollout_rejects_bad_shapes():
    with pytest.raises(ValueError, match="at least one block"):
        attention_rollout([])
    with pytest.raises(ValueError, match="batch, heads, L, L"):
        attention_rollout([np.ones((2, 2))])
    with pytest.raises(ValueError, match="block 1"):
        attention_rollout([np.ones((1, 1, 2, 2)) / 2, np.ones((1, 1, 3, 3)) / 3])


@pytest.fixture(scope="module")
def encoder():
    tf.keras.utils.set_random_seed(0)
    model = SequenceEncoder(vocab_size=8, max_len=4, dim=8, num_layers=2, num_heads=2, dropout=0.0)
    model(tf.zeros([1, 4], tf.int32))
    return model


def test_explanation_weights_and_items(encoder):
    vocab = ItemVocabulary(np.array([f"i{j}" for j in range(6)]))
    explanation = explain_history(encoder, [0, 0, 3, 5, 2, 7], k=3, vocabulary=vocab)
    np.testing.assert_array_equal(explanation.history, [3, 5, 2, 7])  # padding dropped
    assert explanation.history_ids == ["i1", "i3", "i0", "i5"]
    assert explanation.history_weights.shape == (4,)
    assert explanation.history_weights.sum() == pytest.approx(1.0)
    assert (explanation.history_weights >= 0).all()
    np.testing.assert_allclose(explanation.attention[-1], explanation.history_weights)
    scores = encoder.score_items(tf.constant([[3, 5, 2, 7]])).numpy()[0]
    np.testing.assert_array_equal(explanation.items, np.argsort(-scores)[:3])
    np.testing.assert_allclose(explanation.scores, np.sort(scores)[::-1][:3], rtol=1e-6)
    assert explanation.item_ids == list(vocab.to_ids(explanation.items))
    assert (
        explanation.top_reasons(1)[0][0]
        == explanation.history_ids[int(np.argmax(explanation.history_weights))]
    )
    text = explanation.format({"i5": "Five"})
    assert "i5  Five" in text and "last" in text
    data = explanation.to_dict()
    assert len(data["recommendations"]) == 3 and len(data["history"]) == 4


def test_explanation_keeps_the_last_max_len_items_and_excludes_history(encoder):
    explanation = explain_history(encoder, [2, 3, 4, 5, 6], k=3, exclude_history=True)
    np.testing.assert_array_equal(explanation.history, [3, 4, 5, 6])
    assert set(explanation.items) <= {2, 7}  # history items and reserved indices are excluded
    assert len(explanation.items) == 2
    last = explain_history(encoder, [2, 3], k=1, method="last")
    attention = encoder.attention_weights(tf.constant([[2, 3]]))[-1].numpy()
    np.testing.assert_allclose(last.history_weights, attention[0].mean(0)[-1], rtol=1e-6)


def test_explanation_errors(encoder):
    with pytest.raises(ValueError, match="method"):
        explain_history(encoder, [2], method="gradients")
    with pytest.raises(ValueError, match="only padding"):
        explain_history(encoder, [0, 0])
    with pytest.raises(ValueError, match="outside the catalog"):
        explain_history(encoder, [2, 99])
    with pytest.raises(ValueError, match="k=7"):
        explain_history(encoder, [2], k=7)
