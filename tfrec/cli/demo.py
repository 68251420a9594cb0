"""``tfrec demo``: simulate -> supervised -> REINFORCE -> evaluate -> export -> explain, no download."""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

from tfrec.cli.common import (
    add_command,
    add_common_flags,
    json_default,
    make_env,
    positive_int,
    returns_table,
    say,
    section,
    write_json,
)


def run_demo(args: argparse.Namespace) -> int:
    """``tfrec demo``: the whole job on the built-in simulator, no download."""
    import tensorflow as tf

    from tfrec.environments import CatalogConfig, InterestEvolutionConfig
    from tfrec.evaluation import compare_policies, reference_policies
    from tfrec.explain import explain_history
    from tfrec.export import export_for_serving, save_model_dir
    from tfrec.plots import plot_learning_curve, plot_policy_returns
    from tfrec.policies import GreedyTopKPolicy, generate_logged_data
    from tfrec.training.builders import build_agent, build_encoder, warm_start_encoder
    from tfrec.training.config import AgentConfig, EncoderConfig, OnlineConfig
    from tfrec.training.online import train_in_simulator
    from tfrec.training.supervised import SupervisedConfig, supervised_encoder
    from tfrec.training.supervised_log import train_supervised

    start = time.perf_counter()
    out = Path(args.output_dir)
    k = args.slate_size
    sim_cfg = InterestEvolutionConfig(
        catalog=CatalogConfig(num_items=args.items),
        slate_size=k,
        max_len=args.max_len,
        max_steps=args.session_steps,
    )
    env = make_env(sim_cfg, args.env_batch_size, args.seed)

    section(args, "1/6 simulate a logged dataset")
    logged = generate_logged_data(env, args.episodes, seed=args.seed)
    out.mkdir(parents=True, exist_ok=True)
    logged.log.to_csv(out / "log.csv")
    say(
        args,
        f"{logged.log.num_interactions} clicks from {args.episodes} sessions of a popularity "
        f"behaviour policy on {args.items} items -> {out / 'log.csv'}",
        f"behaviour policy true value {logged.true_value:.2f} per session",
    )

    section(args, "2/6 supervised SASRec encoder (next-item, full softmax)")
    supervised_cfg = SupervisedConfig(
        encoder=supervised_encoder(
            max_len=args.max_len,
            dim=args.dim,
            num_layers=args.layers,
            num_heads=args.heads,
            dropout=0.1,
        ),
        learning_rate=1e-3,  # the simulator recipe (tuned at 1e-3; the sequential default is 2e-3)
        epochs=args.epochs,
        patience=2,
        batch_size=64,
        seed=args.seed,
    )
    supervised = train_supervised(
        logged.log,
        supervised_cfg,
        vocabulary=env.vocabulary,
        logdir=out / "logs" / "supervised",
        progress=not args.quiet,
    )
    save_model_dir(out / "supervised", supervised.encoder, env.vocabulary, {"algo": "supervised"})
    say(
        args,
        f"{len(supervised.history['loss'])} epochs; test "
        + ", ".join(f"{m} {v:.3f}" for m, v in supervised.test_metrics.items() if "@" in m),
    )

    section(args, "3/6 REINFORCE on impressions (SlateQ critic), warm-started, online")
    tf.keras.utils.set_random_seed(args.seed)
    encoder_cfg = EncoderConfig.from_encoder(supervised.encoder, repeat_bias=False)
    encoder = build_encoder(encoder_cfg, env.vocab_size)
    warm_start_encoder(encoder, supervised.encoder)
    agent = build_agent(
        AgentConfig(
            slate_size=k,
            learning_rate=args.learning_rate,
            critic=None if args.critic == "none" else args.critic,
        ),
        encoder,
        args.max_len,
        seed=args.seed,
    )
    history = train_in_simulator(
        agent,
        env,
        OnlineConfig(
            num_iterations=args.iterations,
            collect_steps_per_iteration=args.session_steps,
            train_steps_per_iteration=4,
            batch_size=64,
            buffer_capacity=2 * args.env_batch_size,
            eval_every=max(1, args.iterations // 4),
            eval_episodes=128,
            seed=args.seed,
            progress=not args.quiet,
            resume=False,
            keep_best=True,  # selected on the seed + 1 users; judged on seed + 2 below
        ),
        eval_env=make_env(sim_cfg, args.env_batch_size, args.seed + 1),
        logdir=out / "logs" / "reinforce",
    )
    save_model_dir(out / "reinforce", agent.encoder, env.vocabulary, {"algo": "reinforce"})
    say(
        args,
        "greedy return: " + " -> ".join(f"{r:.2f}" for r in history.eval_returns),
        f"kept the weights of step {history.best_step} (best on the validation users)",
    )

    section(args, f"4/6 evaluate in the simulator ({args.eval_episodes} sessions per policy)")
    eval_env = make_env(sim_cfg, args.env_batch_size, args.seed + 2)
    references = reference_policies(
        eval_env, supervised.train.item_counts(env.vocab_size), seed=args.seed
    )
    policies = {
        "random": references["random"],
        "most-popular": references["most-popular"],
        "supervised": GreedyTopKPolicy.from_encoder(supervised.encoder, k),
        "reinforce": agent.policy,
        "history-myopic": references["history-myopic"],
        "history-far-sighted": references["history-far-sighted"],
        "oracle-myopic": references["oracle-myopic"],
        "far-sighted": references["far-sighted"],
    }
    frame = compare_policies(
        eval_env, policies, args.eval_episodes, seed=args.seed + 2, progress=not args.quiet
    )
    say(args, returns_table(frame), "(oracles read the true user state: reference ceilings)")
    returns = {row["policy"]: row["mean_return"] for row in frame.to_dict("records")}
    plot_learning_curve(
        history,
        out / "learning_curve.png",
        references={n: returns[n] for n in ("random", "most-popular", "supervised")},
        title="top-K REINFORCE in the simulator",
    )
    plot_policy_returns(frame, out / "returns.png")

    section(args, "5/6 export for TF Serving")
    export_dir = export_for_serving(
        agent.policy, env.vocabulary, base_dir=args.export_dir, k=k, name="demo"
    )
    say(args, f"SavedModel -> {export_dir}")

    section(args, "6/6 a sample recommendation and why")
    model = tf.saved_model.load(str(export_dir))
    sample = supervised.test.histories.user_items(0)[-args.max_len :]
    history_ids = [str(i) for i in env.vocabulary.to_ids(sample)]
    served = model.signatures["serving_default"](history=tf.constant([history_ids]))
    explanation = explain_history(agent.encoder, sample, k=k, vocabulary=env.vocabulary)
    served_ids = [i.decode() for i in served["item_ids"].numpy()[0]]
    say(
        args,
        f"served by the SavedModel: {served_ids}",
        explanation.format(),
    )
    seconds = time.perf_counter() - start
    summary = {
        "seconds": round(seconds, 1),
        "log_rows": logged.log.num_interactions,
        "behavior_true_value": logged.true_value,
        "supervised_test_metrics": supervised.test_metrics,
        "reinforce_eval_returns": history.eval_returns,
        "simulator": frame.to_dict("records"),
        "export_dir": str(export_dir),
        "recommendation": served_ids,
        "explanation": explanation.to_dict(),
        "loadavg": os.getloadavg(),
    }
    write_json(out / "results.json", summary)
    if args.json:
        print(json.dumps(summary, default=json_default))
    else:
        section(args, "done")
        print(
            f"{seconds:.0f} s. Files: {out}/learning_curve.png, {out}/returns.png, "
            f"{out}/results.json; TensorBoard: tensorboard --logdir {out / 'logs'}"
        )
    return 0


def register(commands: Any) -> None:
    """Adds the subcommand(s) of this module to the ``tfrec`` parser."""
    demo = add_command(
        commands,
        "demo",
        "the whole job on the built-in simulator: simulate a log, train the supervised encoder "
        "and top-K REINFORCE, evaluate against baselines, export, explain",
        run_demo,
    )
    demo.add_argument("--output-dir", default="runs/demo", help="logs, plots, results.json")
    demo.add_argument("--export-dir", default="saved_models/demo", help="SavedModel base folder")
    demo.add_argument("--items", type=positive_int, default=200, help="catalog size")
    demo.add_argument("--slate-size", type=positive_int, default=5, help="K")
    demo.add_argument("--max-len", type=positive_int, default=10, help="history window")
    demo.add_argument("--session-steps", type=positive_int, default=30, help="session step cap")
    demo.add_argument(
        "--env-batch-size", type=positive_int, default=32, help="users simulated in parallel"
    )
    demo.add_argument("--episodes", type=positive_int, default=600, help="logged sessions")
    demo.add_argument("--dim", type=positive_int, default=32, help="encoder width")
    demo.add_argument("--layers", type=positive_int, default=1, help="Transformer blocks")
    demo.add_argument("--heads", type=positive_int, default=2, help="attention heads")
    demo.add_argument("--epochs", type=positive_int, default=10, help="supervised epochs")
    demo.add_argument("--iterations", type=positive_int, default=20, help="online iterations")
    demo.add_argument("--learning-rate", type=float, default=3e-3, help="REINFORCE learning rate")
    demo.add_argument(
        "--critic",
        choices=("none", "slateq"),
        default="slateq",
        help="advantage estimator: slateq (the SlateQ critic) or none (return minus a learned "
        "state-value baseline)",
    )
    demo.add_argument("--eval-episodes", type=positive_int, default=256, help="sessions per policy")
    demo.add_argument("--quiet", action="store_true", help="no progress bars")
    add_common_flags(demo, "print the results as JSON only")
