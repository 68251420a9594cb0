"""``tfrec simulate`` (a logged dataset from the simulator) and ``tfrec inspect`` (data layer summary)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from tfrec.cli.common import (
    add_command,
    add_common_flags,
    add_log_source,
    add_simulator_flags,
    load_log,
    make_env,
    positive_int,
    simulator_config,
)


def run_inspect(args: argparse.Namespace) -> int:
    """``tfrec inspect``: builds the data layer on a log and prints a summary."""
    from tfrec.data import ItemVocabulary, build_sequences, leave_last_out, next_item_dataset
    from tfrec.data.pipeline import session_dataset

    log = load_log(args)
    log, report = log.filter(args.min_user_interactions, args.min_item_interactions, k_core=True)
    vocab = ItemVocabulary.from_items(log.df["item"])
    seqs = build_sequences(log, vocab)
    train, valid, test = leave_last_out(seqs)
    batch = next(iter(next_item_dataset(train, args.max_len, args.batch_size, seed=args.seed)))
    sessions = next(iter(session_dataset(train, args.max_len, 10, args.batch_size, seed=args.seed)))
    lengths = seqs.lengths
    stats = (
        f"min {lengths.min()}, median {np.median(lengths):g}, mean {lengths.mean():.1f}, "
        f"max {lengths.max()}"
    )
    lines = [
        f"log          {log.source}",
        f"filter       {report}",
        f"users        {log.num_users}",
        f"items        {log.num_items} (vocabulary size {vocab.size} incl. padding and OOV)",
        f"interactions {log.num_interactions} (propensity logged: {log.has_propensity})",
        f"seq lengths  {stats}",
        f"train        {len(train)} users, {train.num_interactions} interactions",
        f"valid        {len(valid)} users ({valid.num_skipped_users} too short, train only)",
        f"test         {len(test)} users",
        "next-item batch  "
        + ", ".join(f"{k} {list(v.shape)} {v.dtype.name}" for k, v in batch.items()),
        f"session batch    observation {list(sessions.observation.shape)}, "
        f"action {list(sessions.action.shape)}",
    ]
    print("\n".join(lines))
    return 0


def run_simulate(args: argparse.Namespace) -> int:
    """``tfrec simulate``: a behaviour policy's log on the simulator, with true propensities."""
    from tfrec.policies import generate_logged_data
    from tfrec.settings import load_settings

    output = Path(args.output)
    if output.suffix.lower() not in (".csv", ".parquet"):
        raise ValueError(f"--output {output} must end in .csv or .parquet.")
    config = simulator_config(args, load_settings(args.config))
    env = make_env(config, args.env_batch_size, args.seed)
    logged = generate_logged_data(
        env,
        args.episodes,
        temperature=args.temperature,
        impressions=args.impressions,
        epsilon=args.epsilon,
        seed=args.seed,
    )
    output.parent.mkdir(parents=True, exist_ok=True)
    (logged.log.to_csv if output.suffix.lower() == ".csv" else logged.log.to_parquet)(output)
    summary = {
        "output": str(output),
        "episodes": args.episodes,
        "rows": logged.log.num_interactions,
        "items": env.num_items,
        "slates_shown": logged.num_slates,
        "behavior_true_value": logged.true_value,
        "behavior_true_value_stderr": logged.true_value_stderr,
    }
    if args.json:
        print(json.dumps(summary))
    else:
        print(
            f"wrote {summary['rows']} rows ({args.episodes} episodes, {logged.num_slates} slates, "
            f"catalog {env.num_items}) to {output}\n"
            f"behaviour policy (popularity softmax, temperature {args.temperature}): true value "
            f"{logged.true_value:.3f} ± {1.96 * logged.true_value_stderr:.3f} per episode"
        )
    return 0


def register(commands: Any) -> None:
    """Adds the subcommand(s) of this module to the ``tfrec`` parser."""
    simulate = add_command(
        commands,
        "simulate",
        "write a logged dataset from the simulator (popularity-softmax behaviour policy, true "
        "propensities)",
        run_simulate,
    )
    simulate.add_argument("--output", required=True, help="log file to write (.csv or .parquet)")
    simulate.add_argument("--episodes", type=positive_int, default=1000, help="logged sessions")
    simulate.add_argument(
        "--temperature", type=float, default=1.0, help="behaviour softmax temperature"
    )
    simulate.add_argument(
        "--epsilon",
        type=float,
        default=0.0,
        help="share of uniformly random slates mixed into the behaviour policy (exploration; "
        "its propensities stay exact)",
    )
    simulate.add_argument("--slate-size", type=positive_int, help="slate size K")
    simulate.add_argument("--max-len", type=positive_int, help="observed history window")
    simulate.add_argument(
        "--impressions",
        action="store_true",
        help="one row per shown item of every slate, clicked or not (slate, position, clicked, "
        "inclusion propensity, slate log-propensity): the data of impression-level REINFORCE",
    )
    simulate.add_argument("--config", help="YAML settings file (section 'simulator')")
    add_simulator_flags(simulate)
    add_common_flags(simulate)
    inspect = add_command(
        commands, "inspect", "build the data layer on a log and print a summary", run_inspect
    )
    add_log_source(inspect, synthetic=True)
    inspect.add_argument("--max-len", type=positive_int, default=20, help="history window")
    inspect.add_argument("--batch-size", type=positive_int, default=256, help="batch size")
    inspect.add_argument(
        "--min-user-interactions", type=int, default=3, help="k-core filter on users"
    )
    inspect.add_argument(
        "--min-item-interactions", type=int, default=1, help="k-core filter on items"
    )
    inspect.add_argument("--seed", type=int, default=0, help="random seed")
