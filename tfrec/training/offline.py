"""Offline training of the top-K off-policy REINFORCE agent on logged sessions.

``train_offline`` is the loop over any dataset of ``[batch, T]`` item-action trajectories
(``tfrec.data.session_dataset``); ``train_from_log`` goes from an ``InteractionLog`` to a trained
agent: vocabulary, sequences, session dataset, encoder (optionally warm-started from a supervised
``SequenceEncoder``), agent, loop.
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path
from typing import Any

import tensorflow as tf
from tf_agents.train.utils import train_utils
from tf_agents.utils import common
from tqdm.auto import tqdm

from tfrec.agents.reinforce import TopKOffPolicyReinforceAgent
from tfrec.data import InteractionLog, ItemVocabulary, build_sequences, session_dataset
from tfrec.data.impressions import ImpressionLog, impression_dataset
from tfrec.training.builders import build_agent, build_encoder, warm_start_encoder
from tfrec.training.checkpoints import make_checkpoint_manager, restore_latest
from tfrec.training.config import AgentConfig, EncoderConfig, OfflineConfig
from tfrec.training.distribute import (
    check_global_batch,
    is_chief,
    make_strategy,
    worker_directory,
)
from tfrec.training.guards import NonFiniteLossError, check_finite_loss, is_non_finite_error
from tfrec.training.resume import random_generators
from tfrec.training.summaries import report_losses
from tfrec.training.training_history import TrainingHistory

__all__ = ["OfflineResult", "train_from_log", "train_offline"]


def train_offline(
    agent: TopKOffPolicyReinforceAgent,
    dataset: tf.data.Dataset,
    config: OfflineConfig,
    logdir: str | Path | None = None,
    checkpoint_manager: tf.train.CheckpointManager | None = None,
    strategy: tf.distribute.Strategy | None = None,
) -> TrainingHistory:
    """Trains ``agent`` on ``dataset`` until its step counter reaches ``config.num_train_steps``.

    The loop starts at ``agent.train_step_counter`` (0 for a new agent, the restored step after
    a resume) and skips that many batches of ``dataset``, so a resumed run sees the same batches
    as an uninterrupted one (the tfrec pipelines are deterministic for a given seed).

    Under a ``tf.distribute`` strategy each batch is split across the replicas
    (``strategy.experimental_distribute_dataset``), every replica runs ``agent.train`` on its
    part with its loss divided by the number of replicas (:mod:`tfrec.agents.replicas`), so the
    optimizer's sum of the replicas' gradients is the gradient of their mean loss (the agent's
    ``gradient_clipping`` norm is divided likewise, so it clips as on one device). The agent must have been built
    under ``strategy.scope()`` with a ``train_step_counter`` aggregated ``ONLY_FIRST_REPLICA``
    (``tf_agents.train.utils.train_utils.create_train_step()``), as :func:`train_from_log` does.
    Batches smaller than the number of replicas (an epoch's last one) are skipped.

    Args:
      agent: the agent to train.
      dataset: Trajectory batches ``[batch, T, ...]`` matching ``agent.training_data_spec``
        (repeated as needed).
      config: loop settings (steps, logging, checkpoint period, progress bar).
      logdir: TensorBoard folder (``Losses/<term>`` scalars); None writes nothing.
      checkpoint_manager: saves every ``config.checkpoint_every`` steps and at the end.
      strategy: the ``tf.distribute`` strategy the agent was built under (None: the current one,
        usually the default strategy).

    Returns:
      The :class:`TrainingHistory` (steps and every loss term every ``config.log_every`` steps
      and at the last step; averaged over the replicas).

    Raises:
      NonFiniteLossError: when a step's loss is NaN/Inf (no checkpoint is written for it, so the
        newest checkpoint is the last good one).
    """
    strategy = strategy or tf.distribute.get_strategy()
    replicas = strategy.num_replicas_in_sync
    history = TrainingHistory()
    writer = tf.summary.create_file_writer(str(logdir)) if logdir is not None else None
    start = int(agent.train_step_counter.numpy())
    dataset = dataset.repeat()
    if replicas > 1:
        dataset = dataset.filter(lambda batch: tf.shape(batch.action)[0] >= replicas)
    iterator = iter(strategy.experimental_distribute_dataset(dataset.skip(start)))

    @common.function
    def train_step(iterator: Any) -> Any:
        loss_info = strategy.run(agent.train, args=(next(iterator),))
        # Each replica's loss is its share (loss / replicas): their sum is the mean loss. The
        # other terms are per-replica means.
        return loss_info._replace(
            loss=strategy.reduce(tf.distribute.ReduceOp.SUM, loss_info.loss, axis=None),
            extra=tf.nest.map_structure(
                lambda value: strategy.reduce(tf.distribute.ReduceOp.MEAN, value, axis=None),
                loss_info.extra,
            ),
        )

    saved_step = None
    bar = tqdm(
        total=config.num_train_steps,
        initial=min(start, config.num_train_steps),
        desc="offline REINFORCE",
        disable=not config.progress,
    )
    for step in range(start + 1, config.num_train_steps + 1):
        last_checkpoint = checkpoint_manager.latest_checkpoint if checkpoint_manager else None
        try:
            loss_info = train_step(iterator)
        except tf.errors.InvalidArgumentError as error:
            if is_non_finite_error(error):
                raise NonFiniteLossError(step, "loss", last_checkpoint) from None
            raise
        check_finite_loss({"loss": float(loss_info.loss)}, step, last_checkpoint)
        bar.update(1)
        if step % config.log_every == 0 or step == config.num_train_steps:
            terms = report_losses(history, writer, step, loss_info)
            bar.set_postfix(loss=f"{terms['loss']:.4f}")
        if (
            checkpoint_manager is not None
            and config.checkpoint_every is not None
            and step % config.checkpoint_every == 0
        ):
            checkpoint_manager.save(checkpoint_number=step)
            saved_step = step
    bar.close()
    final_step = int(agent.train_step_counter.numpy())
    if checkpoint_manager is not None and start < final_step != saved_step:
        checkpoint_manager.save(checkpoint_number=final_step)
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
    strategy: tf.distribute.Strategy | None = None,
) -> OfflineResult:
    """Trains a top-K off-policy REINFORCE agent on an interaction log.

    Args:
      log: a click log (``propensity`` column used as logged β where not NaN; the click-only
        mode) or an impression log (:class:`tfrec.data.ImpressionLog`: every shown slate, the
        slate policy gradient; its ``slate_log_propensity`` is the logged β of each slate).
      agent_config: agent settings (defaults when None).
      encoder_config: encoder settings (defaults when None; ignored for the architecture when
        ``warm_start`` is given, whose weights must match it).
      offline_config: loop settings (defaults when None).
      warm_start: a pretrained ``SequenceEncoder`` (same config and vocabulary) whose weights
        initialise the actor's encoder.
      vocabulary: the item vocabulary (built from ``log`` when None; pass the pretrained
        encoder's vocabulary when warm-starting).
      logdir: TensorBoard folder.
      checkpoint_dir: checkpoint folder. With ``offline_config.resume`` (the default) a run
        whose folder already holds checkpoints continues from the newest intact one (weights,
        optimizer state, step counter, data position, dropout and sampled-softmax RNG state), so
        re-running a killed command finishes the job.
      strategy: a ready ``tf.distribute`` strategy; None creates ``offline_config.strategy``
        (:func:`tfrec.training.distribute.make_strategy`).

    Returns:
      :class:`OfflineResult` (agent, vocabulary, history of the steps run by this call).

    Raises:
      ValueError: on a configuration that does not fit the catalog or the replicas (checked
        before any training), or a checkpoint folder with no readable checkpoint.
      NonFiniteLossError: when the loss becomes NaN/Inf (the step is named; the newest
        checkpoint is the last good one).
    """
    holds_impressions = isinstance(log, ImpressionLog)
    agent_config = (agent_config or AgentConfig()).with_experience(
        "impressions" if holds_impressions else "clicks"
    )
    if agent_config.experience == "impressions" and not holds_impressions:
        raise ValueError(
            "AgentConfig(experience='impressions') needs an impression log (every shown slate, "
            "tfrec.data.ImpressionLog); this is a click log (one row per consumed item): use "
            "experience='clicks' (or leave it None)."
        )
    if agent_config.experience == "clicks" and holds_impressions:
        raise ValueError(
            "AgentConfig(experience='clicks') trains on clicks only, but this is an impression "
            "log: use experience='impressions' (or leave it None) to learn from every slate."
        )
    encoder_config = encoder_config or EncoderConfig()
    offline_config = offline_config or OfflineConfig()
    vocabulary = vocabulary or ItemVocabulary.from_items(log.df["item"])
    agent_config.check_catalog(vocabulary.size)  # before any data or model work
    strategy = strategy or make_strategy(offline_config.strategy)
    check_global_batch(offline_config.batch_size, strategy)
    sequences = None if holds_impressions else build_sequences(log, vocabulary)
    # The global seed first: it enters the data order's seed, so a resumed run (and any run in a
    # process that trained before) replays the same batches. Keras' tf.random.Generator-backed
    # RNG makes every Dropout layer hold its generator state in a variable, which the checkpoint
    # saves with the weights: a resumed run draws the same dropout masks as an uninterrupted one
    # (the sampled-softmax negatives come from the agent's own tracked generator).
    tf.keras.backend.experimental.enable_tf_random_generator()
    tf.keras.utils.set_random_seed(offline_config.seed)
    # impression_dataset(log, vocabulary, ...) or session_dataset(sequences, ...).
    make_dataset, source = (
        (impression_dataset, (log, vocabulary))
        if holds_impressions
        else (session_dataset, (sequences,))
    )
    dataset = make_dataset(
        *source,
        encoder_config.max_len,
        offline_config.max_steps,
        offline_config.batch_size,
        shuffle=True,
        seed=offline_config.seed,
        session_gap=offline_config.session_gap,
    )
    with strategy.scope():
        encoder = build_encoder(encoder_config, vocabulary.size)
        if warm_start is not None:
            warm_start_encoder(encoder, warm_start)
        agent = build_agent(
            agent_config,
            encoder,
            encoder_config.max_len,
            item_frequencies=vocabulary.frequencies,
            train_step_counter=train_utils.create_train_step(),
        )
    manager = None
    if checkpoint_dir is not None:
        rng = random_generators(agent)  # dropout masks; the agent tracks its own sampler
        manager = make_checkpoint_manager(
            worker_directory(checkpoint_dir, strategy), agent, rng=rng
        )
        if offline_config.resume:
            # Every worker restores the chief's newest intact checkpoint.
            restore_latest(make_checkpoint_manager(checkpoint_dir, agent, rng=rng))
    history = train_offline(agent, dataset, offline_config, logdir, manager, strategy)
    if checkpoint_dir is not None and not is_chief(strategy):
        shutil.rmtree(worker_directory(checkpoint_dir, strategy), ignore_errors=True)
    return OfflineResult(agent=agent, vocabulary=vocabulary, history=history)
