"""Slate distributions (Plackett-Luce, independent, ε-mixture) and the full-catalog collect policy."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import tensorflow as tf
from tf_agents.trajectories import time_step as ts

from tfrec.encoders import SequenceEncoder
from tfrec.networks.actor import ActorNetwork
from tfrec.policies.slate_distribution import (
    independent_slate_log_prob,
    mixture_log_probs,
    plackett_luce_log_prob,
    slate_log_prob,
)
from tfrec.policies.slate_sampling import SlateSamplingPolicy
from tfrec.specs import FIRST_ITEM_INDEX, INCLUSION_PROPENSITY, SLATE_LOG_PROPENSITY, time_step_spec


def test_plackett_luce_by_hand_and_sums_to_one():
    q = np.array([0.5, 0.3, 0.2])
    # P(a=0 then a=2) = 0.5 * 0.2 / (1 - 0.5) = 0.2
    got = plackett_luce_log_prob(np.log([[0.5, 0.2]])).numpy()
    np.testing.assert_allclose(np.exp(got), [0.2], rtol=1e-6)
    slates = list(itertools.permutations(range(3), 2))
    logs = plackett_luce_log_prob(np.log(q[np.array(slates)])).numpy()
    assert np.exp(logs).sum() == pytest.approx(1.0, abs=1e-6)


def test_independent_slate_and_dispatch():
    lp = np.log([[0.5, 0.2]])
    np.testing.assert_allclose(independent_slate_log_prob(lp).numpy(), np.log([0.1]), rtol=1e-6)
    np.testing.assert_allclose(slate_log_prob(lp, "independent").numpy(), np.log([0.1]), rtol=1e-6)
    with pytest.raises(ValueError, match="slate_model"):
        slate_log_prob(lp, "cascade")


def test_mixture_log_probs_keeps_masked_entries_at_zero():
    lowest = np.finfo(np.float32).min
    logits = np.array([[lowest, lowest, 0.0, np.log(3.0)]], np.float32)  # softmax (0.25, 0.75)
    q = np.exp(mixture_log_probs(logits, 0.2, 2).numpy())
    np.testing.assert_allclose(q, [[0, 0, 0.8 * 0.25 + 0.1, 0.8 * 0.75 + 0.1]], rtol=1e-6)
    with pytest.raises(ValueError, match="epsilon"):
        mixture_log_probs(logits, 1.5, 2)


def _policy(num_items=4, k=2, epsilon=0.3, slate_model="plackett_luce", samples=0, seed=0):
    vocab = num_items + FIRST_ITEM_INDEX
    tf.keras.utils.set_random_seed(seed)
    encoder = SequenceEncoder(vocab, 3, dim=8, num_layers=1, num_heads=1, dropout=0.0)
    spec = time_step_spec(3, vocab)
    network = ActorNetwork(spec.observation, encoder, behavior_head=False)
    policy = SlateSamplingPolicy(
        spec,
        network,
        k,
        epsilon=epsilon,
        slate_model=slate_model,
        inclusion_samples=samples,
        seed=seed,
    )
    return policy, spec


def _time_step(batch, history=(0, 2, 3)):
    obs = tf.constant([history] * batch, tf.int32)
    return ts.restart(obs, batch_size=batch)


def test_logged_slate_probability_matches_sampling_frequency():
    policy, _ = _policy()
    step = policy.action(_time_step(20000))
    slates = step.action.numpy()
    assert slates.min() >= FIRST_ITEM_INDEX and (slates[:, 0] != slates[:, 1]).all()
    logged = np.exp(step.info[SLATE_LOG_PROPENSITY].numpy())
    keys, counts = np.unique(slates, axis=0, return_counts=True)
    total = 0.0
    for key, count in zip(keys, counts):
        prob = logged[(slates == key).all(1)][0]
        total += prob
        assert count / len(slates) == pytest.approx(prob, abs=0.01)
    assert len(keys) == 12 and total == pytest.approx(1.0, abs=1e-5)  # every ordered slate


def test_every_item_has_nonzero_probability_even_when_pi_is_peaked():
    policy, _ = _policy(num_items=50, k=5, epsilon=0.05)
    table = policy.actor_network.item_embeddings
    table.assign(tf.tensor_scatter_nd_update(table, [[2]], [tf.fill([8], 30.0)]))
    log_q = policy.item_log_probs(_time_step(1)).numpy()[0, FIRST_ITEM_INDEX:]
    assert np.isfinite(log_q).all() and (np.exp(log_q) >= 0.05 / 50 - 1e-9).all()


def test_independent_inclusion_is_exact_and_pl_inclusion_is_estimated():
    policy, _ = _policy(slate_model="independent")
    step = policy.action(_time_step(4))
    q = np.exp(step.info["log_probability"].numpy())
    np.testing.assert_allclose(step.info[INCLUSION_PROPENSITY].numpy(), 1 - (1 - q) ** 2, rtol=1e-5)
    np.testing.assert_allclose(
        step.info[SLATE_LOG_PROPENSITY].numpy(), np.log(q).sum(-1), rtol=1e-5
    )
    policy, _ = _policy(samples=4000)
    step = policy.action(_time_step(2))
    log_q = policy.item_log_probs(_time_step(1)).numpy()[0]
    exact = {}
    for a, b in itertools.permutations(range(2, 6), 2):
        p = np.exp(log_q[a] + log_q[b]) / (1 - np.exp(log_q[a]))
        exact[a] = exact.get(a, 0.0) + p
        exact[b] = exact.get(b, 0.0) + p
    for row in range(2):
        for pos, item in enumerate(step.action.numpy()[row]):
            assert step.info[INCLUSION_PROPENSITY].numpy()[row, pos] == pytest.approx(
                exact[item], abs=0.03
            )
    policy, _ = _policy(samples=0)
    assert np.isnan(policy.action(_time_step(2)).info[INCLUSION_PROPENSITY].numpy()).all()


def test_same_seed_same_slates():
    first = _policy(seed=3)[0].action(_time_step(8)).action.numpy()
    second = _policy(seed=3)[0].action(_time_step(8)).action.numpy()
    np.testing.assert_array_equal(first, second)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="epsilon"):
        _policy(epsilon=-0.1)
    with pytest.raises(ValueError, match="slate_model"):
        _policy(slate_model="cascade")
