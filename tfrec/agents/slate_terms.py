"""The terms of the every-step slate policy gradient, as small pure functions.

The REINFORCE agent in ``experience="impressions"`` mode learns from every environment step: the
slate ``A_t`` it showed (clicked or not), the step reward ``r_t`` (0 without a click) and the
return-to-go ``R_t = Σ_{t' ≥ t} γ^{t'-t} r_{t'}`` over environment steps. Its policy-gradient
estimate is the score-function (REINFORCE, Williams 1992) estimate of the gradient of the expected
session return with respect to the *slate* distribution::

    ∇J ≈ 1/#episodes · Σ_t  w_t · Â_t · ∇ log π(A_t | s_t)

* ``log π(A|s)`` of an ordered slate drawn **without replacement** is the Plackett-Luce
  log-likelihood of the slate under the per-item distribution ``q`` that was sampled
  (:func:`tfrec.policies.slate_distribution.plackett_luce_log_prob`): ``Σ_i log q(a_i) - log(1 - Σ_{j<i} q(a_j))``; for the paper's
  slate of ``K`` **independent** draws (Chen et al., WSDM 2019, §4.3) it is ``Σ_i log q(a_i)``
  (``independent_slate_log_prob``).
* ``Â_t = R_t - V(s_t)`` with a learned state-value baseline ``V``. Unlike on click-only data
  (where every logged outcome is a click and no baseline is valid, see
  :mod:`tfrec.agents.reinforce`), every slate the policy could have shown is now an outcome of the
  data, so ``E_{A∼π}[b(s) ∇log π(A|s)] = b(s) ∇ Σ_A π(A|s) = 0`` and any state baseline leaves the
  gradient unbiased. :func:`centred_advantages` standardises ``Â`` over the batch's real steps
  (mean 0, standard deviation 1).
* ``w_t = min(π(A_t|s_t) / β(A_t|s_t), c)``: the capped per-slate importance ratio for replayed or
  logged slates (:func:`slate_importance_weights`), ``β`` the collecting policy's logged slate
  probability; on fresh on-policy data it is 1.
"""

from __future__ import annotations

import tensorflow as tf
from tf_agents.trajectories import time_step as ts
from tf_agents.utils import value_ops

from tfrec.agents import corrections

__all__ = ["centred_advantages", "generalized_advantages", "slate_importance_weights"]


def slate_importance_weights(
    log_pi: tf.Tensor, log_beta: tf.Tensor, cap: float | None = corrections.DEFAULT_WEIGHT_CAP
) -> tf.Tensor:
    """Capped per-slate importance ratio ``min(π(A|s) / β(A|s), c)`` (no gradient).

    The per-slate version of Chen et al.'s first-order correction (§4) with its capping (§4.4).

    Args:
      log_pi: float ``[...]`` ``log π(A_t|s_t)`` under the policy being trained.
      log_beta: float ``[...]`` ``log β(A_t|s_t)`` logged by the collecting policy.
      cap: ``c > 0``; None disables capping.

    Returns:
      float ``[...]`` gradient-stopped weights.
    """
    weights = corrections.importance_weights(tf.stop_gradient(log_pi), tf.stop_gradient(log_beta))
    return tf.stop_gradient(corrections.cap_weights(weights, cap))


def centred_advantages(advantages: tf.Tensor, mask: tf.Tensor) -> tf.Tensor:
    """Standardises advantages over the real steps: ``(A - mean) / std`` (0 outside the mask).

    Valid as a baseline only when the data holds every outcome of the policy's choice (impression
    experience); a batch whose masked advantages are all equal gives zeros.

    Args:
      advantages: float ``[...]``.
      mask: float/bool ``[...]``, 1 on real steps.

    Returns:
      float ``[...]``.
    """
    advantages = tf.convert_to_tensor(advantages, tf.float32)
    mask = tf.cast(mask, advantages.dtype)
    count = tf.reduce_sum(mask)
    mean = tf.math.divide_no_nan(tf.reduce_sum(advantages * mask), count)
    centred = (advantages - mean) * mask
    variance = tf.math.divide_no_nan(tf.reduce_sum(tf.square(centred)), count)
    return tf.math.divide_no_nan(centred, tf.sqrt(variance + 1e-8))


def generalized_advantages(
    rewards: tf.Tensor,
    values: tf.Tensor,
    discounts: tf.Tensor,
    next_step_types: tf.Tensor,
    gamma: float,
    td_lambda: float,
) -> tf.Tensor:
    """GAE(λ) advantages along ``[batch, time]`` rows (Schulman et al., ICLR 2016).

    ``δ_t = r_t + γ_t V(s_{t+1}) - V(s_t)`` and ``Â_t = Σ_{l ≥ 0} (γλ)^l δ_{t+l}`` with
    ``γ_t = γ · discount_t · 1[next_step_type_t != LAST]``: nothing is bootstrapped across an
    episode end. ``λ = 1`` gives ``R_t - V(s_t)`` (Monte-Carlo return minus the baseline);
    smaller ``λ`` trades bias (from ``V``) for variance.

    Args:
      rewards: float ``[batch, time]``.
      values: float ``[batch, time]`` ``V(s_t)``.
      discounts: float ``[batch, time]`` environment discounts.
      next_step_types: int ``[batch, time]``.
      gamma: discount factor.
      td_lambda: ``λ`` in ``[0, 1]``.

    Returns:
      float ``[batch, time]`` advantages.

    Raises:
      ValueError: if ``td_lambda`` is outside ``[0, 1]``.
    """
    if not 0.0 <= td_lambda <= 1.0:
        raise ValueError(f"td_lambda must be in [0, 1], got {td_lambda}.")
    rewards = tf.convert_to_tensor(rewards, tf.float32)
    values = tf.convert_to_tensor(values, tf.float32)
    not_last = tf.cast(tf.not_equal(next_step_types, ts.StepType.LAST), tf.float32)
    step_discounts = gamma * tf.cast(discounts, tf.float32) * not_last
    next_values = tf.concat([values[:, 1:], tf.zeros_like(values[:, :1])], axis=1)
    deltas = rewards + step_discounts * next_values - values
    return value_ops.discounted_return(deltas, step_discounts * td_lambda, time_major=False)
