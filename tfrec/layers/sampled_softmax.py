"""Sampled softmax over a large catalog: one table of negative samplers, one logQ-corrected logit.

With a catalog of a million items the full softmax needs ``[n, vocab_size]`` logits. The sampled
softmax scores only the target item and some negatives drawn from a proposal ``Q`` and subtracts
``log Q`` from every logit (Jean et al., ACL 2015; Bengio & Senécal 2008; the "logQ correction"
of Yi et al., RecSys 2019), so that the softmax over these corrected logits estimates the full
softmax. Memory is ``O(n * num_sampled)`` whatever the catalog size. Both the REINFORCE agent
(through :func:`sampled_logits`) and the supervised next-item model
(``tfrec.models.NextItemModel``, through :func:`corrected_logits`) use it.

Samplers (:data:`SAMPLERS`; the proposal ``Q`` over the real items ``2 .. vocab_size - 1``, the
reserved indices never drawn):

* ``"uniform"``: ``Q ∝ 1``.
* ``"popularity"``: ``Q ∝ (count + 1) ** exponent`` (add-one: no item has ``Q = 0``). Exponent 1
  is the unigram distribution (the REINFORCE agent's, which also accepts its old name
  ``"unigram"``, :data:`SAMPLER_ALIASES`); the supervised model's default is 0.75
  (``SupervisedConfig.popularity_exponent``).
* ``"log_uniform"``: Zipf over the popularity rank ``r`` (0 = most frequent, ties by index),
  ``Q(r) = log((r + 2) / (r + 1)) / log(n + 1)`` for ``n`` items, the distribution of
  ``tf.random.log_uniform_candidate_sampler``. Without counts the rank is the index order, which
  is the popularity order of a ``tfrec.data.ItemVocabulary`` (indices by decreasing frequency).
* ``"in_batch"``: no draw: the negatives of a target are the batch's other targets, whose
  frequency ``Q ∝ count + 1`` is their proposal (supervised model only; :data:`DRAWN_SAMPLERS`
  are the others).

Randomness of :func:`sampled_logits`. With ``generator`` (a ``tf.random.Generator``; what the
REINFORCE agent passes), the negatives are ``num_sampled`` independent draws *with replacement*
from ``Q``, made by stateless ops seeded from the generator, and ``log Q`` is the log expected
count ``log(num_sampled · Q)`` (TensorFlow's ``unique=False`` convention). The generator's state is
a variable: saved in a checkpoint it gives a resumed run the same negatives as an uninterrupted
one. Without a generator, TensorFlow's candidate samplers draw ``num_sampled`` *distinct* negatives
(``unique=True``, op seed ``seed``); their state lives in the op kernel and cannot be checkpointed.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np
import tensorflow as tf

from tfrec.specs import FIRST_ITEM_INDEX, NUM_RESERVED

__all__ = [
    "DRAWN_SAMPLERS",
    "SAMPLERS",
    "SAMPLER_ALIASES",
    "check_sampler",
    "corrected_logits",
    "sampled_logits",
    "sampling_distribution",
]

SAMPLERS = ("uniform", "popularity", "log_uniform", "in_batch")
DRAWN_SAMPLERS = ("uniform", "popularity", "log_uniform")
SAMPLER_ALIASES = {"unigram": "popularity"}


def check_sampler(
    sampler: str,
    allowed: Sequence[str] = SAMPLERS,
    field: str = "sampler",
    aliases: bool = False,
) -> str:
    """The canonical name of a sampler, or one clear error.

    Args:
      sampler: a name of ``allowed`` (or of :data:`SAMPLER_ALIASES` when ``aliases``).
      allowed: the samplers the caller supports (e.g. :data:`DRAWN_SAMPLERS`).
      field: how the caller calls it in the error (e.g. ``"AgentConfig.sampler"``).
      aliases: accept the old names of :data:`SAMPLER_ALIASES` (the REINFORCE agent's
        ``"unigram"``, which is ``"popularity"`` at its exponent 1).

    Returns:
      The name in ``allowed``.

    Raises:
      ValueError: naming the sampler and the allowed ones.
    """
    name = SAMPLER_ALIASES.get(sampler, sampler) if aliases else sampler
    if name not in allowed:
        raise ValueError(f"{field} must be one of {tuple(allowed)}, got {sampler!r}.")
    return name


def _popularity_order(counts: np.ndarray) -> np.ndarray:
    """Real-item positions (``index - 2``) by decreasing count, ties by index."""
    return np.argsort(-counts, kind="stable")


def sampling_distribution(
    counts: np.ndarray, sampler: str = "popularity", exponent: float = 0.75
) -> np.ndarray:
    """The proposal ``Q`` of a sampler over the catalog (0 on the reserved indices).

    Args:
      counts: float ``[vocab_size]`` training interaction counts.
      sampler: a name of :data:`SAMPLERS` (see the module docstring).
      exponent: exponent of ``"popularity"``.

    Returns:
      float64 ``[vocab_size]`` probabilities summing to 1.
    """
    sampler = check_sampler(sampler)
    counts = np.asarray(counts, np.float64)
    if counts.ndim != 1 or len(counts) <= NUM_RESERVED:
        raise ValueError(f"counts must be [vocab_size] with vocab_size > 2, got {counts.shape}.")
    real = counts[FIRST_ITEM_INDEX:]
    if sampler == "popularity":
        weights = (real + 1.0) ** exponent
    elif sampler == "in_batch":
        weights = real + 1.0
    elif sampler == "log_uniform":
        ranks = np.empty(len(real))
        ranks[_popularity_order(real)] = np.arange(len(real))
        weights = np.log((ranks + 2.0) / (ranks + 1.0))
    else:
        weights = np.ones(len(real))
    return np.concatenate([np.zeros(NUM_RESERVED), weights / weights.sum()])


def corrected_logits(
    embeddings: tf.Tensor,
    states: tf.Tensor,
    items: tf.Tensor,
    negatives: tf.Tensor,
    log_q_items: tf.Tensor,
    log_q_negatives: tf.Tensor,
    biases: tf.Tensor | None = None,
) -> tf.Tensor:
    """logQ-corrected logits of each target and of negatives shared by the batch.

    Args:
      embeddings: float ``[vocab_size, dim]`` output table.
      states: float ``[n, dim]`` states.
      items: int ``[n]`` target item indices.
      negatives: int ``[m]`` negative item indices (drawn, or the batch's targets).
      log_q_items: float ``[n]`` ``log Q`` (or log expected count) of the targets.
      log_q_negatives: float ``[m]`` the same for the negatives.
      biases: optional float ``[vocab_size]`` per-item output bias.

    Returns:
      float ``[n, 1 + m]``: column 0 the target, the others the negatives, each ``s·e + b -
      log Q``; a negative equal to the row's target (an "accidental hit") is ``dtype.min``.
      ``-tf.nn.log_softmax(result)[:, 0]`` is the sampled-softmax loss.
    """
    items = tf.reshape(tf.cast(items, tf.int32), [-1])
    negatives = tf.reshape(tf.cast(negatives, tf.int32), [-1])
    # (TensorFlow's own helper, nn_impl._compute_sampled_logits, is private.)
    true_logits = tf.reduce_sum(states * tf.gather(embeddings, items), axis=-1)
    negative_logits = tf.linalg.matmul(states, tf.gather(embeddings, negatives), transpose_b=True)
    log_q_items = tf.cast(tf.reshape(log_q_items, [-1]), states.dtype)
    log_q_negatives = tf.cast(tf.reshape(log_q_negatives, [-1]), states.dtype)
    if biases is None:
        true_logits -= log_q_items
        negative_logits -= log_q_negatives
    else:
        true_logits += tf.gather(biases, items) - log_q_items
        negative_logits += tf.gather(biases, negatives) - log_q_negatives
    hits = tf.equal(items[:, tf.newaxis], negatives[tf.newaxis, :])
    negative_logits = tf.where(hits, tf.cast(states.dtype.min, states.dtype), negative_logits)
    return tf.concat([true_logits[:, tf.newaxis], negative_logits], axis=-1)


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
    exponent: float = 1.0,
) -> tf.Tensor:
    """Draws ``num_sampled`` negatives from ``Q`` and returns the :func:`corrected_logits`.

    Args:
      embeddings: float ``[vocab_size, dim]`` output table.
      states: float ``[n, dim]`` states (already divided by any temperature).
      items: int ``[n]`` target item indices in ``[2, vocab_size - 1]``.
      num_sampled: number of negatives shared by the batch (``< vocab_size - 2``).
      sampler: one of :data:`DRAWN_SAMPLERS` (or an alias, see the module docstring).
      item_frequencies: ``[vocab_size]`` counts, required by ``"popularity"``; with
        ``"log_uniform"`` they give the popularity ranks (default: the index order).
      biases: optional float ``[vocab_size]`` per-item output bias.
      seed: op seed of the candidate sampler (used without ``generator`` only).
      generator: draws the negatives with replacement from its (checkpointable) state; None uses
        TensorFlow's unique candidate samplers.
      exponent: exponent of ``"popularity"`` (1: the unigram distribution).

    Returns:
      float ``[n, 1 + num_sampled]``: column 0 is the target, the others the negatives, all with
      ``log Q`` subtracted; accidental hits are ``dtype.min``.
      ``tf.nn.log_softmax(result)[:, 0]`` estimates ``log π(target | state)``.

    Raises:
      ValueError: for an unknown sampler, a missing/ill-sized ``item_frequencies`` or a
        ``num_sampled`` not smaller than the number of items.
    """
    sampler = check_sampler(sampler, DRAWN_SAMPLERS, aliases=True)
    vocab_size = int(embeddings.shape[0])
    num_items = vocab_size - FIRST_ITEM_INDEX
    if not 1 <= num_sampled < num_items:
        raise ValueError(
            f"num_sampled={num_sampled} must be between 1 and the number of items - 1 "
            f"({num_items - 1}); use the full softmax for such a small catalog."
        )
    if item_frequencies is not None and len(item_frequencies) != vocab_size:
        raise ValueError(
            f"item_frequencies must have one count per index ([vocab_size] = [{vocab_size}]), "
            f"got {len(item_frequencies)}."
        )
    if sampler == "popularity" and item_frequencies is None:
        raise ValueError(
            "sampler='popularity' needs item_frequencies with one count per index "
            f"([vocab_size] = [{vocab_size}]), e.g. ItemVocabulary.frequencies."
        )
    real = None if item_frequencies is None else np.asarray(item_frequencies, np.float64)[2:]
    proposal = _Proposal(sampler, num_items, real, exponent)
    classes = proposal.to_classes(tf.cast(tf.reshape(items, [-1]), tf.int64) - FIRST_ITEM_INDEX)
    if generator is not None:
        sampled = proposal.draw(generator, num_sampled)
        true_expected = proposal.expected_count(classes, num_sampled)
        sampled_expected = proposal.expected_count(sampled, num_sampled)
    else:
        sampled, true_expected, sampled_expected = proposal.draw_unique(classes, num_sampled, seed)
    negatives = proposal.to_items(sampled) + FIRST_ITEM_INDEX
    return corrected_logits(
        embeddings,
        states,
        items,
        negatives,
        tf.math.log(true_expected),
        tf.math.log(sampled_expected),
        biases,
    )


class _Proposal:
    """A drawn sampler over ``num_items`` *classes*: the item position ``index - 2``, except for
    ``"log_uniform"`` with counts, whose classes are the popularity ranks (closed-form Zipf)."""

    def __init__(
        self, sampler: str, num_items: int, real_counts: np.ndarray | None, exponent: float
    ) -> None:
        self.sampler = sampler
        self.num_items = num_items
        self.order = None  # class -> item position, when not the identity
        self.unigrams = None  # [num_items] float64 weights of "popularity"
        if sampler == "popularity":
            self.unigrams = (real_counts + 1.0) ** exponent
        elif sampler == "log_uniform" and real_counts is not None:
            order = _popularity_order(real_counts)
            if not np.array_equal(order, np.arange(num_items)):
                self.order = order
                self.rank = np.empty(num_items, np.int64)
                self.rank[order] = np.arange(num_items)

    @functools.cached_property
    def log_q(self) -> tf.Tensor:
        """float32 ``[num_items]`` ``log Q`` of ``"popularity"``."""
        return tf.constant(np.log(self.unigrams / self.unigrams.sum()), tf.float32)

    def to_classes(self, positions: tf.Tensor) -> tf.Tensor:
        """int64 item positions ``[k]`` -> their classes."""
        return positions if self.order is None else tf.gather(self.rank, positions)

    def to_items(self, classes: tf.Tensor) -> tf.Tensor:
        """int classes ``[k]`` -> int32 item positions."""
        classes = tf.cast(classes, tf.int64)
        if self.order is not None:
            classes = tf.gather(self.order, classes)
        return tf.cast(classes, tf.int32)

    def draw(self, generator: tf.random.Generator, num_sampled: int) -> tf.Tensor:
        """``num_sampled`` i.i.d. int64 classes from a seed of ``generator`` (state advances)."""
        seed = generator.make_seeds(1)[:, 0]
        if self.sampler == "popularity":
            return tf.random.stateless_categorical(
                self.log_q[tf.newaxis], num_sampled, seed, dtype=tf.int64
            )[0]
        if self.sampler == "uniform":
            return tf.random.stateless_uniform(
                [num_sampled], seed, minval=0, maxval=self.num_items, dtype=tf.int64
            )
        log_range = float(np.log1p(self.num_items))
        uniform = tf.random.stateless_uniform([num_sampled], seed, dtype=tf.float64)
        sampled = tf.cast(tf.floor(tf.exp(uniform * log_range)), tf.int64) - 1
        return tf.clip_by_value(sampled, 0, self.num_items - 1)

    def expected_count(self, classes: tf.Tensor, num_sampled: int) -> tf.Tensor:
        """float32 ``num_sampled · Q(class)`` of int classes ``[k]`` (draws with replacement)."""
        if self.sampler == "popularity":
            probability = tf.exp(tf.gather(self.log_q, classes))
        elif self.sampler == "uniform":
            probability = tf.fill(tf.shape(classes), 1.0 / self.num_items)
        else:
            ranks = tf.cast(classes, tf.float64)
            log_range = float(np.log1p(self.num_items))
            probability = (tf.math.log(ranks + 2.0) - tf.math.log(ranks + 1.0)) / log_range
        return tf.cast(num_sampled * probability, tf.float32)

    def draw_unique(
        self, classes: tf.Tensor, num_sampled: int, seed: int | None
    ) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        """TensorFlow's candidate sampler (``unique=True``): ``(sampled [m], true_expected [k],
        sampled_expected [m])``."""
        true_classes = tf.reshape(classes, [-1, 1])
        common = dict(num_true=1, num_sampled=num_sampled, unique=True, seed=seed)
        if self.sampler == "popularity":
            sampler = tf.random.fixed_unigram_candidate_sampler(
                true_classes, range_max=self.num_items, unigrams=self.unigrams.tolist(), **common
            )
        elif self.sampler == "uniform":
            sampler = tf.random.uniform_candidate_sampler(
                true_classes, range_max=self.num_items, **common
            )
        else:
            sampler = tf.random.log_uniform_candidate_sampler(
                true_classes, range_max=self.num_items, **common
            )
        sampled, true_expected, sampled_expected = sampler
        return sampled, tf.reshape(true_expected, [-1]), sampled_expected
