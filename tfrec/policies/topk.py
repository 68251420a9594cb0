"""Top-K slate policies over an :class:`~tfrec.networks.ActorNetwork` (TF-Agents ``TFPolicy``).

* :class:`GreedyTopKPolicy` (serving): the ``k`` items with the highest π(a|s).
* :class:`BoltzmannTopKPolicy` (exploration, Chen et al., WSDM 2019, §5 "Exploration"): take the
  ``M`` items with the highest π, keep the best ``K'`` of them, and fill the remaining
  ``K - K'`` slots by sampling without replacement from the softmax restricted to those ``M``
  (the Gumbel-top-k trick). This explores at a cost of one top-M per request instead of a
  softmax over the whole catalog.

Both emit ``policy_info = {"log_probability": [k]}``: the log-probability of each slate item under
the policy's *per-item* distribution, the quantity a later off-policy correction needs as the
logged propensity ``β(a|s)``: the full-catalog softmax π for the greedy policy, the softmax
restricted to the top ``M`` for the Boltzmann policy. With ``exclude_history=True`` the items of
the history window are never recommended (and get probability 0).
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf
from tf_agents.policies import tf_policy
from tf_agents.specs import tensor_spec
from tf_agents.trajectories import policy_step
from tf_agents.trajectories import time_step as ts

from tfrec.encoders import SequenceEncoder
from tfrec.networks.actor import ActorNetwork
from tfrec.networks.masking import mask_consumed_logits
from tfrec.specs import NUM_RESERVED, slate_action_spec, time_step_spec

__all__ = ["BoltzmannTopKPolicy", "GreedyTopKPolicy", "LOG_PROBABILITY"]

LOG_PROBABILITY = "log_probability"


class _TopKPolicy(tf_policy.TFPolicy):
    """Shared part: spec checks, masked scores ``[batch, vocab_size]`` from the actor network."""

    def __init__(
        self,
        time_step_spec: ts.TimeStep,
        actor_network: ActorNetwork,
        k: int,
        exclude_history: bool,
        name: str | None,
        info_spec: dict[str, tf.TensorSpec] | None = None,
    ) -> None:
        if not isinstance(actor_network, ActorNetwork):
            raise TypeError(
                f"actor_network must be a tfrec.networks.ActorNetwork, got "
                f"{type(actor_network).__name__}."
            )
        action_spec = tensor_spec.from_spec(slate_action_spec(k, actor_network.vocab_size))
        if info_spec is None:
            info_spec = {LOG_PROBABILITY: tf.TensorSpec([k], tf.float32, name=LOG_PROBABILITY)}
        actor_network.create_variables()
        self._actor_network = actor_network
        self._k = int(k)
        self._exclude_history = bool(exclude_history)
        super().__init__(
            time_step_spec=time_step_spec,
            action_spec=action_spec,
            info_spec=info_spec,
            name=name,
        )

    @property
    def k(self) -> int:
        """Slate size."""
        return self._k

    @property
    def actor_network(self) -> ActorNetwork:
        """The network the scores come from."""
        return self._actor_network

    def _variables(self) -> list[tf.Variable]:
        return self._actor_network.variables

    def _scores(self, time_step: ts.TimeStep) -> tf.Tensor:
        """π's masked logits ``[batch, vocab_size]`` (history excluded when asked)."""
        distribution, _ = self._actor_network(
            time_step.observation, step_type=time_step.step_type, training=False
        )
        logits = distribution.logits
        if self._exclude_history:
            logits = mask_consumed_logits(logits, time_step.observation)
        return logits

    def _distribution(self, time_step: ts.TimeStep, policy_state: Any) -> policy_step.PolicyStep:
        raise NotImplementedError(
            f"{type(self).__name__} emits slates of distinct items without a closed-form "
            "distribution over slates; call action() (log-probabilities are in policy_step.info)."
        )


class GreedyTopKPolicy(_TopKPolicy):
    """The ``k`` items with the highest π(a|s): the serving policy.

    Args:
      time_step_spec: TimeStep spec whose observation is the history spec.
      actor_network: the trained :class:`~tfrec.networks.ActorNetwork`.
      k: slate size, ``1 <= k <= num_items``.
      exclude_history: never recommend an item of the history window.
      name: policy name.

    ``action(time_step)``: ``action`` int32 ``[batch, k]`` (distinct items, best first), ``info``
    ``{"log_probability": [batch, k]}`` = ``log π(item|s)`` under the full-catalog softmax.
    """

    def __init__(
        self,
        time_step_spec: ts.TimeStep,
        actor_network: ActorNetwork,
        k: int,
        exclude_history: bool = False,
        name: str | None = "GreedyTopKPolicy",
    ) -> None:
        super().__init__(time_step_spec, actor_network, k, exclude_history, name)

    @classmethod
    def from_encoder(
        cls, encoder: SequenceEncoder, k: int, exclude_history: bool = False
    ) -> GreedyTopKPolicy:
        """Any trained encoder's top-``k`` items by score as a greedy slate policy.

        Args:
          encoder: a built encoder (e.g. the supervised model's); its ``max_len`` is the history
            window of the observations ``[batch, max_len]``.
          k: slate size.
          exclude_history: never recommend items of the history window.

        Returns:
          A ``GreedyTopKPolicy`` over an ``ActorNetwork`` of that encoder (no extra heads).
        """
        spec = time_step_spec(encoder.max_len, encoder.vocab_size)
        network = ActorNetwork(spec.observation, encoder, behavior_head=False)
        return cls(spec, network, k, exclude_history=exclude_history)

    def _action(
        self, time_step: ts.TimeStep, policy_state: Any, seed: Any = None
    ) -> policy_step.PolicyStep:
        logits = self._scores(time_step)
        top_logits, items = tf.math.top_k(logits, k=self._k)
        log_probs = top_logits - tf.reduce_logsumexp(logits, axis=-1, keepdims=True)
        return policy_step.PolicyStep(items, policy_state, {LOG_PROBABILITY: log_probs})


class BoltzmannTopKPolicy(_TopKPolicy):
    """Boltzmann top-K exploration (Chen et al. 2019, §5): ``K'`` greedy + sampled from top ``M``.

    Args:
      time_step_spec: TimeStep spec whose observation is the history spec.
      actor_network: the :class:`~tfrec.networks.ActorNetwork`.
      k: slate size ``K``.
      num_candidates: ``M``, the number of top items the sample is drawn from (``K <= M``).
      num_greedy: ``K'``, the number of slots filled greedily (``0 <= K' <= K``; ``K' = K`` is
        the greedy policy).
      exclude_history: never recommend an item of the history window.
      name: policy name.

    ``action(time_step, seed)``: ``action`` int32 ``[batch, k]`` distinct items (the ``K'``
    greedy ones first), ``info`` ``{"log_probability": [batch, k]}`` = log-probability of each
    item under the softmax restricted to the top ``M``.

    Raises:
      ValueError: if ``K' > K``, ``K > M`` or ``M`` exceeds the number of items.
    """

    def __init__(
        self,
        time_step_spec: ts.TimeStep,
        actor_network: ActorNetwork,
        k: int,
        num_candidates: int,
        num_greedy: int = 0,
        exclude_history: bool = False,
        name: str | None = "BoltzmannTopKPolicy",
    ) -> None:
        num_items = actor_network.vocab_size - NUM_RESERVED
        if not 0 <= num_greedy <= k:
            raise ValueError(f"num_greedy (K') must be in [0, k={k}], got {num_greedy}.")
        if not k <= num_candidates <= num_items:
            raise ValueError(
                f"num_candidates (M) must be in [k={k}, number of items={num_items}], "
                f"got {num_candidates}."
            )
        self._num_candidates = int(num_candidates)
        self._num_greedy = int(num_greedy)
        super().__init__(time_step_spec, actor_network, k, exclude_history, name)

    @property
    def num_candidates(self) -> int:
        """``M``: size of the top set sampled from."""
        return self._num_candidates

    @property
    def num_greedy(self) -> int:
        """``K'``: number of greedy slots."""
        return self._num_greedy

    def _action(
        self, time_step: ts.TimeStep, policy_state: Any, seed: Any = None
    ) -> policy_step.PolicyStep:
        logits = self._scores(time_step)
        top_logits, top_items = tf.math.top_k(logits, k=self._num_candidates)  # [B, M]
        log_probs_m = tf.nn.log_softmax(top_logits, axis=-1)
        num_sampled = self._k - self._num_greedy
        greedy_positions = tf.broadcast_to(
            tf.range(self._num_greedy), [tf.shape(logits)[0], self._num_greedy]
        )
        if num_sampled > 0:
            # Gumbel-top-k over positions K'..M-1 = sampling without replacement from the softmax.
            rest = top_logits[:, self._num_greedy :]
            uniform = tf.random.uniform(
                tf.shape(rest),
                minval=tf.experimental.numpy.finfo(rest.dtype).tiny,
                maxval=1.0,
                dtype=rest.dtype,
                seed=seed,
            )
            gumbel = -tf.math.log(-tf.math.log(uniform))
            _, sampled = tf.math.top_k(rest + gumbel, k=num_sampled)
            positions = tf.concat([greedy_positions, sampled + self._num_greedy], axis=-1)
        else:
            positions = greedy_positions
        items = tf.gather(top_items, positions, batch_dims=1)
        log_probs = tf.gather(log_probs_m, positions, batch_dims=1)
        return policy_step.PolicyStep(items, policy_state, {LOG_PROBABILITY: log_probs})
