"""The next-item model's losses against numpy references: sampled softmax with logQ, in-batch."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from tfrec.encoders import SequenceEncoder
from tfrec.layers import sampling_distribution
from tfrec.models import NextItemModel

VOCAB = 10  # items 2..9


def _model(sampler_probabilities: np.ndarray, in_batch: bool = False) -> NextItemModel:
    tf.keras.utils.set_random_seed(0)
    encoder = SequenceEncoder(VOCAB, 4, dim=8, num_layers=1, num_heads=2, dropout=0.0)
    encoder.build(None)
    return NextItemModel(
        encoder,
        loss="sampled",
        sampling_probabilities=sampler_probabilities,
        num_sampled=3,
        in_batch=in_batch,
    )


def _log_softmax_first(row: np.ndarray) -> float:
    row = row - row.max()
    return float(row[0] - np.log(np.exp(row).sum()))


def test_sampled_softmax_with_log_q_matches_numpy() -> None:
    counts = np.array([0, 0, 5, 1, 1, 9, 2, 3, 0, 4], np.float64)
    q = sampling_distribution(counts, "popularity", 0.75)
    model = _model(q)
    rng = np.random.default_rng(1)
    states = rng.normal(size=(4, 8)).astype(np.float32)
    labels = np.array([2, 5, 7, 5], np.int32)
    sampled = np.array([5, 3, 9], np.int64)  # item 5 is an accidental hit of rows 1 and 3
    losses = model._sampled_softmax(tf.constant(states), tf.constant(labels), tf.constant(sampled))
    table = model.encoder.item_embedding.embeddings.numpy()
    expected = []
    for state, label in zip(states, labels):
        logits = [state @ table[label] - np.log(3 * q[label])]
        logits += [
            state @ table[j] - np.log(3 * q[j]) for j in sampled if j != label
        ]  # accidental hits removed
        expected.append(-_log_softmax_first(np.array(logits)))
    np.testing.assert_allclose(losses.numpy(), expected, rtol=1e-5)


def test_log_q_correction_changes_the_loss_only_through_non_uniform_q() -> None:
    states = tf.constant(np.random.default_rng(2).normal(size=(3, 8)), tf.float32)
    labels = tf.constant([2, 4, 6], tf.int32)
    sampled = tf.constant([3, 5, 7], tf.int64)
    uniform = _model(sampling_distribution(np.ones(VOCAB), "uniform"))
    loss_uniform = uniform._sampled_softmax(states, labels, sampled).numpy()
    # With a uniform Q every logit moves by the same log(m Q): the plain sampled softmax.
    table = uniform.encoder.item_embedding.embeddings.numpy()
    plain = [
        -_log_softmax_first(np.array([s @ table[y]] + [s @ table[j] for j in [3, 5, 7]]))
        for s, y in zip(states.numpy(), labels.numpy())
    ]
    np.testing.assert_allclose(loss_uniform, plain, rtol=1e-5)
    skewed = np.zeros(VOCAB)
    skewed[2:] = np.arange(1, VOCAB - 1, dtype=np.float64)
    skewed /= skewed.sum()
    corrected = _model(skewed)
    assert not np.allclose(corrected._sampled_softmax(states, labels, sampled).numpy(), plain)


def test_in_batch_negatives_exclude_the_positive_and_its_copies() -> None:
    counts = np.array([0, 0, 3, 1, 4, 1, 1, 1, 1, 2], np.float64)
    q = sampling_distribution(counts, "in_batch")
    np.testing.assert_allclose(q[2:], (counts[2:] + 1) / (counts[2:] + 1).sum())
    model = _model(q, in_batch=True)
    rng = np.random.default_rng(3)
    states = rng.normal(size=(5, 8)).astype(np.float32)
    labels = np.array([2, 4, 2, 9, 4], np.int32)  # rows 0/2 and 1/4 share their item
    losses = model._in_batch_softmax(tf.constant(states), tf.constant(labels)).numpy()
    table = model.encoder.item_embedding.embeddings.numpy()
    for i, (state, label) in enumerate(zip(states, labels)):
        columns = [i] + [j for j in range(5) if labels[j] != label]  # positive first
        logits = np.array([state @ table[labels[j]] - np.log(q[labels[j]]) for j in columns])
        np.testing.assert_allclose(losses[i], -_log_softmax_first(logits), rtol=1e-5)


def test_in_batch_sampler_trains_through_the_config() -> None:
    from tfrec.data import Sequences
    from tfrec.training.supervised import (
        SupervisedConfig,
        supervised_encoder,
        train_next_item_model,
    )

    rows = [[2 + (s + t) % (VOCAB - 2) for t in range(8)] for s in range(24)]
    items = np.array([i for row in rows for i in row], np.int32)
    seqs = Sequences(
        users=np.array([f"u{u}" for u in range(24)], dtype=object),
        offsets=np.arange(0, len(items) + 1, 8, dtype=np.int64),
        items=items,
        rewards=np.ones(len(items), np.float32),
        propensities=np.full(len(items), np.nan, np.float32),
        timestamps=np.arange(len(items), dtype=np.int64),
    )
    from tfrec.data import leave_last_out

    train, valid, _ = leave_last_out(seqs)
    config = SupervisedConfig(
        encoder=supervised_encoder(max_len=6, dim=16, num_layers=1, dropout=0.0),
        learning_rate=1e-2,
        batch_size=8,
        epochs=4,
        patience=4,
        loss="sampled",
        sampler="in_batch",
        warmup_steps=3,
        lr_schedule="cosine",
        clipnorm=1.0,
    )
    _, history = train_next_item_model(train, valid, config, VOCAB)
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_unknown_sampler_is_one_clear_error() -> None:
    with pytest.raises(ValueError, match="sampler must be one of"):
        sampling_distribution(np.ones(VOCAB), "zipf")
