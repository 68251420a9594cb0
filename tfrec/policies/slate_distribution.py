"""Slate distributions over a per-item policy: Plackett-Luce (without replacement) or independent.

A slate policy over the catalog draws ``K`` items from a per-item distribution ``q`` (the softmax
π of the actor network, or its exploration mixture with a uniform distribution,
:func:`mixture_log_probs`). Two slate models:

* ``"plackett_luce"``: without replacement, position by position from ``q`` renormalised over the
  items not drawn yet (Plackett 1975; Luce 1959); the Gumbel-top-k trick samples it in one top-k
  (Kool et al., ICML 2019, "Stochastic Beams and Where to Find Them").
* ``"independent"``: ``K`` i.i.d. draws (Chen et al., WSDM 2019, §4.3; the choice model counts a
  repeated item once).

These are the exact slate probabilities the collect policy logs and the agent's loss
differentiates, in one place.
"""

from __future__ import annotations

import tensorflow as tf

__all__ = [
    "SLATE_MODELS",
    "sample_slates",
    "independent_slate_log_prob",
    "mixture_log_probs",
    "plackett_luce_log_prob",
    "slate_log_prob",
]

SLATE_MODELS = ("plackett_luce", "independent")
"""How a slate is drawn from the per-item distribution: without replacement (Plackett-Luce) or
as ``K`` independent draws (Chen et al. 2019, §4.3)."""


def plackett_luce_log_prob(item_log_probs: tf.Tensor) -> tf.Tensor:
    """Log-probability of ordered slates drawn without replacement (Plackett-Luce).

    ``log P(a_1..a_K) = Σ_i [log q(a_i) - log(1 - Σ_{j<i} q(a_j))]``: position ``i`` is drawn from
    ``q`` renormalised over the items not drawn yet (Plackett 1975; Luce 1959). This is exactly
    the distribution of the Gumbel-top-k sample over ``log q``.

    Args:
      item_log_probs: float ``[..., K]`` ``log q(a_i)`` of each slate item under the per-item
        distribution (the items must be distinct).

    Returns:
      float ``[...]`` slate log-probabilities.
    """
    item_log_probs = tf.convert_to_tensor(item_log_probs)
    # float64: with a peaked q, 1 - Σ q_j cancels catastrophically in float32 (q_1 = 1 - 2e-9
    # is 1.0 there), while its log-probability (-2e-9) is exact in float32.
    probs = tf.exp(tf.cast(item_log_probs, tf.float64))
    drawn_before = tf.math.cumsum(probs, axis=-1, exclusive=True)
    remaining = tf.maximum(1.0 - drawn_before, 1e-300)
    log_remaining = tf.cast(tf.math.log(remaining), item_log_probs.dtype)
    return tf.reduce_sum(item_log_probs - log_remaining, axis=-1)


def independent_slate_log_prob(item_log_probs: tf.Tensor) -> tf.Tensor:
    """Log-probability of a slate of ``K`` independent draws: ``Σ_i log q(a_i)``.

    Args:
      item_log_probs: float ``[..., K]``.

    Returns:
      float ``[...]``.
    """
    return tf.reduce_sum(tf.convert_to_tensor(item_log_probs), axis=-1)


def slate_log_prob(item_log_probs: tf.Tensor, slate_model: str) -> tf.Tensor:
    """:func:`plackett_luce_log_prob` or :func:`independent_slate_log_prob` by ``slate_model``.

    Args:
      item_log_probs: float ``[..., K]``.
      slate_model: one of :data:`SLATE_MODELS`.

    Returns:
      float ``[...]``.

    Raises:
      ValueError: for an unknown ``slate_model``.
    """
    if slate_model == "plackett_luce":
        return plackett_luce_log_prob(item_log_probs)
    if slate_model == "independent":
        return independent_slate_log_prob(item_log_probs)
    raise ValueError(f"slate_model must be one of {SLATE_MODELS}, got {slate_model!r}.")


def mixture_log_probs(logits: tf.Tensor, epsilon: float, num_items: tf.Tensor | int) -> tf.Tensor:
    """``log q`` of the exploration mixture ``q = (1 - ε)·softmax(logits) + ε·uniform``.

    Entries whose logit is the dtype's minimum (padding, OOV, excluded items) keep probability 0
    under both parts; the uniform part spreads ``ε`` over the ``num_items`` other entries.

    Args:
      logits: float ``[batch, V]`` masked logits.
      epsilon: uniform share ``ε`` in ``[0, 1]``.
      num_items: number of unmasked entries per row (scalar or ``[batch]``).

    Returns:
      float ``[batch, V]`` log-probabilities (``-inf`` on masked entries).

    Raises:
      ValueError: if ``epsilon`` is outside ``[0, 1]``.
    """
    if not 0.0 <= epsilon <= 1.0:
        raise ValueError(f"epsilon must be in [0, 1], got {epsilon}.")
    logits = tf.convert_to_tensor(logits)
    masked = logits <= logits.dtype.min
    log_softmax = tf.nn.log_softmax(logits, axis=-1)
    if epsilon == 0.0:
        return tf.where(masked, tf.cast(-float("inf"), logits.dtype), log_softmax)
    count = tf.cast(num_items, logits.dtype)
    if count.shape.rank == 1:
        count = count[:, None]
    log_uniform = tf.broadcast_to(tf.math.log(epsilon / count), tf.shape(logits))
    if epsilon == 1.0:
        mixed = log_uniform
    else:
        mixed = tf.reduce_logsumexp(
            tf.stack(
                [tf.math.log(tf.constant(1.0 - epsilon, logits.dtype)) + log_softmax, log_uniform]
            ),
            axis=0,
        )
    return tf.where(masked, tf.cast(-float("inf"), logits.dtype), mixed)


def sample_slates(
    log_q: tf.Tensor, k: int, generator: tf.random.Generator, slate_model: str
) -> tf.Tensor:
    """Draws slates of ``k`` items from ``q`` under ``slate_model``.

    Args:
      log_q: float ``[..., V]`` per-item log-probabilities (``-inf`` = never drawn; at least
        ``k`` finite entries per row for ``"plackett_luce"``).
      k: slate size.
      generator: the ``tf.random.Generator`` that draws (reproducible, checkpointable).
      slate_model: ``"plackett_luce"`` (Gumbel-top-k: without replacement) or
        ``"independent"`` (``k`` i.i.d. draws by inverse CDF).

    Returns:
      int32 ``[..., k]`` item indices.
    """
    tiny = tf.experimental.numpy.finfo(log_q.dtype).tiny
    if slate_model == "plackett_luce":
        uniform = generator.uniform(tf.shape(log_q), minval=tiny, maxval=1.0, dtype=log_q.dtype)
        _, items = tf.math.top_k(log_q - tf.math.log(-tf.math.log(uniform)), k=k)
        return tf.cast(items, tf.int32)
    if slate_model != "independent":
        raise ValueError(f"slate_model must be one of {SLATE_MODELS}, got {slate_model!r}.")
    vocab = tf.shape(log_q)[-1]
    flat = tf.reshape(log_q, [-1, vocab])
    cumulative = tf.math.cumsum(tf.exp(flat), axis=-1)
    draws = generator.uniform(
        tf.stack([tf.shape(flat)[0], k]), minval=tiny, maxval=1.0, dtype=log_q.dtype
    )
    items = tf.searchsorted(cumulative, draws * cumulative[:, -1:])
    items = tf.minimum(tf.cast(items, tf.int32), vocab - 1)
    return tf.reshape(items, tf.concat([tf.shape(log_q)[:-1], [k]], 0))
