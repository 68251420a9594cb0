"""Behaviour (logging) policies with known propensities, for logs rolled out on a simulator.

Three behaviour policies ``beta``. Each reports, in ``PolicyStep.info`` (float64), for every
slate it shows:

* ``"slate_propensity"`` ``[B, k]``: the probability that position ``i`` shows the item it shows
  (for the i.i.d. policies: ``beta`` of the item, the behaviour model Chen et al. 2019, §4.3,
  assume);
* ``tfrec.specs.INCLUSION_PROPENSITY`` ``[B, k]``: the probability that the item is in the slate;
* ``tfrec.specs.SLATE_LOG_PROPENSITY`` ``[B]``: ``log beta`` of the whole ordered slate.

The policies:

* :class:`PopularitySoftmaxPolicy` — a softmax over item popularity with a temperature,
  ``beta(j) = pop_j^(1/tau) / sum_i pop_i^(1/tau)`` (``tau -> 0``: always the chart's top item;
  ``tau -> inf``: uniform). It ignores the user: ``beta(j | state) = beta(j)``.
* :class:`PersonalizedSoftmaxPolicy` — a personalised but biased production recommender,
  ``beta(j | u) ∝ exp(a * s_j(u) + b * log pop_j)``, where ``s_j(u)`` is the simulator's true
  click logit of item ``j`` for user ``u`` now (appeal + interest match - satiation): a perfectly
  calibrated click-through model, tilted toward the chart. It favours what gets clicked, i.e.
  high-appeal clickbait, not what is worth the user's time (quality).
* :class:`EpsilonPopularityPolicy` — exploration for offline benchmarks: a
  :class:`PopularitySoftmaxPolicy` mixed with uniform slates; with probability ``epsilon`` a
  uniformly random slate of ``k`` distinct items, else the popularity softmax slate. Every item
  has inclusion probability ``>= epsilon * k / N > 0``.

The first two sample the ``k`` positions i.i.d. *with* replacement (a slate may repeat an item;
the simulators count the first occurrence). Then, exactly,
``log beta(slate) = sum_i log beta(s_i)`` and ``P(j in slate) = 1 - (1 - beta(j))^k``.

The click log records ``beta`` of the consumed item as its propensity, which is what the off-policy
corrections and estimators need. Because the simulator's truth is known, the behaviour policy's
true value (mean return over the logged episodes) comes with the log
(:func:`tfrec.policies.generate_logged_data`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from tf_agents.policies import py_policy
from tf_agents.specs import array_spec
from tf_agents.trajectories import policy_step
from tf_agents.trajectories import time_step as ts

from tfrec.policies.reference import check_current_users_batch
from tfrec.specs import (
    FIRST_ITEM_INDEX,
    INCLUSION_PROPENSITY,
    NUM_RESERVED,
    SLATE_LOG_PROPENSITY,
)

__all__ = [
    "EpsilonPopularityPolicy",
    "PersonalizedSoftmaxPolicy",
    "PopularitySoftmaxPolicy",
    "iid_slate_info",
    "personalized_probabilities",
    "popularity_softmax",
    "sample_iid_per_row",
    "slate_propensity_spec",
]


def slate_propensity_spec(action_spec: Any) -> dict[str, array_spec.ArraySpec]:
    """The ``info_spec`` of the logging policies (see the module docstring).

    Args:
      action_spec: the slate action spec (shape ``[k]``).

    Returns:
      ``{"slate_propensity": float64 [k], INCLUSION_PROPENSITY: float64 [k],
      SLATE_LOG_PROPENSITY: float64 []}`` (unbatched, as TF-Agents specs are).
    """
    k = tuple(action_spec.shape)
    return {
        "slate_propensity": array_spec.ArraySpec(k, np.float64),
        INCLUSION_PROPENSITY: array_spec.ArraySpec(k, np.float64),
        SLATE_LOG_PROPENSITY: array_spec.ArraySpec((), np.float64),
    }


def iid_slate_info(slate_probs: np.ndarray) -> dict[str, np.ndarray]:
    """Exact propensities of slates whose ``k`` positions are i.i.d. draws from ``beta``.

    Args:
      slate_probs: float ``[..., k]``, ``beta`` of the item at each position.

    Returns:
      float64 ``{"slate_propensity": [..., k] (= slate_probs), INCLUSION_PROPENSITY: [..., k]
      (``1 - (1 - beta)^k``), SLATE_LOG_PROPENSITY: [...] (``sum_i log beta(s_i)``)}``.
    """
    p = np.asarray(slate_probs, np.float64)
    with np.errstate(divide="ignore"):
        log_p = np.log(p)
    return {
        "slate_propensity": p,
        INCLUSION_PROPENSITY: _iid_inclusion(p, p.shape[-1]),
        SLATE_LOG_PROPENSITY: log_p.sum(axis=-1),
    }


def _iid_inclusion(p: np.ndarray, k: int) -> np.ndarray:
    """``1 - (1 - p)^k`` (accurate for small ``p``): the chance that k i.i.d. draws hit an item."""
    with np.errstate(divide="ignore"):
        return -np.expm1(k * np.log1p(-p))


def popularity_softmax(popularity: np.ndarray, temperature: float, num_items: int) -> np.ndarray:
    """``beta(j) = pop_j^(1/tau) / sum_i pop_i^(1/tau)``: float64 ``[num_items]``."""
    popularity = _check_popularity(popularity, num_items)
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature}.")
    logits = np.log(popularity) / temperature
    p = np.exp(logits - logits.max())
    return p / p.sum()


def _sample_iid(rng: np.random.Generator, cumulative: np.ndarray, shape: tuple) -> np.ndarray:
    """Catalog rows ``[*shape]`` drawn i.i.d. by inverse CDF from the cumulative masses ``[N]``."""
    u = rng.random(shape) * cumulative[-1]
    return np.minimum(np.searchsorted(cumulative, u, side="right"), len(cumulative) - 1)


def sample_iid_per_row(rng: np.random.Generator, probs: np.ndarray, k: int) -> np.ndarray:
    """``k`` i.i.d. inverse-CDF draws from each row of ``probs`` (one distribution per user).

    A binary search per row: no ``[B, k, N]`` comparison tensor.

    Args:
      rng: the policy's generator (one ``[B, k]`` uniform draw per call).
      probs: float ``[B, N]`` row distributions (need not be normalised).
      k: draws per row.

    Returns:
      int64 ``[B, k]`` column indices into ``probs``.
    """
    cumulative = np.cumsum(probs, axis=1)
    u = rng.random((probs.shape[0], k)) * cumulative[:, -1:]
    rows = np.stack(
        [np.searchsorted(row, draws, side="right") for row, draws in zip(cumulative, u)]
    )
    return np.minimum(rows.reshape(probs.shape[0], k), probs.shape[1] - 1)


class PopularitySoftmaxPolicy(py_policy.PyPolicy):
    """Slates of ``k`` items sampled i.i.d. from a tempered softmax over popularity.

    Args:
      time_step_spec: the environment's ``time_step_spec()``.
      action_spec: the environment's slate ``action_spec()``.
      popularity: float ``[num_items]`` positive popularity of catalog row ``j`` (item index
        ``j + 2``).
      temperature: ``tau > 0``.
      seed: seed of the sampler.
    """

    def __init__(
        self,
        time_step_spec: ts.TimeStep,
        action_spec: Any,
        popularity: np.ndarray,
        temperature: float = 1.0,
        seed: int | None = 0,
    ):
        super().__init__(time_step_spec, action_spec, info_spec=slate_propensity_spec(action_spec))
        num_items = int(action_spec.maximum) + 1 - NUM_RESERVED
        self.probabilities = popularity_softmax(popularity, temperature, num_items)  # [N]
        self.temperature = float(temperature)
        self._cumulative = np.cumsum(self.probabilities)
        self._k = int(action_spec.shape[0])
        self._rng = np.random.default_rng(seed)

    def item_propensity(self, items: np.ndarray) -> np.ndarray:
        """``beta(item)`` of item indices (any shape, values ``>= 2``)."""
        return self.probabilities[np.asarray(items) - FIRST_ITEM_INDEX]

    def _action(self, time_step: ts.TimeStep, policy_state: Any) -> policy_step.PolicyStep:
        outer = np.asarray(time_step.observation).shape[:-1]
        rows = _sample_iid(self._rng, self._cumulative, (*outer, self._k))
        info = iid_slate_info(self.probabilities[rows])
        return policy_step.PolicyStep(
            (rows + FIRST_ITEM_INDEX).astype(np.int32), policy_state, info
        )


class EpsilonPopularityPolicy(py_policy.PyPolicy):
    """A popularity softmax policy mixed with uniform slates: exploration with exact propensities.

    Each slate is, independently, with probability ``epsilon`` ``k`` distinct items drawn
    uniformly without replacement (in random order), else ``k`` i.i.d. draws *with* replacement
    from ``beta_pop``, the softmax of ``popularity_policy`` (a :class:`PopularitySoftmaxPolicy`,
    whose specs, ``beta_pop`` and temperature it takes; its own sampler is not used). With ``N``
    items, ``m = N! / (N - k)!`` ordered slates of distinct items, the exact propensities of the
    mixture are

    * ordered slate: ``beta(s) = epsilon * [s distinct] / m + (1 - epsilon) * prod_i
      beta_pop(s_i)`` (:meth:`slate_log_probability`);
    * inclusion: ``P(j in s) = epsilon * k / N + (1 - epsilon) * (1 - (1 - beta_pop(j))^k)``
      (:meth:`inclusion_probability`, closed form, no approximation);
    * position marginal: ``P(s_i = j) = epsilon / N + (1 - epsilon) * beta_pop(j)``, the same for
      every position (:meth:`position_probability`, reported as ``"slate_propensity"``).

    For ``epsilon > 0`` every item has inclusion probability ``>= epsilon * k / N > 0``, even where
    a low temperature underflows ``beta_pop`` to 0. The positions are not independent (the
    uniform part never repeats an item), so the slate probability is *not* the product of the
    position marginals.

    Args:
      popularity_policy: the popularity softmax mixed in; its slate size ``k`` must be ``<= N``.
      epsilon: probability in ``[0, 1]`` of a uniform slate.
      seed: seed of the sampler.
    """

    def __init__(
        self, popularity_policy: PopularitySoftmaxPolicy, epsilon: float = 0.1, seed: int | None = 0
    ):
        if not isinstance(popularity_policy, PopularitySoftmaxPolicy):
            raise TypeError(
                "popularity_policy must be a PopularitySoftmaxPolicy, got "
                f"{type(popularity_policy).__name__}."
            )
        action_spec = popularity_policy.action_spec
        super().__init__(
            popularity_policy.time_step_spec,
            action_spec,
            info_spec=slate_propensity_spec(action_spec),
        )
        if not 0.0 <= epsilon <= 1.0:
            raise ValueError(f"epsilon must be in [0, 1], got {epsilon}.")
        self.num_items = int(action_spec.maximum) + 1 - NUM_RESERVED
        self.popularity_probabilities = popularity_policy.probabilities
        self.temperature = popularity_policy.temperature
        self.epsilon = float(epsilon)
        self._k = int(action_spec.shape[0])
        if self._k > self.num_items:
            raise ValueError(
                f"slate size k={self._k} exceeds the {self.num_items} items: a uniform slate of "
                "distinct items is impossible."
            )
        # log m = log(N! / (N - k)!), the number of ordered slates of k distinct items.
        self._log_num_distinct = math.fsum(math.log(self.num_items - i) for i in range(self._k))
        self._cumulative = np.cumsum(self.popularity_probabilities)
        self._rng = np.random.default_rng(seed)

    def position_probability(self, items: np.ndarray) -> np.ndarray:
        """``P(s_i = item)`` of item indices (any shape, values ``>= 2``): float64, same shape."""
        p = self.popularity_probabilities[np.asarray(items) - FIRST_ITEM_INDEX]
        return self.epsilon / self.num_items + (1.0 - self.epsilon) * p

    def inclusion_probability(self, items: np.ndarray) -> np.ndarray:
        """``P(item in slate)`` of item indices (any shape, values ``>= 2``): float64."""
        p = self.popularity_probabilities[np.asarray(items) - FIRST_ITEM_INDEX]
        uniform = self._k / self.num_items
        return self.epsilon * uniform + (1.0 - self.epsilon) * _iid_inclusion(p, self._k)

    def slate_log_probability(self, slates: np.ndarray) -> np.ndarray:
        """``log beta(s)`` of ordered slates.

        Args:
          slates: int ``[..., k]`` item indices (values ``>= 2``).

        Returns:
          float64 ``[...]`` (``-inf`` for a slate the policy never shows).
        """
        slates = np.asarray(slates)
        popular = iid_slate_info(self.popularity_probabilities[slates - FIRST_ITEM_INDEX])
        ordered = np.sort(slates, axis=-1)
        distinct = np.all(ordered[..., 1:] != ordered[..., :-1], axis=-1)
        with np.errstate(divide="ignore"):
            log_uniform = np.where(distinct, -self._log_num_distinct, -np.inf)
            return np.logaddexp(
                np.log(self.epsilon) + log_uniform,
                np.log1p(-self.epsilon) + popular[SLATE_LOG_PROPENSITY],
            )

    def _action(self, time_step: ts.TimeStep, policy_state: Any) -> policy_step.PolicyStep:
        outer = np.asarray(time_step.observation).shape[:-1]
        size = math.prod(outer)
        explore = self._rng.random(size) < self.epsilon
        rows = _sample_iid(self._rng, self._cumulative, (size, self._k))
        if explore.any():
            # The k smallest of N i.i.d. uniform keys, in key order: a uniform ordered k-subset.
            keys = self._rng.random((int(explore.sum()), self.num_items))
            chosen = np.argpartition(keys, self._k - 1, axis=1)[:, : self._k]
            order = np.argsort(np.take_along_axis(keys, chosen, axis=1), axis=1)
            rows[explore] = np.take_along_axis(chosen, order, axis=1)
        action = (rows + FIRST_ITEM_INDEX).reshape(*outer, self._k)
        info = {
            "slate_propensity": self.position_probability(action),
            INCLUSION_PROPENSITY: self.inclusion_probability(action),
            SLATE_LOG_PROPENSITY: self.slate_log_probability(action),
        }
        return policy_step.PolicyStep(action.astype(np.int32), policy_state, info)


def personalized_probabilities(
    click_logits: np.ndarray,
    log_popularity: np.ndarray,
    interest_weight: float,
    popularity_weight: float,
) -> np.ndarray:
    """``beta(j | u) = softmax_j(a * s_j(u) + b * log pop_j)``.

    Args:
      click_logits: float ``[B, N]`` click logits ``s_j(u)`` of every item for each user.
      log_popularity: float ``[N]`` log popularity of each item.
      interest_weight: ``a``.
      popularity_weight: ``b``.

    Returns:
      float64 ``[B, N]``, rows summing to 1.
    """
    logits = (
        interest_weight * np.asarray(click_logits, np.float64)
        + popularity_weight * (np.asarray(log_popularity, np.float64)[None, :])
    )
    logits -= logits.max(axis=1, keepdims=True)
    p = np.exp(logits)
    return p / p.sum(axis=1, keepdims=True)


class PersonalizedSoftmaxPolicy(py_policy.PyPolicy):
    """Slates of ``k`` items sampled i.i.d. from ``softmax(a * s(u) + b * log pop)`` per user.

    A personalised but biased behaviour policy: ``s_j(u)`` are the simulator's true click logits
    of the current users (``env.click_logits()``, so the policy is a perfectly calibrated
    click model), ``b * log pop_j`` tilts it toward the chart. It reads the environment's
    *current* users, like the oracle policies of :mod:`tfrec.policies.reference`, so it must be
    called on that environment's latest batched time step.

    Args:
      env: the batched simulator it recommends in (needs ``click_logits() -> [B, N]``).
      popularity: float ``[num_items]`` positive popularity (catalog row ``j`` = item ``j + 2``).
      interest_weight: ``a >= 0``, weight of the user's click logits.
      popularity_weight: ``b >= 0``, weight of the log popularity.
      seed: seed of the sampler.
    """

    def __init__(
        self,
        env: Any,
        popularity: np.ndarray,
        interest_weight: float = 1.0,
        popularity_weight: float = 1.0,
        seed: int | None = 0,
    ):
        super().__init__(
            env.time_step_spec(),
            env.action_spec(),
            info_spec=slate_propensity_spec(env.action_spec()),
        )
        if not hasattr(env, "click_logits"):
            raise ValueError(
                f"{type(env).__name__} has no click_logits(); PersonalizedSoftmaxPolicy needs a "
                "simulator that exposes its users' true click logits (e.g. InterestEvolutionEnv)."
            )
        self.log_popularity = np.log(_check_popularity(popularity, env.num_items))
        if interest_weight < 0 or popularity_weight < 0:
            raise ValueError(
                f"interest_weight and popularity_weight must be >= 0, got {interest_weight}, "
                f"{popularity_weight}."
            )
        self.env = env
        self.interest_weight = float(interest_weight)
        self.popularity_weight = float(popularity_weight)
        self._k = int(env.action_spec().shape[0])
        self._rng = np.random.default_rng(seed)

    def probabilities(self) -> np.ndarray:
        """``beta(j | u)`` of every item for the environment's current users: float64 ``[B, N]``."""
        return personalized_probabilities(
            self.env.click_logits(),
            self.log_popularity,
            self.interest_weight,
            self.popularity_weight,
        )

    def _action(self, time_step: ts.TimeStep, policy_state: Any) -> policy_step.PolicyStep:
        check_current_users_batch(time_step, self.env.batch_size, type(self).__name__)
        probs = self.probabilities()  # [B, N]
        rows = sample_iid_per_row(self._rng, probs, self._k)
        info = iid_slate_info(np.take_along_axis(probs, rows, axis=1))
        return policy_step.PolicyStep(
            (rows + FIRST_ITEM_INDEX).astype(np.int32), policy_state, info
        )


def _check_popularity(popularity: np.ndarray, num_items: int) -> np.ndarray:
    popularity = np.asarray(popularity, dtype=np.float64)
    if popularity.shape != (num_items,):
        raise ValueError(
            f"popularity must have shape [num_items={num_items}], got {list(popularity.shape)}."
        )
    if not np.all(np.isfinite(popularity)) or np.any(popularity <= 0):
        raise ValueError(
            "popularity must be finite and > 0 for every item (add a small count to unseen "
            "items, e.g. counts + 1)."
        )
    return popularity
