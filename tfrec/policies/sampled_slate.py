"""A stochastic slate policy for off-policy evaluation: ``k`` i.i.d. draws from a trained π.

A greedy top-K slate has probability ~0 of appearing in a log of i.i.d.-sampled slates, so an
off-policy estimator cannot evaluate it; the stochastic policy "draw the ``k`` slate items
i.i.d. from ``π(·|history)``" can, because the probability of any logged slate is
``Π_i π(slate_i|history)``. :class:`SampledSlatePolicy` is that policy as a numpy ``PyPolicy``
over a batched simulator, with :meth:`SampledSlatePolicy.item_probabilities` giving the exact
float64 ``π`` an estimator needs for the logged histories
(:func:`tfrec.evaluation.slate_episodes.independent_slate_log_probs`).

It differs from :class:`~tfrec.policies.slate_sampling.SlateSamplingPolicy` (the TF collect
policy of impression-level training: a uniform exploration share, Plackett-Luce slates, a
checkpointed ``tf.random.Generator``): no exploration, float64 probabilities, a numpy generator.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf
from tf_agents.policies import py_policy
from tf_agents.trajectories import policy_step
from tf_agents.trajectories import time_step as ts

from tfrec.networks.actor import ActorNetwork
from tfrec.policies.behavior import sample_iid_per_row

__all__ = ["SampledSlatePolicy"]


class SampledSlatePolicy(py_policy.PyPolicy):
    """Slates of ``k`` items drawn i.i.d. from a trained actor's ``π(·|history)``.

    Args:
      time_step_spec: the (unbatched) TimeStep spec of the environment.
      action_spec: the slate action spec, shape ``[k]``.
      actor_network: the trained :class:`~tfrec.networks.ActorNetwork`.
      seed: seed of the numpy sampler.

    ``action(time_step)`` on a batch of histories ``[batch, max_len]`` returns int32 slates
    ``[batch, k]`` (repeats allowed) and no info.

    Raises:
      TypeError: if ``actor_network`` is not an ``ActorNetwork``.
      ValueError: if ``action_spec`` is not a ``[k]`` slate spec.
    """

    def __init__(
        self,
        time_step_spec: ts.TimeStep,
        action_spec: Any,
        actor_network: ActorNetwork,
        seed: int = 0,
    ) -> None:
        if not isinstance(actor_network, ActorNetwork):
            raise TypeError(
                f"actor_network must be a tfrec.networks.ActorNetwork, got "
                f"{type(actor_network).__name__}."
            )
        if len(action_spec.shape) != 1:
            raise ValueError(
                f"action_spec must be a [k] slate spec, got shape {action_spec.shape}."
            )
        super().__init__(time_step_spec, action_spec)
        self._actor_network = actor_network
        self._k = int(action_spec.shape[0])
        self._rng = np.random.default_rng(seed)

    @property
    def actor_network(self) -> ActorNetwork:
        """The network whose softmax π the slates are drawn from (public: exportable)."""
        return self._actor_network

    def item_probabilities(self, observation: np.ndarray) -> np.ndarray:
        """``π(·|history)`` of each history.

        Args:
          observation: int ``[n, max_len]`` histories.

        Returns:
          float64 ``[n, vocab_size]``, rows summing to 1 (0 on masked items).
        """
        logits = self._actor_network(tf.constant(observation, tf.int32), training=False)[0].logits
        return tf.nn.softmax(tf.cast(logits, tf.float64)).numpy()

    def _action(self, time_step: Any, policy_state: Any) -> policy_step.PolicyStep:
        probs = self.item_probabilities(np.asarray(time_step.observation))
        items = sample_iid_per_row(self._rng, probs, self._k)
        return policy_step.PolicyStep(items.astype(np.int32), policy_state, ())
