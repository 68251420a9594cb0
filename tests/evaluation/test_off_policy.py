"""Off-policy estimators: hand-computed values, statistical sanity, and input validation."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from tfrec.evaluation.estimate import Estimate, effective_sample_size
from tfrec.evaluation.off_policy import OffPolicyOptions, capped_ips, doubly_robust, ips, snips
from tfrec.evaluation.off_policy_data import OffPolicyData
from tfrec.evaluation.slate_episodes import (
    SlateEpisodes,
    additive_item_values,
    additive_slate_model,
    independent_slate_log_probs,
)

Z95 = 1.959963984540054

# Per-step example: weights pi/beta = [2, 0.5, 0.5, 0.5].
R = [1.0, 0.0, 1.0, 1.0]
PI = [0.5, 0.2, 0.1, 0.4]
BETA = [0.25, 0.4, 0.2, 0.8]

# Per-trajectory example: 2 episodes, the second one step shorter (masked last step).
#   ratios   ep0 [2, 0.5, 1]  -> per-decision products [2, 1, 1]
#            ep1 [0.5, 2, -]  -> per-decision products [0.5, 1, 1]
TR = [[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]]
TPI = [[0.4, 0.1, 0.3], [0.1, 0.6, 0.0]]
TBETA = [[0.2, 0.2, 0.3], [0.2, 0.3, 0.0]]
TMASK = [[1, 1, 1], [1, 1, 0]]


@pytest.fixture()
def bandit() -> OffPolicyData:
    return OffPolicyData.from_probs(R, PI, BETA)


@pytest.fixture()
def trajectories() -> OffPolicyData:
    return OffPolicyData.from_probs(TR, TPI, TBETA, mask=TMASK)


# ---------------------------------------------------------------- per-step, hand-computed


def test_ips_per_step_value_and_normal_ci(bandit: OffPolicyData) -> None:
    est = ips(bandit)
    # terms w*r = [2, 0, 0.5, 0.5]: mean 0.75; sample var = (1.5625+0.5625+0.0625+0.0625)/3.
    assert est.value == pytest.approx(0.75)
    stderr = math.sqrt(0.75) / 2.0
    assert est.stderr == pytest.approx(stderr)
    assert est.lower == pytest.approx(0.75 - Z95 * stderr)
    assert est.upper == pytest.approx(0.75 + Z95 * stderr)
    assert est.num_units == 4
    # Kish ESS of [2, .5, .5, .5]: 3.5^2 / 4.75.
    assert est.effective_sample_size == pytest.approx(12.25 / 4.75)
    assert est.method == "ips/normal"
    assert est.contains(0.75) and not est.contains(10.0)


def test_capped_ips_clips_weights(bandit: OffPolicyData) -> None:
    # cap 1: weights [1, .5, .5, .5], terms [1, 0, .5, .5].
    assert capped_ips(bandit, OffPolicyOptions(cap=1.0)).value == pytest.approx(0.5)
    # the default cap e^3 ~ 20 does not bind here.
    assert capped_ips(bandit).value == pytest.approx(0.75)
    assert capped_ips(bandit).method == "capped_ips/normal"


def test_snips_per_step_value_and_delta_method(bandit: OffPolicyData) -> None:
    est = snips(bandit)
    value = 3.0 / 3.5  # sum w r / sum w
    assert est.value == pytest.approx(value)
    # influence psi_i = w_i (r_i - V) / mean(w), mean(w) = 0.875.
    psi = np.array([2 * (1 - value), 0.5 * (0 - value), 0.5 * (1 - value), 0.5 * (1 - value)])
    psi /= 0.875
    assert est.stderr == pytest.approx(np.std(psi, ddof=1) / 2.0)


def test_doubly_robust_per_step(bandit: OffPolicyData) -> None:
    q = [0.5] * 4
    v = [0.6] * 4
    # terms v + w (r - q) = [1.6, 0.35, 0.85, 0.85].
    assert doubly_robust(bandit, q, v).value == pytest.approx(3.65 / 4)


def test_doubly_robust_is_exact_with_a_perfect_model(bandit: OffPolicyData) -> None:
    v = np.array([0.3, 0.7, 0.1, 0.9])
    # With q == r the correction vanishes: DR = mean v whatever the weights.
    assert doubly_robust(bandit, R, v).value == pytest.approx(v.mean())
    # With a zero model DR is IPS.
    assert doubly_robust(bandit, np.zeros(4), np.zeros(4)).value == pytest.approx(0.75)


def test_on_policy_data_gives_the_sample_mean() -> None:
    data = OffPolicyData.from_probs(R, BETA, BETA)
    for estimator in (ips, snips, capped_ips):
        assert estimator(data).value == pytest.approx(0.75)


def test_snips_is_invariant_to_weight_scaling() -> None:
    a = OffPolicyData.from_probs(R, PI, BETA)
    b = OffPolicyData.from_probs(R, np.array(PI) / 2.0, BETA)
    assert snips(a).value == pytest.approx(snips(b).value)
    assert ips(b).value == pytest.approx(ips(a).value / 2.0)


def test_log_probs_match_probs(bandit: OffPolicyData) -> None:
    from_logs = OffPolicyData.from_log_probs(R, np.log(PI), np.log(BETA))
    np.testing.assert_allclose(from_logs.ratios, bandit.ratios)
    # -inf target log-prob: the target never takes that action, weight 0.
    zero = OffPolicyData.from_log_probs([1.0, 1.0], [-np.inf, 0.0], [np.log(0.5), np.log(0.5)])
    np.testing.assert_allclose(zero.ratios, [0.0, 2.0])


# ---------------------------------------------------------------- per-trajectory, hand-computed


def test_per_decision_ips(trajectories: OffPolicyData) -> None:
    # ep0: 2*1 + 1*0 + 1*1 = 3; ep1: 0.5*0 + 1*1 = 1.
    assert ips(trajectories).value == pytest.approx(2.0)
    # discount 0.5 -> ep0: 2 + 0 + 0.25 = 2.25; ep1: 0.5.
    assert ips(trajectories, OffPolicyOptions(discount=0.5)).value == pytest.approx(1.375)
    # Chen et al.'s one-step ratios: ep0: 2*1 + 0.5*0 + 1*1 = 3; ep1: 0.5*0 + 2*1 = 2.
    assert ips(trajectories, OffPolicyOptions(ratio_mode="one_step")).value == pytest.approx(2.5)
    # capping the cumulative weights at 1: ep0 [1,1,1] -> 2; ep1 [.5,1,1] -> 1.
    assert capped_ips(trajectories, OffPolicyOptions(cap=1.0)).value == pytest.approx(1.5)
    # ESS over the final per-episode weights [1, 1].
    assert ips(trajectories).effective_sample_size == pytest.approx(2.0)
    assert ips(trajectories).num_units == 2


def test_weighted_per_decision_ips(trajectories: OffPolicyData) -> None:
    # t0: (2*1 + .5*0) / 2.5 = 0.8; t1: (1*0 + 1*1) / 2 = 0.5; t2: (1*1 + 1*0) / 2 = 0.5.
    assert snips(trajectories).value == pytest.approx(1.8)
    assert snips(trajectories, OffPolicyOptions(discount=0.5)).value == pytest.approx(
        0.8 + 0.25 + 0.125
    )


def test_trajectory_doubly_robust(trajectories: OffPolicyData) -> None:
    q = [[1.0, 1.0, 1.0], [1.0, 1.0, 99.0]]  # masked entries are ignored
    v = [[0.5, 0.5, 0.5], [0.5, 0.5, np.nan]]
    # ep0: w=[2,1,1], w_prev=[1,2,1]: (0 + .5) + (-1 + 1) + (0 + .5) = 1.0
    # ep1: w=[.5,1,-], w_prev=[1,.5,-]: (-.5 + .5) + (0 + .25) = 0.25
    assert doubly_robust(trajectories, q, v).value == pytest.approx(0.625)


def test_trajectory_with_all_ones_ratios_is_the_mean_return() -> None:
    rewards = np.array([[1.0, 2.0], [0.0, 4.0]])
    probs = np.full_like(rewards, 0.3)
    data = OffPolicyData.from_probs(rewards, probs, probs)
    assert ips(data).value == pytest.approx(3.5)
    assert snips(data).value == pytest.approx(3.5)


# ---------------------------------------------------------------- statistics


def _synthetic_bandit(n: int, seed: int) -> tuple[OffPolicyData, np.ndarray, np.ndarray, float]:
    """Uniform behaviour over 5 arms, a skewed target, Bernoulli rewards with known means."""
    rng = np.random.default_rng(seed)
    means = np.array([0.1, 0.2, 0.3, 0.6, 0.9])
    target = np.array([0.05, 0.05, 0.1, 0.3, 0.5])
    actions = rng.integers(0, 5, size=n)
    rewards = (rng.random(n) < means[actions]).astype(float)
    data = OffPolicyData.from_probs(rewards, target[actions], np.full(n, 0.2))
    model = means + 0.1  # a biased reward model
    logged_q = model[actions]
    target_v = np.full(n, float(target @ model))
    return data, logged_q, target_v, float(target @ means)


def test_estimators_cover_the_true_value_on_a_synthetic_bandit() -> None:
    data, q, v, truth = _synthetic_bandit(20_000, seed=0)
    for est in (ips(data), snips(data), doubly_robust(data, q, v)):
        assert abs(est.value - truth) < 3.0 * est.stderr, est
        assert abs(est.value - truth) / truth < 0.05, est
    # DR with a (biased) model has a smaller standard error than IPS here.
    assert doubly_robust(data, q, v).stderr < ips(data).stderr


def test_bootstrap_ci_agrees_with_the_normal_ci() -> None:
    data, _, _, _ = _synthetic_bandit(2_000, seed=1)
    normal = snips(data)
    boot = snips(data, OffPolicyOptions(ci_method="bootstrap", num_bootstrap=300, seed=3))
    assert boot.value == pytest.approx(normal.value)
    assert boot.stderr == pytest.approx(normal.stderr, rel=0.2)
    assert boot.method == "snips/bootstrap"
    # deterministic for a seed
    assert snips(data, OffPolicyOptions(ci_method="bootstrap", num_bootstrap=300, seed=3)) == boot


def test_bootstrap_resamples_the_reward_model_with_the_units(bandit: OffPolicyData) -> None:
    q = np.array(R)
    v = np.array([0.3, 0.7, 0.1, 0.9])
    boot = doubly_robust(
        bandit, q, v, OffPolicyOptions(ci_method="bootstrap", num_bootstrap=200, seed=0)
    )
    # every resample's DR value is a mean of resampled v's, so it stays within [min v, max v].
    assert 0.1 <= boot.lower <= boot.upper <= 0.9


def test_effective_sample_size() -> None:
    assert effective_sample_size(np.ones(7)) == pytest.approx(7.0)
    assert effective_sample_size(np.array([1.0, 0.0, 0.0])) == pytest.approx(1.0)
    assert effective_sample_size(np.zeros(3)) == 0.0


def test_estimate_str_reads_well(bandit: OffPolicyData) -> None:
    text = str(ips(bandit))
    assert text.startswith("0.7500 ± ") and "95% CI" in text and "n=4" in text
    assert isinstance(ips(bandit), Estimate)


# ---------------------------------------------------------------- validation


@pytest.mark.parametrize("beta", [[0.25, 0.0, 0.2, 0.8], [0.25, -0.1, 0.2, 0.8]])
def test_zero_or_negative_propensity_is_rejected(beta: list[float]) -> None:
    with pytest.raises(ValueError, match=r"zero or negative propensities \(first at index \(1,\)"):
        OffPolicyData.from_probs(R, PI, beta)


def test_bad_inputs_are_rejected_with_clear_messages() -> None:
    with pytest.raises(ValueError, match="same shape"):
        OffPolicyData.from_probs(R, PI[:3], BETA)
    with pytest.raises(ValueError, match=r"shape \[num_rows\]"):
        OffPolicyData.from_probs(np.zeros((2, 2, 2)), np.zeros((2, 2, 2)), np.ones((2, 2, 2)))
    with pytest.raises(ValueError, match="empty"):
        OffPolicyData.from_probs([], [], [])
    with pytest.raises(ValueError, match="target_probs must be probabilities"):
        OffPolicyData.from_probs(R, [2.0, 0.1, 0.1, 0.1], BETA)
    with pytest.raises(ValueError, match="rewards has 1 non-finite"):
        OffPolicyData.from_probs([1.0, np.nan, 0.0, 0.0], PI, BETA)
    with pytest.raises(ValueError, match="log-probabilities"):
        OffPolicyData.from_log_probs(R, [0.5, -1.0, -1.0, -1.0], np.log(BETA))
    with pytest.raises(ValueError, match="behavior_log_probs"):
        OffPolicyData.from_log_probs(R, np.log(PI), [-np.inf, -1.0, -1.0, -1.0])
    with pytest.raises(ValueError, match="mask has shape"):
        OffPolicyData.from_probs(TR, TPI, TBETA, mask=[1, 1, 0])
    with pytest.raises(ValueError, match="per-step .* mask must be all True"):
        OffPolicyData.from_probs(R, PI, BETA, mask=[1, 1, 1, 0])
    with pytest.raises(TypeError, match="numeric array"):
        OffPolicyData.from_probs(["a", "b"], PI[:2], BETA[:2])


def test_estimator_arguments_are_checked(bandit: OffPolicyData) -> None:
    with pytest.raises(TypeError, match="expected OffPolicyData"):
        ips((R, PI, BETA))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="cap must be > 0"):
        OffPolicyOptions(cap=0.0)
    with pytest.raises(ValueError, match="ratio_mode"):
        OffPolicyOptions(ratio_mode="products")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="ci_method"):
        OffPolicyOptions(ci_method="jackknife")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="confidence"):
        OffPolicyOptions(confidence=95)
    with pytest.raises(ValueError, match="logged_q has shape"):
        doubly_robust(bandit, [0.5] * 3, [0.5] * 4)
    with pytest.raises(ValueError, match="target_v has 1 non-finite"):
        doubly_robust(bandit, [0.5] * 4, [0.5, np.nan, 0.5, 0.5])


def test_discount_is_checked(trajectories: OffPolicyData) -> None:
    with pytest.raises(ValueError, match="discount"):
        OffPolicyOptions(discount=1.5)


def test_snips_without_overlap_is_rejected() -> None:
    data = OffPolicyData.from_probs([1.0, 0.0], [0.0, 0.0], [0.5, 0.5])
    with pytest.raises(ValueError, match="all importance weights are 0"):
        snips(data)


# ---------------------------------------------------------------- slate impression logs


def _impression_log():
    import pandas as pd

    from tfrec.data import InteractionLog, ItemVocabulary

    vocab = ItemVocabulary.from_items(np.array(["a", "b", "c"]))
    # episode e1: 2 steps (rows deliberately shuffled), episode e0: 1 step; slates of 2.
    df = pd.DataFrame(
        {
            "user": ["e1", "e1", "e0", "e0", "e1", "e1"],
            "item": ["c", "a", "b", "b", "b", "c"],
            "timestamp": [1, 0, 0, 0, 0, 1],
            "position": [1, 0, 0, 1, 1, 0],
            "reward": [0.0, 2.0, 0.0, 0.0, 0.0, 3.0],
            "propensity": [0.5, 0.25, 0.25, 0.25, 0.25, 0.5],
        }
    )
    return InteractionLog.from_dataframe(df), vocab


def test_slate_episodes_from_impressions() -> None:
    log, vocab = _impression_log()
    episodes = SlateEpisodes.from_impressions(log, vocab, slate_size=2)
    a, b, c = vocab.lookup(["a", "b", "c"])
    order = list(episodes.episode_ids)
    e0, e1 = order.index("e0"), order.index("e1")
    np.testing.assert_array_equal(episodes.mask[e0], [True, False])
    np.testing.assert_array_equal(episodes.mask[e1], [True, True])
    np.testing.assert_array_equal(episodes.slates[e1], [[a, b], [c, c]])
    np.testing.assert_array_equal(episodes.slates[e0, 0], [b, b])
    np.testing.assert_allclose(episodes.rewards[e1], [2.0, 3.0])
    np.testing.assert_allclose(episodes.rewards[e0], [0.0, 0.0])
    np.testing.assert_allclose(episodes.behavior_log_probs[e1], np.log([0.25 * 0.25, 0.5 * 0.5]))
    # Target = behaviour: weights 1, estimate = mean return (5 + 0) / 2.
    data = episodes.off_policy_data(episodes.behavior_log_probs)
    assert ips(data).value == pytest.approx(2.5)


def test_slate_episodes_reject_click_logs_and_bad_slate_sizes() -> None:
    log, vocab = _impression_log()
    with pytest.raises(ValueError, match="exactly slate_size=3 rows"):
        SlateEpisodes.from_impressions(log, vocab, slate_size=3)
    repeated = type(log).from_dataframe(log.df.assign(position=[0, 1, 0, 1, 0, 0]))
    with pytest.raises(ValueError, match="episode 'e1', timestamp 1"):
        SlateEpisodes.from_impressions(repeated, vocab, slate_size=2)
    clicks = type(log).from_dataframe(log.df.drop(columns=["position"]))
    with pytest.raises(ValueError, match="impression log"):
        SlateEpisodes.from_impressions(clicks, vocab, slate_size=2)


def test_independent_slate_log_probs() -> None:
    p = np.array([0.0, 0.0, 0.5, 0.3, 0.2])
    slates = np.array([[2, 3], [4, 4]])
    np.testing.assert_allclose(
        independent_slate_log_probs(p, slates), np.log([0.5 * 0.3, 0.2 * 0.2])
    )
    assert independent_slate_log_probs(p, np.array([0, 2])) == -np.inf
    with pytest.raises(ValueError, match="vocab_size"):
        independent_slate_log_probs(p, np.array([2, 7]))


def test_additive_slate_model() -> None:
    log, vocab = _impression_log()
    episodes = SlateEpisodes.from_impressions(log, vocab, slate_size=2)
    a, b, c = vocab.lookup(["a", "b", "c"])
    p = np.zeros(vocab.size)
    p[[a, b, c]] = [0.5, 0.5, 0.0]
    q, v = additive_slate_model(episodes, p, prior_weight=0.0)
    # Reward shares per impression: a: 2/2 (1 impression) -> 1; b: (1 + 0 + 0) / 3; c: 3/2.
    c_a, c_b, c_c = 1.0, 1.0 / 3.0, 1.5
    # g[t+1]: after step 0, episodes alive at 0 have returns-to-go [3, 0] -> 1.5; after 1: 0.
    e0, e1 = list(episodes.episode_ids).index("e0"), list(episodes.episode_ids).index("e1")
    np.testing.assert_allclose(q[e1], [c_a + c_b + 1.5, 2 * c_c + 0.0])
    np.testing.assert_allclose(q[e0], [2 * c_b + 1.5, 0.0])
    np.testing.assert_allclose(
        v[e1], [2 * (0.5 * c_a + 0.5 * c_b) + 1.5, 2 * (0.5 * c_a + 0.5 * c_b)]
    )
    # The same parts, exposed for step-dependent targets.
    values, g_next = additive_item_values(episodes, vocab.size, prior_weight=0.0)
    np.testing.assert_allclose(values[[a, b, c]], [c_a, c_b, c_c])
    np.testing.assert_allclose(values[:2], 0.0)
    np.testing.assert_allclose(g_next, [1.5, 0.0])
    with pytest.raises(ValueError, match="vocab_size"):
        additive_item_values(episodes, 2)


# ---------------------------------------------------------------- against simulator truth


def test_snips_and_dr_match_the_true_value_on_a_simulator_log() -> None:
    """A small interest-evolution simulator; truth = rollouts of the target policy."""
    from tfrec.environments import CatalogConfig, InterestEvolutionConfig, InterestEvolutionEnv
    from tfrec.evaluation.rollouts import evaluate_policy
    from tfrec.policies import PopularitySoftmaxPolicy, generate_logged_data

    config = InterestEvolutionConfig(catalog=CatalogConfig(num_items=100), slate_size=3)
    env = InterestEvolutionEnv(config, batch_size=128, seed=0)
    popularity = env.item_popularity(num_users=500)
    logged = generate_logged_data(env, 1500, impressions=True, popularity=popularity, seed=1)
    # Target: a sharper popularity chart (temperature 0.8 instead of the behaviour's 1.0).
    target = PopularitySoftmaxPolicy(
        env.time_step_spec(), env.action_spec(), popularity, temperature=0.8, seed=2
    )
    truth = evaluate_policy(env, target, 3000, seed=3).mean_return

    episodes = SlateEpisodes.from_impressions(logged.log, env.vocabulary, env.slate_size)
    item_probs = np.concatenate([[0.0, 0.0], target.probabilities])
    data = episodes.off_policy_data(independent_slate_log_probs(item_probs, episodes.slates))
    logged_q, target_v = additive_slate_model(episodes, item_probs)
    for est in (snips(data), doubly_robust(data, logged_q, target_v)):
        assert abs(est.value - truth) / truth < 0.10, (est, truth)
        assert est.effective_sample_size > 50


def test_options_are_one_checked_dataclass(bandit: OffPolicyData) -> None:
    with pytest.raises(ValueError, match="num_bootstrap must be >= 2"):
        OffPolicyOptions(ci_method="bootstrap", num_bootstrap=1)
    with pytest.raises(TypeError, match="options must be an OffPolicyOptions"):
        ips(bandit, {"cap": 1.0})  # type: ignore[arg-type]
    with pytest.raises(dataclasses.FrozenInstanceError):
        OffPolicyOptions().cap = 1.0  # type: ignore[misc]
    # capped_ips without a cap uses the default e^3 (which does not bind here).
    assert capped_ips(bandit, OffPolicyOptions()).method == "capped_ips/normal"
