"""Slate estimators and their propensities: hand-computed values and input validation."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from tfrec.evaluation.slate import (
    SlateData,
    SlateOptions,
    SlatePropensities,
    cascade_doubly_robust,
    cascade_model_terms,
    estimate_all,
    independent_ips,
    pseudo_inverse_ips,
    reward_interaction_ips,
    standard_ips,
)
from tfrec.evaluation.slate_propensities import (
    LinearCascadeModel,
    epsilon_popularity_propensities,
    independent_propensities,
    plackett_luce_propensities,
)

# Two slates of K = 2. Ratios pi / beta:
#   joint    [0.5, 1.5]
#   position [[0.5, 2], [2, 0.5]]
#   cascade  [[0.5, 0.5], [2, 1.5]]
REWARDS = [[1.0, 0.0], [0.0, 1.0]]
BEHAVIOR = SlatePropensities(
    joint=[0.1, 0.2], position=[[0.5, 0.25], [0.5, 0.5]], cascade=[[0.5, 0.1], [0.5, 0.2]]
)
TARGET = SlatePropensities(
    joint=[0.05, 0.3], position=[[0.25, 0.5], [1.0, 0.25]], cascade=[[0.25, 0.05], [1.0, 0.3]]
)
SN = SlateOptions(self_normalize=True)


@pytest.fixture()
def data() -> SlateData:
    return SlateData.create(REWARDS, BEHAVIOR, TARGET)


def test_standard_ips_by_hand(data):
    est = standard_ips(data)
    # terms: 0.5 * (1 + 0) = 0.5 and 1.5 * (0 + 1) = 1.5.
    assert est.value == pytest.approx(1.0)
    assert est.stderr == pytest.approx(np.std([0.5, 1.5], ddof=1) / math.sqrt(2))
    assert est.lower == pytest.approx(1.0 - 1.959963984540054 * 0.5)
    assert est.num_units == 2
    assert est.effective_sample_size == pytest.approx(2.0**2 / (0.25 + 2.25))
    # per position: (0.5 * 1) / 2 + (1.5 * 1) / 2.
    assert standard_ips(data, SN).value == pytest.approx(0.25 + 0.75)
    assert standard_ips(data, SN).method == "snsips/normal"


def test_independent_ips_by_hand(data):
    # 0.5 * 1 + 2 * 0 and 2 * 0 + 0.5 * 1.
    est = independent_ips(data)
    assert est.value == pytest.approx(0.5)
    assert est.stderr == pytest.approx(0.0)
    # position 0: 0.5 / 2.5; position 1: 0.5 / 2.5.
    assert independent_ips(data, SN).value == pytest.approx(0.4)


def test_pseudo_inverse_by_hand(data):
    # w_PI = 0.5 + 2 - 1 = 1.5 and 2 + 0.5 - 1 = 1.5, slate rewards 1 and 1.
    assert pseudo_inverse_ips(data).value == pytest.approx(1.5)
    assert pseudo_inverse_ips(data, SN).value == pytest.approx(1.0)


def test_reward_interaction_ips_by_hand(data):
    # 0.5 * 1 + 0.5 * 0 and 2 * 0 + 1.5 * 1.
    assert reward_interaction_ips(data).value == pytest.approx(1.0)
    # position 0: mean(w r) 0.25 / mean(w) 1.25; position 1: 0.75 / 1.0.
    sn = reward_interaction_ips(data, SN)
    assert sn.value == pytest.approx(0.2 + 0.75)
    # delta method: psi_i = sum_k w_ik (r_ik - V_k) / mean_i w_ik
    #   slate 1: 0.5 (1 - 0.2) / 1.25 + 0.5 (0 - 0.75) / 1 = -0.055; slate 2: +0.055.
    assert sn.stderr == pytest.approx(np.std([-0.055, 0.055], ddof=1) / math.sqrt(2))


def test_cascade_dr_by_hand(data):
    q_logged = [[0.6, 0.1], [0.5, 0.4]]
    q_expected = [[0.7, 0.2], [0.3, 0.5]]
    est = cascade_doubly_robust(data, q_logged, q_expected)
    # slate 1: 0.5 (1 - 0.6) + 0.7 + 0.5 (0 - 0.1) + 0.5 * 0.2 = 0.95
    # slate 2: 2 (0 - 0.5) + 0.3 + 1.5 (1 - 0.4) + 2 * 0.5 = 1.2
    assert est.value == pytest.approx((0.95 + 1.2) / 2)
    assert est.stderr == pytest.approx(np.std([0.95, 1.2], ddof=1) / math.sqrt(2))
    # Weighted DR: every column normalised by its mean weight. Corrections w_{1:k} (r - q):
    # (0.5 * 0.4 + 2 * -0.5) / 2.5 and (0.5 * -0.1 + 1.5 * 0.6) / 2; model terms w_{1:k-1} v:
    # (0.7 + 0.3) / 2 and (0.5 * 0.2 + 2 * 0.5) / 2.5.
    weighted = cascade_doubly_robust(data, q_logged, q_expected, SN)
    assert weighted.value == pytest.approx(-0.32 + 0.425 + 0.5 + 0.44)
    assert weighted.method == "sncascade-dr/normal"


def test_cascade_model_terms_from_a_q_table():
    q = np.arange(2 * 2 * 3, dtype=float).reshape(2, 2, 3)
    dist = np.full((2, 2, 3), 1 / 3)
    logged, expected = cascade_model_terms(q, dist, np.array([[0, 2], [1, 1]]))
    np.testing.assert_allclose(logged, [[0, 5], [7, 10]])
    np.testing.assert_allclose(expected, [[1, 4], [7, 10]])


def test_per_decision_sessions_by_hand():
    # session a = (slate 1, slate 2), session b = (slate 2, slate 1).
    rewards = [REWARDS[0], REWARDS[1], REWARDS[1], REWARDS[0]]

    def stack(p: SlatePropensities, order: list[int]) -> SlatePropensities:
        return SlatePropensities(
            *(np.asarray(getattr(p, f))[order] for f in ("joint", "position", "cascade"))
        )

    order = [0, 1, 1, 0]
    data = SlateData.create(
        rewards, stack(BEHAVIOR, order), stack(TARGET, order), sessions=["a", "a", "b", "b"]
    )
    assert data.num_units == 2
    # RIPS terms per slate: slate 1 -> 0.5, slate 2 -> 1.5; rho_{<1} is the first slate's joint
    # ratio. a: 0.5 + 0.5 * 1.5 = 1.25; b: 1.5 + 1.5 * 0.5 = 2.25.
    assert reward_interaction_ips(data).value == pytest.approx(1.75)
    assert reward_interaction_ips(data, SlateOptions(horizon=0)).value == pytest.approx(2.0)
    # discount 0.5: a: 0.5 + 0.5 * 0.5 * 1.5; b: 1.5 + 0.5 * 1.5 * 0.5.
    disc = reward_interaction_ips(data, SlateOptions(discount=0.5)).value
    assert disc == pytest.approx((0.875 + 1.875) / 2)
    capped = reward_interaction_ips(data, SlateOptions(cap=1.0)).value
    # a: 0.5*1 + 0.5*0 + min(0.5*2, 1)*0 + min(0.5*1.5, 1)*1 = 1.25;
    # b: min(2,1)*0 + min(1.5,1)*1 + min(1.5*0.5,1)*1 + 0.75*0 = 1.75.
    assert capped == pytest.approx(1.5)


def test_estimate_all_names_and_bootstrap(data):
    out = estimate_all(data, SlateOptions(ci_method="bootstrap", num_bootstrap=200))
    assert sorted(out) == ["iips", "pi", "rips", "sips", "sniips", "snpi", "snrips", "snsips"]
    assert out["sips"].method == "sips/bootstrap"
    for est in out.values():
        assert est.lower <= est.value + 1e-12 and est.value - 1e-12 <= est.upper


def test_estimate_all_leaves_out_an_undefined_self_normalised_cascade_dr():
    # The target never reaches position 2 (cascade propensity 0): every SN form that divides by
    # position 2's mean weight is undefined and left out, the plain forms stay.
    target = SlatePropensities(
        joint=[0.05, 0.3], position=[[0.25, 0.5], [1.0, 0.25]], cascade=[[0.25, 0.0], [1.0, 0.0]]
    )
    data = SlateData.create(REWARDS, BEHAVIOR, target)
    terms = ([[0.6, 0.1], [0.5, 0.4]], [[0.7, 0.2], [0.3, 0.5]])
    out = estimate_all(data, model_terms=terms)
    assert "cascade-dr" in out and "rips" in out
    assert "sncascade-dr" not in out and "snrips" not in out
    with pytest.raises(ValueError, match="mean weight"):
        cascade_doubly_robust(data, *terms, SN)


def test_unbiased_on_simulated_iid_slates():
    """IIPS / RIPS / SIPS / PI recover the target's value on an additive i.i.d. problem."""
    rng = np.random.default_rng(0)
    n, k, m = 40_000, 2, 4
    beta = np.array([0.4, 0.3, 0.2, 0.1])
    pi = np.array([0.1, 0.2, 0.3, 0.4])
    click = np.array([[0.1, 0.2, 0.3, 0.5], [0.05, 0.1, 0.2, 0.3]])  # [position, item]
    slates = rng.choice(m, size=(n, k), p=beta)
    rewards = (rng.random((n, k)) < click[np.arange(k), slates]).astype(float)
    truth = float((click @ pi).sum())
    data = SlateData.create(
        rewards, independent_propensities(beta, slates), independent_propensities(pi, slates)
    )
    for name, est in estimate_all(data).items():
        assert est.contains(truth) or abs(est.value - truth) < 0.01, (name, est, truth)


def test_independent_propensities_are_products():
    p = independent_propensities([0.5, 0.25, 0.25], np.array([[0, 1], [2, 2]]))
    np.testing.assert_allclose(p.position, [[0.5, 0.25], [0.25, 0.25]])
    np.testing.assert_allclose(p.cascade, [[0.5, 0.125], [0.25, 0.0625]])
    np.testing.assert_allclose(p.joint, [0.125, 0.0625])


def test_plackett_luce_exact_and_monte_carlo_against_enumeration():
    q = np.array([0.4, 0.3, 0.2, 0.1])
    slates = np.array([[0, 1, 2], [3, 2, 1], [1, 0, 3]])
    props, stderr = plackett_luce_propensities(q, slates, num_samples=20_000, seed=1)
    joint = {}
    for s in itertools.permutations(range(4), 3):
        pr, left = 1.0, 1.0
        for j in s:
            pr *= q[j] / left
            left -= q[j]
        joint[s] = pr
    for i, s in enumerate(map(tuple, slates)):
        assert props.joint[i] == pytest.approx(joint[s])
        assert props.cascade[i, 0] == pytest.approx(q[s[0]])
        for pos in range(3):
            exact = sum(p for t, p in joint.items() if t[pos] == s[pos])
            if pos < 2:
                assert props.position[i, pos] == pytest.approx(exact, abs=1e-12)
                assert stderr[i, pos] == 0.0
            else:
                assert 0 < stderr[i, pos] < 0.5 / math.sqrt(20_000) + 1e-12
                assert abs(props.position[i, pos] - exact) < 4 * stderr[i, pos]
    repeated, _ = plackett_luce_propensities(q, np.array([[0, 0, 1]]), num_samples=10)
    assert repeated.joint[0] == 0.0


def test_epsilon_popularity_propensities_match_the_policy():
    from tf_agents.specs import array_spec
    from tf_agents.trajectories import time_step as ts

    from tfrec.policies import EpsilonPopularityPolicy, PopularitySoftmaxPolicy

    action_spec = array_spec.BoundedArraySpec((2,), np.int32, minimum=2, maximum=5)
    obs = array_spec.ArraySpec((3,), np.int32)
    policy = EpsilonPopularityPolicy(
        PopularitySoftmaxPolicy(
            ts.time_step_spec(obs), action_spec, np.array([4.0, 3.0, 2.0, 1.0])
        ),
        epsilon=0.3,
    )
    slates = np.array([[2, 3], [4, 4], [5, 2]])
    props = epsilon_popularity_propensities(policy, slates)
    np.testing.assert_allclose(np.log(props.joint), policy.slate_log_probability(slates))
    np.testing.assert_allclose(props.position, policy.position_probability(slates))
    # prefix of one item = the position-1 marginal; [4, 4] repeats, so no uniform share.
    np.testing.assert_allclose(props.cascade[:, 0], props.position[:, 0])
    beta = policy.popularity_probabilities
    assert props.joint[1] == pytest.approx(0.7 * beta[2] ** 2)


def test_linear_cascade_model_recovers_a_linear_truth():
    rng = np.random.default_rng(0)
    n, k, m = 500, 2, 3
    x = rng.normal(size=(n, 2))
    slates = rng.integers(0, m, size=(n, k))
    item = np.array([[0.1, 0.5, 0.9], [0.2, 0.0, 0.4]])
    rewards = x @ np.array([0.3, -0.2])[:, None] + item[np.arange(k), slates]
    model = LinearCascadeModel(m, ridge=0.0).fit(x, slates, rewards)
    dist = np.full((n, m), 1 / m)
    logged, expected = model.predict(x, slates, dist)
    # Q_2 = r_2; Q_1 = r_1 + r_2 (reward to go), linear in x and a_1 only in expectation.
    np.testing.assert_allclose(logged[:, 1], rewards[:, 1], atol=1e-9)
    np.testing.assert_allclose(
        expected[:, 1] - logged[:, 1], 0.2 - item[1, slates[:, 1]], atol=1e-9
    )
    fqe = LinearCascadeModel(m, ridge=0.0).fit(x, slates, rewards, target_item_probs=dist)
    logged, _ = fqe.predict(x, slates, dist)
    want = rewards[:, 0] + x @ np.array([0.3, -0.2]) + item[1].mean()
    np.testing.assert_allclose(logged[:, 0], want, atol=1e-9)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: SlateData.create([1.0, 0.0], BEHAVIOR, TARGET), "non-empty"),
        (
            lambda: SlateData.create(
                REWARDS, SlatePropensities(joint=[0.0, 0.2]), SlatePropensities(joint=[0.1, 0.1])
            ),
            r"behavior.joint must be probabilities in \(0, 1\]",
        ),
        (
            lambda: SlateData.create(
                REWARDS, SlatePropensities(joint=[0.1, 0.2]), SlatePropensities()
            ),
            "one policy only",
        ),
        (
            lambda: independent_ips(
                SlateData.create(
                    REWARDS, SlatePropensities(joint=[0.1, 0.2]), SlatePropensities(joint=[1, 1])
                )
            ),
            "needs 'position' propensities",
        ),
        (lambda: SlateOptions(horizon=-1), "horizon must be >= 0"),
        (
            lambda: cascade_doubly_robust(
                SlateData.create(REWARDS, BEHAVIOR, TARGET), [[0.0]], [[0.0]]
            ),
            "q_logged must be finite with shape",
        ),
    ],
)
def test_bad_input_is_one_clear_error(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def test_per_decision_sips_equals_the_trajectory_ips_and_snips():
    from tfrec.evaluation.off_policy import ips, snips
    from tfrec.evaluation.off_policy_data import OffPolicyData

    rng = np.random.default_rng(3)
    lengths = [3, 1, 2, 3]
    sessions = np.repeat(np.arange(len(lengths)), lengths)
    n, k = len(sessions), 2
    rewards = rng.random((n, k)) * (rng.random((n, k)) < 0.5)
    beta, pi = rng.uniform(0.05, 0.5, n), rng.uniform(0.0, 0.5, n)
    data = SlateData.create(
        rewards, SlatePropensities(joint=beta), SlatePropensities(joint=pi), sessions=sessions
    )
    grid = {name: np.zeros((len(lengths), max(lengths))) for name in ("r", "pi", "beta", "m")}
    step = np.concatenate([np.arange(m) for m in lengths])
    for name, values in (("r", rewards.sum(1)), ("pi", pi), ("beta", beta), ("m", 1.0)):
        grid[name][sessions, step] = values
    trajectory = OffPolicyData.from_probs(
        grid["r"], grid["pi"], np.where(grid["m"] > 0, grid["beta"], 1.0), mask=grid["m"]
    )
    assert standard_ips(data).value == pytest.approx(ips(trajectory).value, rel=1e-12)
    assert standard_ips(data).stderr == pytest.approx(ips(trajectory).stderr, rel=1e-12)
    assert standard_ips(data, SN).value == pytest.approx(snips(trajectory).value, rel=1e-12)
    assert standard_ips(data, SN).stderr == pytest.approx(snips(trajectory).stderr, rel=1e-12)
