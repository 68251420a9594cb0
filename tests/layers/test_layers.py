"""Tests of tfrec.layers: hand-computed embeddings/logits, position alignment, causal attention."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from tfrec.layers import (
    ItemEmbedding,
    PositionEmbedding,
    TransformerBlock,
    causal_padding_mask,
    mask_reserved_logits,
)


def test_item_embedding_lookup_and_tied_logits() -> None:
    table = np.array([[0.0, 0.0], [9.0, 9.0], [1.0, 0.0], [0.0, 2.0]], np.float32)
    layer = ItemEmbedding(4, 2, embeddings_initializer=tf.keras.initializers.Constant(table))
    np.testing.assert_allclose(layer(np.array([[3, 2]])).numpy(), [[[0.0, 2.0], [1.0, 0.0]]])
    logits = layer.logits(np.array([[1.0, 3.0]], np.float32)).numpy()
    minimum = np.finfo(np.float32).min
    # states @ table^T = [0, 36, 1, 6]; indices 0 (padding) and 1 (OOV) masked with dtype.min.
    np.testing.assert_allclose(logits, [[minimum, minimum, 1.0, 6.0]])
    raw = layer.logits(np.array([[1.0, 3.0]], np.float32), mask_reserved=False).numpy()
    np.testing.assert_allclose(raw, [[0.0, 36.0, 1.0, 6.0]])


def test_item_embedding_reads_the_table_densely_once_per_call() -> None:
    """Lookups gather from one dense read of the table, never from the variable (a sparse
    ``ResourceGather`` would put it in copy-on-read mode: every later full read would copy it);
    outputs are unchanged (hand-computed)."""
    table = np.array([[0.0, 0.0], [9.0, 9.0], [1.0, 0.0], [0.0, 2.0]], np.float32)
    layer = ItemEmbedding(4, 2, embeddings_initializer=tf.keras.initializers.Constant(table))
    layer.build(None)
    ids = tf.TensorSpec([None, 2], tf.int32)
    states = tf.TensorSpec([None, 2], tf.float32)
    both = tf.function(lambda i, s: (layer(i), layer.logits(s, mask_reserved=False)))
    graph = both.get_concrete_function(ids, states).graph
    op_types = [op.type for op in graph.get_operations()]
    assert "ResourceGather" not in op_types
    assert op_types.count("ReadVariableOp") == 2  # one dense read per call, no more
    lookup, logits = both(tf.constant([[3, 2]]), tf.constant([[1.0, 3.0]]))
    np.testing.assert_allclose(lookup.numpy(), [[[0.0, 2.0], [1.0, 0.0]]])
    np.testing.assert_allclose(logits.numpy(), [[0.0, 36.0, 1.0, 6.0]])


def test_item_embedding_output_bias_and_bad_args() -> None:
    layer = ItemEmbedding(3, 2, use_output_bias=True)
    layer.build(None)
    layer.output_bias.assign([0.0, 0.0, 5.0])
    layer.embeddings.assign(np.ones((3, 2), np.float32))
    np.testing.assert_allclose(layer.logits(np.array([[1.0, 1.0]], np.float32))[0, 2], 7.0)
    with pytest.raises(ValueError, match="last dimension 2"):
        layer.logits(np.ones((1, 3), np.float32))
    with pytest.raises(ValueError, match="no real item"):
        ItemEmbedding(2, 4)


def test_mask_reserved_logits_is_finite() -> None:
    masked = mask_reserved_logits(tf.constant([[1.0, 2.0, 3.0]])).numpy()
    assert np.isfinite(masked).all()
    np.testing.assert_allclose(masked[0, 2], 3.0)
    assert masked[0, 0] == masked[0, 1] == np.finfo(np.float32).min


def test_position_embedding_aligns_most_recent_position() -> None:
    table = np.arange(8, dtype=np.float32).reshape(4, 2)
    layer = PositionEmbedding(4, 2, embeddings_initializer=tf.keras.initializers.Constant(table))
    short = layer(tf.zeros([1, 2, 2])).numpy()
    np.testing.assert_allclose(short, [[[4.0, 5.0], [6.0, 7.0]]])  # rows 2 and 3 of the table
    full = layer(tf.zeros([3, 4, 2])).numpy()
    np.testing.assert_allclose(full[2], table)
    with pytest.raises(ValueError, match="exceeds max_len=4"):
        layer(tf.zeros([1, 5, 2]))


def test_causal_padding_mask_hand_computed() -> None:
    mask = causal_padding_mask(tf.constant([[False, True, True]])).numpy()[0]
    expected = [
        [True, False, False],  # padded query with no allowed key: attends to itself only
        [False, True, False],
        [False, True, True],
    ]
    np.testing.assert_array_equal(mask, expected)


@pytest.mark.smoke
def test_transformer_block_is_causal_and_masks_padding() -> None:
    tf.keras.utils.set_random_seed(0)
    block = TransformerBlock(8, num_heads=2, dropout=0.0)
    x = tf.random.normal([2, 5, 8])
    padding = tf.constant([[False, True, True, True, True]] * 2)
    out, scores = block(x, padding_mask=padding, return_attention_scores=True)
    assert out.shape == (2, 5, 8) and scores.shape == (2, 2, 5, 5)
    np.testing.assert_allclose(out[:, 0].numpy(), 0.0)  # padded output zeroed
    np.testing.assert_allclose(scores[:, :, 1:, 0].numpy(), 0.0, atol=1e-6)  # padded key ignored
    np.testing.assert_allclose(np.triu(scores.numpy()[0, 0], 1), 0.0, atol=1e-6)  # causal
    np.testing.assert_allclose(scores.numpy().sum(-1), 1.0, rtol=1e-5)
    # Changing a future item leaves earlier outputs unchanged.
    changed = tf.concat([x[:, :3], x[:, 3:] + 1.0], axis=1)
    out2 = block(changed, padding_mask=padding)
    np.testing.assert_allclose(out2[:, :3].numpy(), out[:, :3].numpy(), atol=1e-5)
    assert not np.allclose(out2[:, 3:].numpy(), out[:, 3:].numpy())


def test_transformer_block_rejects_bad_shapes() -> None:
    with pytest.raises(ValueError, match="multiple of num_heads"):
        TransformerBlock(10, num_heads=3)
    with pytest.raises(ValueError, match="last dimension must be 8"):
        TransformerBlock(8, num_heads=2)(tf.zeros([1, 3, 4]))


@pytest.mark.parametrize(
    "layer, inputs",
    [
        (ItemEmbedding(6, 4, use_output_bias=True), np.array([[0, 2, 5]], np.int32)),
        (PositionEmbedding(5, 4), np.ones((2, 3, 4), np.float32)),
        (TransformerBlock(4, 2, ff_dim=8, dropout=0.1), np.ones((2, 3, 4), np.float32)),
    ],
)
def test_config_round_trip_and_functional_keras_save(layer, inputs, tmp_path) -> None:
    clone = type(layer).from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    inp = tf.keras.Input(inputs.shape[1:], dtype=inputs.dtype)
    model = tf.keras.Model(inp, layer(inp))
    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = tf.keras.models.load_model(path)
    np.testing.assert_allclose(loaded(inputs).numpy(), model(inputs).numpy(), atol=1e-6)
