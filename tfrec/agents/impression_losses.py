"""Impression-level losses of :class:`~tfrec.agents.reinforce.TopKOffPolicyReinforceAgent`.

The agent's ``experience="impressions"`` mode learns from every environment step and the whole
slate shown (the layout of ``tfrec.specs``); this mixin holds its two losses, the slate policy
gradient with a state-value baseline (:meth:`ImpressionLossMixin._impression_loss`, terms in
:mod:`tfrec.agents.slate_terms`) and the SlateQ actor-critic
(:meth:`ImpressionLossMixin._critic_loss`, Ie et al., IJCAI 2019), plus the collect policy's
distribution they differentiate. It is a mixin, not a separate agent, because both modes share
the agent's networks, policies, checkpoints and ``ReinforceAgent`` training step.
"""

from __future__ import annotations

import tensorflow as tf
import tensorflow_probability as tfp
from tf_agents.agents import tf_agent
from tf_agents.trajectories import trajectory
from tf_agents.utils import common

from tfrec.agents import corrections, slate_terms
from tfrec.agents.loss_info import TopKReinforceLossInfo, masked_mean
from tfrec.networks.masking import mask_consumed_logits
from tfrec.policies.slate_distribution import mixture_log_probs, sample_slates, slate_log_prob
from tfrec.specs import CLICK_POSITION, INCLUSION_PROPENSITY, SLATE_LOG_PROPENSITY

__all__ = ["ImpressionLossMixin"]


class ImpressionLossMixin:
    """The impressions-mode losses (mixed into ``TopKOffPolicyReinforceAgent``)."""

    def _value_scale(self, returns: tf.Tensor, mask: tf.Tensor) -> tf.Tensor:
        """Scale of the value targets: the batch RMS of the returns (1 when not scaled).

        Value heads regress ``R / scale`` and predict ``scale · v``: returns of tens of minutes
        are out of reach of a freshly initialised head within a few hundred steps otherwise.
        """
        if not self._scale_value_targets:
            return tf.constant(1.0)
        mean_square = masked_mean(tf.square(tf.cast(returns, tf.float32)), mask)
        return tf.stop_gradient(tf.sqrt(mean_square) + 1e-6)

    def _loss_info(
        self,
        policy_gradient_loss: tf.Tensor,
        behavior_loss: tf.Tensor,
        value_loss: tf.Tensor,
        entropy: tf.Tensor,
        mask: tf.Tensor,
        diagnostics: tuple[tf.Tensor, tf.Tensor],
    ) -> tf_agent.LossInfo:
        """The agent's ``LossInfo`` from its loss terms (every mode), summarised for TensorBoard.

        Adds the entropy bonus ``-w_H · mean_t H(π(·|s_t))`` and the networks' regularisation
        losses to the given terms.

        Args:
          policy_gradient_loss: scalar policy-gradient term.
          behavior_loss: scalar β̂ (or click-model) cross-entropy term.
          value_loss: scalar baseline / critic term.
          entropy: float ``[...]`` π's entropy per step.
          mask: float ``[...]``, 1 on real steps.
          diagnostics: ``(mean_weight, mean_log_pi)`` scalars.

        Returns:
          ``LossInfo(total, TopKReinforceLossInfo(...))``.
        """
        entropy_loss = tf.constant(0.0)
        if self._entropy_regularization:
            entropy_loss = -self._entropy_regularization * masked_mean(entropy, mask)
        # A plain sum: ``replica_share_of_loss`` divides the whole total by the replicas in sync
        # (tf.nn.scale_regularization_loss would divide this term a second time).
        penalties = self._actor_network.losses
        regularization_loss = tf.add_n(penalties) if penalties else tf.constant(0.0)
        total = policy_gradient_loss + behavior_loss + value_loss + entropy_loss
        total += regularization_loss
        terms = (policy_gradient_loss, behavior_loss, value_loss, entropy_loss, regularization_loss)
        extra = TopKReinforceLossInfo(*terms, *diagnostics)  # the field order
        common.summarize_scalar_dict(
            {**extra._asdict(), "total_loss": total}, self.train_step_counter, name_scope="Losses/"
        )
        return tf_agent.LossInfo(total, extra)

    def collect_log_probs(
        self, states: tf.Tensor, observation: tf.Tensor
    ) -> tuple[tf.Tensor, tf.Tensor]:
        """``log q_θ`` ``[n, V]`` of the collect policy and π's entropy ``[n]``.

        Args:
          states: float ``[n, state_dim]`` encoder states.
          observation: int ``[n, max_len]`` their histories.
        """
        logits = self._actor_network.logits_from_states(states, observation)
        entropy = tfp.distributions.Categorical(logits=logits).entropy()
        if self._exclude_history:
            logits = mask_consumed_logits(logits, observation)
        allowed = tf.reduce_sum(tf.cast(logits > logits.dtype.min, tf.int32), axis=-1)
        return mixture_log_probs(logits, self._exploration_epsilon, allowed), entropy

    def slate_log_probs(
        self,
        observation: tf.Tensor,
        slates: tf.Tensor,
        training: bool = False,
        mask: tf.Tensor | None = None,
    ) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor]:
        """``log q_θ(A|s)`` of slates under the collect policy's distribution, and π's entropy.

        ``q_θ = (1 - ε)·π_θ + ε·uniform`` over the recommendable items (history excluded when the
        agent excludes it), the slate drawn as the agent's ``slate_model``: the exact probability
        of what the collect policy samples, so fresh on-policy slates have importance ratio 1.

        Args:
          observation: int ``[..., max_len]`` histories.
          slates: int ``[..., K]`` slates.
          training: forwarded to the encoder (dropout).
          mask: optional float ``[...]``, 1 on real steps: the items of other steps (boundary
            padding) count as probability 1, so a padding slate the policy could never show
            (e.g. with ``exclude_history``) does not turn the masked loss into NaN; a real step
            whose slate has probability 0 is an error.

        Returns:
          ``(log_q [...], entropy [...], states [..., state_dim], item_log_q [..., K])``.

        Raises:
          InvalidArgumentError: a real step shows an item of probability 0 under ``q_θ``.
        """
        network = self._actor_network
        states = network.states(observation, training=training)
        outer = tf.shape(slates)[:-1]
        flat_obs = tf.reshape(
            tf.cast(observation, tf.int32), [-1, network.input_tensor_spec.shape[0]]
        )
        flat_states = tf.reshape(states, [-1, network.state_dim])
        log_q, entropy = self.collect_log_probs(flat_states, flat_obs)
        flat_slates = tf.reshape(tf.cast(slates, tf.int32), [-1, self._slate_size])
        item_log_q = tf.gather(log_q, flat_slates, batch_dims=1)
        if mask is not None:
            real = tf.reshape(mask, [-1, 1]) > 0
            tf.debugging.assert_all_finite(
                tf.where(real, item_log_q, 0.0),
                "a real step's slate holds an item of probability 0 under the policy (an item of "
                "the history with exclude_history=True, or padding/OOV): drop those steps or "
                "build the agent with exclude_history=False.",
            )
            item_log_q = tf.where(real, item_log_q, 0.0)
        log_q_slate = slate_log_prob(item_log_q, self._slate_model)
        item_log_q = tf.reshape(item_log_q, tf.shape(slates))
        return tf.reshape(log_q_slate, outer), tf.reshape(entropy, outer), states, item_log_q

    def _impression_loss(
        self,
        experience: trajectory.Trajectory,
        returns: tf.Tensor,
        weights: tf.Tensor | None,
        training: bool,
    ) -> tf_agent.LossInfo:
        """The every-step slate policy gradient (:mod:`tfrec.agents.slate_terms`).

        ``L = -1/E · Σ_t Â_t ℓ_t + w_V/E · Σ_t (R_t - V(s_t))² - w_H · mean_t H(π(·|s_t))``
        over the real steps, ``E`` the number of episodes in the batch (TF-Agents'
        ``ReinforceAgent`` normalisation), ``Â = R - V`` or GAE(λ) (centred and scaled when
        ``normalize_returns``) and the weighted log-likelihood ``ℓ_t`` of the shown slate:

        * ``"none"``: ``log q_θ(A_t|s_t)`` (on-policy data);
        * ``"importance"``: ``min(q_θ(A_t)/β(A_t), c) · log q_θ(A_t|s_t)``, the capped
          per-slate ratio against the logged ``slate_log_propensity``;
        * ``"topk"``: ``mean_{i∈A_t} min(α_θ(i)/α_β(i), c) · log α_θ(i)``, per shown item, with
          ``α = 1 - (1 - q)^K`` the inclusion probability of ``K`` draws (§4.3; its gradient is
          ``λ_K(q)·q/α·∇log q``) and ``α_β`` the logged ``inclusion_propensity``: ``K`` ratios
          of one item each instead of one ratio of ``K`` items (lower variance; exact when the
          session value is additive over the shown items).
        """
        network = self._actor_network
        mask = tf.cast(~experience.is_boundary(), tf.float32)
        if weights is not None:
            mask *= tf.cast(weights, tf.float32)
        num_episodes = tf.reduce_sum(tf.cast(experience.is_last(), tf.float32))
        tf.debugging.assert_greater(
            num_episodes, 0.0, message="The batch holds no complete episode: nothing to learn."
        )
        log_q, entropy, states, item_log_q = self.slate_log_probs(
            experience.observation, experience.action, training=training, mask=mask
        )
        if self._critic is not None:
            return self._critic_loss(experience, returns, mask, num_episodes, states, entropy)
        # The importance weights compare with the β the collect policy logged without dropout.
        ratio_log_q, ratio_item_log_q = log_q, item_log_q
        if training and self._correction != "none" and getattr(network.encoder, "dropout", 0):
            ratio_log_q, _, _, ratio_item_log_q = self.slate_log_probs(
                experience.observation, experience.action, training=False, mask=mask
            )
        if self._correction == "none":
            step_weights = tf.ones_like(log_q)
            weighted_log_prob = log_q
        elif self._correction == "topk":
            # Per shown item: the inclusion probability α = 1 - (1 - q)^K (K draws, §4.3) of the
            # policy against the logged one, and ∇log α = λ_K(q)·q/α·∇log q (the paper's top-K
            # factor) instead of the whole slate's likelihood.
            logged = tf.cast(experience.policy_info[INCLUSION_PROPENSITY], tf.float32)
            real = mask[..., None] > 0
            tf.debugging.assert_all_finite(
                tf.where(real, logged, 1.0),
                "correction='topk' on impressions needs the logged inclusion_propensity of every "
                "shown item: log it (AgentConfig.inclusion_samples > 0, or an impression log's "
                "propensity column) or use correction='importance' (the slate ratio).",
            )
            log_alpha = corrections.log_inclusion_probability(item_log_q, self._slate_size)
            ratio_log_alpha = corrections.log_inclusion_probability(
                ratio_item_log_q, self._slate_size
            )
            item_weights = corrections.cap_weights(
                tf.exp(
                    tf.stop_gradient(ratio_log_alpha) - tf.math.log(tf.where(real, logged, 1.0))
                ),
                self._weight_cap,
            )
            item_weights = tf.stop_gradient(item_weights * tf.cast(real, tf.float32))
            step_weights = tf.reduce_mean(item_weights, axis=-1)
            weighted_log_prob = tf.reduce_mean(item_weights * log_alpha, axis=-1)
        else:
            logged = tf.cast(experience.policy_info[SLATE_LOG_PROPENSITY], tf.float32)
            tf.debugging.assert_all_finite(
                tf.where(mask > 0, logged, 0.0),
                "a real step has no logged slate_log_propensity; use correction='none'.",
            )
            step_weights = slate_terms.slate_importance_weights(
                ratio_log_q, tf.where(mask > 0, logged, 0.0), self._weight_cap
            )
            if self._normalize_weights:
                step_weights = corrections.normalize_weights(step_weights, mask)
            weighted_log_prob = step_weights * log_q
        advantages = returns
        value_loss = tf.constant(0.0)
        if network.value_head is not None:
            flat_states = tf.reshape(states, [-1, network.state_dim])
            scale = self._value_scale(returns, mask)
            values = tf.reshape(network.value_head(flat_states), tf.shape(returns)) * scale
            value_loss = (
                self._value_loss_weight
                * tf.reduce_sum(tf.square((returns - values) / scale) * mask)
                / num_episodes
            )
            if self._advantage_lambda is None:
                advantages = returns - tf.stop_gradient(values)
            else:
                advantages = slate_terms.generalized_advantages(
                    experience.reward,
                    tf.stop_gradient(values),
                    experience.discount,
                    experience.next_step_type,
                    self._gamma,
                    self._advantage_lambda,
                )
        if self._normalize_returns:
            advantages = slate_terms.centred_advantages(advantages, mask)
        policy_gradient_loss = (
            -tf.reduce_sum(tf.stop_gradient(advantages) * weighted_log_prob * mask) / num_episodes
        )
        diagnostics = (masked_mean(step_weights, mask), masked_mean(log_q, mask))
        return self._loss_info(
            policy_gradient_loss, tf.constant(0.0), value_loss, entropy, mask, diagnostics
        )

    def _critic_loss(
        self,
        experience: trajectory.Trajectory,
        returns: tf.Tensor,
        mask: tf.Tensor,
        num_episodes: tf.Tensor,
        states: tf.Tensor,
        entropy: tf.Tensor,
    ) -> tf_agent.LossInfo:
        """Actor-critic on impressions with SlateQ's decomposition (``critic="slateq"``).

        * click model: ``w_click · CE(P(·|s_t, A_t), clicked position or none)``;
        * item values: ``w_V · mean_t (R_t - Q̄(s_t, what happened))²``, the Monte-Carlo return
          after the click (or the no-click);
        * actor: per real step, ``M = critic_samples`` slates ``A_m ~ q_θ(·|s_t)`` are drawn and
          scored by the critic ``Q(s_t, A_m)`` (no user needed); the REINFORCE leave-one-out
          estimator ``-1/(M E) Σ_t Σ_m (Q_m - mean_{m'≠m} Q_{m'}) log q_θ(A_m|s_t)`` (Kool et
          al., 2019, "Buy 4 REINFORCE samples, get a baseline for free") follows the gradient
          of ``E_{A~q_θ}[Q(s, A)]``, with the advantages scaled by their batch RMS when
          ``normalize_returns``.
        """
        network = self._actor_network
        critic = network.slate_critic
        k, samples = self._slate_size, self._critic_samples
        real = tf.reshape(mask, [-1]) > 0
        flat_states = tf.boolean_mask(tf.reshape(states, [-1, network.state_dim]), real)
        flat_obs = tf.boolean_mask(
            tf.reshape(
                tf.cast(experience.observation, tf.int32),
                [-1, network.input_tensor_spec.shape[0]],
            ),
            real,
        )
        slates = tf.boolean_mask(tf.reshape(tf.cast(experience.action, tf.int32), [-1, k]), real)
        clicks = tf.boolean_mask(
            tf.reshape(tf.cast(experience.policy_info[CLICK_POSITION], tf.int32), [-1]), real
        )
        targets = tf.boolean_mask(tf.reshape(returns, [-1]), real)
        step_weights = tf.boolean_mask(tf.reshape(mask, [-1]), real)

        outcome = clicks + 1  # 0 = no click, 1 + j = position j
        click_loss = self._click_loss_weight * masked_mean(
            tf.nn.sparse_softmax_cross_entropy_with_logits(
                labels=outcome, logits=critic.click_logits(flat_states, slates)
            ),
            step_weights,
        )
        scale = self._value_scale(targets, step_weights)
        happened = tf.gather(critic.values(flat_states, slates), outcome, batch_dims=1)
        value_loss = self._value_loss_weight * masked_mean(
            tf.square(targets / scale - happened), step_weights
        )

        log_q, _ = self.collect_log_probs(flat_states, flat_obs)  # [n, V]
        tiled = tf.repeat(tf.stop_gradient(log_q)[:, None, :], samples, axis=1)
        sampled = sample_slates(tiled, k, self._sampling_generator, self._slate_model)
        item_log_q = tf.gather(log_q, sampled, batch_dims=1)  # [n, M, K]
        sampled_log_q = slate_log_prob(item_log_q, self._slate_model)  # [n, M]
        sample_states = tf.repeat(tf.stop_gradient(flat_states)[:, None, :], samples, axis=1)
        q_values = tf.stop_gradient(critic.slate_value(sample_states, sampled) * scale)  # [n, M]
        total_q = tf.reduce_sum(q_values, axis=1, keepdims=True)
        advantages = q_values - (total_q - q_values) / (samples - 1)
        if self._normalize_returns:
            rms = tf.sqrt(tf.reduce_mean(tf.square(advantages)) + 1e-8)
            advantages = advantages / rms
        policy_gradient_loss = -tf.reduce_sum(
            advantages * sampled_log_q * step_weights[:, None]
        ) / (samples * num_episodes)
        diagnostics = (tf.reduce_mean(q_values), tf.reduce_mean(sampled_log_q))
        return self._loss_info(
            policy_gradient_loss, click_loss, value_loss, entropy, mask, diagnostics
        )
