"""Off-policy estimators of a target policy's value from logs of a behaviour policy.

Every estimator takes an :class:`~tfrec.evaluation.off_policy_data.OffPolicyData` (rewards and
the importance ratios of the logged actions, optional mask) and one :class:`OffPolicyOptions`,
and returns an :class:`~tfrec.evaluation.estimate.Estimate` holding the value, its standard error
and a confidence interval.

Two forms, chosen by the shape of the data:

* **per-step** (contextual bandit), arrays ``[num_rows]``: each row is one independent decision;
  the value is the expected reward of one decision under the target policy.
* **per-trajectory**, arrays ``[num_episodes, num_steps]`` (+ ``mask``): the value is the expected
  discounted return ``E[sum_t discount^t r_t]`` of an episode under the target policy. The
  importance weight of step ``t`` is the **per-decision** cumulative ratio
  ``rho_{0:t} = prod_{t' <= t} pi_t' / beta_t'`` (Precup, Sutton & Singh, ICML 2000), which is
  unbiased; ``ratio_mode="one_step"`` uses only ``pi_t / beta_t`` instead, the low-variance but
  biased approximation of Chen et al., WSDM 2019 ("Top-K Off-Policy Correction for a REINFORCE
  Recommender System", arXiv 1812.02353, section 4.2).

Estimators:

* :func:`ips`: inverse propensity scoring (Horvitz & Thompson 1952; Precup et al. 2000 for
  trajectories).
* :func:`capped_ips`: IPS with weights clipped at ``cap`` (Ionides 2008; Bottou et al., JMLR 2013;
  the default ``cap = e^3`` is Chen et al.'s).
* :func:`snips`: self-normalised (weighted) IPS (Swaminathan & Joachims, NeurIPS 2015; per-decision
  weighted IS for trajectories, Thomas & Brunskill, ICML 2016, "WPDIS").
* :func:`doubly_robust`: doubly robust with a reward model (Dudik, Langford & Li, ICML 2011 for
  bandits; Jiang & Li, ICML 2016 for trajectories).

Confidence intervals (``OffPolicyOptions.ci_method``, see :mod:`tfrec.evaluation.estimate`):
``"normal"`` (default) over independent units (rows, or episodes for trajectories), SNIPS with
its delta-method influence terms ``psi_i = w_i (r_i - V) / mean(w)``; ``"bootstrap"``: the
percentile interval over ``num_bootstrap`` resamples of the units.

Slate impression logs become per-trajectory data through
:class:`tfrec.evaluation.slate_episodes.SlateEpisodes`.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Literal

import numpy as np

from tfrec.evaluation.estimate import (
    Estimate,
    EstimatorCore,
    EstimatorOptions,
    effective_sample_size,
    interval_estimate,
)
from tfrec.evaluation.off_policy_data import OffPolicyData

__all__ = [
    "DEFAULT_CAP",
    "OffPolicyOptions",
    "capped_ips",
    "doubly_robust",
    "ips",
    "snips",
]

RatioMode = Literal["per_decision", "one_step"]
RATIO_MODES = ("per_decision", "one_step")

DEFAULT_CAP = math.exp(3.0)


@dataclasses.dataclass(frozen=True)
class OffPolicyOptions(EstimatorOptions):
    """Options shared by :func:`ips`, :func:`capped_ips`, :func:`snips` and :func:`doubly_robust`.

    Attributes:
      cap, discount, confidence, ci_method, num_bootstrap, seed: see
        :class:`~tfrec.evaluation.estimate.EstimatorOptions` (with ``cap`` None,
        :func:`capped_ips` uses :data:`DEFAULT_CAP`; ``discount`` is ignored per-step).
      ratio_mode: ``"per_decision"`` (cumulative products, unbiased) or ``"one_step"`` (only the
        current step's ratio, Chen et al. 2019's approximation, biased).

    Raises:
      ValueError: on a value outside its range (the message names the attribute).
    """

    ratio_mode: RatioMode = "per_decision"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.ratio_mode not in RATIO_MODES:
            raise ValueError(
                f"OffPolicyOptions.ratio_mode must be one of {RATIO_MODES}, "
                f"got {self.ratio_mode!r}."
            )


def _weights(data: OffPolicyData, options: OffPolicyOptions) -> tuple[np.ndarray, np.ndarray]:
    """Step weights ``rho_{0:t}`` and previous-step weights ``rho_{0:t-1}`` (1 before t = 0)."""
    per_decision = data.per_trajectory and options.ratio_mode == "per_decision"
    w = np.cumprod(data.ratios, axis=1) if per_decision else data.ratios
    if options.cap is not None:
        w = np.minimum(w, options.cap)
    if per_decision:
        w_prev = np.concatenate([np.ones_like(w[:, :1]), w[:, :-1]], axis=1)
    else:
        w_prev = np.ones_like(w)
    return w, w_prev


def _discounts(data: OffPolicyData, discount: float) -> np.ndarray:
    if not data.per_trajectory:
        return np.ones(1)
    return discount ** np.arange(data.rewards.shape[1], dtype=np.float64)


def _require(data: object, options: object) -> None:
    if not isinstance(data, OffPolicyData):
        raise TypeError(
            "expected OffPolicyData (build it with OffPolicyData.from_probs or "
            f"OffPolicyData.from_log_probs), got {type(data).__name__}."
        )
    if not isinstance(options, OffPolicyOptions):
        raise TypeError(f"options must be an OffPolicyOptions, got {type(options).__name__}.")


def _run(
    data: OffPolicyData, core: EstimatorCore, name: str, options: OffPolicyOptions
) -> Estimate:
    """The estimate of ``core`` on all units; ESS of the per-unit final weights."""
    w, _ = _weights(data, options)
    if data.per_trajectory:
        last = np.maximum(data.mask.sum(axis=1) - 1, 0)
        w = w[np.arange(w.shape[0]), last]
    return interval_estimate(core, data.num_units, name, effective_sample_size(w), options)


def _mean_terms(
    data: OffPolicyData, options: OffPolicyOptions, step_terms: np.ndarray
) -> tuple[float, np.ndarray]:
    """Mean over units of ``step_terms`` (summed with the discounts over a trajectory's steps)."""
    if data.per_trajectory:
        step_terms = (step_terms * _discounts(data, options.discount)).sum(axis=1)
    value = float(step_terms.mean())
    return value, step_terms - value


def ips(data: OffPolicyData, options: OffPolicyOptions = OffPolicyOptions()) -> Estimate:
    """Inverse propensity scoring (importance sampling) estimate of the target policy's value.

    Per-step: ``V = mean_i w_i r_i`` with ``w_i = pi(a_i|x_i) / beta(a_i|x_i)`` (Horvitz &
    Thompson 1952). Per-trajectory: per-decision IS, ``V = mean_i sum_t discount^t rho_{i,0:t}
    r_{i,t}`` (Precup, Sutton & Singh, ICML 2000). Unbiased when ``beta > 0`` wherever
    ``pi > 0`` and ``options.cap`` is None; high variance when the policies differ.

    Args:
      data: the logged data, ``[n]`` or ``[num_episodes, num_steps]``.
      options: cap, discount, ratio mode and interval (see :class:`OffPolicyOptions`).

    Returns:
      The :class:`~tfrec.evaluation.estimate.Estimate` (method ``"ips/..."``, or
      ``"capped_ips/..."`` with a cap).
    """
    _require(data, options)

    def core(units: np.ndarray) -> tuple[float, np.ndarray]:
        d = data.take(units)
        w, _ = _weights(d, options)
        return _mean_terms(d, options, w * d.rewards)

    return _run(data, core, "ips" if options.cap is None else "capped_ips", options)


def capped_ips(
    data: OffPolicyData, options: OffPolicyOptions = OffPolicyOptions(cap=DEFAULT_CAP)
) -> Estimate:
    """Capped (clipped) IPS: :func:`ips` with every weight replaced by ``min(w, cap)``.

    Trades a downward bias for bounded variance (Ionides, JCGS 2008; Bottou et al., JMLR 2013).
    The default ``cap = e^3`` is the one used by Chen et al., WSDM 2019 (arXiv 1812.02353).

    Args:
      data: the logged data.
      options: as for :func:`ips`; ``options.cap`` None means :data:`DEFAULT_CAP`.

    Returns:
      The :class:`~tfrec.evaluation.estimate.Estimate`.
    """
    _require(data, options)
    if options.cap is None:
        options = dataclasses.replace(options, cap=DEFAULT_CAP)
    return ips(data, options)


def snips(data: OffPolicyData, options: OffPolicyOptions = OffPolicyOptions()) -> Estimate:
    """Self-normalised IPS (SNIPS / weighted importance sampling).

    Per-step: ``V = sum_i w_i r_i / sum_i w_i`` (Swaminathan & Joachims, NeurIPS 2015).
    Per-trajectory: weighted per-decision IS, ``V = sum_t discount^t sum_i rho_{i,0:t} r_{i,t} /
    sum_i rho_{i,0:t}`` (Thomas & Brunskill, ICML 2016). Slightly biased, consistent, and far
    less variable than IPS; invariant to a constant scaling of the weights.

    The normal CI uses the delta-method influence terms ``psi_i = sum_t discount^t w_{i,t}
    (r_{i,t} - V_t) / mean_i w_{i,t}``.

    Args:
      data: the logged data.
      options: see :class:`OffPolicyOptions` (the cap applies before normalising).

    Returns:
      The :class:`~tfrec.evaluation.estimate.Estimate`.

    Raises:
      ValueError: if every weight of some step is 0 (the target policy never takes any logged
        action there, so nothing can be normalised).
    """
    _require(data, options)

    def core(units: np.ndarray) -> tuple[float, np.ndarray]:
        d = data.take(units)
        w, _ = _weights(d, options)
        w2 = w if d.per_trajectory else w[:, None]
        r2 = d.rewards if d.per_trajectory else d.rewards[:, None]
        mean_w = w2.mean(axis=0)  # [T]
        if (mean_w <= 0).any():
            raise ValueError(
                "all importance weights are 0 at some step: the target policy gives probability "
                "0 to every logged action there, so SNIPS is undefined. Use more logs or a "
                "behaviour policy that overlaps the target policy."
            )
        v_t = (w2 * r2).sum(axis=0) / w2.sum(axis=0)  # [T]
        disc = _discounts(d, options.discount)
        value = float((disc * v_t).sum())
        influence = (disc * w2 * (r2 - v_t) / mean_w).sum(axis=1)
        return value, influence

    return _run(data, core, "snips", options)


def doubly_robust(
    data: OffPolicyData,
    logged_q: np.ndarray,
    target_v: np.ndarray,
    options: OffPolicyOptions = OffPolicyOptions(),
) -> Estimate:
    """Doubly robust estimate: a reward model's prediction corrected by importance weighting.

    Per-step (Dudik, Langford & Li, ICML 2011): ``V = mean_i [v(x_i) + w_i (r_i - q(x_i, a_i))]``
    where ``q(x, a)`` is the model's predicted reward and ``v(x) = E_{a ~ pi}[q(x, a)]``.
    Per-trajectory (Jiang & Li, ICML 2016, step-wise form): ``V = mean_i sum_t discount^t
    [rho_{0:t} (r_t - q_t) + rho_{0:t-1} v_t]`` with ``q_t`` the model's predicted value of the
    logged action from step ``t`` on and ``v_t = E_{a ~ pi}[q(s_t, a)]``. Unbiased if either the
    weights or the model are exact; with a good model its variance is far below IPS's.

    Args:
      data: the logged data, ``[n]`` or ``[num_episodes, num_steps]``.
      logged_q: same shape, the reward model's prediction for the logged action.
      target_v: same shape, the model's expected prediction under the target policy.
      options: see :class:`OffPolicyOptions`.

    Returns:
      The :class:`~tfrec.evaluation.estimate.Estimate`.

    Raises:
      ValueError: if ``logged_q`` / ``target_v`` do not match the data's shape or are not
        finite on real steps.
    """
    _require(data, options)
    q = data.step_values("logged_q", logged_q)
    v = data.step_values("target_v", target_v)

    def core(units: np.ndarray) -> tuple[float, np.ndarray]:
        d = data.take(units)
        w, w_prev = _weights(d, options)
        return _mean_terms(d, options, w * (d.rewards - q[units]) + w_prev * v[units])

    return _run(data, core, "doubly_robust", options)
