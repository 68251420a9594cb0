"""The training recipe's pieces: warm-up + cosine schedule, the wall-time budget."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from tfrec.training.fit_controls import TrainingBudget, WarmupCosine
from tfrec.training.supervised import SupervisedConfig


def test_warmup_cosine_hand_computed() -> None:
    schedule = WarmupCosine(1e-2, warmup_steps=4, decay_steps=10)
    rates = [float(schedule(step)) for step in range(16)]
    np.testing.assert_allclose(rates[:4], [2.5e-3, 5e-3, 7.5e-3, 1e-2], rtol=1e-6)
    # After the warm-up: 0.5 (1 + cos(pi (step - 4) / 10)) * peak.
    np.testing.assert_allclose(rates[9], 1e-2 * 0.5 * (1 + np.cos(np.pi * 0.5)), rtol=1e-5)
    np.testing.assert_allclose(rates[14:], [0.0, 0.0], atol=1e-9)
    constant = WarmupCosine(3e-3, warmup_steps=2)
    np.testing.assert_allclose([float(constant(s)) for s in (0, 1, 50)], [1.5e-3, 3e-3, 3e-3])
    restored = WarmupCosine.from_config(schedule.get_config())
    assert float(restored(7)) == pytest.approx(float(schedule(7)))


def test_training_budget_stops_after_the_epoch_that_spends_it() -> None:
    model = tf.keras.Sequential([tf.keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    x = np.ones((8, 2), np.float32)
    budget = TrainingBudget(1e-9)
    history = model.fit(x, x[:, :1], epochs=5, verbose=0, callbacks=[budget])
    assert len(history.history["loss"]) == 1 and budget.seconds > 0
    assert len(budget.epoch_seconds) == 1


def test_recipe_fields_are_validated() -> None:
    with pytest.raises(ValueError, match="lr_schedule"):
        SupervisedConfig(lr_schedule="step")
    with pytest.raises(ValueError, match="clipnorm"):
        SupervisedConfig(clipnorm=0.0)
    with pytest.raises(ValueError, match="max_train_seconds"):
        SupervisedConfig(max_train_seconds=-1.0)
