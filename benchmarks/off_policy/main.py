"""The command line of the off-policy benchmark: runs the parts, prints the tables and the JSON.

The very last line is one JSON object with every figure of the tables; the machine may be
shared, so the load average is printed.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import time
from pathlib import Path
from typing import Any

import tensorflow as tf

from . import __doc__ as PACKAGE_DOC
from .behavior import Behavior
from .bounds import reference_bounds
from .estimators import estimator_accuracy
from .learners import train_and_evaluate
from .log_content import log_content
from .online import online_curve
from .ope_trained import ope_of_trained_policy
from .peaked import peaked_catalog
from .settings import FULL, QUICK
from .step_time import step_times
from .tables import print_tables

DESCRIPTION = PACKAGE_DOC.split("\n")[0]
DEFAULT_PLOT = Path(__file__).resolve().parents[2] / "docs" / "off_policy_curve.png"
NUMBER_FLAGS = {  # flag: (default, help) of the float options
    "--behavior-temperature": (0.5, "temperature of the popularity-softmax behaviour"),
    "--behavior-interest-weight": (1.0, "a of the personalised one"),
    "--behavior-popularity-weight": (1.0, "b of the personalised one"),
    "--online-gamma": (0.9, "discount of the online learner (part 3)"),
}


def main() -> None:
    """Runs the parts not skipped, prints the tables and, last, the JSON report."""
    parser = argparse.ArgumentParser(description=DESCRIPTION)
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke run)")
    parser.add_argument("--seeds", type=int, default=None, help="seeds per learner")
    parser.add_argument(
        "--first-seed",
        type=int,
        default=0,
        help="part 2 trains seeds first-seed .. first-seed + seeds - 1 (to extend a run)",
    )
    parser.add_argument(
        "--offline-steps", type=int, default=None, help="gradient steps per REINFORCE learner"
    )
    parser.add_argument(
        "--online-iterations", type=int, default=None, help="online collect/train iterations"
    )
    parser.add_argument(
        "--behavior",
        choices=("popularity", "personalized"),
        default="popularity",
        help="part 2's logging policy: popularity softmax (ignores the user) or personalised "
        "softmax(a * true click logit + b * log popularity)",
    )
    for flag, (default, text) in NUMBER_FLAGS.items():
        parser.add_argument(flag, type=float, default=default, help=text)
    parser.add_argument(
        "--online-reward",
        choices=("engagement", "budget-shaped"),
        default="engagement",
        help="part 3's training reward: the simulator's, or the far-sighted oracle's per-click "
        "value (evaluation always uses the true return)",
    )
    parser.add_argument(
        "--plot",
        type=str,
        default=str(DEFAULT_PLOT),
        help="where to save the online-training curve ('' = no plot)",
    )
    parser.add_argument(
        "--skip",
        nargs="*",
        default=(),
        choices=(
            "ope",
            "learners",
            "online",
            "timing",
            "peaked",
            "bounds",
            "ope-trained",
            "log-content",
        ),
        help="parts not to run",
    )
    args = parser.parse_args()
    settings = QUICK if args.quick else FULL
    if args.seeds is not None:
        settings = dataclasses.replace(settings, seeds=args.seeds)
    settings = dataclasses.replace(settings, first_seed=args.first_seed)
    if args.offline_steps is not None:
        settings = dataclasses.replace(settings, offline_steps=args.offline_steps)
    if args.online_iterations is not None:
        settings = dataclasses.replace(settings, online_iterations=args.online_iterations)
    behavior = Behavior(
        args.behavior,
        args.behavior_temperature,
        args.behavior_interest_weight,
        args.behavior_popularity_weight,
    )
    plot = Path(args.plot) if args.plot else None
    start = time.perf_counter()
    report: dict[str, Any] = {
        "benchmark": "off_policy_correction",
        "quick": args.quick,
        "settings": {k: v for k, v in dataclasses.asdict(settings).items() if k != "encoder"},
        "encoder": dataclasses.asdict(settings.encoder),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "tensorflow": tf.__version__,
            "loadavg_start": list(os.getloadavg()),
        },
    }
    parts = (
        ("ope", "estimators", lambda: estimator_accuracy(settings)),
        ("learners", "learners", lambda: train_and_evaluate(settings, behavior)),
        (
            "online",
            "online",
            lambda: online_curve(settings, plot, args.online_gamma, args.online_reward),
        ),
        ("timing", "step_time", lambda: step_times(settings)),
        ("peaked", "peaked", lambda: peaked_catalog(settings)),
        ("bounds", "bounds", lambda: reference_bounds(settings)),
        ("ope-trained", "ope_trained", lambda: ope_of_trained_policy(settings)),
        ("log-content", "log_content", lambda: log_content(settings, behavior)),
    )
    for flag, key, run in parts:
        if flag in args.skip:
            continue
        part_start = time.perf_counter()
        print(f"[{key}] running ...", flush=True)
        report[key] = run()
        report.setdefault("seconds", {})[key] = time.perf_counter() - part_start
        print(f"[{key}] {report['seconds'][key]:.0f} s, load {os.getloadavg()}", flush=True)
    report["machine"]["loadavg_end"] = list(os.getloadavg())
    report["seconds"]["total"] = time.perf_counter() - start
    print_tables(report)
    print(
        f"\nload average (1/5/15 min): start {report['machine']['loadavg_start']}, end "
        f"{report['machine']['loadavg_end']}; total {report['seconds']['total']:.0f} s"
    )
    print(json.dumps(report, default=float))
