"""history_indicator: which real items occur in each history row."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from tfrec.layers import history_indicator


def test_duplicates_padding_and_oov_hand_computed():
    ids = tf.constant([[0, 0, 3, 3, 5], [1, 2, 1, 6, 2], [0, 0, 0, 0, 0]])
    expected = np.array(
        [
            # 0  1  2  3  4  5  6
            [0, 0, 0, 1, 0, 1, 0],  # 3 twice counts once; padding never
            [0, 0, 1, 0, 0, 0, 1],  # OOV (1) never
            [0, 0, 0, 0, 0, 0, 0],  # all padding
        ],
        np.float32,
    )
    np.testing.assert_array_equal(history_indicator(ids, 7).numpy(), expected)


def test_out_of_range_indices_are_ignored_and_int64_accepted():
    ids = tf.constant([[9, 4]], tf.int64)
    np.testing.assert_array_equal(history_indicator(ids, 5).numpy(), [[0, 0, 0, 0, 1]])


def test_works_inside_tf_function_with_unknown_batch():
    fn = tf.function(
        lambda ids: history_indicator(ids, 4),
        input_signature=[tf.TensorSpec([None, None], tf.int32)],
    )
    np.testing.assert_array_equal(fn(tf.constant([[2], [3]])).numpy(), [[0, 0, 1, 0], [0, 0, 0, 1]])


def test_bad_input_raises_clear_errors():
    with pytest.raises(TypeError, match="integer"):
        history_indicator(tf.constant([[2.0]]), 4)
    with pytest.raises(ValueError, match=r"\[batch, seq_len\]"):
        history_indicator(tf.constant([2, 3]), 4)
    with pytest.raises(ValueError, match="no real item"):
        history_indicator(tf.constant([[0]]), 2)
