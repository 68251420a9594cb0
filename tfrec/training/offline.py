"""Offline training of the top-K off-policy REINFORCE agent on logged sessions.

``train_offline`` is the loop over any dataset of ``[batch, T]`` item-action trajectories
(``tfrec.data.session_dataset``); ``train_from_log`` goes from an ``InteractionLog`` to a trained
agent: vocabulary, sequences, session dataset, encoder (optionally warm-started from a supervised
``SequenceEncoder``), agent, loop.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import tensorflow as tf
from tf_agents.utils import common
from tqdm.auto import tqdm

from tfrec.agents.reinforce import TopKOffPolicyReinforceAgent
from tfrec.data import InteractionLog, ItemVocabulary, build_sequences, session_dataset
from tfrec.training.builders import build_agent, build_encoder, warm_start_encoder
from tfrec.training.checkpoints import make_checkpoint_manager
from tfrec.training.config import AgentConfig, EncoderConfig, OfflineConfig
from tfrec.training.history import TrainingHistory
from tfrec.training.summaries import report_losses

__all__ = ["OfflineResult", "train_from_log", "train_offline"]


def train_offline(
    agent: TopKOffPolicyReinforceAgent,
    dataset: tf.data.Dataset,
    config: OfflineConfig,
    logdir: str | Path | None = None,
    checkpoint_manager: tf.train.CheckpointManager | None = None,
) -> TrainingHistory:
    """Runs ``config.num_train_steps`` gradient steps of ``agent`` on ``dataset``.

    Args:
      agent: the agent to train.
      dataset: Trajectory batches ``[batch, T, ...]`` matching ``agent.training_data_spec``
        (repeated as needed).
      config: loop settings (steps, logging, checkpoint period, progress bar).
      logdir: TensorBoard folder (``Losses/<term>`` scalars); None writes nothing.
      checkpoint_manager: saves every ``config.checkpoint_every`` steps and at the end.

    Returns:
      The :class:`TrainingHistory` (steps and every loss term every ``config.log_every`` steps).
    """
    history = TrainingHistory()
    writer = tf.summary.create_file_writer(str(logdir)) if logdir is not None else None
    train = common.function(agent.train)
    iterator = iter(dataset.repeat())
    bar = tqdm(range(config.num_train_steps), desc="offline REINFORCE", disable=not config.progress)
    for i in bar:
        loss_info = train(next(iterator))
        step = int(agent.train_step_counter.numpy())
        if (i + 1) % config.log_every == 0 or i + 1 == config.num_train_steps:
            terms = report_losses(history, writer, step, loss_info)
            bar.set_postfix(loss=f"{terms['loss']:.4f}")
        if (
            checkpoint_manager is not None
            and config.checkpoint_every is not None
            and (i + 1) % config.checkpoint_every == 0
        ):
            checkpoint_manager.save(checkpoint_number=step)
    if checkpoint_manager is not None:
        checkpoint_manager.save(checkpoint_number=int(agent.train_step_counter.numpy()))
    if writer is not None:
        writer.flush()
    return history


@dataclasses.dataclass
class OfflineResult:
    """What :func:`train_from_log` returns.

    Attributes:
      agent: the trained agent (``agent.policy`` serves, ``agent.encoder`` exports).
      vocabulary: the item vocabulary (save it with the model).
      history: losses per step.
    """

    agent: TopKOffPolicyReinforceAgent
    vocabulary: ItemVocabulary
    history: TrainingHistory


def train_from_log(
    log: InteractionLog,
    agent_config: AgentConfig | None = None,
    encoder_config: EncoderConfig | None = None,
    offline_config: OfflineConfig | None = None,
    warm_start: tf.keras.Model | None = None,
    vocabulary: ItemVocabulary | None = None,
    logdir: str | Path | None = None,
    checkpoint_dir: str | Path | None = None,
) -> OfflineResult:
    """Trains a top-K off-policy REINFORCE agent on an interaction log.

    Args:
      log: the interactions (``propensity`` column used as logged β where not NaN).
      agent_config: agent settings (defaults when None).
      encoder_config: encoder settings (defaults when None; ignored for the architecture when
        ``warm_start`` is given, whose weights must match it).
      offline_config: loop settings (defaults when None).
      warm_start: a pretrained ``SequenceEncoder`` (same config and vocabulary) whose weights
        initialise the actor's encoder.
      vocabulary: the item vocabulary (built from ``log`` when None; pass the pretrained
        encoder's vocabulary when warm-starting).
      logdir: TensorBoard folder.
      checkpoint_dir: checkpoint folder.

    Returns:
      :class:`OfflineResult` (agent, vocabulary, history).
    """
    agent_config = agent_config or AgentConfig()
    encoder_config = encoder_config or EncoderConfig()
    offline_config = offline_config or OfflineConfig()
    vocabulary = vocabulary or ItemVocabulary.from_items(log.df["item"])
    sequences = build_sequences(log, vocabulary)
    dataset = session_dataset(
        sequences,
        encoder_config.max_len,
        offline_config.max_steps,
        offline_config.batch_size,
        shuffle=True,
        seed=offline_config.seed,
        session_gap=offline_config.session_gap,
    )
    tf.keras.utils.set_random_seed(offline_config.seed)
    encoder = build_encoder(encoder_config, vocabulary.size)
    if warm_start is not None:
        warm_start_encoder(encoder, warm_start)
    agent = build_agent(
        agent_config, encoder, encoder_config.max_len, item_frequencies=vocabulary.frequencies
    )
    manager = make_checkpoint_manager(checkpoint_dir, agent) if checkpoint_dir is not None else None
    history = train_offline(agent, dataset, offline_config, logdir, manager)
    return OfflineResult(agent=agent, vocabulary=vocabulary, history=history)
