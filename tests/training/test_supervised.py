"""Tests of the supervised next-item model (SASRec + full / sampled softmax)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import tensorflow as tf

from tfrec.data import Sequences, leave_last_out, sequence_dataset
from tfrec.encoders import SequenceEncoder
from tfrec.layers import sampling_distribution
from tfrec.models import NextItemModel
from tfrec.training.config import EncoderConfig
from tfrec.training.supervised import (
    RankingCallback,
    SupervisedConfig,
    build_next_item_model,
    full_batches,
    supervised_encoder,
    train_next_item_model,
)

VOCAB = 12  # items 2..11


def _cyclic_sequences(num_users: int = 40, length: int = 12) -> Sequences:
    """Each user walks the catalog cyclically (next = current + 1) from a different start."""
    rows = [[2 + (start + t) % (VOCAB - 2) for t in range(length)] for start in range(num_users)]
    items = np.array([i for row in rows for i in row], np.int32)
    n = len(items)
    return Sequences(
        users=np.array([f"u{u:03d}" for u in range(num_users)], dtype=object),
        offsets=np.arange(0, n + 1, length, dtype=np.int64),
        items=items,
        rewards=np.ones(n, np.float32),
        propensities=np.full(n, np.nan, np.float32),
        timestamps=np.arange(n, dtype=np.int64),
    )


ENCODER_FIELDS = {field.name for field in dataclasses.fields(EncoderConfig)}


def _tiny_config(**kwargs) -> SupervisedConfig:
    params = dict(
        max_len=6,
        dim=16,
        num_layers=1,
        num_heads=2,
        dropout=0.0,
        learning_rate=1e-2,
        batch_size=16,
        epochs=6,
        patience=2,
        eval_batch_size=64,
    )
    params.update(kwargs)
    encoder = {k: params.pop(k) for k in list(params) if k in ENCODER_FIELDS}
    return SupervisedConfig(encoder=supervised_encoder(**encoder), **params)


def test_sampling_distribution_hand_computed() -> None:
    counts = np.array([0, 5, 3, 1, 0])
    np.testing.assert_allclose(
        sampling_distribution(counts, "popularity", exponent=1.0), [0, 0, 4 / 7, 2 / 7, 1 / 7]
    )
    np.testing.assert_allclose(
        sampling_distribution(counts, "uniform"), [0, 0, 1 / 3, 1 / 3, 1 / 3]
    )
    # Popularity ranks 0, 1, 2 -> weights log(2), log(3/2), log(4/3), which sum to log(4).
    expected = np.log([2.0, 1.5, 4 / 3]) / np.log(4.0)
    np.testing.assert_allclose(sampling_distribution(counts, "log_uniform")[2:], expected)
    with pytest.raises(ValueError, match="sampler must be one of"):
        sampling_distribution(counts, "zipf")


def test_config_validation() -> None:
    with pytest.raises(ValueError, match="loss must be one of"):
        SupervisedConfig(loss="bce")
    with pytest.raises(ValueError, match="max_len must be >= 1"):
        SupervisedConfig(encoder=supervised_encoder(max_len=0))
    encoder = SequenceEncoder(VOCAB, 6, dim=8, num_layers=1, num_heads=2)
    with pytest.raises(ValueError, match="needs sampling_probabilities"):
        NextItemModel(encoder, loss="sampled")


def test_full_softmax_loss_matches_hand_computation() -> None:
    model = build_next_item_model(_tiny_config(), VOCAB)
    history = tf.constant([[0, 2, 3]])
    targets = tf.constant([[0, 3, 4]])  # position 0 is padding: ignored
    loss = model.next_item_loss(history, targets, training=False).numpy()
    logits = model.encoder.item_embedding.logits(model.encoder.sequence_states(history)).numpy()[0]
    log_softmax = (
        logits
        - np.log(np.exp(logits - logits.max(-1, keepdims=True)).sum(-1))[:, None]
        - logits.max(-1, keepdims=True)
    )
    expected = -(log_softmax[1, 3] + log_softmax[2, 4]) / 2
    np.testing.assert_allclose(loss, expected, rtol=1e-5)


def test_full_batches_pads_the_last_batch_without_changing_the_loss() -> None:
    history = np.array([[0, 2, 3], [2, 3, 4], [0, 0, 5]], np.int32)
    targets = np.array([[0, 3, 4], [3, 4, 5], [0, 0, 6]], np.int32)
    dataset = tf.data.Dataset.from_tensor_slices((history, targets)).batch(2)
    batches = list(full_batches(dataset, 2))
    assert [b[0].shape for b in batches] == [(2, 3), (2, 3)]  # one input shape: one trace
    np.testing.assert_array_equal(batches[1][0].numpy(), [[0, 0, 5], [0, 0, 0]])
    np.testing.assert_array_equal(batches[1][1].numpy(), [[0, 0, 6], [0, 0, 0]])
    model = build_next_item_model(_tiny_config(), VOCAB)
    unpadded = model.next_item_loss(history[2:], targets[2:], training=False)
    padded = model.next_item_loss(batches[1][0], batches[1][1], training=False)
    np.testing.assert_allclose(padded.numpy(), unpadded.numpy(), rtol=1e-6)


def test_sampled_softmax_fit_on_sequence_dataset_decreases_loss() -> None:
    seqs = _cyclic_sequences()
    counts = np.bincount(seqs.items, minlength=VOCAB)
    config = _tiny_config(loss="sampled", sampler="log_uniform", num_sampled=4)
    model = build_next_item_model(config, VOCAB, counts)
    dataset = sequence_dataset(seqs, config.encoder.max_len, config.batch_size)
    losses = model.fit(dataset, epochs=3, verbose=0).history["loss"]
    assert losses[-1] < losses[0]
    assert model(tf.constant([[0, 2, 3]])).shape == (1, VOCAB)


@pytest.mark.slow
def test_train_with_early_stopping_checkpoint_and_ranking(tmp_path) -> None:
    train, valid, test = leave_last_out(_cyclic_sequences(num_users=30))
    config = _tiny_config(epochs=6, patience=2)
    test_ranking = RankingCallback(test, config.encoder.max_len, ks=(1, 10), prefix="test_")
    model, history = train_next_item_model(
        train, valid, config, VOCAB, callbacks=[test_ranking], checkpoint_dir=tmp_path
    )
    ndcg = history.history["val_ndcg@10"]
    assert 1 <= len(ndcg) <= 6 and "test_hr@1" in history.history
    # The cyclic successor is learnable: validation far above random (NDCG@10 of random ~ 0.4).
    assert max(ndcg) > 0.9
    # EarlyStopping restored the best weights: a fresh evaluation reproduces the best epoch.
    best = RankingCallback(valid, config.encoder.max_len, ks=(10,))
    best.set_model(model)
    np.testing.assert_allclose(best.evaluate()["ndcg@10"], max(ndcg), rtol=1e-5)
    assert (tmp_path / "best.weights.h5").is_file()
    restored = build_next_item_model(config, VOCAB)
    restored.encoder(tf.zeros([1, config.encoder.max_len], tf.int32))
    restored.load_weights(str(tmp_path / "best.weights.h5"))
    ids = tf.constant(valid.padded_histories(config.encoder.max_len)[:4])
    np.testing.assert_allclose(restored(ids).numpy(), model(ids).numpy(), rtol=1e-5, atol=1e-5)


def test_train_rejects_vocab_mismatch() -> None:
    train, valid, _ = leave_last_out(_cyclic_sequences(num_users=4))
    with pytest.raises(ValueError, match="vocab_size=5"):
        train_next_item_model(train, valid, _tiny_config(), 5)


def _repeat_bias_case() -> tuple[NextItemModel, tf.Tensor, tf.Tensor, np.ndarray, list]:
    """vocab 8, L 3, w = -1.5; the numpy logits without bias and each position's prefix items."""
    model = build_next_item_model(_tiny_config(repeat_bias=True, max_len=3), 8)
    model.encoder.repeat_weight.assign(-1.5)
    history = tf.constant([[0, 2, 3], [4, 4, 5]])
    targets = tf.constant([[0, 3, 6], [4, 5, 7]])  # target 4 at (1, 0) is in its own prefix
    states = model.encoder.sequence_states(history, training=False)
    plain = model.encoder.item_embedding.logits(states, mask_reserved=False).numpy()
    # (b, t, label, items of history[b, :t + 1]); padding never counts, 4 twice counts once.
    positions = [
        (0, 1, 3, [2]),
        (0, 2, 6, [2, 3]),
        (1, 0, 4, [4]),
        (1, 1, 5, [4]),
        (1, 2, 7, [4, 5]),
    ]
    return model, history, targets, plain, positions


def _log_softmax_real(logits: np.ndarray) -> np.ndarray:
    real = logits[2:]
    shifted = real - real.max()
    return shifted - np.log(np.exp(shifted).sum())  # over items 2..7 only


def test_repeat_bias_full_softmax_loss_matches_numpy_reference() -> None:
    model, history, targets, plain, positions = _repeat_bias_case()
    expected = []
    for b, t, label, prefix in positions:
        logits = plain[b, t].copy()
        logits[prefix] += -1.5
        expected.append(-_log_softmax_real(logits)[label - 2])
    loss = model.next_item_loss(history, targets, training=False).numpy()
    np.testing.assert_allclose(loss, np.mean(expected), rtol=1e-5)


def test_repeat_bias_gradient_reaches_w() -> None:
    model, history, targets, plain, positions = _repeat_bias_case()
    # d CE / d w = sum of the prefix items' probabilities - [label in prefix], averaged.
    expected = []
    for b, t, label, prefix in positions:
        logits = plain[b, t].copy()
        logits[prefix] += -1.5
        probabilities = np.exp(_log_softmax_real(logits))
        expected.append(probabilities[np.array(prefix) - 2].sum() - float(label in prefix))
    with tf.GradientTape() as tape:
        loss = model.next_item_loss(history, targets, training=False)
    gradient = tape.gradient(loss, model.encoder.repeat_weight)
    np.testing.assert_allclose(gradient.numpy(), np.mean(expected), rtol=1e-4)


def test_repeat_bias_requires_full_softmax() -> None:
    with pytest.raises(ValueError, match="repeat_bias needs loss='full'"):
        SupervisedConfig(encoder=EncoderConfig(repeat_bias=True), loss="sampled")
    encoder = SequenceEncoder(VOCAB, 6, dim=8, num_layers=1, num_heads=2, repeat_bias=True)
    with pytest.raises(ValueError, match="repeat_bias needs loss='full'"):
        NextItemModel(encoder, loss="sampled", sampling_probabilities=np.full(VOCAB, 0.1))


def test_repeat_bias_learns_negative_weight_on_sequences_without_repeats() -> None:
    seqs = _cyclic_sequences(length=8)  # 8 distinct items per user: nothing is consumed twice
    config = _tiny_config(repeat_bias=True)
    model = build_next_item_model(config, VOCAB)
    assert model.encoder.repeat_weight is not None
    model.fit(
        sequence_dataset(seqs, config.encoder.max_len, config.batch_size), epochs=3, verbose=0
    )
    assert float(model.encoder.repeat_weight) < -0.1


def test_label_smoothing_matches_numpy_reference() -> None:
    model = build_next_item_model(_tiny_config(label_smoothing=0.2, max_len=3), 8)
    history, targets = tf.constant([[0, 2, 3]]), tf.constant([[0, 3, 6]])
    states = model.encoder.sequence_states(history, training=False)
    plain = model.encoder.item_embedding.logits(states, mask_reserved=False).numpy()[0]
    expected = []
    for t, label in ((1, 3), (2, 6)):
        log_probs = _log_softmax_real(plain[t])  # over the 6 real items
        expected.append(-0.8 * log_probs[label - 2] - 0.2 * log_probs.mean())
    loss = model.next_item_loss(history, targets, training=False).numpy()
    np.testing.assert_allclose(loss, np.mean(expected), rtol=1e-5)
    with pytest.raises(ValueError, match="label_smoothing"):
        SupervisedConfig(label_smoothing=1.0)
    with pytest.raises(ValueError, match="label_smoothing needs loss='full'"):
        SupervisedConfig(label_smoothing=0.1, loss="sampled")


def test_weight_decay_uses_adamw_without_decaying_biases() -> None:
    model = build_next_item_model(_tiny_config(weight_decay=0.1, use_output_bias=True), VOCAB)
    optimizer = model.optimizer
    assert isinstance(optimizer, tf.keras.optimizers.AdamW)
    assert optimizer.weight_decay == pytest.approx(0.1)
    assert model.encoder.item_embedding.output_bias is not None
    assert optimizer._use_weight_decay(model.encoder.item_embedding.embeddings)
    assert not optimizer._use_weight_decay(model.encoder.item_embedding.output_bias)
    assert isinstance(
        build_next_item_model(_tiny_config(), VOCAB).optimizer, tf.keras.optimizers.Adam
    )
    with pytest.raises(ValueError, match="weight_decay"):
        SupervisedConfig(weight_decay=-1.0)
