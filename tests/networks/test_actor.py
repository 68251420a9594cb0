"""ActorNetwork, heads, masking and sampled softmax (tiny catalogs, hand-computed values)."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from tfrec import specs
from tfrec.encoders import SequenceEncoder
from tfrec.layers import sampled_logits
from tfrec.networks import (
    ActorNetwork,
    BehaviorHead,
    ValueHead,
    mask_consumed_logits,
)

V, L, DIM = 12, 4, 8
MIN = np.finfo(np.float32).min


def make_network(**kwargs) -> ActorNetwork:
    tf.keras.utils.set_random_seed(0)
    encoder = SequenceEncoder(V, L, dim=DIM, num_layers=1, num_heads=1, dropout=0.0)
    network = ActorNetwork(specs.history_spec(L, V), encoder, **kwargs)
    network.create_variables()
    return network


def test_mask_consumed_logits_hand_computed():
    logits = tf.constant([[0.0, 1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0, 9.0]])
    history = tf.constant([[0, 1, 3], [0, 2, 4]])
    out = mask_consumed_logits(logits, history).numpy()
    # Padding (0) and OOV (1) in the history mask nothing; only real items 3, 2 and 4.
    np.testing.assert_array_equal(out[0], [0.0, 1.0, 2.0, MIN, 4.0])
    np.testing.assert_array_equal(out[1], [5.0, 6.0, MIN, 8.0, MIN])
    with pytest.raises(ValueError, match="batch"):
        mask_consumed_logits(tf.zeros([5]), history)


def test_actor_shapes_and_reserved_mask():
    network = make_network()
    history = tf.constant([[0, 0, 2, 3], [0, 0, 0, 5]])
    distribution, state = network(history)
    assert state == ()
    assert distribution.logits.shape == (2, V)
    logits = distribution.logits.numpy()
    np.testing.assert_array_equal(logits[:, :2], MIN)  # dtype.min, not -inf
    assert np.isfinite(logits).all()
    np.testing.assert_allclose(distribution.probs_parameter().numpy()[:, :2], 0.0)
    # [B, T, L] is folded with BatchSquash and unfolded.
    folded, _ = network(tf.stack([history, history], axis=1))
    assert folded.logits.shape == (2, 2, V)
    np.testing.assert_allclose(folded.logits.numpy()[:, 0], logits, rtol=1e-5, atol=1e-6)
    assert distribution.sample().dtype == tf.int32


def test_actor_temperature_and_consumed_mask():
    history = tf.constant([[0, 0, 2, 3]])
    base = make_network().call(history)[0].logits.numpy()
    hot = make_network(temperature=2.0).call(history)[0].logits.numpy()
    np.testing.assert_allclose(hot[0, 2:], base[0, 2:] / 2.0, rtol=1e-5)
    masked = make_network(mask_consumed=True).call(history)[0].logits.numpy()
    np.testing.assert_array_equal(masked[0, [2, 3]], MIN)
    np.testing.assert_allclose(masked[0, 4:], base[0, 4:], rtol=1e-6)


def test_heads_are_trainable_and_do_not_touch_the_encoder():
    network = make_network(behavior_head=True, value_head=True)
    assert isinstance(network.behavior_head, BehaviorHead)
    assert isinstance(network.value_head, ValueHead)
    names = {v.name for v in network.trainable_weights}
    head_vars = network.behavior_head.trainable_weights + network.value_head.trainable_weights
    assert all(v.name in names for v in head_vars)
    history = tf.constant([[0, 0, 2, 3]])
    with tf.GradientTape(persistent=True) as tape:
        states = network.states(history)
        beta_logits = network.behavior_head(states)
        values = network.value_head(states)
    assert beta_logits.shape == (1, V) and values.shape == (1,)
    np.testing.assert_array_equal(beta_logits.numpy()[:, :2], MIN)
    encoder_vars = network.encoder.trainable_weights
    assert all(g is None for g in tape.gradient(beta_logits, encoder_vars))
    assert all(g is None for g in tape.gradient(values, encoder_vars))


def test_repeat_bias_is_added_to_history_items_when_the_history_is_given():
    tf.keras.utils.set_random_seed(0)
    encoder = SequenceEncoder(V, L, dim=DIM, num_layers=1, num_heads=1, repeat_bias=True)
    network = ActorNetwork(specs.history_spec(L, V), encoder, behavior_head=False)
    network.create_variables()
    encoder.repeat_weight.assign(-1.5)
    history = tf.constant([[0, 3, 5, 3]])
    states = network.states(history)
    plain = network.logits_from_states(states).numpy()
    biased = network.logits_from_states(states, history).numpy()
    expected = plain.copy()
    expected[0, [3, 5]] -= 1.5  # item 3 counts once
    np.testing.assert_allclose(biased, expected, rtol=1e-6)
    # The policy ranks like the encoder's own score_items.
    np.testing.assert_allclose(
        biased[0, 2:], encoder.score_items(history).numpy()[0, 2:], rtol=1e-5, atol=1e-5
    )


def test_actor_rejects_bad_arguments():
    encoder = SequenceEncoder(V, L, dim=DIM, num_layers=1, num_heads=1)
    with pytest.raises(ValueError, match="temperature"):
        ActorNetwork(specs.history_spec(L, V), encoder, temperature=0.0)
    with pytest.raises(ValueError, match="vocab_size"):
        ActorNetwork(specs.history_spec(L, V + 5), encoder)
    with pytest.raises(TypeError, match="item_embedding"):
        ActorNetwork(specs.history_spec(L, V), tf.keras.layers.Dense(3))


def test_sampled_logits_estimate_full_softmax():
    rng = np.random.default_rng(0)
    vocab, dim = 42, 4
    embeddings = tf.constant(rng.normal(size=(vocab, dim)), tf.float32)
    states = tf.constant(rng.normal(size=(6, dim)), tf.float32)
    items = tf.constant(rng.integers(2, vocab, size=6), tf.int32)
    full = tf.nn.log_softmax(tf.linalg.matmul(states, embeddings[2:], transpose_b=True))
    exact = tf.gather(full, items - 2, batch_dims=1).numpy()
    frequencies = np.ones(vocab)
    # Drawing 39 of the 40 items (unique): almost the full softmax.
    logits = sampled_logits(embeddings, states, items, 39, "unigram", frequencies, seed=1)
    assert logits.shape == (6, 40)
    estimate = tf.nn.log_softmax(logits)[:, 0].numpy()
    np.testing.assert_allclose(estimate, exact, atol=0.15)
    # Column 0 is the target's logit minus log Q(target).
    assert np.isfinite(logits.numpy()[:, 0]).all()
    small = sampled_logits(embeddings, states, items, 5, "log_uniform", seed=1)
    assert small.shape == (6, 6)


def test_sampled_logits_validation():
    embeddings = tf.zeros([10, 2])
    with pytest.raises(ValueError, match="sampler"):
        sampled_logits(embeddings, tf.zeros([1, 2]), tf.constant([3]), 2, "bogus")
    with pytest.raises(ValueError, match="num_sampled"):
        sampled_logits(embeddings, tf.zeros([1, 2]), tf.constant([3]), 8)
    with pytest.raises(ValueError, match="item_frequencies"):
        sampled_logits(embeddings, tf.zeros([1, 2]), tf.constant([3]), 2, "unigram")
