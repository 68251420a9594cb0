"""The §6 toy simulations of Chen et al., WSDM 2019 (arXiv 1812.02353), with exact expectations.

Plain SGD (learning rate 0.1) from uniform logits on the exact expected REINFORCE surrogate
``-Σ_a β(a) w(a) r(a) log π(a)`` (tfrec.agents.bandit_simulation), so every run is deterministic.

Simulation (i): ``r(a_i) = i``, ``β(a_i) = (11 - i) / 55``. Simulation (ii): ``r = (10, 9, 1, ...)``,
uniform β, ``K = 2``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import tensorflow as tf

from tfrec.agents import bandit_simulation as bs
from tfrec.agents import corrections

LR = 0.1
SIM1, SIM2 = bs.skewed_behavior_problem(), bs.topk_problem()


def test_problems_match_the_paper():
    np.testing.assert_allclose(SIM1.rewards, np.arange(1, 11))
    np.testing.assert_allclose(SIM1.behavior, np.arange(10, 0, -1) / 55.0)
    assert SIM2.rewards == (10.0, 9.0) + (1.0,) * 8
    np.testing.assert_allclose(SIM2.behavior, np.full(10, 0.1))
    assert (SIM1.slate_size, SIM2.slate_size) == (1, 2)


def test_fixed_points_by_hand():
    # β(a_i) r(a_i) ∝ (11 - i) i = 10, 18, 24, 28, 30, 30, 28, 24, 18, 10 (sum 220): a tie a_5/a_6.
    np.testing.assert_allclose(
        bs.uncorrected_fixed_point(SIM1), np.array([10, 18, 24, 28, 30, 30, 28, 24, 18, 10]) / 220
    )
    # max Σ r (1 - (1 - π)^2): 2 r_a (1 - π_a) equal on {a_1, a_2} -> 20 π_2 = 18 π_1 -> 10/19, 9/19.
    np.testing.assert_allclose(
        bs.topk_optimum(SIM2.rewards, 2), [10 / 19, 9 / 19] + [0.0] * 8, atol=1e-9
    )
    with pytest.raises(ValueError, match="slate_size"):
        bs.topk_optimum(SIM2.rewards, 1)


def test_correction_weights_compose_the_paper_corrections():
    log_pi, log_beta = tf.math.log([0.5, 0.02]), tf.math.log([0.1, 0.2])
    np.testing.assert_allclose(
        corrections.correction_weights(log_pi, log_beta, "none").numpy(), [1, 1]
    )
    np.testing.assert_allclose(
        corrections.correction_weights(log_pi, log_beta, "importance").numpy(),
        [5.0, 0.1],
        rtol=1e-6,
    )
    # Capped at c = 2: min(5, 2) = 2.
    np.testing.assert_allclose(
        corrections.correction_weights(log_pi, log_beta, "importance", weight_cap=2.0).numpy(),
        [2.0, 0.1],
        rtol=1e-6,
    )
    # λ_2 = 2 (1 - π): 2 * 0.5 * 5 = 5, 2 * 0.98 * 0.1 = 0.196.
    np.testing.assert_allclose(
        corrections.correction_weights(log_pi, log_beta, "topk", slate_size=2).numpy(),
        [5.0, 0.196],
        rtol=1e-6,
    )
    with pytest.raises(ValueError, match="correction"):
        corrections.correction_weights(log_pi, log_beta, "bogus")


@pytest.mark.parametrize(
    "problem, correction, expected",
    [
        # -(β_a r_a - π_a Σ_b β_b r_b) with Σ β r = 220 / 55 = 4, π = 0.1.
        (SIM1, "none", -(np.arange(10, 0, -1) * np.arange(1, 11) / 55.0 - 0.4)),
        # w = π/β: -π_a (r_a - E_π r) = -0.1 (i - 5.5).
        (SIM1, "importance", -0.1 * (np.arange(1, 11) - 5.5)),
        # w = π/β: -0.1 (r_a - 2.7) with E_π r = 27 / 10.
        (SIM2, "importance", -0.1 * (np.array(SIM2.rewards) - 2.7)),
        # λ_2 = 2 * 0.9 = 1.8 on every item: 1.8 times the previous row.
        (SIM2, "topk", -0.18 * (np.array(SIM2.rewards) - 2.7)),
    ],
)
def test_surrogate_gradient_at_uniform_logits(problem, correction, expected):
    logits = tf.Variable(tf.zeros([10]))
    with tf.GradientTape() as tape:
        loss = bs.surrogate_loss(logits, problem, correction)
    np.testing.assert_allclose(tape.gradient(loss, logits).numpy(), expected, atol=1e-6)


def test_sim1_uncorrected_converges_to_beta_times_reward():
    pi = bs.train_softmax_policy(SIM1, "none", steps=200, learning_rate=LR)[-1]
    np.testing.assert_allclose(pi, bs.uncorrected_fixed_point(SIM1), atol=1e-3)
    # The maximiser of β(a) r(a): a_5 and a_6 (0-based 4, 5) tie at 30/220 = 0.136; a_10 gets 0.045.
    assert int(np.argmax(pi)) in (4, 5)
    assert pi[4] == pytest.approx(30 / 220, abs=1e-3) and pi[5] == pytest.approx(30 / 220, abs=1e-3)
    assert pi[9] == pytest.approx(10 / 220, abs=1e-3)


def test_sim1_importance_correction_converges_to_the_best_item():
    history = bs.train_softmax_policy(SIM1, "importance", steps=200, learning_rate=LR)
    assert int(np.argmax(history[-1])) == 9
    assert history[-1, 9] >= 0.9
    # π(a_10) first reaches 0.9 at step 70 (O(1/t) approach: the logit gradient carries a π factor).
    assert 60 <= int(np.argmax(history[:, 9] >= 0.9)) <= 80


def test_sim1_cap_e3_stops_short_of_the_best_item():
    # With c = e^3, a_10's weighted mass saturates at c β(a_10) r(a_10) = 10 e^3 / 55 = 3.65 once
    # π(a_10) > c β(a_10) = 0.365. The stable point on {a_9, a_10} has π = m / Σ m with
    # m_9 = 9 π_9, m_10 = 3.65: Σ m = 9, so π_10 = 3.65 / 9 = 0.406 and π_9 = 0.594.
    pi = bs.train_softmax_policy(
        SIM1, "importance", steps=800, learning_rate=LR, weight_cap=math.exp(3.0)
    )[-1]
    pi_10 = 10 * math.exp(3.0) / 55 / 9
    assert pi[9] == pytest.approx(pi_10, abs=0.01)
    assert pi[8] == pytest.approx(1 - pi_10, abs=0.02)
    assert int(np.argmax(pi)) == 8


def test_sim2_importance_correction_puts_its_mass_on_the_first_item():
    pi = bs.train_softmax_policy(SIM2, "importance", steps=200, learning_rate=LR)[-1]
    assert pi[0] >= 0.9
    assert pi[1] < 0.05


def test_sim2_topk_correction_keeps_mass_on_the_second_item():
    pi = bs.train_softmax_policy(SIM2, "topk", steps=400, learning_rate=LR)[-1]
    np.testing.assert_allclose(pi[:2], [10 / 19, 9 / 19], atol=0.01)
    assert pi[1] >= 0.45
    assert pi[2:].sum() < 0.01


def test_sampled_batches_are_deterministic_per_seed():
    def run(seed):
        return bs.train_softmax_policy(
            SIM2, "topk", steps=5, learning_rate=LR, batch_size=16, seed=seed
        )

    np.testing.assert_array_equal(run(0), run(0))
    assert not np.array_equal(run(0), run(1))
