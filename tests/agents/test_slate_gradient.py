"""The every-step slate policy gradient (experience="impressions") of TopKOffPolicyReinforceAgent."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
from tf_agents.agents.reinforce import reinforce_agent
from tf_agents.networks import network as tfa_network
from tf_agents.specs import tensor_spec

from tfrec import specs
from tfrec.agents import corrections, slate_terms
from tfrec.agents.reinforce import TopKOffPolicyReinforceAgent
from tfrec.encoders import SequenceEncoder
from tfrec.networks import ActorNetwork
from tfrec.policies.slate_distribution import plackett_luce_log_prob
from tfrec.policies.slate_sampling import SlateSamplingPolicy
from tfrec.training.impressions import ImpressionBuffer, ImpressionEpisode

L, V = 4, 12  # history window, vocabulary (10 items)


def episodes(k: int, seed: int = 0) -> list[ImpressionEpisode]:
    rng = np.random.default_rng(seed)
    out = []
    for n in (3, 5, 2):
        slates = np.stack([rng.choice(np.arange(2, V), k, replace=False) for _ in range(n)])
        clicks = rng.integers(-1, k, n).astype(np.int32)
        rewards = np.where(clicks >= 0, rng.uniform(1, 5, n), 0.0).astype(np.float32)
        obs = rng.integers(0, V, (n, L)).astype(np.int32)
        out.append(
            ImpressionEpisode(
                obs,
                slates.astype(np.int32),
                rewards,
                clicks,
                np.log(rng.uniform(0.01, 0.2, n)).astype(np.float32),
                np.full((n, k), np.nan, np.float32),
                True,
            )
        )
    return out


def make_agent(k: int, **kwargs) -> TopKOffPolicyReinforceAgent:
    tf.keras.utils.set_random_seed(0)
    encoder = SequenceEncoder(V, L, dim=8, num_layers=1, num_heads=1, dropout=0.0)
    network = ActorNetwork(specs.history_spec(L, V), encoder, behavior_head=False, value_head=True)
    return TopKOffPolicyReinforceAgent(
        specs.time_step_spec(L, V),
        network,
        tf.keras.optimizers.Adam(1e-2),
        k,
        experience="impressions",
        **kwargs,
    )


def test_specs_and_collect_policy():
    agent = make_agent(3)
    assert agent.training_data_spec.action.shape == (3,)
    assert set(agent.training_data_spec.policy_info) == {
        specs.SLATE_LOG_PROPENSITY,
        specs.INCLUSION_PROPENSITY,
        specs.CLICK_POSITION,
    }
    assert isinstance(agent.collect_policy, SlateSamplingPolicy)
    with pytest.raises(ValueError, match="experience"):
        TopKOffPolicyReinforceAgent(
            specs.time_step_spec(L, V),
            agent.actor_network,
            tf.keras.optimizers.Adam(),
            3,
            experience="views",
        )


class _ValueNetwork(tfa_network.Network):
    """V(s) of the actor's value head, as the separate value network plain REINFORCE takes."""

    def __init__(self, actor: ActorNetwork):
        super().__init__(actor.input_tensor_spec, state_spec=(), name="value")
        self._actor = actor

    def call(self, observation, step_type=None, network_state=(), training=False):
        states = self._actor.states(observation, training=training)
        flat = tf.reshape(states, [-1, self._actor.state_dim])
        values = tf.reshape(self._actor.value_head(flat), tf.shape(states)[:-1])
        return values, network_state


def test_on_policy_k1_loss_equals_plain_reinforce_with_a_value_network():
    agent = make_agent(
        1,
        correction="none",
        exploration_epsilon=0.0,
        normalize_returns=False,
        value_loss_weight=0.2,
        scale_value_targets=False,
        gamma=0.9,
    )
    experience = ImpressionBuffer(10, 6).as_trajectory(episodes(1))
    plain = reinforce_agent.ReinforceAgent(
        agent.time_step_spec,
        tensor_spec.from_spec(specs.item_action_spec(V)),
        agent.actor_network,
        tf.keras.optimizers.Adam(1e-2),
        value_network=_ValueNetwork(agent.actor_network),
        value_estimation_loss_coef=0.2,
        normalize_returns=False,
        gamma=0.9,
    )
    returns = corrections.discounted_returns(
        experience.reward, experience.discount, experience.next_step_type, 0.9
    )
    item_experience = experience._replace(action=experience.action[..., 0], policy_info=())
    ours = agent.total_loss(experience, returns, None)
    theirs = plain.total_loss(item_experience, returns, None)
    assert float(ours.extra.policy_gradient_loss) == pytest.approx(
        float(theirs.extra.policy_gradient_loss), rel=1e-5
    )
    assert float(ours.extra.value_estimation_loss) == pytest.approx(
        float(theirs.extra.value_estimation_loss), rel=1e-5
    )
    assert float(ours.loss) == pytest.approx(float(theirs.loss), rel=1e-5)


def test_policy_gradient_loss_by_hand():
    agent = make_agent(
        2,
        correction="importance",
        weight_cap=2.0,
        normalize_returns=False,
        scale_value_targets=False,
    )
    eps = episodes(2)
    experience = ImpressionBuffer(10, 6).as_trajectory(eps)
    returns = corrections.discounted_returns(
        experience.reward, experience.discount, experience.next_step_type, 1.0
    )
    info = agent.total_loss(experience, returns, None)
    log_q, _, states, _ = agent.slate_log_probs(experience.observation, experience.action)
    values = tf.reshape(
        agent.actor_network.value_head(tf.reshape(states, [-1, 8])), returns.shape
    ).numpy()
    mask = ~experience.is_boundary().numpy()
    weights = np.minimum(
        np.exp(log_q.numpy() - experience.policy_info[specs.SLATE_LOG_PROPENSITY].numpy()), 2.0
    )
    advantages = returns.numpy() - values
    expected = -(weights * advantages * log_q.numpy())[mask].sum() / 3  # 3 episodes
    assert float(info.extra.policy_gradient_loss) == pytest.approx(expected, rel=1e-4)
    assert float(info.extra.behavior_loss) == 0.0


def test_returns_count_the_no_click_steps():
    eps = [
        ImpressionEpisode(
            np.zeros((3, L), np.int32),
            np.full((3, 1), 2, np.int32),
            np.array([2.0, 0.0, 3.0], np.float32),
            np.array([0, -1, 0], np.int32),
            np.zeros(3, np.float32),
            np.ones((3, 1), np.float32),
            True,
        )
    ]
    experience = ImpressionBuffer(4, 4).as_trajectory(eps)
    returns = corrections.discounted_returns(
        experience.reward, experience.discount, experience.next_step_type, 0.5
    ).numpy()
    np.testing.assert_allclose(returns[0], [2 + 0.5 * 0 + 0.25 * 3, 1.5, 3.0, 0.0, 0.0])


def test_centred_advantages_and_capped_slate_weights():
    mask = np.array([1.0, 1.0, 1.0, 0.0])
    centred = slate_terms.centred_advantages(np.array([1.0, 2.0, 3.0, 100.0]), mask).numpy()
    np.testing.assert_allclose(centred[:3], np.array([-1, 0, 1]) / np.sqrt(2 / 3), rtol=1e-4)
    assert centred[3] == 0.0
    weights = slate_terms.slate_importance_weights(np.log([0.5, 0.01]), np.log([0.1, 0.1]), 3.0)
    np.testing.assert_allclose(weights.numpy(), [3.0, 0.1], rtol=1e-6)


def test_training_moves_the_weights_and_rejects_sampled_softmax():
    agent = make_agent(2, entropy_regularization=0.01)
    experience = ImpressionBuffer(10, 6).as_trajectory(episodes(2))
    before = [w.numpy().copy() for w in agent.actor_network.trainable_weights]
    info = agent.train(experience)
    assert np.isfinite(info.loss.numpy())
    after = agent.actor_network.trainable_weights
    assert any(not np.allclose(b, a.numpy()) for b, a in zip(before, after))
    with pytest.raises(ValueError, match="whole catalog"):
        make_agent(2, sampled_softmax_threshold=5, num_sampled=4)


def test_generalized_advantages_by_hand_and_lambda_one_is_return_minus_value():
    rewards = np.array([[1.0, 2.0, 4.0, 0.0]], np.float32)
    values = np.array([[3.0, 2.0, 1.0, 9.0]], np.float32)
    discounts = np.array([[1.0, 1.0, 0.0, 1.0]], np.float32)
    last = 2  # StepType.LAST
    next_types = np.array([[1, 1, last, 0]], np.int32)
    gae = slate_terms.generalized_advantages(rewards, values, discounts, next_types, 0.5, 0.5)
    d2 = 4.0 - 1.0  # terminal: no bootstrap
    d1 = 2.0 + 0.5 * 1.0 - 2.0
    d0 = 1.0 + 0.5 * 2.0 - 3.0
    expected = [d0 + 0.25 * (d1 + 0.25 * d2), d1 + 0.25 * d2, d2]
    np.testing.assert_allclose(gae.numpy()[0, :3], expected, rtol=1e-6)
    full = slate_terms.generalized_advantages(rewards, values, discounts, next_types, 0.5, 1.0)
    returns = corrections.discounted_returns(rewards, discounts, next_types, 0.5).numpy()
    np.testing.assert_allclose(full.numpy()[0, :3], (returns - values)[0, :3], rtol=1e-6)


def test_log_inclusion_probability_and_its_top_k_gradient():
    pi = tf.constant([1e-6, 0.2, 0.9999], tf.float64)
    log_alpha = corrections.log_inclusion_probability(tf.math.log(pi), 3)
    np.testing.assert_allclose(np.exp(log_alpha.numpy()), 1 - (1 - pi.numpy()) ** 3, rtol=1e-5)
    log_pi = tf.Variable(np.log([0.2]), dtype=tf.float64)
    with tf.GradientTape() as tape:
        value = corrections.log_inclusion_probability(log_pi, 3)
    # d log α / d log π = λ_K(π) · π / α
    alpha = 1 - 0.8**3
    expected = corrections.topk_multiplier(tf.constant([0.2], tf.float64), 3).numpy() * 0.2 / alpha
    np.testing.assert_allclose(tape.gradient(value, log_pi).numpy(), expected, rtol=1e-6)


def test_plackett_luce_keeps_its_precision_when_q_is_peaked():
    logits = np.array([30.0, 10.0, 0.0, 0.0])
    log_q = logits - np.log(np.exp(logits - 30.0).sum()) - 30.0
    got = plackett_luce_log_prob(tf.constant(log_q[[0, 1, 2]], tf.float32)).numpy()
    q = np.exp(log_q)
    exact = np.log(q[0]) + np.log(q[1] / (1 - q[0])) + np.log(q[2] / (1 - q[0] - q[1]))
    # float32 inputs bound the precision of 1 - q0 - q1 (~1e-13) to ~1e-3 in log; the float32
    # computation this replaced returned +124.7.
    assert got == pytest.approx(exact, abs=1e-3)


def test_padding_slates_never_turn_the_loss_into_nan_with_exclude_history():
    agent = make_agent(2, exclude_history=True, correction="none")
    n = 3
    episode = ImpressionEpisode(
        np.full((n, L), 2, np.int32),  # item 2 is in the history: q(2) = 0
        np.array([[3, 4], [5, 6], [7, 8]], np.int32),
        np.array([1.0, 0.0, 2.0], np.float32),
        np.array([0, -1, 1], np.int32),
        np.zeros(n, np.float32),
        np.ones((n, 2), np.float32),
        True,
    )
    experience = ImpressionBuffer(10, 5).as_trajectory([episode])
    assert (experience.action.numpy()[0, n:] == 2).all()  # boundary slates hold item 2
    returns = corrections.discounted_returns(
        experience.reward, experience.discount, experience.next_step_type, 1.0
    )
    assert np.isfinite(agent.total_loss(experience, returns, None).loss.numpy())
    bad = episode._replace(slates=np.array([[2, 4], [5, 6], [7, 8]], np.int32))
    with pytest.raises(tf.errors.InvalidArgumentError, match="probability 0"):
        agent.total_loss(ImpressionBuffer(10, 5).as_trajectory([bad]), returns, None)


def test_top_k_on_impressions_by_hand_and_needs_independent_draws():
    with pytest.raises(ValueError, match="independent"):
        make_agent(2, correction="topk")
    agent = make_agent(
        2,
        correction="topk",
        slate_model="independent",
        weight_cap=None,
        normalize_returns=False,
        scale_value_targets=False,
    )
    eps = [e._replace(inclusions=np.full_like(e.inclusions, 0.3)) for e in episodes(2)]
    experience = ImpressionBuffer(10, 6).as_trajectory(eps)
    returns = corrections.discounted_returns(
        experience.reward, experience.discount, experience.next_step_type, 1.0
    )
    info = agent.total_loss(experience, returns, None)
    _, _, states, item_log_q = agent.slate_log_probs(experience.observation, experience.action)
    alpha = 1 - (1 - np.exp(item_log_q.numpy())) ** 2
    values = tf.reshape(
        agent.actor_network.value_head(tf.reshape(states, [-1, 8])), returns.shape
    ).numpy()
    mask = ~experience.is_boundary().numpy()
    per_step = (alpha / 0.3 * np.log(alpha)).mean(-1)
    expected = -((returns.numpy() - values) * per_step)[mask].sum() / 3
    assert float(info.extra.policy_gradient_loss) == pytest.approx(expected, rel=1e-4)
