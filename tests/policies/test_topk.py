"""Greedy and Boltzmann top-K slate policies (tfrec.policies.topk)."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
from tf_agents.specs import tensor_spec
from tf_agents.trajectories import time_step as ts

from tfrec import specs
from tfrec.encoders import SequenceEncoder
from tfrec.networks import ActorNetwork
from tfrec.policies.topk import LOG_PROBABILITY, BoltzmannTopKPolicy, GreedyTopKPolicy

V, L = 22, 4
HISTORY = tf.constant([[0, 0, 2, 3], [0, 0, 0, 5], [4, 6, 8, 10]], tf.int32)


@pytest.fixture(scope="module")
def network() -> ActorNetwork:
    tf.keras.utils.set_random_seed(0)
    encoder = SequenceEncoder(V, L, dim=8, num_layers=1, num_heads=1, dropout=0.0)
    return ActorNetwork(specs.history_spec(L, V), encoder)


def spec():
    return tensor_spec.from_spec(specs.time_step_spec(L, V))


def logits_of(network: ActorNetwork) -> np.ndarray:
    return network(HISTORY)[0].logits.numpy()


@pytest.mark.smoke
def test_greedy_topk_matches_sorted_logits(network):
    policy = GreedyTopKPolicy(spec(), network, k=4)
    assert policy.action_spec.shape == (4,)
    assert policy.info_spec[LOG_PROBABILITY].shape == (4,)
    step = policy.action(ts.restart(HISTORY, batch_size=3))
    logits = logits_of(network)
    expected = np.argsort(-logits, axis=-1)[:, :4]
    np.testing.assert_array_equal(step.action.numpy(), expected)
    log_softmax = tf.nn.log_softmax(logits).numpy()
    np.testing.assert_allclose(
        step.info[LOG_PROBABILITY].numpy(),
        np.take_along_axis(log_softmax, expected, axis=1),
        rtol=1e-5,
    )
    assert (step.action.numpy() >= specs.FIRST_ITEM_INDEX).all()


def test_greedy_excludes_history(network):
    policy = GreedyTopKPolicy(spec(), network, k=5, exclude_history=True)
    action = policy.action(ts.restart(HISTORY, batch_size=3)).action.numpy()
    for row, history in zip(action, HISTORY.numpy()):
        assert not set(row) & set(history[history >= 2])
        assert len(set(row)) == 5


def test_boltzmann_greedy_slots_candidates_and_log_probs(network):
    policy = BoltzmannTopKPolicy(spec(), network, k=4, num_candidates=8, num_greedy=2)
    logits = logits_of(network)
    order = np.argsort(-logits, axis=-1)
    top_m = order[:, :8]
    log_softmax_m = tf.nn.log_softmax(np.take_along_axis(logits, top_m, 1)).numpy()
    seen = set()
    for seed in range(5):
        step = policy.action(ts.restart(HISTORY, batch_size=3), seed=seed)
        action = step.action.numpy()
        assert action.shape == (3, 4)
        np.testing.assert_array_equal(action[:, :2], order[:, :2])  # K' = 2 greedy slots
        for b in range(3):
            assert len(set(action[b])) == 4
            assert set(action[b]) <= set(top_m[b])
            positions = [list(top_m[b]).index(item) for item in action[b]]
            np.testing.assert_allclose(
                step.info[LOG_PROBABILITY].numpy()[b], log_softmax_m[b, positions], rtol=1e-5
            )
        seen.add(tuple(action[:, 2:].ravel()))
    assert len(seen) > 1  # the sampled slots do explore


def test_boltzmann_validation(network):
    with pytest.raises(ValueError, match="num_greedy"):
        BoltzmannTopKPolicy(spec(), network, k=3, num_candidates=5, num_greedy=4)
    with pytest.raises(ValueError, match="num_candidates"):
        BoltzmannTopKPolicy(spec(), network, k=3, num_candidates=2)
    with pytest.raises(ValueError, match="num_candidates"):
        BoltzmannTopKPolicy(spec(), network, k=3, num_candidates=V)
    with pytest.raises(ValueError, match="slate size"):
        GreedyTopKPolicy(spec(), network, k=V)
    with pytest.raises(TypeError, match="ActorNetwork"):
        GreedyTopKPolicy(spec(), tf.keras.layers.Dense(2), k=2)


def test_greedy_policy_from_encoder_returns_the_encoders_top_k():
    tf.keras.utils.set_random_seed(1)
    encoder = SequenceEncoder(
        vocab_size=7, max_len=3, dim=8, num_layers=1, num_heads=2, dropout=0.0
    )
    encoder(tf.zeros([1, 3], tf.int32))
    policy = GreedyTopKPolicy.from_encoder(encoder, k=2)
    history = tf.constant([[0, 3, 4]], tf.int32)
    step = ts.restart(history, batch_size=1)
    action = policy.action(step).action.numpy()[0]
    scores = encoder.score_items(history).numpy()[0]
    np.testing.assert_array_equal(action, np.argsort(-scores)[:2])
