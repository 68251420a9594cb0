"""Tests of SequenceEncoder: contract shapes, causality, Keras reuse and serialization."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from tfrec.encoders import SequenceEncoder
from tfrec.layers import ItemEmbedding

IDS = np.array([[0, 0, 3, 4, 5, 6], [0, 0, 0, 0, 2, 7], [8, 9, 10, 11, 3, 2]], np.int32)


def _encoder(**kwargs) -> SequenceEncoder:
    tf.keras.utils.set_random_seed(1)
    params = dict(vocab_size=12, max_len=6, dim=8, num_layers=2, num_heads=2, dropout=0.1)
    params.update(kwargs)
    return SequenceEncoder(**params)


@pytest.mark.smoke
def test_contract_shapes_and_masking() -> None:
    encoder = _encoder()
    assert encoder(IDS).shape == (3, 8)
    assert encoder.sequence_states(IDS).shape == (3, 6, 8)
    scores = encoder.score_items(IDS).numpy()
    assert scores.shape == (3, 12)
    assert (scores[:, :2] == np.finfo(np.float32).min).all() and np.isfinite(scores).all()
    attention = encoder.attention_weights(IDS)
    assert len(attention) == 2 and all(a.shape == (3, 2, 6, 6) for a in attention)
    assert isinstance(encoder.item_embedding, ItemEmbedding)
    assert encoder.item_embedding.embeddings.shape == (12, 8)
    np.testing.assert_allclose(
        encoder.score_items(IDS).numpy()[:, 2:],
        (encoder(IDS).numpy() @ encoder.item_embedding.embeddings.numpy().T)[:, 2:],
        rtol=1e-5,
        atol=1e-5,
    )


def test_state_is_causal_padding_invariant_and_length_flexible() -> None:
    encoder = _encoder()
    states = encoder.sequence_states(IDS).numpy()
    changed = IDS.copy()
    changed[:, -1] = 3
    np.testing.assert_allclose(
        encoder.sequence_states(changed).numpy()[:, :-1], states[:, :-1], atol=1e-5
    )
    # Shorter windows of the same left-padded history give the same final state.
    np.testing.assert_allclose(encoder(IDS[1:2, -2:]).numpy(), encoder(IDS[1:2]).numpy(), atol=1e-5)


def test_bad_inputs_raise_clear_errors() -> None:
    encoder = _encoder()
    with pytest.raises(ValueError, match="exceeds max_len=6"):
        encoder(np.zeros((1, 7), np.int32))
    with pytest.raises(TypeError, match="integer item indices"):
        encoder(np.zeros((1, 6), np.float32))
    with pytest.raises(ValueError, match=r"\[batch, seq_len\]"):
        encoder(np.zeros((6,), np.int32))


@pytest.mark.smoke
def test_keras_file_round_trip_and_config(tmp_path) -> None:
    encoder = _encoder(ff_dim=16, use_output_bias=True)
    encoder(IDS)
    config = encoder.get_config()
    clone = SequenceEncoder.from_config(config)
    assert clone.get_config() == config
    path = str(tmp_path / "encoder.keras")
    encoder.save(path)
    loaded = tf.keras.models.load_model(path)
    assert isinstance(loaded, SequenceEncoder)
    np.testing.assert_array_equal(loaded(IDS).numpy(), encoder(IDS).numpy())
    np.testing.assert_array_equal(loaded.score_items(IDS).numpy(), encoder.score_items(IDS).numpy())


def test_saved_model_round_trip(tmp_path) -> None:
    encoder = _encoder()
    expected = encoder(IDS).numpy()
    tf.saved_model.save(encoder, str(tmp_path / "sm"))
    restored = tf.saved_model.load(str(tmp_path / "sm"))
    np.testing.assert_allclose(restored(tf.constant(IDS)).numpy(), expected, atol=1e-6)
    serving = restored.signatures["serving_default"]
    (output,) = serving(tf.constant(IDS)).values()
    np.testing.assert_allclose(output.numpy(), expected, atol=1e-6)


def test_fine_tunes_inside_a_functional_model() -> None:
    encoder = _encoder(dropout=0.0)
    inputs = tf.keras.Input((6,), dtype=tf.int32, name="history")
    outputs = tf.keras.layers.Dense(1, activation="sigmoid")(encoder(inputs))
    model = tf.keras.Model(inputs, outputs)
    model.compile(tf.keras.optimizers.Adam(1e-2), "binary_crossentropy")
    labels = np.array([[1.0], [0.0], [1.0]], np.float32)
    before = encoder.item_embedding.embeddings.numpy().copy()
    history = model.fit(IDS, labels, epochs=15, batch_size=3, verbose=0).history["loss"]
    assert history[-1] < history[0]
    assert not np.allclose(encoder.item_embedding.embeddings.numpy(), before)


def test_repeat_bias_adds_exactly_w_to_history_items() -> None:
    plain = _encoder()
    assert plain.repeat_weight is None and not plain.get_config()["repeat_bias"]
    encoder = _encoder(repeat_bias=True)
    assert isinstance(encoder.repeat_weight, tf.Variable)
    assert encoder.repeat_weight.dtype == tf.float32 and encoder.repeat_weight.trainable
    assert encoder.repeat_weight.shape == () and float(encoder.repeat_weight) == 0.0
    ids = np.array([[0, 0, 3, 3, 5, 1], [0, 0, 0, 0, 0, 7]], np.int32)
    base = encoder.score_items(ids, training=False).numpy()  # w = 0: the plain scores
    encoder.repeat_weight.assign(-2.5)
    scores = encoder.score_items(ids, training=False).numpy()
    added = np.zeros((2, 12), np.float32)
    added[0, [3, 5]] = -2.5  # 3 twice counts once; padding 0 and OOV 1 never
    added[1, 7] = -2.5
    np.testing.assert_allclose(scores[:, 2:], base[:, 2:] + added[:, 2:], atol=1e-6)
    assert (scores[:, :2] == np.finfo(np.float32).min).all()
    assert encoder.repeat_weight.ref() in {v.ref() for v in encoder.trainable_variables}


def test_repeat_bias_keras_file_round_trip(tmp_path) -> None:
    encoder = _encoder(repeat_bias=True)
    encoder(IDS)
    encoder.repeat_weight.assign(-1.75)
    config = encoder.get_config()
    assert config["repeat_bias"] is True
    assert SequenceEncoder.from_config(config).get_config() == config
    path = str(tmp_path / "encoder.keras")
    encoder.save(path)
    loaded = tf.keras.models.load_model(path)
    assert float(loaded.repeat_weight) == -1.75
    np.testing.assert_array_equal(loaded.score_items(IDS).numpy(), encoder.score_items(IDS).numpy())
