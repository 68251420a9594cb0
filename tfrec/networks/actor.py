"""Actor network π(a|s): encoder state -> softmax over the whole catalog (a TF-Agents Network).

Chen et al., WSDM 2019, §4.1 ("Parametrising the policy π_θ"): the user state ``s`` is the output
of a sequence model over the history, and ``π(a|s) = softmax(s·v_a / T)`` with ``v_a`` the item's
embedding, here the encoder's **tied** input/output table (``encoder.item_embedding``) and ``T``
a temperature.

The network also carries the optional heads that the REINFORCE agent trains with it (so that
their variables are part of ``actor_network.trainable_weights``): the behaviour head β̂
(:class:`~tfrec.networks.behavior.BehaviorHead`) and the value baseline
(:class:`~tfrec.networks.value.ValueHead`). Both read a gradient-stopped state.
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf
import tensorflow_probability as tfp
from tf_agents.networks import network
from tf_agents.networks import utils as network_utils
from tf_agents.specs import tensor_spec
from tf_agents.utils import nest_utils

from tfrec.networks.behavior import BehaviorHead
from tfrec.networks.masking import mask_consumed_logits, mask_reserved_logits
from tfrec.networks.slate_critic import SlateCritic
from tfrec.networks.value import ValueHead

__all__ = ["ActorNetwork"]


class ActorNetwork(network.Network):
    """``history [..., max_len] -> tfp.distributions.Categorical`` over ``vocab_size`` items.

    Args:
      observation_spec: the history spec (``tfrec.specs.history_spec``), array or tensor spec.
      encoder: a ``SequenceEncoder`` (or any Keras layer mapping int ``[batch, max_len]`` to
        ``[batch, dim]`` and exposing ``item_embedding``, an ``ItemEmbedding`` whose
        ``vocab_size`` is the catalog's).
      temperature: softmax temperature ``T > 0`` (logits are divided by it).
      mask_consumed: if True, items already in the history get ``dtype.min``.
      behavior_head: if True, attach a :class:`BehaviorHead` β̂.
      value_head: if True, attach a :class:`ValueHead` baseline.
      slate_critic: if True, attach a :class:`~tfrec.networks.slate_critic.SlateCritic`
        (click model + per-item values, SlateQ's decomposition).
      name: network name.

    Call:
      ``observation`` int ``[batch, max_len]`` or ``[batch, time, max_len]`` (outer dims folded with
      ``BatchSquash``) -> ``(Categorical(logits [..., vocab_size], dtype=int32), network_state)``.
      Padding (0) and OOV (1) are always masked with ``dtype.min``.
    """

    def __init__(
        self,
        observation_spec: Any,
        encoder: tf.keras.layers.Layer,
        temperature: float = 1.0,
        mask_consumed: bool = False,
        behavior_head: bool = True,
        value_head: bool = False,
        slate_critic: bool = False,
        name: str = "ActorNetwork",
    ) -> None:
        observation_spec = tensor_spec.from_spec(observation_spec)
        super().__init__(input_tensor_spec=observation_spec, state_spec=(), name=name)
        if not hasattr(encoder, "item_embedding"):
            raise TypeError(
                f"encoder {type(encoder).__name__} has no `item_embedding`: ActorNetwork needs a "
                "SequenceEncoder (tied item table) to score the catalog."
            )
        if not temperature > 0:
            raise ValueError(f"temperature must be > 0, got {temperature}.")
        if observation_spec.shape.rank != 1:
            raise ValueError(
                f"observation_spec must be a history spec of shape [max_len], got {observation_spec}."
            )
        self._encoder = encoder
        self._temperature = float(temperature)
        self._mask_consumed = bool(mask_consumed)
        embedding = encoder.item_embedding
        self._vocab_size = int(embedding.vocab_size)
        self._state_dim = int(embedding.dim)
        max_index = getattr(observation_spec, "maximum", None)
        if max_index is not None and int(max_index) > self._vocab_size - 1:
            raise ValueError(
                f"observation_spec allows item index {int(max_index)} but the encoder's table has "
                f"only {self._vocab_size} rows: build the encoder with the catalog's vocab_size."
            )
        self.behavior_head = (
            BehaviorHead(self._vocab_size, self._state_dim, name="behavior_head")
            if behavior_head
            else None
        )
        self.value_head = ValueHead(self._state_dim, name="value_head") if value_head else None
        self.slate_critic = (
            SlateCritic(self._vocab_size, self._state_dim, name="slate_critic")
            if slate_critic
            else None
        )

    @property
    def encoder(self) -> tf.keras.layers.Layer:
        """The sequence encoder (exportable: scores = ``item_embedding.logits(encoder(h))``)."""
        return self._encoder

    @property
    def vocab_size(self) -> int:
        """Number of item indices, reserved ones included."""
        return self._vocab_size

    @property
    def state_dim(self) -> int:
        """Size of the encoder state."""
        return self._state_dim

    @property
    def temperature(self) -> float:
        """Softmax temperature."""
        return self._temperature

    @property
    def item_embeddings(self) -> tf.Variable:
        """The tied item table ``[vocab_size, state_dim]``."""
        return self._encoder.item_embedding.embeddings

    @property
    def item_biases(self) -> tf.Variable | None:
        """The tied table's per-item output bias ``[vocab_size]`` (None when it has none)."""
        return getattr(self._encoder.item_embedding, "output_bias", None)

    def create_variables(self, input_tensor_spec: Any = None, **kwargs: Any) -> Any:
        """Builds the encoder (by a call on the spec) and the heads."""
        output_spec = super().create_variables(input_tensor_spec, **kwargs)
        for head in (self.behavior_head, self.value_head, self.slate_critic):
            if head is not None and not head.built:
                head.build(tf.TensorShape([None, self._state_dim]))
        return output_spec

    def states(self, observation: tf.Tensor, training: bool = False) -> tf.Tensor:
        """Encoder states for histories with any number of outer dims.

        Args:
          observation: int ``[..., max_len]`` (e.g. ``[batch, max_len]`` or
            ``[batch, time, max_len]``).
          training: forwarded to the encoder (dropout).

        Returns:
          float ``[..., state_dim]``.
        """
        outer_rank = nest_utils.get_outer_rank(observation, self.input_tensor_spec)
        squash = network_utils.BatchSquash(outer_rank)
        flat = squash.flatten(tf.cast(observation, tf.int32))
        return squash.unflatten(self._encoder(flat, training=training))

    def logits_from_states(
        self, states: tf.Tensor, observation: tf.Tensor | None = None
    ) -> tf.Tensor:
        """π's masked logits ``[..., vocab_size]`` from states ``[..., state_dim]``.

        Args:
          states: float ``[..., state_dim]``.
          observation: int ``[..., max_len]`` histories aligned with ``states``. When it is given
            and the encoder has a learned repeat bias (``repeat_bias=True``, a supervised
            next-item feature), its ``repeat_weight`` is added to the history items, as in
            ``encoder.score_items``. When the network was built with ``mask_consumed=True`` and
            ``observation`` is given, the items of the history are masked; the agent's loss passes
            None (a logged re-consumption must keep a finite log-probability; the agent refuses
            encoders with a repeat bias).

        Returns:
          float ``[..., vocab_size]``, divided by the temperature, reserved indices (and consumed
          items, see above) set to ``dtype.min``.
        """
        logits = self._encoder.item_embedding.logits(states, mask_reserved=False)
        with_repeat_bias = getattr(self._encoder, "with_repeat_bias", None)
        if with_repeat_bias is not None and observation is not None:
            squash = network_utils.BatchSquash(logits.shape.rank - 1)
            logits = squash.unflatten(
                with_repeat_bias(squash.flatten(logits), squash.flatten(observation))
            )
        logits = mask_reserved_logits(logits / self._temperature)
        if self._mask_consumed and observation is not None:
            squash = network_utils.BatchSquash(logits.shape.rank - 1)
            logits = squash.unflatten(
                mask_consumed_logits(squash.flatten(logits), squash.flatten(observation))
            )
        return logits

    def call(
        self,
        observation: tf.Tensor,
        step_type: tf.Tensor | None = None,
        network_state: Any = (),
        training: bool = False,
    ) -> tuple[tfp.distributions.Categorical, Any]:
        """Returns the Categorical π(·|history) and the (empty) network state.

        Args:
          observation: int ``[batch, max_len]`` or ``[batch, time, max_len]``.
          step_type: unused (the state is a function of the history window only).
          network_state: unused, ``()``.
          training: forwarded to the encoder.

        Returns:
          ``(Categorical(logits=[..., vocab_size], dtype=tf.int32), network_state)``.
        """
        del step_type
        logits = self.logits_from_states(self.states(observation, training), observation)
        return tfp.distributions.Categorical(logits=logits, dtype=tf.int32), network_state
