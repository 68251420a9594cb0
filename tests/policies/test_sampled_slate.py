"""SampledSlatePolicy: k i.i.d. draws from π, with the exact float64 π for off-policy estimates."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
from tf_agents.specs import tensor_spec
from tf_agents.trajectories import time_step as ts

from tfrec.encoders import SequenceEncoder
from tfrec.networks.actor import ActorNetwork
from tfrec.policies import SampledSlatePolicy
from tfrec.specs import FIRST_ITEM_INDEX, slate_action_spec, time_step_spec

NUM_ITEMS, K, MAX_LEN = 4, 3, 3


def _policy(seed: int = 0) -> SampledSlatePolicy:
    vocab = NUM_ITEMS + FIRST_ITEM_INDEX
    tf.keras.utils.set_random_seed(0)
    encoder = SequenceEncoder(vocab, MAX_LEN, dim=8, num_layers=1, num_heads=1, dropout=0.0)
    spec = time_step_spec(MAX_LEN, vocab)
    network = ActorNetwork(spec.observation, encoder, behavior_head=False)
    return SampledSlatePolicy(
        tensor_spec.to_array_spec(spec), slate_action_spec(K, vocab), network, seed=seed
    )


def _time_step(histories: np.ndarray) -> ts.TimeStep:
    n = histories.shape[0]
    return ts.TimeStep(
        step_type=np.zeros(n, np.int32),
        reward=np.zeros(n, np.float32),
        discount=np.ones(n, np.float32),
        observation=histories.astype(np.int32),
    )


def test_item_probabilities_are_a_float64_distribution_over_the_items() -> None:
    policy = _policy()
    histories = np.array([[0, 2, 3], [4, 5, 2]])
    probs = policy.item_probabilities(histories)
    assert probs.dtype == np.float64 and probs.shape == (2, NUM_ITEMS + FIRST_ITEM_INDEX)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(probs[:, :FIRST_ITEM_INDEX], 0.0, atol=1e-30)


def test_slates_are_iid_draws_from_pi_and_seeded() -> None:
    policy = _policy(seed=3)
    histories = np.repeat(np.array([[0, 2, 3]]), 4000, axis=0)
    slates = policy.action(_time_step(histories)).action
    assert slates.shape == (4000, K) and slates.dtype == np.int32
    assert slates.min() >= FIRST_ITEM_INDEX
    frequencies = np.bincount(slates.ravel(), minlength=NUM_ITEMS + FIRST_ITEM_INDEX) / slates.size
    np.testing.assert_allclose(frequencies, policy.item_probabilities(histories[:1])[0], atol=0.02)
    again = _policy(seed=3).action(_time_step(histories)).action
    np.testing.assert_array_equal(slates, again)


def test_bad_arguments_are_one_clear_error() -> None:
    policy = _policy()
    with pytest.raises(TypeError, match="ActorNetwork"):
        SampledSlatePolicy(policy.time_step_spec, policy.action_spec, object())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"\[k\] slate spec"):
        SampledSlatePolicy(
            policy.time_step_spec,
            tensor_spec.to_array_spec(tf.TensorSpec([], tf.int32)),
            policy.actor_network,
        )
