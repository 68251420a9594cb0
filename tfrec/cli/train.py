"""``tfrec train``: supervised or REINFORCE (offline on a log, or online in the simulator)."""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from tfrec.cli.common import (
    add_command,
    add_common_flags,
    add_log_source,
    add_model_flags,
    add_simulator_flags,
    has_log_source,
    json_default,
    load_log,
    make_env,
    positive_int,
    simulator_config,
)
from tfrec.cli.flags import config_from_flags, flag_values
from tfrec.layers.sampled_softmax import SAMPLERS
from tfrec.training.distribute import STRATEGIES

# Config fields given by flags (`tfrec.cli.flags`: "field" or "field=flag destination").
ENCODER_FLAGS = "max_len dim num_layers=layers num_heads=heads dropout repeat_bias"
SUPERVISED_FLAGS = "epochs batch_size learning_rate loss sampler max_train_seconds seed strategy"
AGENT_FLAGS = "slate_size correction learning_rate experience"
ONLINE_FLAGS = "num_iterations=steps batch_size seed"
OFFLINE_FLAGS = "num_train_steps=steps batch_size seed strategy"


def _train_supervised(args: argparse.Namespace, settings: dict, output: Path) -> dict:
    """SASRec on ``--log``/``--movielens``; writes the model folder and the curve."""
    from tfrec.export import save_model_dir
    from tfrec.plots import plot_learning_curve
    from tfrec.training.supervised import SupervisedConfig
    from tfrec.training.supervised_log import train_supervised

    if not has_log_source(args):
        raise ValueError("--algo supervised trains on a log: give --log FILE or --movielens PATH.")
    config = config_from_flags(
        SupervisedConfig,
        settings,
        "supervised",
        args,
        SUPERVISED_FLAGS,
        encoder=flag_values(args, ENCODER_FLAGS),
    )
    log = load_log(args)
    vocabulary = None
    if args.catalog_items:
        from tfrec.environments import catalog_vocabulary

        vocabulary = catalog_vocabulary(args.catalog_items)
    run = train_supervised(
        log,
        config,
        vocabulary=vocabulary,
        logdir=output / "logs",
        checkpoint_dir=output / "checkpoints",
        progress=not args.quiet,
    )
    info = {
        "algo": "supervised",
        "config": dataclasses.asdict(config),
        "test_metrics": run.test_metrics,
        "history": run.history,
    }
    save_model_dir(output, run.encoder, run.vocabulary, info)
    plot_learning_curve(run.history, output / "learning_curve.png", title="supervised SASRec")
    return info


def _train_reinforce(args: argparse.Namespace, settings: dict, output: Path) -> dict:
    """Top-K REINFORCE offline on a log or ``--online``; writes the model folder."""
    import tensorflow as tf

    from tfrec.export import load_model_dir, save_model_dir
    from tfrec.plots import plot_learning_curve
    from tfrec.training.builders import build_agent, build_encoder, warm_start_encoder
    from tfrec.training.config import AgentConfig, EncoderConfig, OfflineConfig, OnlineConfig
    from tfrec.training.offline import train_from_log
    from tfrec.training.online import train_in_simulator

    if args.online == has_log_source(args):
        raise ValueError(
            "--algo reinforce trains either offline on a log (--log FILE / --movielens PATH) or "
            "--online in the simulator: give exactly one."
        )
    warm, vocabulary = None, None
    if args.warm_start:
        warm, vocabulary, _ = load_model_dir(args.warm_start)
        encoder_cfg = EncoderConfig.from_encoder(warm, repeat_bias=False)
    else:
        encoder_cfg = config_from_flags(EncoderConfig, settings, "encoder", args, ENCODER_FLAGS)
    if encoder_cfg.repeat_bias:
        raise ValueError(
            "--repeat-bias (or [encoder] repeat_bias) is a supervised-model option: the REINFORCE "
            "agent does not model it. Drop it for --algo reinforce (--warm-start from a "
            "repeat-bias model copies every other weight)."
        )
    critic = None if args.critic in (None, "none") else args.critic
    agent_cfg = config_from_flags(AgentConfig, settings, "agent", args, AGENT_FLAGS, critic=critic)
    progress = not args.quiet
    if args.online:
        sim_cfg = simulator_config(args, settings)
        if sim_cfg.max_len != encoder_cfg.max_len or sim_cfg.slate_size != agent_cfg.slate_size:
            sim_cfg = dataclasses.replace(
                sim_cfg, max_len=encoder_cfg.max_len, slate_size=agent_cfg.slate_size
            )
        online_cfg = config_from_flags(
            OnlineConfig, settings, "online", args, ONLINE_FLAGS, progress=progress
        )
        env = make_env(sim_cfg, args.env_batch_size, args.seed)
        if vocabulary is not None and not np.array_equal(vocabulary.ids, env.vocabulary.ids):
            raise ValueError(
                f"--warm-start {args.warm_start} does not index items as the simulator catalog "
                f"item_0..item_{env.num_items - 1}: train it with `tfrec train --algo supervised "
                f"--catalog-items {env.num_items}` (and use the same --items here)."
            )
        vocabulary = env.vocabulary
        tf.keras.utils.set_random_seed(args.seed)
        encoder = build_encoder(encoder_cfg, env.vocab_size)
        if warm is not None:
            warm_start_encoder(encoder, warm)
        agent = build_agent(agent_cfg, encoder, encoder_cfg.max_len, seed=args.seed)
        history = train_in_simulator(
            agent,
            env,
            online_cfg,
            eval_env=make_env(sim_cfg, args.env_batch_size, args.seed + 1),
            logdir=output / "logs",
            checkpoint_dir=output / "checkpoints",
        )
        loop = {"online": dataclasses.asdict(online_cfg), "simulator": dataclasses.asdict(sim_cfg)}
    else:
        offline_cfg = config_from_flags(
            OfflineConfig, settings, "offline", args, OFFLINE_FLAGS, progress=progress
        )
        if vocabulary is None and args.catalog_items:
            from tfrec.environments import catalog_vocabulary

            vocabulary = catalog_vocabulary(args.catalog_items)
        result = train_from_log(
            load_log(args),
            agent_cfg,
            encoder_cfg,
            offline_cfg,
            warm_start=warm,
            vocabulary=vocabulary,
            logdir=output / "logs",
            checkpoint_dir=output / "checkpoints",
        )
        agent, vocabulary, history = result.agent, result.vocabulary, result.history
        loop = {"offline": dataclasses.asdict(offline_cfg)}
    info = {
        "algo": "reinforce",
        "encoder": dataclasses.asdict(encoder_cfg),
        "agent": dataclasses.asdict(agent_cfg),
        **loop,
        "history": history.to_dict(),
    }
    save_model_dir(output, agent.encoder, vocabulary, info)
    plot_learning_curve(history, output / "learning_curve.png", title="top-K REINFORCE")
    return info


def run_train(args: argparse.Namespace) -> int:
    """``tfrec train``: a supervised or REINFORCE model folder, TensorBoard logs, checkpoints."""
    from tfrec.settings import load_settings

    settings = load_settings(args.config)
    output = Path(args.output or f"runs/{args.algo}")
    start = time.perf_counter()
    train = _train_supervised if args.algo == "supervised" else _train_reinforce
    info = train(args, settings, output)
    seconds = time.perf_counter() - start
    summary = {"algo": args.algo, "model_dir": str(output), "seconds": round(seconds, 1)}
    if "test_metrics" in info:
        summary["test_metrics"] = info["test_metrics"]
    returns = info["history"].get("eval_returns") if "eval_returns" in info["history"] else None
    if returns:
        summary["eval_returns"] = returns
    if args.json:
        print(json.dumps(summary, default=json_default))
    else:
        print(f"trained {args.algo} in {seconds:.0f} s -> model folder {output}")
        if "test_metrics" in summary:
            metrics = summary["test_metrics"]
            print("test " + ", ".join(f"{k} {v:.4f}" for k, v in metrics.items() if "@" in k))
        if returns:
            print("greedy return during training: " + " -> ".join(f"{r:.2f}" for r in returns))
        print(f"TensorBoard: tensorboard --logdir {output / 'logs'}")
    return 0


def register(commands: Any) -> None:
    """Adds the subcommand(s) of this module to the ``tfrec`` parser."""
    train = add_command(
        commands,
        "train",
        "train a supervised next-item model or the top-K REINFORCE agent; writes a model folder, "
        "checkpoints, TensorBoard logs and a learning-curve plot",
        run_train,
    )
    train.add_argument(
        "--algo", required=True, choices=("supervised", "reinforce"), help="what to train"
    )
    train.add_argument("--output", help="model folder (default: runs/<algo>)")
    train.add_argument("--config", help="YAML settings file (see docs/cli.md)")
    train.add_argument("--online", action="store_true", help="reinforce: train in the simulator")
    train.add_argument("--warm-start", metavar="DIR", help="reinforce: start from this encoder")
    train.add_argument("--epochs", type=positive_int, help="supervised: maximum epochs")
    train.add_argument(
        "--max-train-seconds",
        type=float,
        help="supervised: training budget in seconds (evaluation excluded; best weights kept)",
    )
    train.add_argument(
        "--loss",
        choices=("auto", "full", "sampled"),
        help="supervised: softmax over the catalog (auto: full up to 4096 items, else sampled)",
    )
    train.add_argument(
        "--sampler",
        choices=SAMPLERS,
        help="supervised: negatives of the sampled softmax (logQ-corrected)",
    )
    train.add_argument(
        "--catalog-items",
        type=positive_int,
        metavar="N",
        help="supervised, or reinforce on a log: index items as the simulator catalog "
        "item_0..item_<N-1> (to warm-start --online training or evaluate --simulator)",
    )
    train.add_argument(
        "--steps", type=positive_int, help="reinforce: gradient steps (offline) or iterations"
    )
    train.add_argument("--batch-size", type=positive_int, help="training batch size")
    train.add_argument("--learning-rate", type=float, help="optimizer learning rate")
    train.add_argument("--slate-size", type=positive_int, help="reinforce: K")
    train.add_argument(
        "--correction",
        choices=("none", "importance", "topk"),
        help="reinforce: off-policy fix (default: importance per slate on impressions, topk on "
        "clicks)",
    )
    train.add_argument(
        "--experience",
        choices=("impressions", "clicks"),
        help="reinforce: learn from every shown slate (default online and on impression logs) or "
        "from the clicks only (click logs)",
    )
    train.add_argument(
        "--critic",
        choices=("none", "slateq"),
        help="reinforce on impressions: advantage from a learned state-value baseline (none, "
        "default) or the SlateQ critic (click model + item values)",
    )
    train.add_argument(
        "--strategy",
        choices=STRATEGIES,
        help="tf.distribute strategy for offline training (multi_worker_mirrored reads the "
        "cluster from TF_CONFIG); default: default",
    )
    train.add_argument("--quiet", action="store_true", help="no progress bars")
    add_model_flags(train)
    train.add_argument(
        "--repeat-bias",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="supervised only: learned scalar added to the scores of the items already in the "
        "history (RepeatNet-style; full softmax only; the REINFORCE agent does not model it); "
        "default: the --config file, else off",
    )
    add_log_source(train)
    add_simulator_flags(train, items=None)
    add_common_flags(train, "print a JSON summary only")
