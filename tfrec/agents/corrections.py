"""Off-policy corrections of Chen et al., WSDM 2019 (arXiv 1812.02353), as small pure functions.

Notation: π = π_θ(a|s), the policy being trained; β = β(a|s), the (logged or estimated) policy
that produced the logs; ``K`` the slate size; ``R_t`` the discounted return from step ``t``.

The REINFORCE agent composes them into the per-step weight of its policy-gradient loss::

    loss = - Σ_t  stop_grad( λ_K(π_t) · min(π_t / β_t, c) ) · R_t · log π_t

* §3 ("Reinforce"): returns ``R_t = Σ_{t' ≥ t} γ^{t'-t} r_{t'}`` within a session
  (:func:`discounted_returns`).
* §4 ("Off-policy correction"): the first-order approximation of the importance weight, a
  per-step ratio ``π(a_t|s_t) / β(a_t|s_t)`` instead of the product over the trajectory
  (:func:`importance_weights`).
* §4.3 ("Top-K off-policy correction"): for a policy that recommends a slate of ``K`` items drawn
  independently from π, the probability that ``a`` appears in the slate is
  ``α(a|s) = 1 - (1 - π(a|s))^K``, whose gradient multiplies the single-item gradient by
  ``λ_K(s, a) = K (1 - π(a|s))^{K-1}`` (:func:`topk_multiplier`).
* §4.4 ("Variance reduction techniques"): weight capping ``min(π/β, c)`` (:func:`cap_weights`; the
  paper's experiments use ``c = e^3``, :data:`DEFAULT_WEIGHT_CAP`) and normalised importance
  sampling, dividing the weights by their mean over the batch (:func:`normalize_weights`).
"""

from __future__ import annotations

import math

import tensorflow as tf
from tf_agents.trajectories import time_step as ts
from tf_agents.utils import value_ops

__all__ = [
    "CORRECTION_KINDS",
    "DEFAULT_WEIGHT_CAP",
    "cap_weights",
    "correction_weights",
    "discounted_returns",
    "importance_weights",
    "log_inclusion_probability",
    "normalize_weights",
    "scale_returns",
    "select_log_propensity",
    "topk_multiplier",
]

DEFAULT_WEIGHT_CAP = math.exp(3.0)
"""``c = e^3``, the capping threshold of the paper's simulations (§4.4)."""


def discounted_returns(
    rewards: tf.Tensor,
    discounts: tf.Tensor,
    next_step_types: tf.Tensor,
    gamma: float,
) -> tf.Tensor:
    """Discounted return of every step, restarted at each session boundary.

    ``R_t = r_t + γ · d_t · 1[next_step_type_t != LAST] · R_{t+1}``: a step whose next step is
    LAST closes its session, so no reward of a later session leaks into it. This is exactly the
    return ``tf_agents.agents.ReinforceAgent`` computes before calling the loss.

    Args:
      rewards: float ``[batch, time]``.
      discounts: float ``[batch, time]`` environment discounts (0 on a terminal step).
      next_step_types: int ``[batch, time]`` ``StepType`` of the following step.
      gamma: discount factor in ``[0, 1]``.

    Returns:
      float ``[batch, time]`` returns ``R_t``.

    Raises:
      ValueError: if ``gamma`` is outside ``[0, 1]``.
    """
    if not 0.0 <= gamma <= 1.0:
        raise ValueError(f"gamma must be in [0, 1], got {gamma}.")
    rewards = tf.convert_to_tensor(rewards, tf.float32)
    not_last = tf.cast(tf.not_equal(next_step_types, ts.StepType.LAST), tf.float32)
    step_discounts = not_last * tf.cast(discounts, tf.float32) * gamma
    return value_ops.discounted_return(rewards, step_discounts, time_major=False)


def importance_weights(log_pi: tf.Tensor, log_beta: tf.Tensor) -> tf.Tensor:
    """First-order importance weight ``π(a|s) / β(a|s)`` (§4), computed in log space.

    Args:
      log_pi: float ``[...]`` log-probability of the logged action under the trained policy.
      log_beta: float ``[...]`` log-probability of the same action under the behaviour policy.

    Returns:
      float ``[...]`` ``exp(log_pi - log_beta)``.
    """
    return tf.exp(tf.convert_to_tensor(log_pi) - tf.convert_to_tensor(log_beta))


def cap_weights(weights: tf.Tensor, cap: float | None = DEFAULT_WEIGHT_CAP) -> tf.Tensor:
    """Weight capping ``min(w, c)`` (§4.4): bounds the variance at the price of some bias.

    Args:
      weights: float ``[...]`` importance weights.
      cap: the threshold ``c > 0``; ``None`` disables capping.

    Returns:
      float ``[...]`` capped weights.

    Raises:
      ValueError: if ``cap`` is not positive.
    """
    weights = tf.convert_to_tensor(weights)
    if cap is None:
        return weights
    if not cap > 0:
        raise ValueError(f"weight cap must be > 0 (or None to disable), got {cap}.")
    return tf.minimum(weights, tf.cast(cap, weights.dtype))


def topk_multiplier(pi: tf.Tensor, k: int) -> tf.Tensor:
    """Top-K multiplier ``λ_K(s, a) = K (1 - π(a|s))^{K-1}`` (§4.3).

    It is ``∂α/∂π`` for ``α = 1 - (1 - π)^K``, the probability that ``a`` is in a slate of ``K``
    independent draws from π: close to ``K`` for items π still rarely picks, close to 0 once π
    already puts most of its mass on ``a`` (the slate contains it anyway). ``K = 1`` gives 1.

    Args:
      pi: float ``[...]`` probability ``π(a|s)`` in ``[0, 1]``.
      k: slate size ``K >= 1``.

    Returns:
      float ``[...]`` multipliers in ``[0, K]``.

    Raises:
      ValueError: if ``k < 1``.
    """
    if int(k) < 1:
        raise ValueError(f"slate size k must be >= 1, got {k}.")
    pi = tf.clip_by_value(tf.convert_to_tensor(pi), 0.0, 1.0)
    return tf.cast(k, pi.dtype) * tf.pow(1.0 - pi, tf.cast(k - 1, pi.dtype))


def normalize_weights(weights: tf.Tensor, mask: tf.Tensor | None = None) -> tf.Tensor:
    """Normalised importance sampling (§4.4): divides the weights by their (masked) mean.

    Args:
      weights: float ``[...]`` importance weights.
      mask: optional float/bool ``[...]``, 1 on the steps that count (0 on padding/boundaries).

    Returns:
      float ``[...]`` weights whose mean over the masked steps is 1 (0 outside the mask). A
      batch whose masked weights sum to 0 is returned as zeros.
    """
    weights = tf.convert_to_tensor(weights)
    mask = tf.ones_like(weights) if mask is None else tf.cast(mask, weights.dtype)
    count = tf.reduce_sum(mask)
    total = tf.reduce_sum(weights * mask)
    return tf.math.divide_no_nan(weights * mask * count, total)


def scale_returns(returns: tf.Tensor, mask: tf.Tensor | None = None) -> tf.Tensor:
    """Divides returns by their (masked) root mean square, **without centring them**.

    TF-Agents' ``normalize_returns`` standardises, ``(R - mean) / std``: subtracting the mean is a
    baseline. A baseline leaves the policy gradient unbiased only if it is applied to every action
    the policy could take, including the zero-return ones. A click log holds only the clicked items
    (all ``R_t >= 0``), so the centred version pushes π away from whatever users click (see
    :mod:`tfrec.agents.reinforce`). Dividing by ``sqrt(mean(R²))`` keeps the sign of every return
    and only sets the step size (and, unlike the standard deviation, is not 0 for a batch of equal
    returns).

    Args:
      returns: float ``[...]`` returns (or advantages).
      mask: optional float/bool ``[...]``, 1 on the steps that count.

    Returns:
      float ``[...]`` ``returns / sqrt(mean_masked(returns²))`` (zeros if that mean is 0).
    """
    returns = tf.convert_to_tensor(returns, tf.float32)
    mask = tf.ones_like(returns) if mask is None else tf.cast(mask, returns.dtype)
    mean_square = tf.math.divide_no_nan(
        tf.reduce_sum(tf.square(returns) * mask), tf.reduce_sum(mask)
    )
    return tf.math.divide_no_nan(returns, tf.sqrt(mean_square))


def select_log_propensity(logged: tf.Tensor, estimated: tf.Tensor) -> tf.Tensor:
    """Chooses the logged behaviour log-probability where the log has one, β̂'s estimate elsewhere.

    Args:
      logged: float ``[...]`` logged ``log β(a|s)``, NaN where unknown.
      estimated: float ``[...]`` ``log β̂(a|s)`` from the behaviour head.

    Returns:
      float ``[...]``: ``logged`` where it is finite, ``estimated`` otherwise.
    """
    logged = tf.convert_to_tensor(logged)
    estimated = tf.convert_to_tensor(estimated, logged.dtype)
    return tf.where(tf.math.is_finite(logged), logged, estimated)


def log_inclusion_probability(log_pi: tf.Tensor, k: int) -> tf.Tensor:
    """``log α`` with ``α(a|s) = 1 - (1 - π(a|s))^K``: ``a`` is in a slate of ``K`` draws (§4.3).

    Its gradient is ``λ_K(s, a) · π/α · ∇log π`` (:func:`topk_multiplier`), the top-K factor.

    Args:
      log_pi: float ``[...]`` ``log π(a|s)``.
      k: slate size ``K >= 1``.

    Returns:
      float ``[...]`` ``log(1 - (1 - π)^K)``, computed stably for small and large ``π``.

    Raises:
      ValueError: if ``k < 1``.
    """
    if int(k) < 1:
        raise ValueError(f"slate size k must be >= 1, got {k}.")
    log_pi = tf.convert_to_tensor(log_pi)
    log_not_pi = tf.math.log1p(-tf.minimum(tf.exp(log_pi), 1.0 - 1e-7))
    return tf.math.log(-tf.math.expm1(tf.cast(k, log_pi.dtype) * log_not_pi))


CORRECTION_KINDS = ("none", "importance", "topk")


def correction_weights(
    log_pi: tf.Tensor,
    log_beta: tf.Tensor,
    correction: str,
    slate_size: int = 1,
    weight_cap: float | None = None,
    normalize: bool = False,
    mask: tf.Tensor | None = None,
) -> tf.Tensor:
    """Per-action weight ``w`` of the surrogate: the composition of the corrections above.

    Args:
      log_pi: float ``[...]`` ``log π(a)``.
      log_beta: float ``[...]`` ``log β(a)`` (logged or estimated).
      correction: ``"none"`` (1), ``"importance"`` (``min(π/β, c)``) or ``"topk"``
        (``λ_K(π) · min(π/β, c)``).
      slate_size: ``K`` of the top-K multiplier.
      weight_cap: ``c``; None disables capping.
      normalize: divide by the (masked) mean weight (§4.4; not for ``"none"``).
      mask: optional float ``[...]``, 1 on the steps that count (for ``normalize``).

    Returns:
      float ``[...]`` weights, with no gradient.

    Raises:
      ValueError: for an unknown ``correction``.
    """
    if correction not in CORRECTION_KINDS:
        raise ValueError(f"correction must be one of {CORRECTION_KINDS}, got {correction!r}.")
    log_pi = tf.stop_gradient(log_pi)
    if correction == "none":
        return tf.ones_like(log_pi)
    weights = cap_weights(importance_weights(log_pi, tf.stop_gradient(log_beta)), weight_cap)
    if correction == "topk":
        weights *= topk_multiplier(tf.exp(log_pi), slate_size)
    if normalize:
        weights = normalize_weights(weights, mask)
    return tf.stop_gradient(weights)
