"""NaN/Inf guards and up-front config validation (tfrec.training.guards)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import tensorflow as tf

from tfrec.data import ItemVocabulary, build_sequences, generate_log, session_dataset
from tfrec.training.builders import build_agent, build_encoder
from tfrec.training.checkpoints import make_checkpoint_manager, restore_latest
from tfrec.training.config import AgentConfig, EncoderConfig, OfflineConfig
from tfrec.training.guards import NonFiniteLossError, NonFiniteLossGuard, check_finite_loss
from tfrec.training.offline import train_from_log, train_offline

ENCODER = EncoderConfig(max_len=5, dim=8, num_layers=1, num_heads=1, dropout=0.0)
AGENT = AgentConfig(slate_size=3, learning_rate=1e-2, experience="clicks")  # click-log tests
BAD_BATCH = 3  # 0-based: the 4th step sees NaN rewards


def test_check_finite_loss_names_step_and_terms():
    check_finite_loss({"loss": 1.0, "behavior_loss": 0.5}, step=3)
    with pytest.raises(NonFiniteLossError, match="step 7: behavior_loss=nan.*ckpt-5") as info:
        check_finite_loss({"loss": 1.0, "behavior_loss": math.nan}, 7, "/run/ckpt-5")
    assert info.value.step == 7 and info.value.last_checkpoint == "/run/ckpt-5"
    with pytest.raises(NonFiniteLossError, match="no checkpoint was written"):
        check_finite_loss({"loss": math.inf}, 1)


def test_nan_loss_stops_offline_training_and_keeps_the_last_good_checkpoint(tmp_path):
    log = generate_log(num_users=16, num_items=20, interactions_per_user=6, seed=0)
    vocabulary = ItemVocabulary.from_items(log.df["item"])
    dataset = session_dataset(build_sequences(log, vocabulary), ENCODER.max_len, 3, 4, seed=0)

    def poison(index, batch):  # NaN rewards in one batch -> NaN returns -> NaN loss
        bad = tf.equal(index, BAD_BATCH)
        return batch._replace(reward=tf.where(bad, np.nan, batch.reward))

    dataset = dataset.repeat().enumerate().map(poison)
    agent = build_agent(AGENT, build_encoder(ENCODER, vocabulary.size), ENCODER.max_len)
    manager = make_checkpoint_manager(tmp_path, agent)
    config = OfflineConfig(
        max_steps=3, batch_size=4, num_train_steps=10, checkpoint_every=2, progress=False
    )
    with pytest.raises(NonFiniteLossError, match="at step 4.*ckpt-2") as info:
        train_offline(agent, dataset, config, checkpoint_manager=manager)
    assert info.value.step == BAD_BATCH + 1
    # Training stopped at the bad step without saving it: ckpt-2 is the newest, and finite.
    assert int(agent.train_step_counter.numpy()) == BAD_BATCH + 1
    assert manager.latest_checkpoint.endswith("ckpt-2")
    fresh = build_agent(AGENT, build_encoder(ENCODER, vocabulary.size), ENCODER.max_len)
    assert restore_latest(make_checkpoint_manager(tmp_path, fresh)) == 2
    assert np.isfinite(fresh.actor_network.item_embeddings.numpy()).all()


def test_keras_guard_raises_on_the_first_nan_batch():
    model = tf.keras.Sequential([tf.keras.layers.Dense(1, input_shape=(2,))])
    model.compile(optimizer="sgd", loss="mse")
    x = np.ones([8, 2], np.float32)
    y = np.array([1, 1, 1, 1, np.nan, 1, 1, 1], np.float32)
    with pytest.raises(NonFiniteLossError, match="step 3"):
        model.fit(
            x, y, batch_size=2, epochs=1, shuffle=False, verbose=0, callbacks=[NonFiniteLossGuard()]
        )


def test_k_larger_than_the_catalog_fails_before_any_training():
    log = generate_log(num_users=8, num_items=12, interactions_per_user=4, seed=0)
    with pytest.raises(ValueError, match="slate_size=50 exceeds the catalog"):
        train_from_log(log, AgentConfig(slate_size=50), ENCODER)


def test_bad_field_values_are_rejected_with_the_field_name():
    with pytest.raises(ValueError, match="max_len must be >= 1"):
        EncoderConfig(max_len=0)
    with pytest.raises(ValueError, match="OfflineConfig.strategy='gpu'"):
        OfflineConfig(strategy="gpu")
