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


@pytest.mark.parametrize("num_shards", [1, 3])
@pytest.mark.parametrize("dtype, atol", [("float32", 1e-6), ("float16", 2e-3), ("int8", 2e-2)])
def test_scores_match_float_reference(dtype: str, atol: float, num_shards: int) -> None:
    rng = np.random.default_rng(0)
    table = rng.normal(size=(9, 4)).astype(np.float32)  # 2 reserved rows + 7 items
    bias = np.arange(9, dtype=np.float32) / 10
    states = rng.normal(size=(2, 4)).astype(np.float32)
    module = ItemTable(table, bias=bias, dtype=dtype, num_shards=num_shards)
    assert module.num_shards == num_shards and sum(module.sizes) == 7
    assert module.offsets[0] == 2  # the reserved rows are neither stored nor scored
    scores = module.scores(states).numpy()
    assert scores.shape == (2, 7) and scores.dtype == np.float32
    np.testing.assert_allclose(scores, states @ table[2:].T + bias[2:], atol=atol * 10)
    np.testing.assert_allclose(module.dequantized(), table[2:], atol=atol * 2)


def test_shards_split_the_items_contiguously() -> None:
    module = ItemTable(np.zeros((12, 2), np.float32), num_shards=3)  # 10 items
    assert module.offsets == [2, 5, 8] and module.sizes == [3, 3, 4]
    # More shards than items: one item per shard.
    assert ItemTable(np.zeros((4, 2), np.float32), num_shards=5).sizes == [1, 1]


def test_default_is_one_shard() -> None:
    assert ItemTable(np.zeros((12, 2), np.float32)).num_shards == 1


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"dtype": "bfloat16"}, "item_table_dtype"),
        ({"num_shards": 0}, "num_shards"),
        ({"num_shards": 1.5}, "num_shards"),
        ({"bias": np.zeros(4, np.float32)}, r"bias must have shape \(5,\)"),
    ],
)
def test_bad_arguments_are_rejected(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        ItemTable(np.zeros((5, 2), np.float32), **kwargs)


def test_a_table_without_real_items_is_rejected() -> None:
    with pytest.raises(ValueError, match="no real item"):
        ItemTable(np.zeros((2, 3), np.float32))


def test_float32_shards_are_separate_variables() -> None:
    # The encoder gathers rows of its own table; a gathered resource variable is copied on every
    # dense read, so the scoring table must be other variables.
    import tensorflow as tf

    source = tf.Variable(np.arange(15, dtype=np.float32).reshape(5, 3))
    module = ItemTable(source, dtype="float32", num_shards=2)
    assert all(table is not source and not table.trainable for table in module.tables)
    np.testing.assert_array_equal(
        np.concatenate([t.numpy() for t in module.tables]), source.numpy()[2:]
    )
