"""Hand-computed checks of the Chen et al. 2019 corrections (tfrec.agents.corrections)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import tensorflow as tf
from tf_agents.trajectories import time_step as ts

from tfrec.agents import corrections as c

FIRST, MID, LAST = int(ts.StepType.FIRST), int(ts.StepType.MID), int(ts.StepType.LAST)


def test_discounted_returns_restart_at_session_boundaries():
    # Session A = steps 0-1 (next LAST at 1), session B = step 2, step 3 = boundary padding.
    rewards = [[1.0, 2.0, 3.0, 0.0]]
    discounts = [[1.0, 0.0, 0.0, 1.0]]
    next_types = [[MID, LAST, LAST, FIRST]]
    returns = c.discounted_returns(rewards, discounts, next_types, gamma=0.5)
    # R_1 = 2, R_0 = 1 + 0.5 * 2 = 2, R_2 = 3 (session B ignores nothing after), R_3 = 0.
    np.testing.assert_allclose(returns.numpy(), [[2.0, 2.0, 3.0, 0.0]])


def test_discounted_returns_long_session():
    rewards = [[1.0, 1.0, 1.0, 0.0]]
    returns = c.discounted_returns(rewards, [[1, 1, 0, 1]], [[MID, MID, LAST, FIRST]], 0.9)
    np.testing.assert_allclose(returns.numpy(), [[1 + 0.9 + 0.81, 1.9, 1.0, 0.0]], rtol=1e-6)


def test_discounted_returns_rejects_bad_gamma():
    with pytest.raises(ValueError, match="gamma"):
        c.discounted_returns([[1.0]], [[1.0]], [[LAST]], 1.5)


def test_importance_weights_ratio():
    weights = c.importance_weights(tf.math.log([0.2, 0.05]), tf.math.log([0.1, 0.5]))
    np.testing.assert_allclose(weights.numpy(), [2.0, 0.1], rtol=1e-6)


def test_cap_weights_default_is_e_cubed():
    assert c.DEFAULT_WEIGHT_CAP == pytest.approx(math.exp(3.0))
    np.testing.assert_allclose(c.cap_weights([1.0, 30.0]).numpy(), [1.0, math.exp(3.0)], rtol=1e-6)
    np.testing.assert_allclose(c.cap_weights([1.0, 30.0], cap=None).numpy(), [1.0, 30.0])
    with pytest.raises(ValueError, match="cap"):
        c.cap_weights([1.0], cap=0.0)


@pytest.mark.smoke
def test_topk_multiplier_values():
    # K (1 - pi)^(K - 1): K=3, pi=0.5 -> 3 * 0.25; pi=0 -> K; pi=1 -> 0; K=1 -> 1.
    np.testing.assert_allclose(
        c.topk_multiplier(tf.constant([0.5, 0.0, 1.0]), 3).numpy(), [0.75, 3.0, 0.0]
    )
    np.testing.assert_allclose(c.topk_multiplier(tf.constant([0.3, 0.9]), 1).numpy(), [1.0, 1.0])
    np.testing.assert_allclose(
        c.topk_multiplier(tf.constant([0.1]), 2).numpy(), [2 * 0.9], rtol=1e-6
    )
    with pytest.raises(ValueError, match="k must be >= 1"):
        c.topk_multiplier(tf.constant([0.1]), 0)


def test_normalize_weights_masked_mean_is_one():
    # Masked weights 1 and 3 have mean 2 -> 0.5, 1.5; the masked-out step becomes 0.
    out = c.normalize_weights(tf.constant([1.0, 3.0, 100.0]), tf.constant([1.0, 1.0, 0.0]))
    np.testing.assert_allclose(out.numpy(), [0.5, 1.5, 0.0])
    np.testing.assert_allclose(c.normalize_weights(tf.zeros([2])).numpy(), [0.0, 0.0])


def test_select_log_propensity_prefers_logged_values():
    logged = tf.constant([np.nan, math.log(0.5)])
    estimated = tf.constant([math.log(0.1), math.log(0.2)])
    np.testing.assert_allclose(
        c.select_log_propensity(logged, estimated).numpy(), [math.log(0.1), math.log(0.5)]
    )


def test_scale_returns_divides_by_the_masked_root_mean_square_without_centring():
    # Masked steps [1, 7]: mean square (1 + 49) / 2 = 25, root 5 -> [0.2, 1.4]; the masked 100
    # is divided too. Centring (TF-Agents' standardisation) would make the first return negative.
    out = c.scale_returns(tf.constant([1.0, 7.0, 100.0]), tf.constant([1.0, 1.0, 0.0]))
    np.testing.assert_allclose(out.numpy(), [0.2, 1.4, 20.0], rtol=1e-6)
    # Equal returns stay equal and positive (a standard deviation would be 0 here).
    np.testing.assert_allclose(c.scale_returns(tf.constant([3.0, 3.0])).numpy(), [1.0, 1.0])
    np.testing.assert_allclose(c.scale_returns(tf.zeros([2])).numpy(), [0.0, 0.0])
