"""The base of the heads that read an encoder state and score the catalog with tables of their own
(:class:`~tfrec.networks.behavior.BehaviorHead`, :class:`~tfrec.networks.slate_critic.SlateCritic`).
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf

__all__ = ["CatalogHead"]


class CatalogHead(tf.keras.layers.Layer):
    """A Keras layer over a catalog of ``vocab_size`` indices that reads ``[..., state_dim]``
    states; it stores both sizes and serialises them (``get_config``).

    Args:
      vocab_size: number of item indices including padding (0) and OOV (1).
      state_dim: size of the encoder state it reads.
      **kwargs: forwarded to ``tf.keras.layers.Layer``.
    """

    def __init__(self, vocab_size: int, state_dim: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.vocab_size = int(vocab_size)
        self.state_dim = int(state_dim)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({"vocab_size": self.vocab_size, "state_dim": self.state_dim})
        return config
