"""SlateCritic: SlateQ's decomposition Q(s, A) = Σ P(i|s, A) Q̄(s, i) (Ie et al., IJCAI 2019)."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from tfrec.networks.slate_critic import SlateCritic


def _critic() -> SlateCritic:
    tf.keras.utils.set_random_seed(0)
    critic = SlateCritic(vocab_size=8, state_dim=3)
    critic.build()
    return critic


def test_slate_value_is_the_choice_weighted_item_value():
    critic = _critic()
    states = tf.constant([[0.5, -1.0, 2.0]])
    slates = tf.constant([[2, 5, 7]])
    choice = tf.nn.softmax(critic.click_logits(states, slates)).numpy()[0]
    values = critic.values(states, slates).numpy()[0]
    # by hand: logits s·c_i + b_i against the no-click Dense
    table, bias = critic.click_table.embeddings.numpy(), critic.click_table.output_bias.numpy()
    item_logits = table[[2, 5, 7]] @ states.numpy()[0] + bias[[2, 5, 7]]
    no_click = critic.no_click_logit(states).numpy()[0, 0]
    manual = np.exp(np.r_[no_click, item_logits])
    np.testing.assert_allclose(choice, manual / manual.sum(), rtol=1e-5)
    assert critic.slate_value(states, slates).numpy()[0] == np.float32((choice * values).sum())


def test_a_repeated_item_is_one_option():
    critic = _critic()
    states = tf.random.normal([1, 3])
    twice = tf.nn.softmax(critic.click_logits(states, tf.constant([[4, 4, 6]]))).numpy()[0]
    once = tf.nn.softmax(critic.click_logits(states, tf.constant([[4, 6]]))).numpy()[0]
    assert twice[2] == 0.0
    np.testing.assert_allclose(twice[[0, 1, 3]], once, rtol=1e-5)


def test_values_do_not_train_the_encoder_state_but_clicks_do():
    critic = _critic()
    states = tf.Variable([[0.5, -1.0, 2.0]])
    slates = tf.constant([[2, 5, 7]])
    with tf.GradientTape(persistent=True) as tape:
        values = tf.reduce_sum(critic.values(states, slates))
        clicks = tf.reduce_sum(critic.click_logits(states, slates))
    assert tape.gradient(values, states) is None
    assert tape.gradient(clicks, states) is not None
