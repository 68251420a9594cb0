"""LazyAdam: Adam on the rows of a sparse gradient, nothing on the others (numpy reference)."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from tfrec.training.builders import make_optimizer
from tfrec.training.config import AgentConfig
from tfrec.training.optimizers import LazyAdam

LR, B1, B2, EPS = 0.1, 0.9, 0.999, 1e-7


def _adam_rows(weights, m, v, grads, step):
    """One Adam step (numpy) on the given rows; returns new (weights, m, v)."""
    m = B1 * m + (1 - B1) * grads
    v = B2 * v + (1 - B2) * grads**2
    alpha = LR * np.sqrt(1 - B2**step) / (1 - B1**step)
    return weights - alpha * m / (np.sqrt(v) + EPS), m, v


def test_sparse_steps_update_only_the_gradient_rows() -> None:
    start = np.arange(10, dtype=np.float32).reshape(5, 2)
    variable = tf.Variable(start)
    optimizer = LazyAdam(LR, beta_1=B1, beta_2=B2, epsilon=EPS)
    g1 = np.array([[1.0, -2.0], [0.5, 0.25]], np.float32)
    g2 = np.array([[-1.0, 1.0]], np.float32)
    optimizer.apply_gradients([(tf.IndexedSlices(tf.constant(g1), tf.constant([1, 3])), variable)])
    optimizer.apply_gradients([(tf.IndexedSlices(tf.constant(g2), tf.constant([3])), variable)])

    expected = start.copy()
    m, v = np.zeros_like(start), np.zeros_like(start)
    expected[[1, 3]], m[[1, 3]], v[[1, 3]] = _adam_rows(start[[1, 3]], 0, 0, g1, step=1)
    # Step 2 touches row 3 only; row 1 keeps its weights and moments (no decay).
    expected[[3]], m[[3]], v[[3]] = _adam_rows(expected[[3]], m[[3]], v[[3]], g2, step=2)
    np.testing.assert_allclose(variable.numpy(), expected, rtol=1e-5)
    np.testing.assert_array_equal(variable.numpy()[[0, 2, 4]], start[[0, 2, 4]])
    momentum = optimizer._momentums[0].numpy()
    np.testing.assert_allclose(momentum, m, rtol=1e-5)
    np.testing.assert_array_equal(momentum[[0, 2, 4]], 0.0)


def test_dense_gradients_get_adam_exactly() -> None:
    lazy, plain = tf.Variable([[1.0, 2.0]]), tf.Variable([[1.0, 2.0]])
    gradient = tf.constant([[0.3, -0.7]])
    LazyAdam(LR).apply_gradients([(gradient, lazy)])
    tf.keras.optimizers.Adam(LR).apply_gradients([(gradient, plain)])
    np.testing.assert_allclose(lazy.numpy(), plain.numpy(), rtol=1e-6)


def test_embedding_gradients_are_sparse_and_config_builds_it() -> None:
    optimizer = make_optimizer(AgentConfig(optimizer="lazy_adam", learning_rate=0.01))
    assert isinstance(optimizer, LazyAdam)
    table = tf.Variable(np.ones((1000, 4), np.float32))
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(tf.gather(table, [7, 7, 42]))
    gradient = tape.gradient(loss, table)
    assert isinstance(gradient, tf.IndexedSlices)
    optimizer.apply_gradients([(gradient, table)])
    changed = np.flatnonzero(np.any(table.numpy() != 1.0, axis=1))
    np.testing.assert_array_equal(changed, [7, 42])


def test_amsgrad_is_rejected_and_config_round_trips() -> None:
    with pytest.raises(ValueError, match="amsgrad"):
        LazyAdam(amsgrad=True)
    config = LazyAdam(0.02).get_config()
    assert LazyAdam.from_config(config).get_config()["learning_rate"] == pytest.approx(0.02)
