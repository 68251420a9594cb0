"""The §6 toy simulations of Chen et al., WSDM 2019 (arXiv 1812.02353), "Top-K Off-Policy Correction
for a REINFORCE Recommender System".

Usage::

    .venv/bin/python benchmarks/paper_simulations.py [--quick] [--steps 1000] [--lr 0.1]
        [--seeds 5] [--batch-size 100]

A softmax policy over 10 items (10 logits, uniform start) is trained by plain SGD on the REINFORCE
surrogate ``-E_{a~β}[w(a) r(a) log π(a)]`` of a fixed behaviour policy β
(:mod:`tfrec.agents.bandit_simulation`, weights from :mod:`tfrec.agents.corrections`):

* **Simulation (i)**: ``r(a_i) = i``, ``β(a_i) = (11 - i) / 55`` (skewed to low reward).
  Variants: no correction (predicted limit ``β r / Σ β r``), ``π/β`` uncapped (predicted: all mass
  on ``a_10``), ``min(π/β, e^3)`` (the paper's cap; predicted: ``π(a_10) = e^3 β(a_10) r(a_10) /
  r(a_9) = 0.406``, the rest on ``a_9``).
* **Simulation (ii)**: ``r = (10, 9, 1, ..., 1)``, uniform β, ``K = 2``. Variants: no correction
  (``r / Σ r``), ``π/β`` (all mass on ``a_1``), top-K ``λ_2(π) π/β`` (the maximiser of
  ``Σ r (1 - (1 - π)^2)``: ``(10/19, 9/19, 0, ...)``).

Each variant runs once on the exact expectation over β (deterministic) and once per seed on
batches of ``--batch-size`` actions sampled from β. The table gives the final π, its argmax, π of
the key items, the first step at which π of the variant's target item reaches 0.9, and the largest
gap to the predicted limit. The very last line is one JSON object with the same figures.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import time

import numpy as np

import tfrec  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)
from tfrec.agents import bandit_simulation as bs

CAP = math.exp(3.0)


def variants() -> list[dict]:
    """The simulated variants: problem, correction, cap, key items, target item, predicted limit.

    Returns:
      One dict per variant; item indices are 0-based (``a_i`` is index ``i - 1``).
    """
    sim1, sim2 = bs.skewed_behavior_problem(), bs.topk_problem()
    one_hot_10, one_hot_1 = np.eye(10)[9], np.eye(10)[0]
    capped_10 = CAP * sim1.behavior[9] * sim1.rewards[9] / sim1.rewards[8]
    capped = np.zeros(10)
    capped[8:] = (1.0 - capped_10, capped_10)
    keys1, keys2 = [4, 5, 8, 9], [0, 1]
    return [
        dict(sim="i", problem=sim1, correction="none", cap=None, keys=keys1, target=9,
             predicted=bs.uncorrected_fixed_point(sim1)),
        dict(sim="i", problem=sim1, correction="importance", cap=None, keys=keys1, target=9,
             predicted=one_hot_10),
        dict(sim="i", problem=sim1, correction="importance", cap=CAP, keys=keys1, target=9,
             predicted=capped),
        dict(sim="ii", problem=sim2, correction="none", cap=None, keys=keys2, target=0,
             predicted=bs.uncorrected_fixed_point(sim2)),
        dict(sim="ii", problem=sim2, correction="importance", cap=None, keys=keys2, target=0,
             predicted=one_hot_1),
        dict(sim="ii", problem=sim2, correction="topk", cap=None, keys=keys2, target=0,
             predicted=bs.topk_optimum(sim2.rewards, sim2.slate_size)),
    ]  # fmt: skip


def summarise(history: np.ndarray, variant: dict) -> dict:
    """Figures of one run.

    Args:
      history: float ``[steps + 1, N]`` π after each step.
      variant: one entry of :func:`variants`.

    Returns:
      Final π, argmax (1-based item), π of the key items, first step with π(target) >= 0.9 (None
      if never), and max |π - predicted|.
    """
    final = history[-1]
    reached = np.flatnonzero(history[:, variant["target"]] >= 0.9)
    return {
        "final_pi": [round(float(p), 4) for p in final],
        "argmax_item": int(np.argmax(final)) + 1,
        "key_pi": {f"a{k + 1}": round(float(final[k]), 4) for k in variant["keys"]},
        "first_step_target_ge_0.9": int(reached[0]) if reached.size else None,
        "max_gap_to_predicted": round(float(np.abs(final - variant["predicted"]).max()), 4),
    }


def label(variant: dict) -> str:
    """Short name of a variant, e.g. ``importance (cap e^3)``."""
    name = {"none": "no correction", "importance": "pi/beta", "topk": "top-K lambda*pi/beta"}[
        variant["correction"]
    ]
    return name + (" (cap e^3)" if variant["cap"] is not None else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--quick", action="store_true", help="300 steps, 2 seeds")
    args = parser.parse_args()
    if args.quick:
        args.steps, args.seeds = 300, 2

    load_before = os.getloadavg()
    start = time.time()
    rows = []
    for variant in variants():
        common = dict(
            problem=variant["problem"],
            correction=variant["correction"],
            steps=args.steps,
            learning_rate=args.lr,
            weight_cap=variant["cap"],
        )
        expected = summarise(bs.train_softmax_policy(**common), variant)
        sampled = [
            summarise(
                bs.train_softmax_policy(**common, batch_size=args.batch_size, seed=s), variant
            )
            for s in range(args.seeds)
        ]
        rows.append(
            {
                "simulation": variant["sim"],
                "variant": label(variant),
                "correction": variant["correction"],
                "weight_cap": variant["cap"],
                "predicted_pi": [round(float(p), 4) for p in variant["predicted"]],
                "expected": expected,
                "sampled": sampled,
                "sampled_mean_pi": [
                    round(float(p), 4) for p in np.mean([r["final_pi"] for r in sampled], axis=0)
                ],
            }
        )
    seconds = time.time() - start

    print(
        f"Chen et al. 2019 §6 simulations: SGD lr={args.lr}, {args.steps} steps, uniform start; "
        f"sampled = {args.seeds} seeds x batches of {args.batch_size} actions from beta"
    )
    header = (
        f"{'sim':>3} | {'variant':<24} | {'mode':<14} | {'argmax':>6} | {'key items pi':<44} | "
        f"{'step pi(tgt)>=.9':>16} | {'max|pi-pred|':>12}"
    )
    for row in rows:
        print("\n" + header)
        print("-" * len(header))
        runs = [("expected", row["expected"])] + [
            (f"sampled s={s}", r) for s, r in enumerate(row["sampled"])
        ]
        for mode, r in runs:
            keys = " ".join(f"{k}={v:.3f}" for k, v in r["key_pi"].items())
            step = r["first_step_target_ge_0.9"]
            print(
                f"{row['simulation']:>3} | {row['variant']:<24} | {mode:<14} | "
                f"{'a' + str(r['argmax_item']):>6} | {keys:<44} | "
                f"{'never' if step is None else step:>16} | {r['max_gap_to_predicted']:>12.4f}"
            )
        fmt = " ".join(f"{p:.3f}" for p in row["expected"]["final_pi"])
        print(f"    final pi (expected):   {fmt}")
        fmt = " ".join(f"{p:.3f}" for p in row["sampled_mean_pi"])
        print(f"    final pi (sampled, mean over seeds): {fmt}")
        fmt = " ".join(f"{p:.3f}" for p in row["predicted_pi"])
        print(f"    predicted limit:       {fmt}")
    load_after = os.getloadavg()
    print(
        f"\n{seconds:.1f} s; load average before/after (1, 5, 15 min): {load_before} / "
        f"{load_after}; cpus: {os.cpu_count()}"
    )
    print(
        json.dumps(
            {
                "benchmark": "paper_simulations",
                "paper": "arXiv 1812.02353 §6",
                "steps": args.steps,
                "learning_rate": args.lr,
                "seeds": args.seeds,
                "batch_size": args.batch_size,
                "results": rows,
                "seconds": round(seconds, 1),
                "loadavg_before": load_before,
                "loadavg_after": load_after,
                "cpu_count": os.cpu_count(),
                "python": platform.python_version(),
            }
        )
    )


if __name__ == "__main__":
    main()
