"""Sampled softmax over a large catalog, with the logQ correction.

With a catalog of a million items, the full softmax needs ``[batch * time, vocab_size]`` logits.
Sampled softmax scores only the target item and ``num_sampled`` negatives drawn from a proposal
``Q`` and subtracts ``log Q`` from every logit (Jean et al., ACL 2015; Bengio & Senécal 2008; the
"logQ correction" of Yi et al., RecSys 2019), so that the softmax over these ``1 + num_sampled``
corrected logits estimates the full softmax. Memory is ``O(batch * num_sampled)`` whatever the
catalog size.

The log-probability returned is therefore an *estimate* of ``log π(a|s)``: the REINFORCE agent
uses it both for the gradient and, gradient-stopped, for the importance weight ``π/β`` and the
top-K multiplier.

Proposals (on the real items ``2 .. vocab_size - 1`` only):
  * ``"log_uniform"``: Zipfian over the index, ``Q(k) = log((k + 2) / (k + 1)) / log(n + 1)`` for
    item ``k = index - 2`` of ``n`` (TensorFlow's ``log_uniform_candidate_sampler``). It assumes
    that smaller indices are more popular items.
  * ``"unigram"``: proportional to ``item_frequencies + 1`` (add-one so that no true item has
    ``Q = 0``).

Randomness. With ``generator`` (a ``tf.random.Generator``; what the REINFORCE agent passes), the
negatives are ``num_sampled`` independent draws *with replacement* from ``Q``, made by stateless
ops seeded from the generator, and ``log Q`` is the log expected count ``log(num_sampled · Q)``
(TensorFlow's ``unique=False`` convention). The generator's state is a variable: saved in a
checkpoint it gives a resumed run the same negatives as an uninterrupted one. Without a generator,
TensorFlow's candidate samplers draw ``num_sampled`` *distinct* negatives
(``tf.random.log_uniform_candidate_sampler`` / ``fixed_unigram_candidate_sampler`` with
``unique=True``, op seed ``seed``); their state lives in the op kernel and cannot be checkpointed.
The unigram proposal keeps ``log Q`` as a ``[vocab_size]`` constant and draws through
``tf.random.stateless_categorical`` (``O(vocab_size)`` work per step, nothing of size
``batch x vocab_size``); the log-uniform one is computed in closed form.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import tensorflow as tf

from tfrec.specs import FIRST_ITEM_INDEX

__all__ = ["SAMPLERS", "sampled_logits"]

SAMPLERS = ("log_uniform", "unigram")


def sampled_logits(
    embeddings: tf.Tensor,
    states: tf.Tensor,
    items: tf.Tensor,
    num_sampled: int,
    sampler: str = "log_uniform",
    item_frequencies: Sequence[float] | np.ndarray | None = None,
    biases: tf.Tensor | None = None,
    seed: int | None = None,
    generator: tf.random.Generator | None = None,
) -> tf.Tensor:
    """logQ-corrected logits of the target item and sampled negatives.

    Args:
      embeddings: float ``[vocab_size, dim]`` output table.
      states: float ``[n, dim]`` states (already divided by any temperature).
      items: int ``[n]`` target item indices in ``[2, vocab_size - 1]``.
      num_sampled: number of negatives shared by the batch (``< vocab_size - 2``).
      sampler: ``"log_uniform"`` or ``"unigram"`` (see the module docstring).
      item_frequencies: ``[vocab_size]`` counts, required by ``"unigram"``.
      biases: optional float ``[vocab_size]`` per-item output bias.
      seed: op seed of the candidate sampler (used without ``generator`` only).
      generator: draws the negatives with replacement from its (checkpointable) state; None uses
        TensorFlow's unique candidate samplers.

    Returns:
      float ``[n, 1 + num_sampled]``: column 0 is the target, the others the negatives, all with
      ``log Q`` subtracted; negatives equal to the target ("accidental hits") are removed.
      ``tf.nn.log_softmax(result)[:, 0]`` estimates ``log π(target | state)``. Accidental hits
      are set to ``dtype.min``.

    Raises:
      ValueError: for an unknown sampler, a missing/ill-sized ``item_frequencies`` or a
        ``num_sampled`` not smaller than the number of items.
    """
    if sampler not in SAMPLERS:
        raise ValueError(f"sampler must be one of {SAMPLERS}, got {sampler!r}.")
    vocab_size = int(embeddings.shape[0])
    num_items = vocab_size - FIRST_ITEM_INDEX
    if not 1 <= num_sampled < num_items:
        raise ValueError(
            f"num_sampled={num_sampled} must be between 1 and the number of items - 1 "
            f"({num_items - 1}); use the full softmax for such a small catalog."
        )
    if sampler == "unigram" and (item_frequencies is None or len(item_frequencies) != vocab_size):
        raise ValueError(
            "sampler='unigram' needs item_frequencies with one count per index "
            f"([vocab_size] = [{vocab_size}]), e.g. ItemVocabulary.frequencies."
        )
    unigrams = (
        None
        if sampler == "log_uniform"
        else np.asarray(item_frequencies, np.float64)[FIRST_ITEM_INDEX:] + 1.0
    )
    true_classes = tf.cast(tf.reshape(items, [-1, 1]), tf.int64) - FIRST_ITEM_INDEX
    if generator is not None:
        sampled, true_expected, sampled_expected = _draw_with_replacement(
            generator, true_classes[:, 0], num_sampled, num_items, unigrams
        )
    elif unigrams is None:
        sampled, true_expected, sampled_expected = tf.random.log_uniform_candidate_sampler(
            true_classes, 1, num_sampled, unique=True, range_max=num_items, seed=seed
        )
    else:
        sampled, true_expected, sampled_expected = tf.random.fixed_unigram_candidate_sampler(
            true_classes,
            1,
            num_sampled,
            unique=True,
            range_max=num_items,
            unigrams=unigrams.tolist(),
            seed=seed,
        )
    sampled = tf.cast(sampled, tf.int32) + FIRST_ITEM_INDEX  # [num_sampled]
    items = tf.reshape(tf.cast(items, tf.int32), [-1])  # [n]
    if biases is None:
        biases = tf.zeros([vocab_size], dtype=states.dtype)
    # (TensorFlow's own helper, nn_impl._compute_sampled_logits, is private.)
    true_logits = tf.reduce_sum(states * tf.gather(embeddings, items), axis=-1)
    true_logits += tf.gather(biases, items) - tf.math.log(tf.reshape(true_expected, [-1]))
    negative_logits = tf.linalg.matmul(states, tf.gather(embeddings, sampled), transpose_b=True)
    negative_logits += tf.gather(biases, sampled) - tf.math.log(sampled_expected)
    hits = tf.equal(items[:, tf.newaxis], sampled[tf.newaxis, :])
    negative_logits = tf.where(hits, tf.cast(states.dtype.min, states.dtype), negative_logits)
    return tf.concat([true_logits[:, tf.newaxis], negative_logits], axis=-1)


def _draw_with_replacement(
    generator: tf.random.Generator,
    true_classes: tf.Tensor,
    num_sampled: int,
    num_items: int,
    unigrams: np.ndarray | None,
) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """``num_sampled`` i.i.d. draws from ``Q`` (log-uniform when ``unigrams`` is None).

    Args:
      generator: source of the stateless seed (its state advances by one call).
      true_classes: int64 ``[n]`` target items, ``0 .. num_items - 1``.
      num_sampled: draws.
      num_items: ``n`` of the proposal.
      unigrams: float64 ``[num_items]`` unnormalised weights, or None for log-uniform.

    Returns:
      ``(sampled int64 [num_sampled], true_expected float32 [n, 1], sampled_expected float32
      [num_sampled])``: the draws and the expected counts ``num_sampled · Q`` of the targets and
      of the draws, as ``tf.random.*_candidate_sampler(unique=False)`` returns them.
    """
    seed = generator.make_seeds(1)[:, 0]
    if unigrams is None:
        log_range = float(np.log1p(num_items))
        uniform = tf.random.stateless_uniform([num_sampled], seed, dtype=tf.float64)
        sampled = tf.cast(tf.floor(tf.exp(uniform * log_range)), tf.int64) - 1
        sampled = tf.clip_by_value(sampled, 0, num_items - 1)

        def probability(classes: tf.Tensor) -> tf.Tensor:
            classes = tf.cast(classes, tf.float64)
            return (tf.math.log(classes + 2.0) - tf.math.log(classes + 1.0)) / log_range

    else:
        log_q = tf.constant(np.log(unigrams / unigrams.sum()), tf.float32)
        sampled = tf.random.stateless_categorical(
            log_q[tf.newaxis], num_sampled, seed, dtype=tf.int64
        )[0]

        def probability(classes: tf.Tensor) -> tf.Tensor:
            return tf.exp(tf.gather(log_q, classes))

    def expected(classes: tf.Tensor) -> tf.Tensor:
        return tf.cast(num_sampled * probability(classes), tf.float32)

    return sampled, expected(true_classes)[:, tf.newaxis], expected(sampled)
