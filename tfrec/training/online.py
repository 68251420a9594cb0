"""Online training in a slate simulator: :func:`train_in_simulator`, the one entry point.

Loop (one iteration): a TF-Agents ``PyDriver`` runs the agent's collect policy in the batched
simulator for ``collect_steps_per_iteration`` steps per user; an observer turns the steps into
episodes in a replay buffer; the agent then takes ``train_steps_per_iteration`` gradient steps
on episodes sampled from it. Every ``eval_every`` iterations (and at step 0 and at the end) the
greedy top-K policy is evaluated with :func:`tfrec.evaluation.rollouts.evaluate_policy` (whole
episodes, no short-episode bias, return with a 95% CI).

What is collected depends on the agent's ``experience``:

* ``"impressions"`` (default): every environment step, clicked or not, with the whole slate and
  the collect policy's slate probability (:mod:`tfrec.training.impressions`), collected by the
  full-catalog :class:`~tfrec.policies.slate_sampling.SlateSamplingPolicy`;
* ``"clicks"``: the clicks only (:mod:`tfrec.training.click_episodes`), collected by the
  Boltzmann top-K policy (Chen et al. 2019, §5).

**Resume.** With ``checkpoint_dir``, every ``checkpoint_every`` iterations (and at the end) the
loop saves the agent (weights, optimizer slots, step counter, the collect policy's and the
dropout layers' random generators) in a TF checkpoint, and beside it, under the same number, the
state TF cannot hold: the simulator's users and random generator, the time step in progress,
the replay buffer's episodes and sampler, the episodes being collected and the history
(``loop-<iteration>.pkl``, written to a temporary file and renamed, before ``ckpt-<iteration>``).
A run killed at any point and started again with the same arguments restores the newest pair
and ends with the same weights and history as an uninterrupted run (tested with dropout and
both advantage estimators). Dropout masks are restored when the encoder was built with Keras'
generator-backed RNG (``build_encoder`` turns it on).
"""

from __future__ import annotations

import os
import pickle
import time
from pathlib import Path
from typing import Any

import tensorflow as tf
from tf_agents.drivers import py_driver
from tf_agents.environments import py_environment
from tf_agents.policies import py_tf_eager_policy
from tf_agents.utils import common
from tqdm.auto import tqdm

from tfrec.agents.reinforce import TopKOffPolicyReinforceAgent
from tfrec.evaluation.rollouts import RolloutResult, evaluate_policy
from tfrec.training.checkpoints import make_checkpoint_manager
from tfrec.training.click_episodes import ClickCollector, EpisodeBuffer
from tfrec.training.config import OnlineConfig
from tfrec.training.impressions import ImpressionBuffer, ImpressionCollector
from tfrec.training.resume import random_generators, restore_newest_valid
from tfrec.training.summaries import report_losses, report_return
from tfrec.training.training_history import TrainingHistory

__all__ = ["ClickCollector", "EpisodeBuffer", "train_in_simulator"]


def _save_loop_state(directory: Path, iteration: int, state: dict[str, Any]) -> None:
    """Writes ``loop-<iteration>.pkl`` atomically (temporary file, then rename)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"loop-{iteration}.pkl"
    temporary = path.with_suffix(".tmp")
    with open(temporary, "wb") as handle:
        pickle.dump(state, handle, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(temporary, path)


def _prune_loop_states(directory: Path, manager: tf.train.CheckpointManager) -> None:
    """Deletes the loop files whose TF checkpoint the manager no longer keeps."""
    kept = {Path(path).name.split("-")[-1] for path in manager.checkpoints}
    for loop_file in directory.glob("loop-*.pkl"):
        if loop_file.stem.split("-")[-1] not in kept:
            loop_file.unlink(missing_ok=True)


def train_in_simulator(
    agent: TopKOffPolicyReinforceAgent,
    env: py_environment.PyEnvironment,
    config: OnlineConfig,
    eval_env: py_environment.PyEnvironment | None = None,
    logdir: str | Path | None = None,
    checkpoint_dir: str | Path | None = None,
) -> TrainingHistory:
    """Collect in the simulator, train on replayed episodes, evaluate; resumable.

    Args:
      agent: the agent; its ``collect_policy`` collects, its greedy ``policy`` is evaluated.
        Its ``experience`` picks impression or click-only collection.
      env: batched slate ``PyEnvironment`` exposing ``get_info()["clicked_item"]`` and
        ``["click_position"]`` (e.g. ``tfrec.environments.InterestEvolutionEnv``).
      config: loop settings.
      eval_env: environment for evaluation (default: ``env``; evaluation re-seeds and resets
        it, so the loop then resets ``env`` and drops the episodes in progress after each
        evaluation).
      logdir: TensorBoard folder (``Losses/<term>`` for every loss term, ``Metrics/return``,
        ``Metrics/return_lower`` / ``_upper``, ``Metrics/ctr``).
      checkpoint_dir: checkpoint folder; with ``config.resume`` a run restores the newest
        intact checkpoint there and continues (see the module docstring).

    Returns:
      :class:`TrainingHistory`: every loss term of every training step, the greedy policy's
      mean return (and in ``evaluations`` the whole :class:`RolloutResult` rows) at step 0,
      every ``eval_every`` iterations and at the end, and ``seconds`` of training (collection
      and gradient steps, evaluation excluded); with ``config.keep_best`` the agent ends with
      the weights of the best evaluation (``history.best_step``).

    Raises:
      ValueError: if the environment's slate size differs from the agent's.
    """
    if tuple(env.action_spec().shape) != (agent.slate_size,):
        raise ValueError(
            f"the environment takes slates of shape {env.action_spec().shape} but the agent's "
            f"slate_size is {agent.slate_size}: build both with the same slate size."
        )
    batch = env.batch_size or 1
    max_steps = config.max_steps or int(getattr(env, "max_steps", 50))
    if agent.experience == "impressions":
        buffer: Any = ImpressionBuffer(config.buffer_capacity, max_steps, seed=config.seed)
        collector: Any = ImpressionCollector(buffer, batch)
    else:
        buffer = EpisodeBuffer(config.buffer_capacity, max_steps, seed=config.seed)
        collector = ClickCollector(buffer, batch)
    history = TrainingHistory()
    writer = tf.summary.create_file_writer(str(logdir)) if logdir is not None else None
    collect_policy = py_tf_eager_policy.PyTFEagerPolicy(
        agent.collect_policy, use_tf_function=True, batch_time_steps=False
    )
    driver = py_driver.PyDriver(
        env,
        collect_policy,
        observers=[collector.observe_trajectory],
        info_observers=[collector.observe_info],
        max_steps=config.collect_steps_per_iteration * batch,
    )
    train = common.function(agent.train)
    evaluation_env = eval_env if eval_env is not None else env

    manager = None
    loop_dir = None
    start_iteration = 0
    best: dict[str, Any] = {"return": -float("inf"), "step": None, "weights": None}
    # Checkpoints are numbered by iteration (the step counter stands still while the buffer is
    # empty); the loop file of iteration i is written before ckpt-i, so every kept checkpoint
    # has its loop file and a crash between the two falls back to the previous pair.
    iteration_counter = tf.Variable(0, dtype=tf.int64, trainable=False, name="iteration")
    time_step = None
    if checkpoint_dir is not None:
        loop_dir = Path(checkpoint_dir)
        manager = make_checkpoint_manager(
            loop_dir, agent, rng=random_generators(agent), iteration=iteration_counter
        )
        if config.resume and restore_newest_valid(manager) is not None:
            state_file = loop_dir / f"loop-{int(iteration_counter.numpy())}.pkl"
            if not state_file.exists():
                raise ValueError(
                    f"checkpoint {manager.latest_checkpoint} has no loop state {state_file}: "
                    "the folder was not written by train_in_simulator; use a new checkpoint_dir."
                )
            with open(state_file, "rb") as handle:
                state = pickle.load(handle)
            env.set_state(state["env"])
            buffer.set_state(state["buffer"])
            collector.set_state(state["collector"])
            history = state["history"]
            time_step = state["time_step"]
            best.update(state.get("best", {}))
            start_iteration = state["iteration"]

    def evaluate() -> RolloutResult:
        result = evaluate_policy(
            evaluation_env,
            agent.policy,
            max(config.eval_episodes, 2),
            seed=config.eval_seed,
            name="greedy",
        )
        step = int(agent.train_step_counter.numpy())
        report_return(history, writer, step, result.mean_return)
        history.evaluations.append({"step": step, **result.as_row()})
        if config.keep_best and result.mean_return > best["return"]:
            best.update(
                {
                    "return": result.mean_return,
                    "step": step,
                    "weights": agent.actor_network.get_weights(),
                }
            )
        if writer is not None:
            with writer.as_default(step=step):
                tf.summary.scalar("Metrics/return_lower", result.return_lower)
                tf.summary.scalar("Metrics/return_upper", result.return_upper)
                tf.summary.scalar("Metrics/ctr", result.ctr)
        return result

    if time_step is None:
        tf.keras.utils.set_random_seed(config.seed)
        env.seed(config.seed)
        evaluate()
        time_step = env.reset()
        collector.reset()
    bar = tqdm(
        range(start_iteration, config.num_iterations),
        desc=f"online REINFORCE ({agent.experience})",
        disable=not config.progress,
        initial=start_iteration,
        total=config.num_iterations,
    )
    for iteration in bar:
        started = time.perf_counter()
        time_step, _ = driver.run(time_step)
        if len(buffer) > 0:
            for _ in range(config.train_steps_per_iteration):
                loss_info = train(buffer.sample(config.batch_size))
                report_losses(history, writer, int(agent.train_step_counter.numpy()), loss_info)
        history.seconds += time.perf_counter() - started
        done = iteration + 1 == config.num_iterations
        if (iteration + 1) % config.eval_every == 0 or done:
            result = evaluate()
            bar.set_postfix(ret=f"{result.mean_return:.2f}")
            if eval_env is None:
                time_step = env.reset()
                collector.reset()
        if manager is not None and (
            done
            or (
                config.checkpoint_every is not None
                and (iteration + 1) % config.checkpoint_every == 0
            )
        ):
            iteration_counter.assign(iteration + 1)
            _save_loop_state(
                loop_dir,
                iteration + 1,
                {
                    "env": env.get_state(),
                    "buffer": buffer.get_state(),
                    "collector": collector.get_state(),
                    "history": history,
                    "time_step": time_step,
                    "iteration": iteration + 1,
                    "best": best,
                },
            )
            manager.save(checkpoint_number=iteration + 1)
            _prune_loop_states(loop_dir, manager)
    if config.keep_best and best["weights"] is not None:
        agent.actor_network.set_weights(best["weights"])
        history.best_step = best["step"]
    if writer is not None:
        writer.flush()
    return history
