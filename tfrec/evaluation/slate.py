"""Slate off-policy estimators: the slate's structure instead of one weight per whole slate.

A logged slate ``a = (a_1 .. a_K)`` with a reward per position ``r_k`` (the click or the
engagement at position ``k``) and the slate reward ``sum_k r_k``. Each estimator weights the
position rewards with a ratio of the target policy ``pi`` to the logging policy ``beta`` that
uses only as much of the slate as its reward assumption needs (:class:`SlatePropensities` holds
the three kinds of probabilities):

* :func:`standard_ips` (``"sips"``): the whole slate, ``w = pi(a) / beta(a)``; no assumption on
  the reward, largest variance.
* :func:`independent_ips` (``"iips"``, Li et al., KDD 2018): position ``k``'s marginal,
  ``w_k = pi(a_k at k) / beta(a_k at k)``; unbiased when ``r_k`` depends on the item at ``k``
  only.
* :func:`pseudo_inverse_ips` (``"pi"``, Swaminathan et al., NeurIPS 2017, "Off-policy evaluation
  for slate recommendation"): the slate reward weighted by ``sum_k w_k - (K - 1)``; unbiased when
  the *slate* reward is additive over positions and ``beta`` factorises over positions (i.i.d.
  slates); its self-normalised form is the paper's wPI.
* :func:`reward_interaction_ips` (``"rips"``, McInerney et al., KDD 2020, "Counterfactual
  evaluation of slate recommendations with sequential reward interactions"): the prefix,
  ``w_{1:k} = pi(a_1..a_k) / beta(a_1..a_k)``; unbiased under the cascade assumption (``r_k``
  depends on the items at positions ``<= k`` only).
* :func:`cascade_doubly_robust` (``"cascade-dr"``, Kiyohara et al., WSDM 2022, "Doubly robust
  off-policy evaluation for ranking policies under the cascade behavior model"): RIPS with a
  per-position reward model ``Q_k`` as control variate,
  ``sum_k [w_{1:k} (r_k - Q_k(a_{1:k})) + w_{1:k-1} E_{a ~ pi(.|a_{1:k-1})} Q_k(a_{1:k-1}, a)]``.

The formulas, including the self-normalised variants (normalised per position), are those of
Open Bandit Pipeline 0.5.7 (``obp.ope.SlateStandardIPS``, ``SlateIndependentIPS``,
``SlateRewardInteractionIPS``, ``SlateCascadeDoublyRobust`` and ``SelfNormalized*``);
``benchmarks/ope_vs_obp.py`` checks that they agree to 1e-6.

**Sessions (per-decision form).** With ``sessions=`` each session is a sequence of slates in time
order and the value is ``E[sum_t discount^t sum_k r_{t,k}]``. The terms of step ``t`` are
multiplied by the slate ratios of the earlier steps, ``rho_{<t} = prod_{t' < t} pi(a_t') /
beta(a_t')`` (Precup, Sutton & Singh, ICML 2000), or only of the last ``horizon`` of them (a
biased, lower-variance truncation; ``horizon=0`` treats every slate as its own bandit round). The
cascade DR's reward model must then predict the value to go, future steps included; with exact
weights the chain telescopes (Jiang & Li, ICML 2016).

**Intervals.** ``ci_method="normal"``: the CLT over independent units (slates, or sessions), with
delta-method influence terms ``psi_u = sum_{t,k} W_{u,t,k} (r_{u,t,k} - V_{t,k}) / mean_u
W_{u,t,k}`` for the self-normalised forms; ``"bootstrap"``: the percentile interval over unit
resamples. ESS: the smallest Kish effective sample size ``(sum w)^2 / sum w^2`` over the
positions of the units' final weights (the last step of each unit).
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any, Literal

import numpy as np
import pandas as pd

from tfrec.evaluation.estimate import (
    Estimate,
    EstimatorOptions,
    effective_sample_size,
    interval_estimate,
)

__all__ = [
    "SLATE_ESTIMATORS",
    "SlateData",
    "SlateOptions",
    "SlatePropensities",
    "cascade_doubly_robust",
    "cascade_model_terms",
    "estimate_all",
    "independent_ips",
    "pseudo_inverse_ips",
    "reward_interaction_ips",
    "standard_ips",
]

Kind = Literal["joint", "position", "cascade"]


@dataclasses.dataclass(frozen=True)
class SlateOptions(EstimatorOptions):
    """Options shared by every slate estimator.

    Attributes:
      self_normalize: divide each position's weights by their mean (obp's ``SelfNormalized*``).
      cap: clip every final weight at ``cap`` (None: no clipping).
      discount: per-step discount of a session's return (sessions only).
      horizon: sessions only: how many earlier slates' ratios ``rho_{<t}`` multiplies (None:
        all, the unbiased per-decision form; 0: none).
      confidence: confidence level of the interval.
      ci_method: ``"normal"`` (CLT) or ``"bootstrap"`` (percentile).
      num_bootstrap: bootstrap resamples.
      seed: seed of the bootstrap.
    """

    self_normalize: bool = False
    horizon: int | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.horizon is not None and self.horizon < 0:
            raise ValueError(f"SlateOptions.horizon must be >= 0 or None, got {self.horizon}.")


@dataclasses.dataclass(frozen=True)
class SlatePropensities:
    """One policy's probabilities of the logged slates (any of the three may be None).

    Attributes:
      joint: float ``[num_slates]`` ``P(a_1 .. a_K)`` of the ordered slate.
      position: float ``[num_slates, slate_size]`` ``P(position k shows a_k)``, the per-position
        marginal.
      cascade: float ``[num_slates, slate_size]`` ``P(a_1 .. a_k)`` of the slate's top-``k``
        prefix (its last column is ``joint``).
    """

    joint: np.ndarray | None = None
    position: np.ndarray | None = None
    cascade: np.ndarray | None = None


def _probabilities(name: str, x: object, shape: tuple[int, ...], behavior: bool) -> np.ndarray:
    arr = np.asarray(x, dtype=np.float64)
    if arr.shape != shape:
        raise ValueError(f"{name} has shape {arr.shape}, expected {shape}.")
    bad = ~np.isfinite(arr) | (arr < 0) | (arr > 1 + 1e-9) | ((arr <= 0) if behavior else False)
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        need = "(0, 1] (a logged slate had probability > 0)" if behavior else "[0, 1]"
        raise ValueError(f"{name} must be probabilities in {need}; index {index} is {arr[index]}.")
    return arr


@dataclasses.dataclass(frozen=True)
class SlateData:
    """Validated slate log: position rewards, the two policies' propensities, optional sessions.

    Build it with :meth:`create`.

    Attributes:
      rewards: float64 ``[num_slates, slate_size]`` reward observed at each position.
      behavior: the logging policy's :class:`SlatePropensities`.
      target: the evaluated policy's :class:`SlatePropensities` (same kinds as ``behavior``).
      unit: int ``[num_slates]`` the independent unit (session) of each slate, ``0 .. U-1``.
      step: int ``[num_slates]`` the slate's step within its unit (0 without sessions).
    """

    rewards: np.ndarray
    behavior: SlatePropensities
    target: SlatePropensities
    unit: np.ndarray
    step: np.ndarray

    @classmethod
    def create(
        cls,
        rewards: np.ndarray,
        behavior: SlatePropensities,
        target: SlatePropensities,
        sessions: np.ndarray | None = None,
    ) -> SlateData:
        """Validates the arrays.

        Args:
          rewards: float ``[num_slates, slate_size]`` position rewards.
          behavior: logging-policy propensities (each given kind ``> 0``).
          target: evaluated-policy propensities of the same slates (``>= 0``).
          sessions: optional ``[num_slates]`` session ids; a session's slates must be in time
            order (the per-decision form). None: every slate is its own unit.

        Returns:
          The :class:`SlateData`.

        Raises:
          ValueError: on a wrong shape, a non-finite reward, a probability outside its range or
            a kind given for one policy only.
        """
        r = np.asarray(rewards, dtype=np.float64)
        if r.ndim != 2 or r.size == 0:
            raise ValueError(
                f"rewards must be a non-empty [num_slates, slate_size], got {r.shape}."
            )
        if not np.isfinite(r).all():
            raise ValueError(f"rewards has {int((~np.isfinite(r)).sum())} non-finite values.")
        n, k = r.shape
        shapes = {"joint": (n,), "position": (n, k), "cascade": (n, k)}
        checked = {}
        for who, props in (("behavior", behavior), ("target", target)):
            if not isinstance(props, SlatePropensities):
                raise TypeError(f"{who} must be SlatePropensities, got {type(props).__name__}.")
            checked[who] = SlatePropensities(
                **{
                    kind: None
                    if getattr(props, kind) is None
                    else _probabilities(
                        f"{who}.{kind}", getattr(props, kind), shape, who == "behavior"
                    )
                    for kind, shape in shapes.items()
                }
            )
        for kind in shapes:
            given = [getattr(checked[w], kind) is not None for w in ("behavior", "target")]
            if given[0] != given[1]:
                raise ValueError(f"{kind} propensities are given for one policy only; give both.")
        if sessions is None:
            unit, step = np.arange(n), np.zeros(n, np.int64)
        else:
            s = np.asarray(sessions)
            if s.shape != (n,):
                raise ValueError(f"sessions has shape {s.shape}, expected ({n},).")
            unit = pd.factorize(s)[0]
            step = pd.Series(unit).groupby(unit).cumcount().to_numpy()
        return cls(r, checked["behavior"], checked["target"], unit, step)

    @property
    def num_units(self) -> int:
        """Number of independent units (slates, or sessions)."""
        return int(self.unit.max()) + 1

    def ratio(self, kind: Kind) -> np.ndarray:
        """``pi / beta`` of one kind: ``[num_slates]`` (joint) or ``[num_slates, slate_size]``.

        Raises:
          ValueError: if that kind of propensity was not given.
        """
        b, t = getattr(self.behavior, kind), getattr(self.target, kind)
        if b is None:
            raise ValueError(
                f"this estimator needs {kind!r} propensities of both policies; SlateData has none."
            )
        return t / b

    def grid(self, x: np.ndarray, fill: float) -> np.ndarray:
        """Scatters per-slate values ``[num_slates, ...]`` into ``[units, steps, ...]``."""
        out = np.full((self.num_units, int(self.step.max()) + 1, *x.shape[1:]), fill)
        out[self.unit, self.step] = x
        return out

    def prefix_weights(self, horizon: int | None) -> np.ndarray:
        """``rho_{<t}`` ``[units, steps]`` from the joint ratios of the earlier slates."""
        needed = self.step.max() > 0 and horizon != 0
        ratio = self.grid(self.ratio("joint") if needed else np.ones(len(self.step)), 1.0)
        shifted = np.concatenate([np.ones_like(ratio[:, :1]), ratio[:, :-1]], axis=1)
        if horizon is None:
            return np.cumprod(shifted, axis=1)
        rho = np.ones_like(ratio)
        for lag in range(1, horizon + 1):
            rho[:, lag:] *= ratio[:, :-lag]
        return rho


def _run(
    data: SlateData, weights: np.ndarray, rewards: np.ndarray, options: SlateOptions, name: str
) -> Estimate:
    """The engine: ``V = mean_u sum_{t,p} g^t W R`` (or its self-normalised form).

    Args:
      data: the slate data (units and steps).
      weights: ``[num_slates, P]`` within-slate weights of ``P`` "positions".
      rewards: ``[num_slates, P]`` what they weight.
      options: the :class:`SlateOptions`.
      name: estimator name.
    """
    if not isinstance(options, SlateOptions):
        raise TypeError(f"options must be SlateOptions, got {type(options).__name__}.")
    rho = data.prefix_weights(options.horizon)  # [U, T]
    alive = data.grid(np.ones(len(data.step)), 0.0)  # [U, T]
    w = rho[..., None] * data.grid(weights, 1.0)  # [U, T, P]
    if options.cap is not None:
        w = np.minimum(w, options.cap)
    r = data.grid(rewards, 0.0)
    disc = options.discount ** np.arange(r.shape[1], dtype=np.float64)[None, :, None]

    def core(units: np.ndarray) -> tuple[float, np.ndarray]:
        wu, ru = w[units], r[units]
        if not options.self_normalize:
            terms = (disc * wu * ru).sum(axis=(1, 2))
            value = float(terms.mean())
            return value, terms - value
        mean_w = wu.mean(axis=0)  # [T, P]
        if (mean_w[alive[units].any(axis=0)] <= 0).any():
            raise ValueError(
                f"{name}: the mean weight of some position is <= 0 (the target never shows a "
                "logged item there, or pseudo-inverse weights are negative on average), so the "
                "self-normalised estimate is undefined."
            )
        safe = np.where(mean_w > 0, mean_w, 1.0)
        v_tp = (wu * ru).mean(axis=0) / safe  # [T, P]
        value = float((disc * v_tp).sum())
        influence = (disc * wu * (ru - v_tp) / safe).sum(axis=(1, 2))
        return value, influence

    last = alive.sum(axis=1).astype(int) - 1  # each unit's last step
    final = w[np.arange(w.shape[0]), last]  # [U, P]
    ess = min(effective_sample_size(final[:, p]) for p in range(final.shape[1]))
    label = f"sn{name}" if options.self_normalize else name
    return interval_estimate(core, data.num_units, label, ess, options)


def standard_ips(data: SlateData, options: SlateOptions = SlateOptions()) -> Estimate:
    """Standard slate IPS: ``V = mean_i w_i sum_k r_ik``, ``w_i = pi(a_i) / beta(a_i)``.

    Needs ``joint`` propensities. Self-normalised: ``sum_i w_i r_ik / sum_i w_i`` per position.

    Args:
      data: the :class:`SlateData`.
      options: the :class:`SlateOptions`.

    Returns:
      The :class:`Estimate` (method ``"sips/..."`` or ``"snsips/..."``).
    """
    w = np.repeat(data.ratio("joint")[:, None], data.rewards.shape[1], axis=1)
    return _run(data, w, data.rewards, options, "sips")


def independent_ips(data: SlateData, options: SlateOptions = SlateOptions()) -> Estimate:
    """Independent IPS: ``V = mean_i sum_k w_ik r_ik``, ``w_ik`` the position-marginal ratio.

    Needs ``position`` propensities (Li et al., KDD 2018; obp's ``SlateIndependentIPS``).

    Args:
      data: the :class:`SlateData`.
      options: the :class:`SlateOptions`.

    Returns:
      The :class:`Estimate` (``"iips"``).
    """
    return _run(data, data.ratio("position"), data.rewards, options, "iips")


def pseudo_inverse_ips(data: SlateData, options: SlateOptions = SlateOptions()) -> Estimate:
    """Pseudo-inverse estimator: ``V = mean_i (sum_k w_ik - (K - 1)) sum_k r_ik``.

    Swaminathan et al., NeurIPS 2017, Eq. (5)'s closed form for a logging policy that factorises
    over positions (``w_ik`` the position-marginal ratios); with ``self_normalize`` it is their
    weighted PI (``wPI``). Only the slate-level reward is used. Needs ``position`` propensities.

    Args:
      data: the :class:`SlateData`.
      options: the :class:`SlateOptions`.

    Returns:
      The :class:`Estimate` (``"pi"``).
    """
    w = data.ratio("position")
    w_pi = w.sum(axis=1, keepdims=True) - (w.shape[1] - 1)
    return _run(data, w_pi, data.rewards.sum(axis=1, keepdims=True), options, "pi")


def reward_interaction_ips(data: SlateData, options: SlateOptions = SlateOptions()) -> Estimate:
    """Reward-interaction IPS: ``V = mean_i sum_k w_{i,1:k} r_ik`` with the prefix ratios.

    McInerney et al., KDD 2020 (RIPS); obp's ``SlateRewardInteractionIPS``. Needs ``cascade``
    propensities.

    Args:
      data: the :class:`SlateData`.
      options: the :class:`SlateOptions`.

    Returns:
      The :class:`Estimate` (``"rips"``).
    """
    return _run(data, data.ratio("cascade"), data.rewards, options, "rips")


def cascade_model_terms(
    q_hat: np.ndarray, target_action_dist: np.ndarray, slates: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The two reward-model arrays of :func:`cascade_doubly_robust` from a full ``Q`` table.

    Args:
      q_hat: float ``[num_slates, slate_size, num_actions]`` ``Q_k(x, a_{1:k-1}, a)``, the model's
        value from position ``k`` on of showing ``a`` at ``k`` after the logged prefix.
      target_action_dist: float, same shape, ``pi(a | x, a_{1:k-1})``.
      slates: int ``[num_slates, slate_size]`` the logged actions (``0 .. num_actions-1``).

    Returns:
      ``(q_logged, q_expected)``, float64 ``[num_slates, slate_size]``: ``Q_k`` of the logged
      action and ``E_{a ~ pi} Q_k``.
    """
    q = np.asarray(q_hat, dtype=np.float64)
    dist = np.asarray(target_action_dist, dtype=np.float64)
    slates = np.asarray(slates)
    if q.ndim != 3 or dist.shape != q.shape or slates.shape != q.shape[:2]:
        raise ValueError(
            f"q_hat {q.shape} and target_action_dist {dist.shape} must be [num_slates, "
            f"slate_size, num_actions] and slates {slates.shape} [num_slates, slate_size]."
        )
    if slates.min() < 0 or slates.max() >= q.shape[2]:
        raise ValueError(f"slates must hold actions in [0, {q.shape[2]}), got {slates.min()}..")
    logged = np.take_along_axis(q, slates[..., None], axis=2)[..., 0]
    return logged, (q * dist).sum(axis=2)


def cascade_doubly_robust(
    data: SlateData,
    q_logged: np.ndarray,
    q_expected: np.ndarray,
    options: SlateOptions = SlateOptions(),
) -> Estimate:
    """Cascade doubly robust (Kiyohara et al., WSDM 2022; obp's ``SlateCascadeDoublyRobust``).

    ``V = mean_i sum_k [w_{1:k} (r_k - q_logged_k) + w_{1:k-1} q_expected_k]`` with
    ``w_{1:0} = 1``. Unbiased under the cascade assumption if the weights are exact, whatever the
    model; the better the model, the lower the variance. Needs ``cascade`` propensities.

    Args:
      data: the :class:`SlateData`.
      q_logged: float ``[num_slates, slate_size]`` the model's ``Q_k(x, a_{1:k})`` of the logged
        prefix (value from position ``k`` on; with sessions, the future steps included).
      q_expected: float, same shape, ``E_{a ~ pi(.|x, a_{1:k-1})} Q_k(x, a_{1:k-1}, a)``
        (:func:`cascade_model_terms`, or :class:`tfrec.evaluation.slate_propensities.
        LinearCascadeModel`).
      options: the :class:`SlateOptions`. ``self_normalize`` divides the weights
        ``rho_{<t} w_{1:k}`` of the corrections and ``rho_{<t} w_{1:k-1}`` of the model terms by
        their means per (step, position): the weighted doubly robust form of Thomas &
        Brunskill (ICML 2016), not in obp.

    Returns:
      The :class:`Estimate` (``"cascade-dr"``).
    """
    shape = data.rewards.shape
    arrays = []
    for label, x in (("q_logged", q_logged), ("q_expected", q_expected)):
        a = np.asarray(x, dtype=np.float64)
        if a.shape != shape or not np.isfinite(a).all():
            raise ValueError(f"{label} must be finite with shape {shape}, got {a.shape}.")
        arrays.append(a)
    w = data.ratio("cascade")
    w_prev = np.concatenate([np.ones_like(w[:, :1]), w[:, :-1]], axis=1)
    # Both parts are weight x value columns: the correction w_{1:k} (r_k - Q_k) and the model
    # term w_{1:k-1} E_pi Q_k; self-normalising divides each column by its mean weight.
    weights = np.concatenate([w, w_prev], axis=1)
    values = np.concatenate([data.rewards - arrays[0], arrays[1]], axis=1)
    return _run(data, weights, values, options, "cascade-dr")


SLATE_ESTIMATORS = {
    "sips": (standard_ips, "joint"),
    "iips": (independent_ips, "position"),
    "pi": (pseudo_inverse_ips, "position"),
    "rips": (reward_interaction_ips, "cascade"),
}
"""Name -> (estimator, the propensity kind it needs) of the model-free slate estimators."""


def estimate_all(
    data: SlateData,
    options: SlateOptions = SlateOptions(),
    model_terms: tuple[np.ndarray, np.ndarray] | None = None,
) -> dict[str, Estimate]:
    """Every estimator the data's propensities allow, plain and self-normalised.

    Args:
      data: the :class:`SlateData`.
      options: the :class:`SlateOptions` (its ``self_normalize`` is ignored: both are run).
      model_terms: optional ``(q_logged, q_expected)`` for the cascade DR.

    Returns:
      ``{name: Estimate}`` with names ``sips``, ``snsips``, ``iips``, ``sniips``, ``pi``,
      ``snpi``, ``rips``, ``snrips``, ``cascade-dr``, ``sncascade-dr`` (those whose
      propensities are present;
      a self-normalised form is left out where some position's mean weight is <= 0, e.g.
      ``snpi`` far from the logging policy, or a step of the sessions where the target gives
      every logged slate probability 0).
    """
    runs: dict[str, Any] = {
        name: functools.partial(fn, data)
        for name, (fn, kind) in SLATE_ESTIMATORS.items()
        if getattr(data.behavior, kind) is not None
    }
    if model_terms is not None and data.behavior.cascade is not None:
        runs["cascade-dr"] = functools.partial(cascade_doubly_robust, data, *model_terms)
    out: dict[str, Estimate] = {}
    for name, run in runs.items():
        out[name] = run(dataclasses.replace(options, self_normalize=False))
        try:
            out[f"sn{name}"] = run(dataclasses.replace(options, self_normalize=True))
        except ValueError:  # undefined: some position's mean weight is <= 0
            pass
    return out
