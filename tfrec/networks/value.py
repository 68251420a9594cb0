"""State-value head V(s): the REINFORCE baseline (a variance-reducing critic).

REINFORCE with a baseline (Williams 1992; Sutton & Barto 2018, §13.4) replaces the return
``R_t`` by the advantage ``R_t - V(s_t)``, which leaves the gradient unbiased and lowers its
variance. The head reads ``tf.stop_gradient(state)``, so the critic never shapes the encoder.
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf

__all__ = ["ValueHead"]


@tf.keras.utils.register_keras_serializable(package="tfrec")
class ValueHead(tf.keras.layers.Layer):
    """A small MLP ``state -> V(s)`` on a gradient-stopped state.

    Args:
      state_dim: size of the encoder state it reads.
      hidden_units: width of the hidden ReLU layer.
      **kwargs: forwarded to ``tf.keras.layers.Layer``.

    Call:
      ``state`` float ``[batch, state_dim]`` -> values ``[batch]``.
    """

    def __init__(self, state_dim: int, hidden_units: int = 32, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if int(hidden_units) < 1:
            raise ValueError(f"hidden_units must be >= 1, got {hidden_units}.")
        self.state_dim = int(state_dim)
        self.hidden_units = int(hidden_units)
        self.hidden = tf.keras.layers.Dense(self.hidden_units, activation="relu", name="hidden")
        self.out = tf.keras.layers.Dense(1, name="value")

    def build(self, input_shape: Any = None) -> None:
        self.hidden.build(tf.TensorShape([None, self.state_dim]))
        self.out.build(tf.TensorShape([None, self.hidden_units]))
        super().build(input_shape)

    def call(self, state: tf.Tensor) -> tf.Tensor:
        """Returns ``V(s)`` ``[batch]`` for ``state`` ``[batch, state_dim]``."""
        return tf.squeeze(self.out(self.hidden(tf.stop_gradient(state))), axis=-1)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({"state_dim": self.state_dim, "hidden_units": self.hidden_units})
        return config
