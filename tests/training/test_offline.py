"""Offline training from a log, warm start and checkpoints (tfrec.training.offline)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import tensorflow as tf

from tfrec.data import ItemVocabulary, generate_log
from tfrec.training.builders import build_agent, build_encoder, warm_start_encoder
from tfrec.training.checkpoints import make_checkpoint_manager, restore_latest
from tfrec.training.config import AgentConfig, EncoderConfig, OfflineConfig
from tfrec.training.offline import train_from_log

ENCODER = EncoderConfig(max_len=5, dim=8, num_layers=1, num_heads=1, dropout=0.0)
AGENT = AgentConfig(slate_size=3, learning_rate=1e-2, experience="clicks")  # click logs


@pytest.mark.slow
def test_train_from_log_with_warm_start_and_checkpoints(tmp_path):
    log = generate_log(num_users=16, num_items=20, interactions_per_user=8, seed=0)
    vocabulary = ItemVocabulary.from_items(log.df["item"])
    pretrained = build_encoder(ENCODER, vocabulary.size)
    result = train_from_log(
        log,
        AGENT,
        ENCODER,
        OfflineConfig(max_steps=4, batch_size=8, num_train_steps=4, log_every=2, progress=False),
        warm_start=pretrained,
        vocabulary=vocabulary,
        logdir=tmp_path / "tb",
        checkpoint_dir=tmp_path / "ckpt",
    )
    history = result.history
    assert history.steps == [2, 4]
    assert {"loss", "policy_gradient_loss", "behavior_loss", "value_estimation_loss"} <= set(
        history.losses
    )
    assert all(np.isfinite(v).all() for v in history.losses.values())
    assert list((tmp_path / "tb").iterdir())  # TensorBoard events written
    # A fresh agent restores the checkpoint: same step and same weights.
    encoder = build_encoder(ENCODER, result.vocabulary.size)
    agent = build_agent(AGENT, encoder, ENCODER.max_len)
    manager = make_checkpoint_manager(tmp_path / "ckpt", agent)
    assert restore_latest(manager) == 4
    np.testing.assert_allclose(
        agent.actor_network.item_embeddings.numpy(),
        result.agent.actor_network.item_embeddings.numpy(),
    )


def test_restore_latest_on_empty_directory(tmp_path):
    encoder = build_encoder(ENCODER, 12)
    agent = build_agent(AGENT, encoder, ENCODER.max_len)
    assert restore_latest(make_checkpoint_manager(tmp_path, agent)) is None


def test_warm_start_copies_weights_and_checks_shapes():
    tf.keras.utils.set_random_seed(1)
    source = build_encoder(ENCODER, 12)
    target = build_encoder(ENCODER, 12)
    warm_start_encoder(target, source)
    for a, b in zip(target.get_weights(), source.get_weights()):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="warm-start"):
        warm_start_encoder(build_encoder(ENCODER, 15), source)


def test_warm_start_from_a_repeat_bias_encoder_copies_every_other_weight():
    tf.keras.utils.set_random_seed(2)
    source = build_encoder(dataclasses.replace(ENCODER, repeat_bias=True), 12)
    source.repeat_weight.assign(-2.0)
    target = build_encoder(ENCODER, 12)
    with pytest.warns(UserWarning, match="repeat bias"):
        warm_start_encoder(target, source)
    kept = [w.numpy() for w in source.weights if w is not source.repeat_weight]
    assert len(kept) == len(target.weights)
    for a, b in zip(target.get_weights(), kept):
        np.testing.assert_array_equal(a, b)
    both = build_encoder(dataclasses.replace(ENCODER, repeat_bias=True), 12)
    warm_start_encoder(both, source)
    assert float(both.repeat_weight.numpy()) == -2.0
