"""``tfrec evaluate``: full-catalog ranking metrics on a log and/or simulator returns vs baselines;
with ``--ope``, slate off-policy estimates of the model's policy from an impression log."""

from __future__ import annotations

import argparse
import json
from typing import Any

import numpy as np

from tfrec.cli.common import (
    add_command,
    add_common_flags,
    add_log_source,
    add_simulator_flags,
    format_frame,
    has_log_source,
    json_default,
    load_log,
    make_env,
    model_folder,
    positive_int,
    returns_table,
    say,
    section,
    simulator_config,
)
from tfrec.cli.ope import add_ope_flags


def run_evaluate(args: argparse.Namespace) -> int:
    """``tfrec evaluate``: ranking metrics on a log and/or simulator returns, vs baselines."""
    from tfrec.data import build_sequences, leave_last_out
    from tfrec.evaluation import (
        compare_policies,
        ranking_baselines,
        ranking_table,
        reference_policies,
    )
    from tfrec.export import load_model_dir
    from tfrec.policies import GreedyTopKPolicy
    from tfrec.settings import load_settings
    from tfrec.training.supervised import inference_scorer

    if not (has_log_source(args) or args.simulator):
        raise ValueError(
            "nothing to evaluate on: give --log FILE / --movielens PATH and/or --simulator."
        )
    encoder, vocabulary, _ = load_model_dir(model_folder(args.model))
    result: dict[str, Any] = {"model": str(args.model)}
    if args.ope:
        from tfrec.cli.ope import ope_report
        from tfrec.data.impressions import ImpressionLog

        if not args.log:
            raise ValueError("--ope estimates from an impression log: give --log FILE.")
        if not 0.0 <= args.ope_epsilon <= 1.0:
            raise ValueError(f"--ope-epsilon must be in [0, 1], got {args.ope_epsilon}.")
        log = load_log(args)
        if not isinstance(log, ImpressionLog):
            raise ValueError(
                f"{args.log} is not an impression log (columns slate, position, clicked): --ope "
                "needs every shown slate with its propensities."
            )
        table = ope_report(args, encoder, vocabulary, log)
        result["ope"] = table.to_dict("records")
        section(
            args,
            f"off-policy estimates of the model's slate policy (eps={args.ope_epsilon}, "
            f"{args.ope_slate_model}) from {log.num_slates} logged slates; 95% CLT intervals",
        )
        say(args, format_frame(table))
    elif has_log_source(args):
        train, _, test = leave_last_out(build_sequences(load_log(args), vocabulary))
        scorers = {"model": inference_scorer(encoder), **ranking_baselines(train, vocabulary.size)}
        table = ranking_table(scorers, test, encoder.max_len, tuple(args.k), args.exclude_history)
        result["ranking"] = table.to_dict("records")
        section(args, f"full-catalog ranking, leave-last-out test ({len(test)} users)")
        say(args, format_frame(table))
    if args.simulator:
        settings = load_settings(args.config)
        args.items = args.items or vocabulary.num_items
        args.max_len = encoder.max_len
        sim_cfg = simulator_config(args, settings)
        env = make_env(sim_cfg, args.env_batch_size, args.seed)
        if not np.array_equal(vocabulary.ids, env.vocabulary.ids):
            raise ValueError(
                f"the model's vocabulary ({vocabulary.num_items} items) is not the simulator "
                f"catalog item_0..item_{env.num_items - 1}: --simulator evaluates models trained "
                "on simulated data (tfrec train --online, or --algo supervised with "
                "--catalog-items N)."
            )
        policies = {
            "model": GreedyTopKPolicy.from_encoder(
                encoder, sim_cfg.slate_size, args.exclude_history
            ),
            **reference_policies(env, oracles=not args.no_oracles, seed=args.seed),
        }
        frame = compare_policies(env, policies, args.episodes, seed=args.seed, progress=True)
        result["simulator"] = frame.to_dict("records")
        section(args, f"simulator return over {args.episodes} episodes (95% CI half-width)")
        say(args, returns_table(frame))
    if args.json:
        print(json.dumps(result, default=json_default))
    return 0


def register(commands: Any) -> None:
    """Adds the subcommand(s) of this module to the ``tfrec`` parser."""
    evaluate = add_command(
        commands,
        "evaluate",
        "full-catalog ranking metrics on a log and/or simulator returns, against baselines; "
        "--ope: off-policy estimates of the model's slate policy from an impression log",
        run_evaluate,
    )
    evaluate.add_argument("--model", required=True, help="model folder or export folder")
    evaluate.add_argument("--simulator", action="store_true", help="evaluate in the simulator")
    evaluate.add_argument(
        "--k", type=positive_int, nargs="+", default=[10, 20], help="ranking cut-offs"
    )
    evaluate.add_argument("--exclude-history", action="store_true", help="skip seen items")
    evaluate.add_argument("--episodes", type=positive_int, default=256, help="sessions/policy")
    evaluate.add_argument("--slate-size", type=positive_int, help="simulator slate size")
    evaluate.add_argument("--no-oracles", action="store_true", help="skip the oracle references")
    evaluate.add_argument("--config", help="YAML settings file (section 'simulator')")
    add_log_source(evaluate)
    add_ope_flags(evaluate)
    add_simulator_flags(evaluate, items=None)
    add_common_flags(evaluate)
