"""TopKOffPolicyReinforceAgent trains on a tiny generated log (tfrec.agents.reinforce)."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from tfrec import specs
from tfrec.agents.reinforce import TopKOffPolicyReinforceAgent, TopKReinforceLossInfo
from tfrec.data import ItemVocabulary, build_sequences, generate_log, session_dataset
from tfrec.encoders import SequenceEncoder
from tfrec.networks import ActorNetwork
from tfrec.policies.topk import BoltzmannTopKPolicy, GreedyTopKPolicy

L, STEPS, K = 5, 6, 3


def batch(with_propensity: bool, num_items: int = 30):
    log = generate_log(
        num_users=16,
        num_items=num_items,
        interactions_per_user=8,
        seed=0,
        with_propensity=with_propensity,
    )
    vocab = ItemVocabulary.from_items(log.df["item"])
    seqs = build_sequences(log, vocab)
    dataset = session_dataset(seqs, L, STEPS, batch_size=8, shuffle=False)
    return next(iter(dataset)), vocab


def make_agent(vocab_size: int, **kwargs) -> TopKOffPolicyReinforceAgent:
    tf.keras.utils.set_random_seed(0)
    value_head = kwargs.pop("value_head", True)
    encoder = SequenceEncoder(vocab_size, L, dim=8, num_layers=1, num_heads=1, dropout=0.0)
    network = ActorNetwork(specs.history_spec(L, vocab_size), encoder, value_head=value_head)
    return TopKOffPolicyReinforceAgent(
        specs.time_step_spec(L, vocab_size),
        network,
        tf.keras.optimizers.Adam(1e-2),
        K,
        **kwargs,
    )


@pytest.mark.parametrize("with_propensity", [False, True])
@pytest.mark.smoke
def test_agent_trains_and_reports_every_term(with_propensity):
    experience, vocab = batch(with_propensity)
    agent = make_agent(vocab.size, entropy_regularization=0.01)
    assert agent.train_step_counter.dtype == tf.int64
    assert agent.training_data_spec.action.shape == ()
    assert isinstance(agent.policy, GreedyTopKPolicy)
    assert isinstance(agent.collect_policy, BoltzmannTopKPolicy)
    before = [v.numpy().copy() for v in agent._actor_network.trainable_weights]
    for _ in range(2):
        info = agent.train(experience)
    assert np.isfinite(info.loss.numpy())
    assert isinstance(info.extra, TopKReinforceLossInfo)
    terms = info.extra._asdict()
    assert set(terms) == set(TopKReinforceLossInfo._fields)
    assert all(np.isfinite(float(v)) for v in terms.values())
    assert float(terms["entropy_regularization_loss"]) < 0.0  # entropy bonus is on
    assert float(terms["value_estimation_loss"]) > 0.0
    total = sum(float(terms[n]) for n in TopKReinforceLossInfo._fields if n.endswith("_loss"))
    assert float(info.loss) == pytest.approx(total, rel=1e-5)
    after = agent._actor_network.trainable_weights
    changed = [not np.allclose(b, a.numpy()) for b, a in zip(before, after)]
    assert all(changed)  # encoder, tied table, β̂ head and value head all move
    assert int(agent.train_step_counter.numpy()) == 2


def _corrected_mean_weight(agent, experience, log_beta):
    """Recomputes the mean weight λ_K · min(π/β, c) from the agent's own log π."""
    network = agent.actor_network
    states = tf.reshape(network.states(experience.observation), [-1, network.state_dim])
    log_pi, _, _ = agent._log_probs(states, tf.reshape(experience.action, [-1]))
    pi = np.exp(log_pi.numpy())
    mask = ~experience.is_boundary().numpy().ravel()
    weight = np.minimum(pi / np.exp(log_beta.ravel()), np.exp(3.0)) * K * (1 - pi) ** (K - 1)
    return weight[mask].mean()


def test_logged_propensities_are_used_when_present():
    experience, vocab = batch(with_propensity=True)
    agent = make_agent(vocab.size)
    returns = tf.zeros_like(experience.reward)
    info = agent.total_loss(experience, returns, None)
    logged = experience.policy_info["log_propensity"].numpy()
    assert np.isfinite(logged).all()
    expected = _corrected_mean_weight(agent, experience, logged)
    assert float(info.extra.mean_weight) == pytest.approx(expected, rel=1e-4)


def test_behavior_estimate_is_used_without_propensities():
    experience, vocab = batch(with_propensity=False)
    agent = make_agent(vocab.size)
    info = agent.total_loss(experience, tf.zeros_like(experience.reward), None)
    network = agent.actor_network
    states = tf.reshape(network.states(experience.observation), [-1, network.state_dim])
    log_beta = tf.nn.log_softmax(network.behavior_head(states))
    log_beta = tf.gather(log_beta, tf.reshape(experience.action, [-1]), batch_dims=1).numpy()
    expected = _corrected_mean_weight(agent, experience, log_beta)
    assert float(info.extra.mean_weight) == pytest.approx(expected, rel=1e-4)


def test_no_correction_is_plain_reinforce():
    experience, vocab = batch(with_propensity=False)
    agent = make_agent(vocab.size, correction="none", value_head=False)
    info = agent.total_loss(experience, tf.ones_like(experience.reward), None)
    assert float(info.extra.mean_weight) == pytest.approx(1.0)
    assert float(info.extra.value_estimation_loss) == 0.0


def test_sampled_softmax_trains_on_a_larger_catalog():
    experience, vocab = batch(with_propensity=False, num_items=300)
    assert vocab.size > 40
    agent = make_agent(vocab.size, sampled_softmax_threshold=40, num_sampled=20)
    assert agent.uses_sampled_softmax
    table = agent.actor_network.item_embeddings.numpy().copy()
    info = agent.train(experience)
    assert np.isfinite(info.loss.numpy())
    # log π is estimated over the target and 20 negatives: between log(1/21)-ish and 0.
    assert -20.0 < float(info.extra.mean_log_pi) < 0.0
    assert not np.allclose(table, agent.actor_network.item_embeddings.numpy())


def test_agent_validation():
    vocab_size = 12
    encoder = SequenceEncoder(vocab_size, L, dim=8, num_layers=1, num_heads=1)
    spec = specs.time_step_spec(L, vocab_size)
    no_beta = ActorNetwork(specs.history_spec(L, vocab_size), encoder, behavior_head=False)
    optimizer = tf.keras.optimizers.Adam()
    with pytest.raises(ValueError, match="behavior_head"):
        TopKOffPolicyReinforceAgent(spec, no_beta, optimizer, 2)
    with pytest.raises(ValueError, match="correction"):
        TopKOffPolicyReinforceAgent(spec, no_beta, optimizer, 2, correction="bogus")
    with pytest.raises(TypeError, match="int64"):
        TopKOffPolicyReinforceAgent(
            spec, no_beta, optimizer, 2, correction="none", train_step_counter=tf.Variable(0)
        )
    repeat = SequenceEncoder(vocab_size, L, dim=8, num_layers=1, num_heads=1, repeat_bias=True)
    repeat_actor = ActorNetwork(specs.history_spec(L, vocab_size), repeat, behavior_head=False)
    with pytest.raises(ValueError, match="repeat bias"):
        TopKOffPolicyReinforceAgent(spec, repeat_actor, optimizer, 2, correction="none")


def test_normalized_returns_are_scaled_not_centred():
    """Regression: the loss used TF-Agents' centred standardisation (a baseline), which on a
    click-only log pushed π away from clicked items (greedy return below random slates)."""
    experience, vocab = batch(with_propensity=False)
    agent = make_agent(vocab.size, correction="none", value_head=False)
    mask = ~experience.is_boundary().numpy()
    returns = np.where(mask, np.arange(mask.size, dtype=np.float32).reshape(mask.shape) + 1, 0)
    info = agent.total_loss(experience, tf.constant(returns, tf.float32), None)
    network = agent.actor_network
    states = tf.reshape(network.states(experience.observation), [-1, network.state_dim])
    log_pi, _, _ = agent._log_probs(states, tf.reshape(experience.action, [-1]))
    log_pi = log_pi.numpy().reshape(mask.shape)
    real = returns[mask]
    scaled = real / np.sqrt(np.mean(real**2))  # every advantage stays positive
    expected = -np.mean(scaled * log_pi[mask])
    assert float(info.extra.policy_gradient_loss) == pytest.approx(expected, rel=1e-4)


@pytest.mark.smoke
def test_uncorrected_loss_matches_plain_tf_agents_reinforce():
    """Sanity check against ``tf_agents.agents.ReinforceAgent`` on the same batch and network.

    TF-Agents sums ``-log π · R`` over the valid steps and divides by the number of episodes;
    this agent averages over the real steps, so the two differ by ``#real steps / #episodes``.
    """
    from tf_agents.agents.reinforce import reinforce_agent

    experience, vocab = batch(with_propensity=False)
    agent = make_agent(vocab.size, correction="none", value_head=False, normalize_returns=False)
    plain = reinforce_agent.ReinforceAgent(
        specs.time_step_spec(L, vocab.size),
        agent.training_data_spec.action,
        agent.actor_network,
        tf.keras.optimizers.Adam(1e-2),
        normalize_returns=False,
    )
    returns = tf.where(experience.is_boundary(), 0.0, experience.reward + 1.0)
    ours = float(agent.total_loss(experience, returns, None).extra.policy_gradient_loss)
    theirs = float(plain.total_loss(experience, returns, None).extra.policy_gradient_loss)
    num_real = float(np.sum(~experience.is_boundary().numpy()))
    num_episodes = float(np.sum(experience.is_last().numpy() & ~experience.is_boundary().numpy()))
    assert ours * num_real / num_episodes == pytest.approx(theirs, rel=1e-4)


def test_gradient_clipping_norm_follows_the_replica_share_of_the_loss(monkeypatch):
    from types import SimpleNamespace

    agent = make_agent(32, gradient_clipping=2.0)
    assert agent._gradient_clipping == 2.0  # one device: the norm as given
    monkeypatch.setattr(
        tf.distribute, "get_strategy", lambda: SimpleNamespace(num_replicas_in_sync=4)
    )
    # Each replica's gradient is of loss / 4: clipping it at 2 / 4 clips loss's gradient at 2.
    assert agent._gradient_clipping == 0.5
    assert make_agent(32)._gradient_clipping is None
