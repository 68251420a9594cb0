"""A policy-value estimate with its uncertainty, and how its interval is computed.

Every off-policy estimator (:mod:`tfrec.evaluation.off_policy`, :mod:`tfrec.evaluation.slate`)
reduces to a *core*: a function of unit indices (rows, episodes or sessions; repeated in a
bootstrap resample) returning the point value and the per-unit influence terms whose mean is ~0.
:func:`interval_estimate` turns a core into an :class:`Estimate`:

* ``ci_method="normal"``: a normal approximation over the independent units, the standard error
  being the standard deviation of the influence terms over ``sqrt(n)``. IPS and DR are means of
  i.i.d. per-unit terms; for the ratio (self-normalised) estimators the influence terms are the
  delta-method (linearised) ones.
* ``ci_method="bootstrap"``: the percentile interval of the core's value on ``num_bootstrap``
  resamples of the units with replacement (Efron & Tibshirani 1993).

:func:`effective_sample_size` (Kish) and :func:`importance_weight_statistics` describe the
importance weights behind an estimate.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from statistics import NormalDist
from typing import Literal

import numpy as np

__all__ = [
    "CIMethod",
    "Estimate",
    "EstimatorCore",
    "EstimatorOptions",
    "effective_sample_size",
    "importance_weight_statistics",
    "interval_estimate",
]

CIMethod = Literal["normal", "bootstrap"]
CI_METHODS = ("normal", "bootstrap")

EstimatorCore = Callable[[np.ndarray], tuple[float, np.ndarray]]
"""Maps unit indices ``[n]`` to ``(value, influence terms [n])``."""


@dataclasses.dataclass(frozen=True)
class EstimatorOptions:
    """What every off-policy estimator's options hold: weight cap, discount and the interval.

    The base of :class:`tfrec.evaluation.off_policy.OffPolicyOptions` and
    :class:`tfrec.evaluation.slate.SlateOptions`.

    Attributes:
      cap: clip every weight at ``cap`` (None: no clipping).
      discount: per-step discount of a trajectory's (session's) return, in ``[0, 1]``.
      confidence: confidence level of the interval, in ``(0, 1)``.
      ci_method: ``"normal"`` (CLT over the units) or ``"bootstrap"`` (percentile).
      num_bootstrap: bootstrap resamples (>= 2).
      seed: seed of the bootstrap resampling.

    Raises:
      ValueError: on a value outside its range (the message names the attribute).
    """

    cap: float | None = None
    discount: float = 1.0
    confidence: float = 0.95
    ci_method: CIMethod = "normal"
    num_bootstrap: int = 1000
    seed: int = 0

    def __post_init__(self) -> None:
        name = type(self).__name__
        if self.cap is not None and not self.cap > 0:
            raise ValueError(f"{name}.cap must be > 0 or None, got {self.cap}.")
        if not 0.0 <= self.discount <= 1.0:
            raise ValueError(f"{name}.discount must be in [0, 1], got {self.discount}.")
        if not 0.0 < self.confidence < 1.0:
            raise ValueError(f"{name}.confidence must be in (0, 1), got {self.confidence}.")
        if self.ci_method not in CI_METHODS:
            raise ValueError(
                f"{name}.ci_method must be one of {CI_METHODS}, got {self.ci_method!r}."
            )
        if self.num_bootstrap < 2:
            raise ValueError(f"{name}.num_bootstrap must be >= 2, got {self.num_bootstrap}.")


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


def importance_weight_statistics(ratios: np.ndarray, cap: float | None = None) -> dict[str, float]:
    """How much a set of importance ratios reweights its data, before and after capping.

    Args:
      ratios: float ``[n]`` ratios ``pi / beta`` (``n >= 1``).
      cap: the cap ``c`` of the capped weights ``min(ratio, c)`` (None: no capping).

    Returns:
      ``{"median", "mean", "p99"}`` of the ratios, ``"fraction_capped"`` (share of ratios above
      ``cap``; 0 without a cap) and ``"ess_fraction"``: the Kish effective sample size of the
      capped weights over ``n`` (near 1: the weights barely reweight; near 0: a few rows carry
      everything).

    Raises:
      ValueError: if ``ratios`` is empty, not 1-D, or has negative or non-finite values, or
        ``cap <= 0``.
    """
    r = np.asarray(ratios, dtype=np.float64)
    if r.ndim != 1 or r.size == 0:
        raise ValueError(f"ratios must be a non-empty [n] array, got shape {r.shape}.")
    if not (np.isfinite(r) & (r >= 0)).all():
        raise ValueError("ratios must be finite and >= 0 (importance weights pi / beta).")
    if cap is not None and not cap > 0:
        raise ValueError(f"cap must be > 0 (or None for no capping), got {cap}.")
    capped = r if cap is None else np.minimum(r, cap)
    return {
        "median": float(np.median(r)),
        "mean": float(r.mean()),
        "p99": float(np.quantile(r, 0.99)),
        "fraction_capped": 0.0 if cap is None else float((r > cap).mean()),
        "ess_fraction": effective_sample_size(capped) / r.size,
    }


def interval_estimate(
    core: EstimatorCore,
    num_units: int,
    name: str,
    ess: float,
    options: EstimatorOptions,
) -> Estimate:
    """The :class:`Estimate` of an estimator core, with the interval ``options`` ask for.

    Args:
      core: maps unit indices ``[n]`` to ``(value, influence terms [n])``.
      num_units: ``n``, the number of independent units.
      name: the estimator's name (the method is ``f"{name}/{ci_method}"``).
      ess: the effective sample size to report.
      options: the interval settings (``confidence``, ``ci_method``, ``num_bootstrap``, ``seed``).

    Returns:
      The :class:`Estimate`.

    """
    confidence, ci_method = options.confidence, options.ci_method
    n = num_units
    value, influence = core(np.arange(n))
    if ci_method == "normal":
        z = NormalDist().inv_cdf(0.5 + confidence / 2.0)
        stderr = float(np.std(influence, ddof=1) / math.sqrt(n)) if n > 1 else math.inf
        lower, upper = value - z * stderr, value + z * stderr
    elif ci_method == "bootstrap":
        rng = np.random.default_rng(options.seed)
        boot = np.array([core(rng.integers(0, n, size=n))[0] for _ in range(options.num_bootstrap)])
        stderr = float(np.std(boot, ddof=1))
        alpha = 1.0 - confidence
        lower, upper = (float(q) for q in np.quantile(boot, [alpha / 2.0, 1.0 - alpha / 2.0]))
    else:
        raise ValueError(f"ci_method must be one of {CI_METHODS}, got {ci_method!r}.")
    return Estimate(
        value=float(value),
        stderr=stderr,
        lower=float(lower),
        upper=float(upper),
        confidence=confidence,
        num_units=n,
        effective_sample_size=ess,
        method=f"{name}/{ci_method}",
    )
