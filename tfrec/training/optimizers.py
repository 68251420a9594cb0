"""Optimizers for very large item tables.

tf_keras' ``Adam`` applies its moment decay and its update to *every row* of a variable, even
for an ``IndexedSlices`` gradient of a few hundred rows: with the sampled softmax of a 1M-item
catalog, a training step then costs as much as a dense pass over every table. :class:`LazyAdam`
is the well-known "lazy" variant (as in TensorFlow Addons' ``LazyAdam``, now unmaintained, and
the sparse Adam of PyTorch): for a sparse gradient it reads, updates and writes only the rows in
the gradient — their moments and their weights — and leaves the other rows untouched (their
moments do not decay). Dense gradients get exactly Adam's update (Kingma & Ba, ICLR 2015,
"Adam: A Method for Stochastic Optimization").
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf

__all__ = ["LazyAdam"]


@tf.keras.utils.register_keras_serializable(package="tfrec")
class LazyAdam(tf.keras.optimizers.Adam):
    """Adam whose sparse updates touch only the rows of the gradient.

    Args:
      learning_rate: step size (float or a learning-rate schedule).
      **kwargs: the other ``tf.keras.optimizers.Adam`` arguments (``beta_1``, ``beta_2``,
        ``epsilon``, ``global_clipnorm`` ...). ``amsgrad`` is not supported.

    Raises:
      ValueError: ``amsgrad=True``.
    """

    def __init__(self, learning_rate: Any = 0.001, **kwargs: Any) -> None:
        if kwargs.get("amsgrad"):
            raise ValueError("LazyAdam does not support amsgrad=True; use tf.keras Adam.")
        kwargs.setdefault("name", "LazyAdam")
        super().__init__(learning_rate=learning_rate, **kwargs)

    def update_step(self, gradient: tf.Tensor | tf.IndexedSlices, variable: tf.Variable) -> None:
        """Adam's update; for ``IndexedSlices`` only on the gradient's rows.

        Args:
          gradient: dense ``[*variable.shape]`` or ``IndexedSlices`` (values ``[n, ...]``, indices
            ``[n]``, deduplicated by the base optimizer).
          variable: the model variable.
        """
        if not isinstance(gradient, tf.IndexedSlices):
            super().update_step(gradient, variable)
            return
        dtype = variable.dtype
        step = tf.cast(self.iterations + 1, dtype)
        beta_1 = tf.cast(self.beta_1, dtype)
        beta_2 = tf.cast(self.beta_2, dtype)
        beta_2_power = tf.pow(beta_2, step)
        alpha = (
            tf.cast(self.learning_rate, dtype)
            * tf.sqrt(1 - beta_2_power)
            / (1 - tf.pow(beta_1, step))
        )
        epsilon = tf.cast(self.epsilon, dtype)
        if getattr(self, "adaptive_epsilon", False):
            epsilon = epsilon * tf.sqrt(1 - beta_2_power)
        key = self._index_dict[self._var_key(variable)]
        m, v = self._momentums[key], self._velocities[key]
        rows = gradient.indices
        m_rows = beta_1 * tf.gather(m, rows) + (1 - beta_1) * gradient.values
        v_rows = beta_2 * tf.gather(v, rows) + (1 - beta_2) * tf.square(gradient.values)
        m.scatter_update(tf.IndexedSlices(m_rows, rows))
        v.scatter_update(tf.IndexedSlices(v_rows, rows))
        variable.scatter_sub(tf.IndexedSlices(alpha * m_rows / (tf.sqrt(v_rows) + epsilon), rows))
