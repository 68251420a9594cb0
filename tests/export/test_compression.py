"""Item-table storage: int8 per-row quantisation and the scores of each serving dtype."""

from __future__ import annotations

import numpy as np
import pytest

from tfrec.export.compression import ItemTable, quantize_int8


def test_quantize_int8_hand_computed() -> None:
    table = np.array([[1.27, -0.635, 0.0], [0.0, 0.0, 0.0], [-2.54, 1.0, 2.54]], np.float32)
    q, scales = quantize_int8(table)
    np.testing.assert_allclose(scales, [0.01, 0.0, 0.02], rtol=1e-6)
    # 1.27/0.01 = 127, -0.635/0.01 = -63.5 -> -64 (round half to even), 1.0/0.02 = 50.
    np.testing.assert_array_equal(q, [[127, -64, 0], [0, 0, 0], [-127, 50, 127]])
    assert q.dtype == np.int8 and scales.dtype == np.float32


def test_quantize_rejects_non_matrix() -> None:
    with pytest.raises(ValueError, match="2-D"):
        quantize_int8(np.zeros(3))


@pytest.mark.parametrize("dtype, atol", [("float32", 1e-6), ("float16", 2e-3), ("int8", 2e-2)])
def test_scores_match_float_reference(dtype: str, atol: float) -> None:
    rng = np.random.default_rng(0)
    table = rng.normal(size=(7, 4)).astype(np.float32)
    bias = np.arange(7, dtype=np.float32) / 10
    states = rng.normal(size=(2, 4)).astype(np.float32)
    module = ItemTable(table, bias=bias, dtype=dtype)
    scores = module.scores(states).numpy()
    assert scores.shape == (2, 7) and scores.dtype == np.float32
    np.testing.assert_allclose(scores, states @ table.T + bias, atol=atol * 10)
    np.testing.assert_allclose(module.dequantized(), table, atol=atol * 2)


def test_unknown_dtype_is_rejected() -> None:
    with pytest.raises(ValueError, match="item_table_dtype"):
        ItemTable(np.zeros((3, 2), np.float32), dtype="bfloat16")


def test_float32_table_is_a_separate_variable() -> None:
    # The encoder gathers rows of its own table; a gathered resource variable is copied on every
    # dense read, so the scoring table must be another variable.
    import tensorflow as tf

    source = tf.Variable(np.ones((5, 3), np.float32))
    module = ItemTable(source, dtype="float32")
    assert module.table is not source and not module.table.trainable
    np.testing.assert_array_equal(module.table.numpy(), source.numpy())
