"""``build_*`` factories: config dataclasses -> encoder, actor network, agent."""

from __future__ import annotations

import warnings

import numpy as np
import tensorflow as tf

from tfrec.agents.reinforce import TopKOffPolicyReinforceAgent
from tfrec.encoders import SequenceEncoder
from tfrec.networks.actor import ActorNetwork
from tfrec.specs import NUM_RESERVED, time_step_spec
from tfrec.training.config import AgentConfig, EncoderConfig
from tfrec.training.optimizers import LazyAdam

__all__ = ["build_agent", "build_encoder", "make_optimizer", "warm_start_encoder"]

# EncoderConfig fields passed to SequenceEncoder under their own names.
_ENCODER_ARGUMENTS = (
    "dim",
    "num_layers",
    "num_heads",
    "dropout",
    "repeat_bias",
    "use_output_bias",
)
# AgentConfig fields passed to TopKOffPolicyReinforceAgent under their own names.
_AGENT_ARGUMENTS = (
    "slate_size",
    "correction",
    "weight_cap",
    "normalize_weights",
    "normalize_returns",
    "behavior_loss_weight",
    "value_loss_weight",
    "gradient_clipping",
    "num_candidates",
    "num_greedy",
    "exclude_history",
    "sampled_softmax_threshold",
    "num_sampled",
    "sampler",
    "experience",
    "slate_model",
    "exploration_epsilon",
    "inclusion_samples",
    "advantage_lambda",
    "critic",
    "critic_samples",
    "click_loss_weight",
)


def build_encoder(
    config: EncoderConfig, vocab_size: int, resumable_dropout: bool = True
) -> SequenceEncoder:
    """A built ``SequenceEncoder`` for ``vocab_size`` indices (reserved ones included).

    Args:
      config: the architecture.
      vocab_size: number of item indices including the reserved ones (``ItemVocabulary.size``).
      resumable_dropout: turn on Keras' ``tf.random.Generator``-backed RNG first, so the dropout
        layers keep their generator state in variables that a checkpoint can restore
        (``tfrec.training.resume.random_generators``): resumed runs draw the same masks. The
        supervised model (``model.fit``, resumed by ``BackupAndRestore`` at epoch boundaries)
        passes False and keeps Keras' default seeded dropout.

    Returns:
      The encoder, its variables created (under the caller's strategy scope, not lazily inside
      a distributed step).
    """
    if resumable_dropout:
        tf.keras.backend.experimental.enable_tf_random_generator()
    encoder = SequenceEncoder(
        vocab_size,
        config.max_len,
        **{name: getattr(config, name) for name in _ENCODER_ARGUMENTS},
    )
    encoder.build(None)
    return encoder


def warm_start_encoder(encoder: tf.keras.Model, source: tf.keras.Model) -> tf.keras.Model:
    """Copies the weights of a (supervised, pretrained) encoder into ``encoder``.

    A learned repeat bias (``repeat_weight``, a supervised next-item feature) is copied only when
    both encoders have one; a source's repeat bias is left out, with a warning, when the target
    has none (the REINFORCE agent's encoder never has one): the warm-started policy then no longer
    scores history items down — use ``exclude_history`` for that.

    Args:
      encoder: the encoder the agent will train (built).
      source: an encoder of the same architecture, e.g. trained by next-item prediction.

    Returns:
      ``encoder``, now holding ``source``'s weights.

    Raises:
      ValueError: if the two encoders' weights differ in number or shape (the message names the
        first mismatching weight).
    """
    for model in (encoder, source):
        if not model.built:
            model.build(None)
    target_weights, source_weights = _copied_weights(encoder), _copied_weights(source)
    source_repeat = getattr(source, "repeat_weight", None)
    if getattr(encoder, "repeat_weight", None) is not None and source_repeat is not None:
        target_weights.append(encoder.repeat_weight)
        source_weights.append(source_repeat)
    elif source_repeat is not None:
        warnings.warn(
            f"warm start: the source's learned repeat bias (w = {float(source_repeat.numpy()):.3g}) "
            "is not copied (the target encoder has none); the warm-started policy will not score "
            "history items down — consider exclude_history.",
            stacklevel=2,
        )
    if len(target_weights) != len(source_weights):
        raise ValueError(
            f"cannot warm-start: the encoder has {len(target_weights)} weights, the source "
            f"{len(source_weights)}; build both with the same EncoderConfig and vocab_size."
        )
    for target, weight in zip(target_weights, source_weights):
        if target.shape != weight.shape:
            raise ValueError(
                f"cannot warm-start: weight {target.name} has shape {target.shape} but the "
                f"source's {weight.name} has {weight.shape}; use the same EncoderConfig and "
                "vocabulary as the pretrained encoder."
            )
    for target, weight in zip(target_weights, source_weights):
        target.assign(weight)
    return encoder


def _copied_weights(encoder: tf.keras.Model) -> list[tf.Variable]:
    """The encoder's weights in order, without its repeat bias (handled by the caller)."""
    repeat_weight = getattr(encoder, "repeat_weight", None)
    return [w for w in encoder.weights if repeat_weight is None or w is not repeat_weight]


def make_optimizer(config: AgentConfig) -> tf.keras.optimizers.Optimizer:
    """The ``tf.keras`` optimizer named by ``config.optimizer`` at ``config.learning_rate``."""
    if config.optimizer == "adagrad":
        return tf.keras.optimizers.Adagrad(config.learning_rate)
    if config.optimizer == "lazy_adam":
        return LazyAdam(config.learning_rate)
    return tf.keras.optimizers.Adam(config.learning_rate)


def build_agent(
    config: AgentConfig,
    encoder: tf.keras.Model,
    max_len: int,
    item_frequencies: np.ndarray | None = None,
    train_step_counter: tf.Variable | None = None,
    seed: int = 0,
) -> TopKOffPolicyReinforceAgent:
    """Actor network (with β̂ head, optional value head) + ``TopKOffPolicyReinforceAgent``.

    Args:
      config: agent hyper-parameters (``experience=None`` builds an impressions agent).
      encoder: the state encoder (its ``item_embedding.vocab_size`` is the catalog's).
      max_len: history window of the observations.
      item_frequencies: ``[vocab_size]`` counts (for ``sampler="popularity"``; ranks of ``"log_uniform"``).
      train_step_counter: optional int64 counter.
      seed: seed of the agent's sampling generators (collect policy, sampled softmax).

    Returns:
      The initialised agent.
    """
    vocab_size = int(encoder.item_embedding.vocab_size)
    config = config.with_experience("impressions")
    config.check_catalog(vocab_size)
    if config.exclude_history and vocab_size - NUM_RESERVED - max_len < config.slate_size:
        raise ValueError(
            f"AgentConfig.exclude_history leaves {vocab_size - NUM_RESERVED - max_len} items once "
            f"a full history of {max_len} is excluded, fewer than slate_size={config.slate_size}."
        )
    spec = time_step_spec(max_len, vocab_size)
    network = ActorNetwork(
        spec.observation,
        encoder,
        temperature=config.temperature,
        behavior_head=config.experience == "clicks",
        value_head=config.resolved_value_baseline,
        slate_critic=config.critic is not None,
    )
    agent = TopKOffPolicyReinforceAgent(
        spec,
        network,
        make_optimizer(config),
        gamma=config.resolved_gamma,
        entropy_regularization=config.entropy_regularization or None,
        item_frequencies=item_frequencies,
        sampling_seed=seed,
        train_step_counter=train_step_counter,
        **{name: getattr(config, name) for name in _AGENT_ARGUMENTS},
    )
    agent.initialize()
    return agent
