"""compact_history: raw request rows -> left-padded window of the most recent valid items."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from tfrec.export.request_history import compact_history


def _compact(rows: list[list[int]], max_len: int) -> np.ndarray:
    indices = np.array(rows, np.int32).reshape(len(rows), -1)
    return compact_history(indices, indices >= 2, max_len).numpy()


def test_drops_invalid_and_right_aligns_in_order() -> None:
    # 0 = padding, 1 = OOV and -1 (unknown) are dropped; order of valid items is kept.
    out = _compact([[5, 0, 7, -1, 9], [0, 1, 0, 0, 0], [0, 0, 0, 3, 4]], max_len=4)
    np.testing.assert_array_equal(out, [[0, 5, 7, 9], [0, 0, 0, 0], [0, 0, 3, 4]])


def test_keeps_most_recent_when_longer_than_window() -> None:
    out = _compact([[3, 4, 0, 5, 6, 7], [2, 2, 3, 2, 0, 0]], max_len=3)
    # Duplicates are kept as separate events; the last three valid items survive.
    np.testing.assert_array_equal(out, [[5, 6, 7], [2, 3, 2]])


def test_pads_short_and_empty_requests() -> None:
    np.testing.assert_array_equal(_compact([[8]], max_len=3), [[0, 0, 8]])
    empty = compact_history(tf.zeros([2, 0], tf.int32), tf.zeros([2, 0], tf.bool), 3)
    np.testing.assert_array_equal(empty.numpy(), np.zeros((2, 3), np.int32))


def test_static_shape_inside_a_traced_function() -> None:
    spec = [tf.TensorSpec([None, None], tf.int32), tf.TensorSpec([None, None], tf.bool)]
    fn = tf.function(lambda i, v: compact_history(i, v, 4), input_signature=spec)
    assert fn.get_concrete_function().structured_outputs.shape.as_list() == [None, 4]
    rows = np.arange(10, dtype=np.int32)[None]
    np.testing.assert_array_equal(fn(rows, rows >= 2).numpy(), [[6, 7, 8, 9]])
