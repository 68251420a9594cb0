"""Top-K off-policy-corrected REINFORCE (Chen et al., WSDM 2019, arXiv 1812.02353) on TF-Agents.

:class:`TopKOffPolicyReinforceAgent` is a ``tf_agents.agents.ReinforceAgent``: the parent computes
the per-session discounted returns, runs the gradient tape, clips and applies the gradients and
counts steps (``_train``); this class only replaces the loss (``total_loss``) with

    L = - mean_t[ stop_grad(λ_K(π_t) · min(π_t / β_t, c)) · A_t · log π(a_t|s_t) ]   (policy)
        + w_β · mean_t[ -log β̂(a_t|s_t) ]                                          (β̂ head CE)
        + w_V · mean_t[ (R_t - V(s_t))² ]                                          (baseline)
        - w_H · mean_t[ H(π(·|s_t)) ]                                              (entropy)

over the real (non-boundary) steps, with ``A_t = R_t - V(s_t)`` when the actor network has a
value head (``R_t`` otherwise), divided by its batch root mean square when ``normalize_returns``
(:func:`~tfrec.agents.corrections.scale_returns`: scaled, **not centred**).

**No baseline by default.** The training steps are the logged *clicks* (a shown slate without a
click has no item action and is not a step), so every ``R_t`` is ``>= 0`` and the zero-return
outcomes a baseline would be compared against are missing. A baseline ``b`` (a batch mean, as
TF-Agents' ``normalize_returns`` subtracts, or ``V(s)``) adds ``-b · w · ∇log π(a_t|s_t)`` on
clicked items only; its expectation over the log is ``-b ∇ Σ_a π(a|s) P(click a|s)``, not 0, so it
pushes π *away from the items users click* (measured on the default simulator: greedy return
18.4 with a centred normalisation and a value baseline, 28.3 without, 150 steps, top-K). Hence
``normalize_returns`` only rescales, and the value head is off in ``AgentConfig`` by default.
``β_t`` is the logged propensity where ``policy_info["log_propensity"]`` is not NaN, β̂'s
estimate otherwise (§4.2). The corrections are the pure functions of
:mod:`tfrec.agents.corrections`; ``correction`` selects the ablation:

* ``"none"``: plain REINFORCE on the logs (weight 1),
* ``"importance"``: ``min(π/β, c)`` (§4 + capping of §4.4),
* ``"topk"``: ``λ_K · min(π/β, c)`` with ``K = slate_size`` (§4.3).

**Sampled softmax.** When ``vocab_size > sampled_softmax_threshold``, neither π nor β̂ is
computed over the whole catalog: both use ``num_sampled`` shared negatives with the logQ
correction (:func:`tfrec.layers.sampled_logits`), so memory is ``O(batch · time ·
num_sampled)`` and not ``O(batch · time · vocab_size)``. ``log π(a|s)`` (and therefore the
importance weight, ``λ_K`` and the entropy) are then **estimated** from the softmax over the
target and the sampled items, an estimate whose bias shrinks as ``num_sampled`` grows.

Data: the training data spec is the *item* action (``tfrec.specs.item_action_spec``: the item the
user consumed, scalar per step) with ``policy_info = {"log_propensity": float32}``, as produced by
``tfrec.data.pipeline.session_dataset`` and by :mod:`tfrec.training.online`. The agent's
``policy`` (greedy top-K) and ``collect_policy`` (Boltzmann top-K, §5) act with slates ``[k]``.
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf
import tensorflow_probability as tfp
from tf_agents.agents import data_converter, tf_agent
from tf_agents.agents.reinforce import reinforce_agent
from tf_agents.specs import tensor_spec
from tf_agents.trajectories import time_step as ts
from tf_agents.trajectories import trajectory

from tfrec.agents import corrections
from tfrec.agents.arguments import EXPERIENCES, check_agent_arguments
from tfrec.agents.impression_losses import ImpressionLossMixin
from tfrec.agents.loss_info import TopKReinforceLossInfo, masked_mean
from tfrec.agents.replicas import replica_share_of_loss
from tfrec.layers.sampled_softmax import sampled_logits
from tfrec.networks.actor import ActorNetwork
from tfrec.policies.slate_sampling import SlateSamplingPolicy
from tfrec.policies.topk import BoltzmannTopKPolicy, GreedyTopKPolicy
from tfrec.specs import (
    NUM_RESERVED,
    impression_info_spec,
    item_action_spec,
    slate_action_spec,
)

__all__ = [
    "CORRECTIONS",
    "CRITICS",
    "EXPERIENCES",
    "LOG_PROPENSITY",
    "TopKOffPolicyReinforceAgent",
    "TopKReinforceLossInfo",
]

CORRECTIONS = corrections.CORRECTION_KINDS
CRITICS = ("slateq",)
LOG_PROPENSITY = "log_propensity"


class TopKOffPolicyReinforceAgent(ImpressionLossMixin, reinforce_agent.ReinforceAgent):
    """REINFORCE over the catalog with the off-policy and top-K corrections of Chen et al. 2019.

    Args:
      time_step_spec: TimeStep spec whose observation is ``tfrec.specs.history_spec``.
      actor_network: a :class:`~tfrec.networks.ActorNetwork` (with ``behavior_head=True``
        unless ``correction="none"`` or every logged step has a propensity; with
        ``value_head=True`` for a baseline).
      optimizer: a ``tf.keras`` optimizer.
      slate_size: ``K``, the slate size of the policies and of the top-K correction.
      correction: ``"none"``, ``"importance"`` or ``"topk"`` (see the module docstring).
      weight_cap: ``c`` of ``min(π/β, c)``; None disables capping.
      normalize_weights: divide the corrected weights by their batch mean (normalised IS).
      gamma: discount factor of the returns.
      normalize_returns: divide the advantages by their root mean square over the batch's
        real steps (no centring: see the module docstring).
      behavior_loss_weight: weight ``w_β`` of β̂'s cross-entropy.
      value_loss_weight: weight ``w_V`` of the baseline's squared error.
      entropy_regularization: weight ``w_H`` of the entropy bonus (None or 0 disables it).
      gradient_clipping: norm at which each variable's gradient is clipped (TF-Agents'
        ``clip_gradient_norms``; None disables it).
      num_candidates: ``M`` of the Boltzmann collect policy (default ``min(10 K, num_items)``).
      num_greedy: ``K'`` of the Boltzmann collect policy.
      exclude_history: the policies never recommend an item of the history window.
      sampled_softmax_threshold: use sampled softmax when ``vocab_size`` exceeds it (None: never).
      num_sampled: negatives per training batch in sampled-softmax mode.
      sampler: proposal of the negatives, one of ``tfrec.layers.DRAWN_SAMPLERS``
        (``"log_uniform"``, ``"popularity"`` = unigram, old name ``"unigram"``, ``"uniform"``).
      item_frequencies: ``[vocab_size]`` counts, needed by ``sampler="popularity"``.
      sampling_seed: seed of the ``tf.random.Generator`` that draws the sampled-softmax negatives;
        its state is tracked by the agent, so a checkpoint restores it.
      debug_summaries: forwarded to ``ReinforceAgent``.
      summarize_grads_and_vars: forwarded to ``ReinforceAgent``.
      train_step_counter: an int64 ``tf.Variable`` (created when None).
      name: agent name.

    Raises:
      ValueError / TypeError: on an inconsistent configuration (the message names the argument).
    """

    def __init__(
        self,
        time_step_spec: ts.TimeStep,
        actor_network: ActorNetwork,
        optimizer: tf.keras.optimizers.Optimizer,
        slate_size: int,
        correction: str | None = None,
        weight_cap: float | None = corrections.DEFAULT_WEIGHT_CAP,
        normalize_weights: bool = False,
        gamma: float = 0.9,
        normalize_returns: bool = True,
        behavior_loss_weight: float = 1.0,
        value_loss_weight: float = 0.5,
        entropy_regularization: float | None = None,
        gradient_clipping: float | None = None,
        num_candidates: int | None = None,
        num_greedy: int = 0,
        exclude_history: bool = False,
        sampled_softmax_threshold: int | None = 100_000,
        num_sampled: int = 1024,
        sampler: str = "log_uniform",
        item_frequencies: Any = None,
        sampling_seed: int = 0,
        experience: str = "clicks",
        slate_model: str = "plackett_luce",
        exploration_epsilon: float = 0.05,
        inclusion_samples: int = 0,
        advantage_lambda: float | None = None,
        critic: str | None = None,
        critic_samples: int = 8,
        click_loss_weight: float = 1.0,
        scale_value_targets: bool = True,
        debug_summaries: bool = False,
        summarize_grads_and_vars: bool = False,
        train_step_counter: tf.Variable | None = None,
        name: str | None = None,
    ) -> None:
        if not isinstance(actor_network, ActorNetwork):
            raise TypeError(
                "actor_network must be a tfrec.networks.ActorNetwork, got "
                f"{type(actor_network).__name__}."
            )
        correction, self._use_sampled_softmax = check_agent_arguments(
            actor_network,
            experience=experience,
            correction=correction,
            slate_model=slate_model,
            sampler=sampler,
            weight_cap=weight_cap,
            loss_weights={
                "behavior_loss_weight": behavior_loss_weight,
                "value_loss_weight": value_loss_weight,
            },
            sampled_softmax_threshold=sampled_softmax_threshold,
            num_sampled=num_sampled,
            item_frequencies=item_frequencies,
        )
        vocab_size = actor_network.vocab_size
        num_items = vocab_size - NUM_RESERVED
        if train_step_counter is None:
            train_step_counter = tf.Variable(0, dtype=tf.int64, trainable=False, name="train_step")
        elif train_step_counter.dtype != tf.int64:
            raise TypeError(
                f"train_step_counter must be a tf.int64 variable, got {train_step_counter.dtype}."
            )
        time_step_spec = tensor_spec.from_spec(time_step_spec)
        item_spec = tensor_spec.from_spec(item_action_spec(vocab_size))
        super().__init__(
            time_step_spec,
            item_spec,
            actor_network,
            optimizer,
            gamma=gamma,
            normalize_returns=normalize_returns,
            gradient_clipping=gradient_clipping,
            debug_summaries=debug_summaries,
            summarize_grads_and_vars=summarize_grads_and_vars,
            entropy_regularization=entropy_regularization,
            train_step_counter=train_step_counter,
            name=name,
        )
        self._slate_size = int(slate_size)
        self._correction = correction
        self._weight_cap = weight_cap
        self._normalize_weights = bool(normalize_weights)
        self._behavior_loss_weight = float(behavior_loss_weight)
        self._value_loss_weight = float(value_loss_weight)
        self._num_sampled = int(num_sampled)
        self._sampler = sampler
        self._item_frequencies = item_frequencies
        self._sampling_generator = tf.random.Generator.from_seed(sampling_seed)
        self._experience = experience
        self._slate_model = slate_model
        self._exploration_epsilon = float(exploration_epsilon)
        self._exclude_history = bool(exclude_history)
        if advantage_lambda is not None and not 0.0 <= advantage_lambda <= 1.0:
            raise ValueError(f"advantage_lambda must be in [0, 1] or None, got {advantage_lambda}.")
        self._advantage_lambda = advantage_lambda
        if critic is not None:
            if critic not in CRITICS:
                raise ValueError(f"critic must be one of {CRITICS} or None, got {critic!r}.")
            if experience != "impressions":
                raise ValueError(
                    "critic='slateq' learns from impressions: use experience='impressions'."
                )
            if actor_network.slate_critic is None:
                raise ValueError(
                    "critic='slateq' needs the actor network's SlateCritic: build the "
                    "ActorNetwork with slate_critic=True."
                )
            if int(critic_samples) < 2:
                raise ValueError(f"critic_samples must be >= 2, got {critic_samples}.")
        if (
            experience == "impressions"
            and correction == "topk"
            and critic is None
            and slate_model != "independent"
        ):
            raise ValueError(
                "correction='topk' on impressions weighs each shown item by its inclusion "
                "probability 1 - (1 - q)^K, that of K independent draws (§4.3): use "
                "slate_model='independent' with it, or correction='importance' (the exact "
                "Plackett-Luce slate ratio)."
            )
        self._critic = critic
        self._critic_samples = int(critic_samples)
        self._click_loss_weight = float(click_loss_weight)
        self._scale_value_targets = bool(scale_value_targets)

        # Slate policies replace the item-level ActorPolicy/GreedyPolicy the parent built; the
        # training data (item actions + logged propensity) differs from what they collect.
        if num_candidates is None:
            num_candidates = min(max(10 * self._slate_size, self._slate_size), num_items)
        self._policy = GreedyTopKPolicy(
            time_step_spec, actor_network, self._slate_size, exclude_history=exclude_history
        )
        if experience == "impressions":
            self._collect_policy = SlateSamplingPolicy(
                time_step_spec,
                actor_network,
                self._slate_size,
                epsilon=self._exploration_epsilon,
                slate_model=slate_model,
                exclude_history=exclude_history,
                inclusion_samples=inclusion_samples,
                seed=sampling_seed + 1,  # a stream apart from the agent's own generator
            )
        else:
            self._collect_policy = BoltzmannTopKPolicy(
                time_step_spec,
                actor_network,
                self._slate_size,
                num_candidates=num_candidates,
                num_greedy=num_greedy,
                exclude_history=exclude_history,
            )
        self._collect_data_context = data_converter.DataContext(
            time_step_spec=time_step_spec,
            action_spec=self._collect_policy.action_spec,
            info_spec=self._collect_policy.info_spec,
        )
        if experience == "impressions":
            train_action_spec = tensor_spec.from_spec(
                slate_action_spec(self._slate_size, vocab_size)
            )
            info_spec = tensor_spec.from_spec(impression_info_spec(self._slate_size))
        else:
            train_action_spec = item_spec
            info_spec = {LOG_PROPENSITY: tf.TensorSpec((), tf.float32, name=LOG_PROPENSITY)}
        self._training_data_spec = trajectory.Trajectory(
            step_type=time_step_spec.step_type,
            observation=time_step_spec.observation,
            action=train_action_spec,
            policy_info=info_spec,
            next_step_type=time_step_spec.step_type,
            reward=time_step_spec.reward,
            discount=time_step_spec.discount,
        )
        self._data_context = data_converter.DataContext(
            time_step_spec=time_step_spec, action_spec=train_action_spec, info_spec=info_spec
        )
        self._as_trajectory = data_converter.AsTrajectory(self._data_context)

    @property
    def actor_network(self) -> ActorNetwork:
        """The actor network (its ``encoder`` makes the agent exportable)."""
        return self._actor_network

    @property
    def encoder(self) -> tf.keras.layers.Layer:
        """The sequence encoder of the actor network."""
        return self._actor_network.encoder

    @property
    def slate_size(self) -> int:
        """``K``."""
        return self._slate_size

    @property
    def correction(self) -> str:
        """The correction mode: ``"none"``, ``"importance"`` or ``"topk"``."""
        return self._correction

    @property
    def experience(self) -> str:
        """``"impressions"`` (every step, whole slates) or ``"clicks"`` (click-only mode)."""
        return self._experience

    @property
    def slate_model(self) -> str:
        """How the collect policy draws slates: ``"plackett_luce"`` or ``"independent"``."""
        return self._slate_model

    @property
    def uses_sampled_softmax(self) -> bool:
        """Whether the loss uses sampled softmax (``vocab_size > sampled_softmax_threshold``)."""
        return self._use_sampled_softmax

    def _log_probs(
        self, states: tf.Tensor, actions: tf.Tensor
    ) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor | None]:
        """``log π(a|s)``, entropy of π and ``log β̂(a|s)``, each ``[n]``, from states ``[n, D]``."""
        network = self._actor_network
        head = network.behavior_head
        log_beta_hat = None
        if self._use_sampled_softmax:
            kwargs = dict(
                items=actions,
                num_sampled=self._num_sampled,
                sampler=self._sampler,
                item_frequencies=self._item_frequencies,
                generator=self._sampling_generator,
            )
            pi_logits = sampled_logits(
                network.item_embeddings,
                states / network.temperature,
                biases=network.item_biases,
                **kwargs,
            )
            pi_distribution = tfp.distributions.Categorical(logits=pi_logits)
            log_pi = pi_distribution.log_prob(tf.zeros_like(actions))
            if head is not None:
                beta_logits = sampled_logits(
                    head.embeddings, tf.stop_gradient(states), biases=head.biases, **kwargs
                )
                log_beta_hat = tf.nn.log_softmax(beta_logits)[:, 0]
        else:
            pi_distribution = tfp.distributions.Categorical(
                logits=network.logits_from_states(states)
            )
            log_pi = pi_distribution.log_prob(actions)
            if head is not None:
                log_beta_hat = -tf.nn.sparse_softmax_cross_entropy_with_logits(
                    labels=actions, logits=head(states)
                )
        return log_pi, pi_distribution.entropy(), log_beta_hat

    def correction_weights(
        self, log_pi: tf.Tensor, log_beta: tf.Tensor, mask: tf.Tensor
    ) -> tf.Tensor:
        """Per-step weights ``λ_K · min(π/β, c)`` of the configured correction (no gradient).

        Args:
          log_pi: float ``[...]`` ``log π(a_t|s_t)``.
          log_beta: float ``[...]`` ``log β(a_t|s_t)`` (logged or estimated).
          mask: float ``[...]``, 1 on real steps.

        Returns:
          float ``[...]`` gradient-stopped weights (ones for ``correction="none"``).
        """
        return corrections.correction_weights(
            log_pi,
            log_beta,
            self._correction,
            self._slate_size,
            self._weight_cap,
            normalize=self._normalize_weights,
            mask=mask,
        )

    @property
    def _gradient_clipping(self) -> float | None:
        """The clip norm TF-Agents' ``_train`` applies to a replica's gradient (per variable).

        That gradient is of ``loss / replicas`` (:func:`replica_share_of_loss`), so the norm is
        divided likewise: each replica's whole-loss gradient is clipped at ``gradient_clipping``
        before the strategy sums the shares, as on one device.
        """
        if not self._clip_norm:
            return self._clip_norm
        return self._clip_norm / tf.distribute.get_strategy().num_replicas_in_sync

    @_gradient_clipping.setter
    def _gradient_clipping(self, value: float | None) -> None:  # set by ReinforceAgent.__init__
        self._clip_norm = value

    @replica_share_of_loss  # loss / replicas: the strategy sums the replicas' gradients
    def total_loss(
        self,
        experience: trajectory.Trajectory,
        returns: tf.Tensor,
        weights: tf.Tensor | None,
        training: bool = False,
    ) -> tf_agent.LossInfo:
        """The corrected REINFORCE loss (module docstring) of a ``[batch, time]`` trajectory batch.

        Args:
          experience: Trajectory ``[batch, time, ...]`` with item actions ``[batch, time]`` and
            ``policy_info["log_propensity"]`` ``[batch, time]`` (NaN where unknown).
          returns: float ``[batch, time]`` discounted returns (computed by ``ReinforceAgent``).
          weights: optional float ``[batch, time]`` (or broadcastable) sample weights.
          training: forwarded to the encoder (dropout).

        Returns:
          ``LossInfo(loss, TopKReinforceLossInfo(...))``.
        """
        if self._experience == "impressions":
            return self._impression_loss(experience, returns, weights, training)
        network = self._actor_network
        mask = tf.cast(~experience.is_boundary(), tf.float32)
        if weights is not None:
            mask *= tf.cast(weights, tf.float32)
        tf.debugging.assert_greater(
            tf.reduce_sum(mask),
            0.0,
            message="The batch has no real step (all boundary/zero-weight): nothing to learn.",
        )
        actions = tf.cast(experience.action, tf.int32)
        states = network.states(experience.observation, training=training)  # [B, T, D]
        outer = tf.shape(actions)
        flat_states = tf.reshape(states, [-1, network.state_dim])
        log_pi, entropy, log_beta_hat = self._log_probs(flat_states, tf.reshape(actions, [-1]))
        log_pi, entropy = tf.reshape(log_pi, outer), tf.reshape(entropy, outer)

        logged = tf.cast(experience.policy_info[LOG_PROPENSITY], tf.float32)
        if log_beta_hat is not None:
            log_beta_hat = tf.reshape(log_beta_hat, outer)
            log_beta = corrections.select_log_propensity(logged, log_beta_hat)
            behavior_loss = self._behavior_loss_weight * masked_mean(-log_beta_hat, mask)
        else:
            log_beta = logged
            behavior_loss = tf.constant(0.0)
        step_weights = self.correction_weights(log_pi, log_beta, mask)
        if self._correction != "none":
            tf.debugging.assert_all_finite(
                step_weights * mask,
                "Some step has neither a logged log_propensity nor a behaviour head estimate.",
            )

        advantages = returns
        value_loss = tf.constant(0.0)
        if network.value_head is not None:
            values = tf.reshape(network.value_head(flat_states), outer)
            value_loss = self._value_loss_weight * masked_mean(tf.square(returns - values), mask)
            advantages = returns - tf.stop_gradient(values)
        if self._normalize_returns:
            advantages = corrections.scale_returns(advantages, mask)

        policy_gradient_loss = -masked_mean(
            step_weights * tf.stop_gradient(advantages) * log_pi, mask
        )
        diagnostics = (masked_mean(step_weights, mask), masked_mean(log_pi, mask))
        return self._loss_info(
            policy_gradient_loss, behavior_loss, value_loss, entropy, mask, diagnostics
        )
