"""Exploration over the whole catalog: slates sampled from π mixed with a uniform distribution.

:class:`SlateSamplingPolicy` is the collect policy of impression-level REINFORCE. Per request it
forms the per-item distribution ``q = (1 - ε)·π(·|s) + ε·uniform`` over every recommendable item
(:func:`~tfrec.policies.slate_distribution.mixture_log_probs`), so **every item has probability
> 0** whenever ``ε > 0`` (a clickbait-only π can still show, and learn from, regular items), and
draws the slate from ``q``:

* ``slate_model="plackett_luce"`` (default): ``K`` distinct items without replacement, by the
  Gumbel-top-k trick over ``log q`` (one top-k over the catalog);
* ``slate_model="independent"``: ``K`` i.i.d. draws (Chen et al., WSDM 2019, §4.3).

It logs the **exact** probability of the slate it drew (``policy_info["slate_log_propensity"]``,
the β of a later importance weight), ``log q`` of each item (``"log_probability"``) and each
item's inclusion probability in the slate (``"inclusion_propensity"``): exact
``1 - (1 - q)^K`` for independent draws; for Plackett-Luce, which has no closed form, a
Monte-Carlo estimate over ``inclusion_samples`` extra Gumbel-top-k draws (standard error
``≤ 0.5 / sqrt(inclusion_samples)``), or NaN when ``inclusion_samples = 0``.

This replaces the top-``M`` Boltzmann policy (:class:`~tfrec.policies.topk.BoltzmannTopKPolicy`)
as the collect policy: sampling only inside π's top ``M`` gives every other item β = 0, so once
those ``M`` are clickbait nothing else is ever shown again.
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf
from tf_agents.trajectories import policy_step
from tf_agents.trajectories import time_step as ts

from tfrec.networks.actor import ActorNetwork
from tfrec.policies.slate_distribution import (
    SLATE_MODELS,
    mixture_log_probs,
    sample_slates,
    slate_log_prob,
)
from tfrec.policies.topk import LOG_PROBABILITY, _TopKPolicy
from tfrec.specs import INCLUSION_PROPENSITY, SLATE_LOG_PROPENSITY

__all__ = ["SlateSamplingPolicy"]


class SlateSamplingPolicy(_TopKPolicy):
    """Slates sampled from ``(1 - ε)·π + ε·uniform`` over the whole catalog, with exact β.

    Args:
      time_step_spec: TimeStep spec whose observation is the history spec.
      actor_network: the :class:`~tfrec.networks.ActorNetwork` giving π.
      k: slate size ``K``.
      epsilon: uniform share ``ε`` in ``[0, 1]``.
      slate_model: ``"plackett_luce"`` or ``"independent"``.
      exclude_history: never recommend an item of the history window (probability 0).
      inclusion_samples: Monte-Carlo draws for the Plackett-Luce inclusion probabilities
        (0: NaN).
      seed: seed of the policy's ``tf.random.Generator`` (its state is a variable, so a
        checkpoint of the agent restores it).
      name: policy name.

    ``action(time_step)``: ``action`` int32 ``[batch, k]``; ``info`` ``{"log_probability":
    [batch, k] log q of each item, "slate_log_propensity": [batch] log-probability of the
    ordered slate, "inclusion_propensity": [batch, k]}``.

    Raises:
      ValueError: if ``epsilon`` is outside ``[0, 1]``, ``slate_model`` is unknown or
        ``inclusion_samples < 0``.
    """

    def __init__(
        self,
        time_step_spec: ts.TimeStep,
        actor_network: ActorNetwork,
        k: int,
        epsilon: float = 0.05,
        slate_model: str = "plackett_luce",
        exclude_history: bool = False,
        inclusion_samples: int = 0,
        seed: int = 0,
        name: str | None = "SlateSamplingPolicy",
    ) -> None:
        if not 0.0 <= epsilon <= 1.0:
            raise ValueError(f"epsilon must be in [0, 1], got {epsilon}.")
        if slate_model not in SLATE_MODELS:
            raise ValueError(f"slate_model must be one of {SLATE_MODELS}, got {slate_model!r}.")
        if inclusion_samples < 0:
            raise ValueError(f"inclusion_samples must be >= 0, got {inclusion_samples}.")
        self._epsilon = float(epsilon)
        self._slate_model = slate_model
        self._inclusion_samples = int(inclusion_samples)
        self._generator = tf.random.Generator.from_seed(seed)
        info_spec = {
            LOG_PROBABILITY: tf.TensorSpec([k], tf.float32, name=LOG_PROBABILITY),
            SLATE_LOG_PROPENSITY: tf.TensorSpec([], tf.float32, name=SLATE_LOG_PROPENSITY),
            INCLUSION_PROPENSITY: tf.TensorSpec([k], tf.float32, name=INCLUSION_PROPENSITY),
        }
        super().__init__(
            time_step_spec, actor_network, k, exclude_history, name, info_spec=info_spec
        )

    @property
    def epsilon(self) -> float:
        """Uniform share ``ε`` of the per-item distribution."""
        return self._epsilon

    @property
    def slate_model(self) -> str:
        """``"plackett_luce"`` or ``"independent"``."""
        return self._slate_model

    @property
    def generator(self) -> tf.random.Generator:
        """The sampling generator (checkpointed with the policy)."""
        return self._generator

    def item_log_probs(self, time_step: ts.TimeStep) -> tf.Tensor:
        """``log q`` ``[batch, vocab_size]`` (``-inf`` on reserved / excluded items)."""
        logits = self._scores(time_step)
        allowed = tf.reduce_sum(tf.cast(logits > logits.dtype.min, tf.int32), axis=-1)
        return mixture_log_probs(logits, self._epsilon, allowed)

    def _inclusion(self, log_q: tf.Tensor, items: tf.Tensor) -> tf.Tensor:
        k = self._k
        if self._slate_model == "independent":
            q = tf.exp(tf.gather(log_q, items, batch_dims=1))
            return 1.0 - tf.pow(1.0 - q, float(k))
        if self._inclusion_samples == 0:
            return tf.fill(tf.shape(items), float("nan"))
        samples = self._inclusion_samples
        tiled = tf.repeat(log_q[:, None, :], samples, axis=1)  # [B, S, V]
        drawn = sample_slates(tiled, k, self._generator, "plackett_luce")  # [B, S, k]
        hit = tf.equal(drawn[:, :, :, None], items[:, None, None, :])  # [B, S, k, k]
        return tf.reduce_mean(tf.cast(tf.reduce_any(hit, axis=2), tf.float32), axis=1)

    def _action(
        self, time_step: ts.TimeStep, policy_state: Any, seed: Any = None
    ) -> policy_step.PolicyStep:
        del seed  # the policy's own generator draws (reproducible, checkpointed)
        log_q = self.item_log_probs(time_step)
        items = sample_slates(log_q, self._k, self._generator, self._slate_model)
        item_log_probs = tf.gather(log_q, items, batch_dims=1)
        info = {
            LOG_PROBABILITY: item_log_probs,
            SLATE_LOG_PROPENSITY: slate_log_prob(item_log_probs, self._slate_model),
            INCLUSION_PROPENSITY: self._inclusion(log_q, items),
        }
        return policy_step.PolicyStep(items, policy_state, info)
