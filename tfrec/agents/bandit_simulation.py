"""The toy bandit simulations of Chen et al., WSDM 2019 (arXiv 1812.02353), §6 "Simulation".

A softmax policy ``π_θ = softmax(θ)`` over ``N`` items (``θ``: ``N`` logits, no state) is trained
by gradient ascent on actions drawn from a fixed behaviour policy β with the REINFORCE surrogate

    loss(θ) = - E_{a ~ β} [ stop_grad(w(a)) · r(a) · log π_θ(a) ],

whose weight ``w`` is composed from :mod:`tfrec.agents.corrections` exactly as
:class:`~tfrec.agents.TopKOffPolicyReinforceAgent` does:

* ``"none"``: ``w = 1``. The gradient ``Σ_a β(a) r(a) ∇log π(a)`` is that of a cross-entropy with
  target ``β(a) r(a) / Σ_b β(b) r(b)``, so π converges to that distribution
  (:func:`uncorrected_fixed_point`), not to the best item.
* ``"importance"``: ``w = min(π/β, c)``. Without a cap (or while ``π/β < c``) the gradient is
  ``∇_θ E_π[r]``, the on-policy gradient: π converges to the highest-reward item.
* ``"topk"``: ``w = λ_K(π) · min(π/β, c)`` with ``λ_K = K (1 - π)^{K-1}``. Uncapped, the gradient is
  ``∇_θ Σ_a r(a) (1 - (1 - π(a))^K)``, the expected reward of the *set* of items in a slate of
  ``K`` independent draws; its maximiser (:func:`topk_optimum`) spreads mass over several items.

Simulation (i) (:func:`skewed_behavior_problem`): ``r(a_i) = i``, β skewed towards low reward,
``β(a_i) ∝ 11 - i``. Simulation (ii) (:func:`topk_problem`): ``r = (10, 9, 1, ..., 1)``, uniform β,
slate size ``K = 2``.

The expectation over β is either exact (``batch_size=None``: the sum over the ``N`` actions
weighted by β, deterministic) or a Monte-Carlo mean over a batch of actions sampled from β with
stateless seeds (deterministic given the seed).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import tensorflow as tf

from tfrec.agents import corrections

__all__ = [
    "BanditProblem",
    "skewed_behavior_problem",
    "surrogate_loss",
    "topk_optimum",
    "topk_problem",
    "train_softmax_policy",
    "uncorrected_fixed_point",
]


@dataclasses.dataclass(frozen=True)
class BanditProblem:
    """A stateless ``N``-armed problem: item rewards, behaviour policy and slate size.

    Attributes:
      name: short label.
      rewards: ``N`` deterministic rewards ``r(a_i)``.
      behavior: ``N`` behaviour probabilities ``β(a_i)`` (positive, summing to 1).
      slate_size: ``K`` of the top-K correction.
    """

    name: str
    rewards: tuple[float, ...]
    behavior: tuple[float, ...]
    slate_size: int = 1

    def __post_init__(self) -> None:
        if len(self.rewards) != len(self.behavior):
            raise ValueError("rewards and behavior must have the same length.")
        if min(self.behavior) <= 0 or abs(sum(self.behavior) - 1.0) > 1e-6:
            raise ValueError("behavior must be positive and sum to 1.")

    @property
    def num_items(self) -> int:
        """``N``, the number of items."""
        return len(self.rewards)


def skewed_behavior_problem(num_items: int = 10) -> BanditProblem:
    """Simulation (i): ``r(a_i) = i`` and ``β(a_i) = (N + 1 - i) / Σ_j j`` (skewed to low reward).

    Args:
      num_items: ``N`` (10 in the paper).

    Returns:
      The problem, with ``K = 1``.
    """
    total = num_items * (num_items + 1) / 2
    return BanditProblem(
        name="skewed_behavior",
        rewards=tuple(float(i) for i in range(1, num_items + 1)),
        behavior=tuple((num_items + 1 - i) / total for i in range(1, num_items + 1)),
        slate_size=1,
    )


def topk_problem(num_items: int = 10, slate_size: int = 2) -> BanditProblem:
    """Simulation (ii): ``r = (10, 9, 1, ..., 1)``, uniform β, slates of ``K`` items.

    Args:
      num_items: ``N`` (10 in the paper).
      slate_size: ``K`` (2 in the paper).

    Returns:
      The problem.
    """
    return BanditProblem(
        name="topk",
        rewards=(10.0, 9.0) + (1.0,) * (num_items - 2),
        behavior=(1.0 / num_items,) * num_items,
        slate_size=slate_size,
    )


def uncorrected_fixed_point(problem: BanditProblem) -> np.ndarray:
    """Where the uncorrected policy converges: ``π(a) = β(a) r(a) / Σ_b β(b) r(b)``.

    Args:
      problem: the bandit problem (non-negative rewards, not all 0).

    Returns:
      float64 ``[N]`` probabilities.
    """
    mass = np.asarray(problem.behavior) * np.asarray(problem.rewards)
    return mass / mass.sum()


def topk_optimum(rewards: np.ndarray, slate_size: int, tol: float = 1e-12) -> np.ndarray:
    """Maximiser over the simplex of ``Σ_a r(a) (1 - (1 - π(a))^K)``, the top-K objective.

    KKT: ``K r(a) (1 - π(a))^{K-1} = μ`` on the support, so
    ``π(a) = max(0, 1 - (μ / (K r(a)))^{1/(K-1)})``, with ``μ`` found by bisection so that π sums
    to 1. For ``r = (10, 9, 1, ...)`` and ``K = 2`` it is ``(10/19, 9/19, 0, ...)``.

    Args:
      rewards: float ``[N]`` positive rewards.
      slate_size: ``K >= 2`` (for ``K = 1`` the maximiser is the best item).
      tol: bisection tolerance on ``μ``.

    Returns:
      float64 ``[N]`` probabilities.

    Raises:
      ValueError: if ``slate_size < 2``.
    """
    if slate_size < 2:
        raise ValueError(f"slate_size must be >= 2, got {slate_size}.")
    rewards = np.asarray(rewards, np.float64)
    power = 1.0 / (slate_size - 1)

    def probs(mu: float) -> np.ndarray:
        return np.maximum(0.0, 1.0 - (mu / (slate_size * rewards)) ** power)

    low, high = 0.0, slate_size * rewards.max()  # sum(probs(low)) = N >= 1, sum(probs(high)) = 0
    while high - low > tol * high:
        mid = 0.5 * (low + high)
        low, high = (mid, high) if probs(mid).sum() > 1.0 else (low, mid)
    out = probs(0.5 * (low + high))
    return out / out.sum()


def surrogate_loss(
    logits: tf.Tensor,
    problem: BanditProblem,
    correction: str,
    actions: tf.Tensor | None = None,
    weight_cap: float | None = None,
) -> tf.Tensor:
    """REINFORCE surrogate ``-E_{a~β}[stop_grad(w(a)) r(a) log π(a)]`` of a softmax policy.

    Args:
      logits: float32 ``[N]`` ``θ``.
      problem: rewards, β and ``K``.
      correction: see :func:`tfrec.agents.corrections.correction_weights`.
      actions: int ``[B]`` actions drawn from β (Monte-Carlo mean); None for the exact
        expectation ``Σ_a β(a) (...)``.
      weight_cap: ``c``; None disables capping.

    Returns:
      float32 scalar loss.
    """
    log_pi = tf.nn.log_softmax(logits)
    log_beta = tf.math.log(tf.constant(problem.behavior, tf.float32))
    rewards = tf.constant(problem.rewards, tf.float32)
    weights = corrections.correction_weights(
        log_pi, log_beta, correction, problem.slate_size, weight_cap
    )
    terms = weights * rewards * log_pi  # [N]
    if actions is None:
        return -tf.reduce_sum(tf.exp(log_beta) * terms)
    return -tf.reduce_mean(tf.gather(terms, actions))


def train_softmax_policy(
    problem: BanditProblem,
    correction: str,
    steps: int,
    learning_rate: float,
    weight_cap: float | None = None,
    batch_size: int | None = None,
    seed: int = 0,
) -> np.ndarray:
    """Gradient ascent from uniform logits ``θ = 0`` with plain SGD on :func:`surrogate_loss`.

    Args:
      problem: rewards, β and ``K``.
      correction: ``"none"``, ``"importance"`` or ``"topk"``.
      steps: number of updates.
      learning_rate: SGD step size.
      weight_cap: ``c`` of ``min(π/β, c)``; None disables capping.
      batch_size: actions sampled from β per step; None uses the exact expectation.
      seed: seed of the stateless sampling (step ``t`` uses seed ``(seed, t)``).

    Returns:
      float64 ``[steps + 1, N]``: π after each step, row 0 the uniform start.
    """
    logits = tf.Variable(tf.zeros([problem.num_items]))
    log_beta = tf.math.log(tf.constant([problem.behavior], tf.float32))  # [1, N]

    @tf.function
    def step(t: tf.Tensor) -> tf.Tensor:
        actions = None
        if batch_size is not None:
            actions = tf.random.stateless_categorical(
                log_beta, batch_size, seed=tf.stack([tf.constant(seed, tf.int64), t])
            )[0]
        with tf.GradientTape() as tape:
            loss = surrogate_loss(logits, problem, correction, actions, weight_cap)
        logits.assign_sub(learning_rate * tape.gradient(loss, logits))
        return tf.nn.softmax(logits)

    history = [tf.nn.softmax(logits).numpy()]
    for t in range(steps):
        history.append(step(tf.constant(t, tf.int64)).numpy())
    return np.asarray(history, np.float64)
