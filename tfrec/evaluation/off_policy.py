"""Off-policy estimators of a target policy's value from logs of a behaviour policy.

Every estimator takes an :class:`OffPolicyData` (rewards, the target policy's and the behaviour
policy's probabilities of the logged actions, optional mask) and returns an :class:`Estimate`
holding the value, its standard error and a confidence interval.

Two forms, chosen by the shape of the arrays:

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

Slate logs (impressions of slates of ``k`` items, e.g. from
``tfrec.environments.generate_logged_data(..., impressions=True)``): :class:`SlateEpisodes` regroups
them into ``[num_episodes, num_steps]`` arrays with the behaviour's slate log-probabilities,
:func:`independent_slate_log_probs` gives a target's slate log-probabilities when it draws the
``k`` items i.i.d., and :func:`additive_slate_model` is a simple reward model for DR
(:func:`additive_item_values` gives its parts for targets whose item distribution changes from
step to step).

Confidence intervals (``ci_method``):

* ``"normal"`` (default): a normal approximation over independent units (rows, or episodes for
  trajectories). IPS and DR are means of i.i.d. per-unit terms; SNIPS is a ratio estimator, whose
  standard error comes from its delta-method (linearised) influence terms
  ``psi_i = w_i (r_i - V) / mean(w)``.
* ``"bootstrap"``: the percentile interval of the estimator recomputed on ``num_bootstrap``
  resamples of the units with replacement (Efron & Tibshirani 1993).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from statistics import NormalDist
from typing import Literal

import numpy as np
import pandas as pd

from tfrec.specs import FIRST_ITEM_INDEX

__all__ = [
    "Estimate",
    "OffPolicyData",
    "SlateEpisodes",
    "additive_slate_model",
    "capped_ips",
    "doubly_robust",
    "effective_sample_size",
    "independent_slate_log_probs",
    "ips",
    "snips",
]

CIMethod = Literal["normal", "bootstrap"]
RatioMode = Literal["per_decision", "one_step"]

DEFAULT_CAP = math.exp(3.0)


@dataclasses.dataclass(frozen=True)
class Estimate:
    """A policy-value estimate with its uncertainty.

    Attributes:
      value: the point estimate.
      stderr: standard error (normal method: from the per-unit influence terms; bootstrap: the
        standard deviation of the bootstrap estimates).
      lower: lower end of the confidence interval.
      upper: upper end of the confidence interval.
      confidence: the interval's confidence level (e.g. 0.95).
      num_units: number of independent units (rows or episodes) it was computed from.
      effective_sample_size: Kish's ``(sum w)^2 / sum w^2`` of the per-unit final weights, a
        diagnostic of how many units effectively carry the estimate.
      method: name of the estimator and CI method, e.g. ``"snips/normal"``.
    """

    value: float
    stderr: float
    lower: float
    upper: float
    confidence: float
    num_units: int
    effective_sample_size: float
    method: str

    def contains(self, x: float) -> bool:
        """Whether ``x`` lies inside the confidence interval."""
        return self.lower <= x <= self.upper

    def __str__(self) -> str:
        pct = round(100 * self.confidence)
        return (
            f"{self.value:.4f} ± {self.value - self.lower:.4f} ({pct}% CI [{self.lower:.4f}, "
            f"{self.upper:.4f}], {self.method}, n={self.num_units}, "
            f"ESS={self.effective_sample_size:.1f})"
        )


def _as_float_array(name: str, x: object) -> np.ndarray:
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be a numeric array, got {type(x).__name__}: {err}") from err
    if arr.ndim not in (1, 2):
        raise ValueError(
            f"{name} must have shape [num_rows] (per-step) or [num_episodes, num_steps] "
            f"(per-trajectory), got shape {arr.shape}."
        )
    if arr.shape[0] == 0 or arr.size == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape}): there is nothing to estimate.")
    return arr


def _check_finite(name: str, arr: np.ndarray, mask: np.ndarray) -> None:
    bad = ~np.isfinite(arr) & mask
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"{name} has {int(bad.sum())} non-finite value(s) (first at index {index}: "
            f"{arr[index]}); drop those rows or fill them before estimating."
        )


@dataclasses.dataclass(frozen=True)
class OffPolicyData:
    """Validated logged data for off-policy estimation.

    Build it with :meth:`from_probs` or :meth:`from_log_probs`; the constructor is not meant to
    be called directly.

    Attributes:
      rewards: float64 ``[n]`` or ``[num_episodes, num_steps]``; 0 where masked.
      ratios: importance ratios ``pi(a|s) / beta(a|s)`` of the logged actions, same shape;
        1 where masked (so per-decision products stay constant after an episode ends).
      mask: bool, same shape; True for real steps.
    """

    rewards: np.ndarray
    ratios: np.ndarray
    mask: np.ndarray

    @property
    def per_trajectory(self) -> bool:
        """True for the ``[num_episodes, num_steps]`` form."""
        return self.rewards.ndim == 2

    @property
    def num_units(self) -> int:
        """Number of independent units: rows (per-step) or episodes (per-trajectory)."""
        return int(self.rewards.shape[0])

    @classmethod
    def from_log_probs(
        cls,
        rewards: np.ndarray,
        target_log_probs: np.ndarray,
        behavior_log_probs: np.ndarray,
        mask: np.ndarray | None = None,
    ) -> OffPolicyData:
        """Builds the data from log-probabilities of the logged actions.

        Log-probabilities avoid underflow for slates, whose probabilities can be tiny.

        Args:
          rewards: ``[n]`` or ``[num_episodes, num_steps]`` observed rewards.
          target_log_probs: same shape, ``log pi(a|s)`` of the logged action under the target
            policy (``-inf`` allowed: the target never takes that action).
          behavior_log_probs: same shape, ``log beta(a|s)`` (the logged propensity); must be
            finite (the behaviour policy took the action, so its probability is > 0).
          mask: optional bool/0-1 array of the same shape, True for real steps (per-trajectory
            padding after an episode ends is False).

        Returns:
          The validated :class:`OffPolicyData`.

        Raises:
          ValueError: on mismatched shapes, non-finite rewards or behaviour log-probabilities,
            or positive log-probabilities.
        """
        r = _as_float_array("rewards", rewards)
        lp = _as_float_array("target_log_probs", target_log_probs)
        lb = _as_float_array("behavior_log_probs", behavior_log_probs)
        m = cls._mask(mask, r.shape)
        cls._check_shapes(r=r, target=lp, behavior=lb)
        _check_finite("rewards", r, m)
        _check_finite("behavior_log_probs (log propensities)", lb, m)
        if np.isnan(lp[m]).any():
            raise ValueError("target_log_probs contains NaN; every logged action needs a value.")
        for name, arr in (("target_log_probs", lp), ("behavior_log_probs", lb)):
            if (arr[m] > 1e-6).any():
                raise ValueError(
                    f"{name} has positive values (max {arr[m].max():.3g}): pass "
                    "log-probabilities (<= 0), not logits or probabilities."
                )
        ratios = np.where(m, np.exp(np.where(m, lp - lb, 0.0)), 1.0)
        return cls(rewards=np.where(m, r, 0.0), ratios=ratios, mask=m)

    @classmethod
    def from_probs(
        cls,
        rewards: np.ndarray,
        target_probs: np.ndarray,
        behavior_probs: np.ndarray,
        mask: np.ndarray | None = None,
    ) -> OffPolicyData:
        """Builds the data from probabilities of the logged actions.

        Args:
          rewards: ``[n]`` or ``[num_episodes, num_steps]`` observed rewards.
          target_probs: same shape, ``pi(a|s)`` of the logged action under the target policy,
            in ``[0, 1]``.
          behavior_probs: same shape, ``beta(a|s)``, the logged propensity, in ``(0, 1]``.
          mask: optional bool/0-1 array of the same shape, True for real steps.

        Returns:
          The validated :class:`OffPolicyData`.

        Raises:
          ValueError: on mismatched shapes, probabilities outside their range, or a zero or
            negative propensity (which makes importance weighting impossible).
        """
        r = _as_float_array("rewards", rewards)
        p = _as_float_array("target_probs", target_probs)
        b = _as_float_array("behavior_probs", behavior_probs)
        m = cls._mask(mask, r.shape)
        cls._check_shapes(r=r, target=p, behavior=b)
        _check_finite("rewards", r, m)
        _check_finite("target_probs", p, m)
        _check_finite("behavior_probs (propensities)", b, m)
        bad = m & (b <= 0.0)
        if bad.any():
            index = tuple(int(i) for i in np.argwhere(bad)[0])
            raise ValueError(
                f"behavior_probs has {int(bad.sum())} zero or negative propensities (first at "
                f"index {index}: {b[index]}). A logged action must have had a positive "
                "probability under the behaviour policy; fix the logging or drop those rows."
            )
        for name, arr in (("target_probs", p), ("behavior_probs", b)):
            if ((arr[m] < 0.0) | (arr[m] > 1.0 + 1e-6)).any():
                raise ValueError(
                    f"{name} must be probabilities in [0, 1], got range "
                    f"[{arr[m].min():.3g}, {arr[m].max():.3g}]."
                )
        ratios = np.where(m, p / np.where(m, b, 1.0), 1.0)
        return cls(rewards=np.where(m, r, 0.0), ratios=ratios, mask=m)

    @staticmethod
    def _mask(mask: np.ndarray | None, shape: tuple[int, ...]) -> np.ndarray:
        if mask is None:
            return np.ones(shape, dtype=bool)
        m = np.asarray(mask)
        if m.shape != shape:
            raise ValueError(f"mask has shape {m.shape}, but rewards have shape {shape}.")
        if not np.isin(m, (0, 1)).all():
            raise ValueError("mask must be boolean or 0/1.")
        m = m.astype(bool)
        if len(shape) == 1 and not m.all():
            raise ValueError(
                "a per-step (1-D) mask must be all True: drop the masked rows instead."
            )
        return m

    @staticmethod
    def _check_shapes(**arrays: np.ndarray) -> None:
        shapes = {name: a.shape for name, a in arrays.items()}
        if len(set(shapes.values())) != 1:
            raise ValueError(f"rewards and probabilities must have the same shape, got {shapes}.")

    def take(self, units: np.ndarray) -> OffPolicyData:
        """The data of the given unit indices (rows or episodes), e.g. a bootstrap resample."""
        return OffPolicyData(self.rewards[units], self.ratios[units], self.mask[units])


def _weights(
    data: OffPolicyData, cap: float | None, ratio_mode: RatioMode
) -> tuple[np.ndarray, np.ndarray]:
    """Step weights ``rho_{0:t}`` and previous-step weights ``rho_{0:t-1}`` (1 before t = 0)."""
    if ratio_mode not in ("per_decision", "one_step"):
        raise ValueError(f"ratio_mode must be 'per_decision' or 'one_step', got {ratio_mode!r}.")
    if cap is not None and not cap > 0:
        raise ValueError(f"cap must be > 0 (or None for no capping), got {cap}.")
    ratios = data.ratios
    if data.per_trajectory and ratio_mode == "per_decision":
        w = np.cumprod(ratios, axis=1)
    else:
        w = ratios
    if cap is not None:
        w = np.minimum(w, cap)
    if data.per_trajectory:
        if ratio_mode == "per_decision":
            w_prev = np.concatenate([np.ones_like(w[:, :1]), w[:, :-1]], axis=1)
        else:
            w_prev = np.ones_like(w)
    else:
        w_prev = np.ones_like(w)
    return w, w_prev


def _discounts(data: OffPolicyData, discount: float) -> np.ndarray:
    if not 0.0 <= discount <= 1.0:
        raise ValueError(f"discount must be in [0, 1], got {discount}.")
    if not data.per_trajectory:
        return np.ones(1)
    return discount ** np.arange(data.rewards.shape[1], dtype=np.float64)


def _require_data(data: object) -> None:
    if not isinstance(data, OffPolicyData):
        raise TypeError(
            "expected OffPolicyData (build it with OffPolicyData.from_probs or "
            f"OffPolicyData.from_log_probs), got {type(data).__name__}."
        )


def effective_sample_size(weights: np.ndarray) -> float:
    """Kish's effective sample size ``(sum w)^2 / sum w^2``.

    Args:
      weights: ``[n]`` non-negative importance weights.

    Returns:
      A number in ``[1, n]`` (0.0 when every weight is 0).
    """
    w = np.asarray(weights, dtype=np.float64)
    denom = float(np.sum(w**2))
    return float(np.sum(w) ** 2 / denom) if denom > 0 else 0.0


def _final_weights(data: OffPolicyData, w: np.ndarray) -> np.ndarray:
    if not data.per_trajectory:
        return w
    last = np.maximum(data.mask.sum(axis=1) - 1, 0)
    return w[np.arange(w.shape[0]), last]


# An estimator core maps unit indices (rows or episodes; repeated in a bootstrap resample) to
# (value, per-unit influence terms whose mean is ~0).
_Core = Callable[[np.ndarray], tuple[float, np.ndarray]]


def _estimate(
    data: OffPolicyData,
    core: _Core,
    name: str,
    ess_weights: np.ndarray,
    confidence: float,
    ci_method: CIMethod,
    num_bootstrap: int,
    seed: int,
) -> Estimate:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}.")
    n = data.num_units
    value, influence = core(np.arange(n))
    z = NormalDist().inv_cdf(0.5 + confidence / 2.0)
    if ci_method == "normal":
        stderr = float(np.std(influence, ddof=1) / math.sqrt(n)) if n > 1 else math.inf
        lower, upper = value - z * stderr, value + z * stderr
    elif ci_method == "bootstrap":
        if num_bootstrap < 2:
            raise ValueError(f"num_bootstrap must be >= 2, got {num_bootstrap}.")
        rng = np.random.default_rng(seed)
        boot = np.array([core(rng.integers(0, n, size=n))[0] for _ in range(num_bootstrap)])
        stderr = float(np.std(boot, ddof=1))
        alpha = 1.0 - confidence
        lower, upper = (float(q) for q in np.quantile(boot, [alpha / 2.0, 1.0 - alpha / 2.0]))
    else:
        raise ValueError(f"ci_method must be 'normal' or 'bootstrap', got {ci_method!r}.")
    return Estimate(
        value=float(value),
        stderr=stderr,
        lower=float(lower),
        upper=float(upper),
        confidence=confidence,
        num_units=n,
        effective_sample_size=effective_sample_size(ess_weights),
        method=f"{name}/{ci_method}",
    )


def ips(
    data: OffPolicyData,
    *,
    cap: float | None = None,
    discount: float = 1.0,
    ratio_mode: RatioMode = "per_decision",
    confidence: float = 0.95,
    ci_method: CIMethod = "normal",
    num_bootstrap: int = 1000,
    seed: int = 0,
) -> Estimate:
    """Inverse propensity scoring (importance sampling) estimate of the target policy's value.

    Per-step: ``V = mean_i w_i r_i`` with ``w_i = pi(a_i|x_i) / beta(a_i|x_i)`` (Horvitz &
    Thompson 1952). Per-trajectory: per-decision IS, ``V = mean_i sum_t discount^t rho_{i,0:t}
    r_{i,t}`` (Precup, Sutton & Singh, ICML 2000). Unbiased when ``beta > 0`` wherever
    ``pi > 0`` and ``cap`` is None; high variance when the policies differ.

    Args:
      data: the logged data, ``[n]`` or ``[num_episodes, num_steps]``.
      cap: clip every weight at ``cap`` (see :func:`capped_ips`); None: no clipping.
      discount: per-step discount of the per-trajectory return (ignored per-step).
      ratio_mode: ``"per_decision"`` (cumulative products, unbiased) or ``"one_step"`` (only
        the current step's ratio, Chen et al. 2019's approximation, biased).
      confidence: confidence level of the interval.
      ci_method: ``"normal"`` or ``"bootstrap"`` (see the module docstring).
      num_bootstrap: resamples for the bootstrap.
      seed: seed of the bootstrap resampling.

    Returns:
      The :class:`Estimate`.
    """
    _require_data(data)
    name = "ips" if cap is None else "capped_ips"

    def core(units: np.ndarray) -> tuple[float, np.ndarray]:
        d = data.take(units)
        w, _ = _weights(d, cap, ratio_mode)
        terms = w * d.rewards
        if d.per_trajectory:
            terms = (terms * _discounts(d, discount)).sum(axis=1)
        value = float(terms.mean())
        return value, terms - value

    w_all, _ = _weights(data, cap, ratio_mode)
    return _estimate(
        data,
        core,
        name,
        _final_weights(data, w_all),
        confidence,
        ci_method,
        num_bootstrap,
        seed,
    )


def capped_ips(
    data: OffPolicyData,
    *,
    cap: float = DEFAULT_CAP,
    discount: float = 1.0,
    ratio_mode: RatioMode = "per_decision",
    confidence: float = 0.95,
    ci_method: CIMethod = "normal",
    num_bootstrap: int = 1000,
    seed: int = 0,
) -> Estimate:
    """Capped (clipped) IPS: :func:`ips` with every weight replaced by ``min(w, cap)``.

    Trades a downward bias for bounded variance (Ionides, JCGS 2008; Bottou et al., JMLR 2013).
    The default ``cap = e^3`` is the one used by Chen et al., WSDM 2019 (arXiv 1812.02353).

    Args:
      data: the logged data.
      cap: the weight cap (> 0).
      discount: per-step discount of the per-trajectory return.
      ratio_mode: ``"per_decision"`` or ``"one_step"`` (see :func:`ips`).
      confidence: confidence level of the interval.
      ci_method: ``"normal"`` or ``"bootstrap"``.
      num_bootstrap: resamples for the bootstrap.
      seed: seed of the bootstrap resampling.

    Returns:
      The :class:`Estimate`.
    """
    return ips(
        data,
        cap=cap,
        discount=discount,
        ratio_mode=ratio_mode,
        confidence=confidence,
        ci_method=ci_method,
        num_bootstrap=num_bootstrap,
        seed=seed,
    )


def snips(
    data: OffPolicyData,
    *,
    cap: float | None = None,
    discount: float = 1.0,
    ratio_mode: RatioMode = "per_decision",
    confidence: float = 0.95,
    ci_method: CIMethod = "normal",
    num_bootstrap: int = 1000,
    seed: int = 0,
) -> Estimate:
    """Self-normalised IPS (SNIPS / weighted importance sampling).

    Per-step: ``V = sum_i w_i r_i / sum_i w_i`` (Swaminathan & Joachims, NeurIPS 2015).
    Per-trajectory: weighted per-decision IS, ``V = sum_t discount^t sum_i rho_{i,0:t} r_{i,t} /
    sum_i rho_{i,0:t}`` (Thomas & Brunskill, ICML 2016). Slightly biased, consistent, and far
    less variable than IPS; invariant to a constant scaling of the weights.

    The normal CI uses the delta-method influence terms ``psi_i = sum_t discount^t w_{i,t}
    (r_{i,t} - V_t) / mean_i w_{i,t}``.

    Args:
      data: the logged data.
      cap: optional weight cap applied before normalising.
      discount: per-step discount of the per-trajectory return.
      ratio_mode: ``"per_decision"`` or ``"one_step"`` (see :func:`ips`).
      confidence: confidence level of the interval.
      ci_method: ``"normal"`` or ``"bootstrap"``.
      num_bootstrap: resamples for the bootstrap.
      seed: seed of the bootstrap resampling.

    Returns:
      The :class:`Estimate`.

    Raises:
      ValueError: if every weight of some step is 0 (the target policy never takes any logged
        action there, so nothing can be normalised).
    """
    _require_data(data)

    def core(units: np.ndarray) -> tuple[float, np.ndarray]:
        d = data.take(units)
        w, _ = _weights(d, cap, ratio_mode)
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
        disc = _discounts(d, discount)
        value = float((disc * v_t).sum())
        influence = (disc * w2 * (r2 - v_t) / mean_w).sum(axis=1)
        return value, influence

    w_all, _ = _weights(data, cap, ratio_mode)
    return _estimate(
        data,
        core,
        "snips",
        _final_weights(data, w_all),
        confidence,
        ci_method,
        num_bootstrap,
        seed,
    )


def doubly_robust(
    data: OffPolicyData,
    logged_q: np.ndarray,
    target_v: np.ndarray,
    *,
    cap: float | None = None,
    discount: float = 1.0,
    ratio_mode: RatioMode = "per_decision",
    confidence: float = 0.95,
    ci_method: CIMethod = "normal",
    num_bootstrap: int = 1000,
    seed: int = 0,
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
      cap: optional weight cap.
      discount: per-step discount of the per-trajectory return.
      ratio_mode: ``"per_decision"`` or ``"one_step"`` (see :func:`ips`).
      confidence: confidence level of the interval.
      ci_method: ``"normal"`` or ``"bootstrap"``.
      num_bootstrap: resamples for the bootstrap.
      seed: seed of the bootstrap resampling.

    Returns:
      The :class:`Estimate`.

    Raises:
      ValueError: if ``logged_q`` / ``target_v`` do not match the data's shape or are not
        finite on real steps.
    """
    _require_data(data)
    q = _as_float_array("logged_q", logged_q)
    v = _as_float_array("target_v", target_v)
    for name, arr in (("logged_q", q), ("target_v", v)):
        if arr.shape != data.rewards.shape:
            raise ValueError(
                f"{name} has shape {arr.shape}, but the data has shape {data.rewards.shape}: "
                "give one reward-model prediction per logged step."
            )
        _check_finite(name, arr, data.mask)
    q = np.where(data.mask, q, 0.0)
    v = np.where(data.mask, v, 0.0)

    def core(units: np.ndarray) -> tuple[float, np.ndarray]:
        d = data.take(units)
        w, w_prev = _weights(d, cap, ratio_mode)
        terms = w * (d.rewards - q[units]) + w_prev * v[units]
        if d.per_trajectory:
            terms = (terms * _discounts(d, discount)).sum(axis=1)
        value = float(terms.mean())
        return value, terms - value

    w_all, _ = _weights(data, cap, ratio_mode)
    return _estimate(
        data,
        core,
        "doubly_robust",
        _final_weights(data, w_all),
        confidence,
        ci_method,
        num_bootstrap,
        seed,
    )


# --------------------------------------------------------------------------- slate impression logs


@dataclasses.dataclass(frozen=True)
class SlateEpisodes:
    """An impression log regrouped into episodes of slates, ready for per-decision estimators.

    Attributes:
      rewards: float64 ``[num_episodes, num_steps]`` reward of each shown slate (0 after the end).
      slates: int32 ``[num_episodes, num_steps, k]`` item indices of the slates (0 after the end).
      mask: bool ``[num_episodes, num_steps]``, True for real steps.
      behavior_log_probs: float64 ``[num_episodes, num_steps]`` ``log beta(slate_t | s_t)``: the
        sum of the logged items' log-propensities, i.e. the slate's log-probability when the
        behaviour policy draws its ``k`` items i.i.d. (as
        ``tfrec.environments.PopularitySoftmaxPolicy`` does); 0 after the end.
      episode_ids: the log's ``user`` value of each episode (row order).
    """

    rewards: np.ndarray
    slates: np.ndarray
    mask: np.ndarray
    behavior_log_probs: np.ndarray
    episode_ids: np.ndarray

    @classmethod
    def from_impressions(cls, log: object, vocabulary: object, slate_size: int) -> SlateEpisodes:
        """Regroups an impression log (one row per shown item) into slates per episode.

        Each ``user`` is an episode, each of its ``timestamp`` values one step (in time order),
        whose ``slate_size`` rows are the slate's positions ``0 .. k-1`` (column ``position``).
        This is the layout of ``tfrec.environments.generate_logged_data(..., impressions=True)``.

        Args:
          log: a :class:`tfrec.data.InteractionLog` with columns ``user``, ``item``,
            ``timestamp``, ``reward``, ``propensity`` and ``position``.
          vocabulary: the :class:`tfrec.data.ItemVocabulary` mapping item ids to indices.
          slate_size: ``k``, rows per step.

        Returns:
          The :class:`SlateEpisodes`.

        Raises:
          ValueError: if a column is missing, a step does not have exactly ``slate_size`` rows
            with positions ``0 .. k-1``, an item is unknown to the vocabulary, or a propensity is
            missing, zero or negative.
        """
        df = getattr(log, "df", None)
        if df is None:
            raise TypeError(f"log must be a tfrec.data.InteractionLog, got {type(log).__name__}.")
        missing = [c for c in ("position", "propensity") if c not in df.columns]
        if missing:
            raise ValueError(
                f"the log has no column {missing}: an impression log (one row per shown item, "
                "e.g. generate_logged_data(..., impressions=True)) is needed."
            )
        if slate_size < 1:
            raise ValueError(f"slate_size must be >= 1, got {slate_size}.")
        propensity = df["propensity"].to_numpy(np.float64)
        if not (np.isfinite(propensity) & (propensity > 0)).all():
            bad = int(np.flatnonzero(~(np.isfinite(propensity) & (propensity > 0)))[0])
            raise ValueError(
                f"row {bad} has propensity {propensity[bad]}: every shown item needs its "
                "behaviour probability > 0."
            )
        items = vocabulary.lookup(df["item"])
        if (items < FIRST_ITEM_INDEX).any():
            bad = int(np.flatnonzero(items < FIRST_ITEM_INDEX)[0])
            raise ValueError(
                f"item {df['item'].iloc[bad]!r} (row {bad}) is not in the vocabulary: build the "
                "vocabulary from the environment's catalog (env.vocabulary)."
            )
        episode_codes, episode_ids = pd.factorize(df["user"])
        # Steps of an episode in time order; rows of a step in position order.
        order = np.lexsort((df["position"].to_numpy(), df["timestamp"].to_numpy(), episode_codes))
        ep = episode_codes[order]
        ts_ = df["timestamp"].to_numpy()[order]
        position = df["position"].to_numpy()[order]
        new_step = np.ones(len(order), dtype=bool)
        new_step[1:] = (ep[1:] != ep[:-1]) | (ts_[1:] != ts_[:-1])
        step_start = np.flatnonzero(new_step)
        step_rows = np.diff(np.append(step_start, len(order)))
        position_in_step = np.arange(len(order)) - np.repeat(step_start, step_rows)
        wrong = (np.repeat(step_rows, step_rows) != slate_size) | (position != position_in_step)
        if wrong.any():
            bad = int(np.argmax(wrong))
            raise ValueError(
                f"episode {df['user'].iloc[order[bad]]!r}, timestamp {ts_[bad]}: every step needs "
                f"exactly slate_size={slate_size} rows with positions 0..{slate_size - 1}; check "
                "slate_size and that the log holds impressions, not clicks only."
            )
        step_episode = ep[step_start]
        first_of_episode = np.ones(len(step_start), dtype=bool)
        first_of_episode[1:] = step_episode[1:] != step_episode[:-1]
        episode_first = np.flatnonzero(first_of_episode)
        lengths = np.diff(np.append(episode_first, len(step_start)))
        step_in_episode = np.arange(len(step_start)) - np.repeat(episode_first, lengths)
        num_episodes, num_steps = len(episode_first), int(lengths.max())
        e, t = step_episode, step_in_episode
        rewards = np.zeros((num_episodes, num_steps))
        slates = np.zeros((num_episodes, num_steps, slate_size), np.int32)
        behavior = np.zeros((num_episodes, num_steps))
        mask = np.zeros((num_episodes, num_steps), dtype=bool)
        step_of_row = np.repeat(np.arange(len(step_start)), slate_size)
        rewards[e, t] = np.bincount(
            step_of_row, df["reward"].to_numpy(np.float64)[order], len(step_start)
        )
        if "slate_log_propensity" in df.columns:  # the ordered slate's log β (impression log)
            behavior[e, t] = df["slate_log_propensity"].to_numpy(np.float64)[order][step_start]
        else:  # per-position β of i.i.d. slates
            behavior[e, t] = np.bincount(step_of_row, np.log(propensity[order]), len(step_start))
        slates[e, t] = items[order].reshape(-1, slate_size)
        mask[e, t] = True
        return cls(
            rewards, slates, mask, behavior, np.asarray(episode_ids)[step_episode[episode_first]]
        )

    def off_policy_data(self, target_log_probs: np.ndarray) -> OffPolicyData:
        """The :class:`OffPolicyData` of a target policy on these episodes.

        Args:
          target_log_probs: float ``[num_episodes, num_steps]`` ``log pi(slate_t | s_t)`` of the
            logged slates under the target policy (e.g. :func:`independent_slate_log_probs`).

        Returns:
          Per-trajectory :class:`OffPolicyData`.
        """
        target = np.where(self.mask, target_log_probs, 0.0)
        return OffPolicyData.from_log_probs(
            self.rewards, target, self.behavior_log_probs, mask=self.mask
        )


def independent_slate_log_probs(item_probabilities: np.ndarray, slates: np.ndarray) -> np.ndarray:
    """Log-probability of slates whose ``k`` items are drawn i.i.d. from one distribution.

    ``log P(slate) = sum_i log p(slate_i)`` (ordered slate, repeats allowed).

    Args:
      item_probabilities: float ``[vocab_size]`` probability of each item index (0 on the
        reserved indices 0 and 1).
      slates: int ``[..., k]`` item indices.

    Returns:
      float64 ``[...]`` (``-inf`` for a slate holding an item of probability 0).
    """
    p = np.asarray(item_probabilities, dtype=np.float64)
    slates = np.asarray(slates)
    if p.ndim != 1 or slates.size and slates.max() >= len(p):
        raise ValueError(
            f"item_probabilities must be [vocab_size] covering every slate index; got shape "
            f"{p.shape} for slates up to index {slates.max() if slates.size else None}."
        )
    with np.errstate(divide="ignore"):
        return np.log(p)[slates].sum(axis=-1)


def additive_item_values(
    episodes: SlateEpisodes, vocab_size: int, prior_weight: float = 10.0
) -> tuple[np.ndarray, np.ndarray]:
    """The two parts of :func:`additive_slate_model`'s reward model, for any target policy.

    Args:
      episodes: the logged slates.
      vocab_size: number of item indices (covering every logged item).
      prior_weight: pseudo-impressions of the shrinkage towards the global mean.

    Returns:
      ``(c, g_next)``: float64 ``[vocab_size]`` mean reward per impression of each item
      (shrunk towards the global mean; 0 on the reserved indices) and float64 ``[num_steps]``
      the logged mean return after step ``t``. The value of slate ``S`` at step ``t`` is
      ``sum_{j in S} c_j + g_next[t]``; under a target drawing ``k`` items i.i.d. from
      ``pi_t`` (possibly a different distribution at every step) it is
      ``k * pi_t . c + g_next[t]``.
    """
    if prior_weight < 0:
        raise ValueError(f"prior_weight must be >= 0, got {prior_weight}.")
    if vocab_size <= int(episodes.slates.max()):
        raise ValueError(
            f"vocab_size={vocab_size} does not cover the logged item index "
            f"{int(episodes.slates.max())}."
        )
    k = episodes.slates.shape[-1]
    shown = episodes.slates[episodes.mask].ravel()  # [n * k]
    # The slate's reward is credited to each of its items in equal shares.
    share = np.repeat(episodes.rewards[episodes.mask] / k, k)
    counts = np.bincount(shown, minlength=vocab_size).astype(np.float64)
    totals = np.bincount(shown, weights=share, minlength=vocab_size)
    global_mean = totals.sum() / max(counts.sum(), 1.0)
    denominator = counts + prior_weight
    c = np.divide(
        totals + prior_weight * global_mean,
        denominator,
        out=np.full(vocab_size, global_mean),  # items never shown: the global mean
        where=denominator > 0,
    )
    c[:FIRST_ITEM_INDEX] = 0.0
    # g[t] = mean over episodes alive at step t-1 of the return from step t on.
    to_go = np.cumsum(episodes.rewards[:, ::-1], axis=1)[:, ::-1]  # return from t on
    alive = episodes.mask.sum(axis=0).astype(np.float64)  # episodes reaching step t
    after = np.concatenate([to_go[:, 1:], np.zeros_like(to_go[:, :1])], axis=1)
    g_next = np.where(alive > 0, after.sum(axis=0) / np.maximum(alive, 1.0), 0.0)
    return c, g_next


def additive_slate_model(
    episodes: SlateEpisodes, target_item_probabilities: np.ndarray, prior_weight: float = 10.0
) -> tuple[np.ndarray, np.ndarray]:
    """A simple reward model for :func:`doubly_robust` on slate episodes of i.i.d. item draws.

    The value-to-go of showing slate ``S`` at step ``t`` is modelled as
    ``q(t, S) = sum_{j in S} c_j + g_{t+1}``: ``c_j`` is item ``j``'s mean reward per impression
    in the log (shrunk towards the global mean with ``prior_weight`` pseudo-impressions) and
    ``g_{t+1}`` the logged mean return after step ``t`` of the episodes that reached step ``t``
    (both from :func:`additive_item_values`). Under a target drawing ``k`` items i.i.d. from
    ``p``, ``v(t) = k sum_j p_j c_j + g_{t+1}``. The model ignores the user and the slate's
    competition, so it is biased; the doubly robust estimator stays unbiased with exact weights
    and uses it only to reduce variance.

    Args:
      episodes: the logged slates.
      target_item_probabilities: float ``[vocab_size]`` the target's item distribution.
      prior_weight: pseudo-impressions of the shrinkage towards the global mean.

    Returns:
      ``(logged_q, target_v)``, float64 ``[num_episodes, num_steps]`` each, 0 after the end.
    """
    if prior_weight < 0:
        raise ValueError(f"prior_weight must be >= 0, got {prior_weight}.")
    p = np.asarray(target_item_probabilities, dtype=np.float64)
    if p.ndim != 1 or p.shape[0] <= int(episodes.slates.max()):
        raise ValueError(
            f"target_item_probabilities must be [vocab_size] covering every logged item index, "
            f"got shape {p.shape}."
        )
    c, g_next = additive_item_values(episodes, len(p), prior_weight)
    k = episodes.slates.shape[-1]
    logged_q = np.where(episodes.mask, c[episodes.slates].sum(axis=-1) + g_next, 0.0)
    target_v = np.where(episodes.mask, k * float(p @ c) + g_next, 0.0)
    return logged_q, target_v
