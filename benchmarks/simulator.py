"""Simulator benchmark: user-steps per second, and the reference policies' returns.

Usage::

    .venv/bin/python benchmarks/simulator.py [--steps 400] [--episodes 1024] [--seed 0]

Part 1 times ``InterestEvolutionEnv.step`` with the random slate policy at catalogs of 1k, 10k
and 100k items (batch 256, default config otherwise; median of 3 runs after a discarded
warm-up run): wall-clock user-steps/s of env + policy,
of the env alone (pre-drawn actions), and env-alone user-steps per CPU-second of this process
(less sensitive to other processes sharing the machine).

Part 2 evaluates random, most-popular, oracle-myopic and far-sighted policies in the default
config (catalog 1,000, batch 256) with ``evaluate_policy``: mean return with a 95% t-interval,
CTR, session length, coverage and intra-list diversity.

Part 3 (when MovieLens-100k is found, default ``../shared/data/ml-100k``): fits
``SemiSyntheticEnv`` on it and evaluates random, most-popular and oracle-myopic (reward: clicks).

Prints readable tables; the very last line is one JSON object with the same figures.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

import tfrec  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)
from tfrec.environments import (
    CatalogConfig,
    InterestEvolutionConfig,
    InterestEvolutionEnv,
    SemiSyntheticConfig,
    SemiSyntheticEnv,
)
from tfrec.evaluation.rollouts import RolloutResult, evaluate_policy
from tfrec.policies.reference import (
    MostPopularPolicy,
    far_sighted_policy,
    oracle_myopic_policy,
    random_slate_policy,
)

BATCH = 256
CATALOGS = (1_000, 10_000, 100_000)
DEFAULT_ML100K = Path(__file__).resolve().parents[2] / "shared" / "data" / "ml-100k"


def throughput(num_items: int, steps: int, seed: int) -> dict[str, float]:
    """Times env+policy and env-only steps at one catalog size."""
    config = InterestEvolutionConfig(catalog=CatalogConfig(num_items=num_items))
    env = InterestEvolutionEnv(config, batch_size=BATCH, seed=seed)
    policy = random_slate_policy(env.time_step_spec(), env.action_spec(), seed=seed)
    time_step = env.reset()
    for _ in range(20):  # warm-up
        time_step = env.step(policy.action(time_step).action)
    start = time.perf_counter()
    for _ in range(steps):
        time_step = env.step(policy.action(time_step).action)
    with_policy = BATCH * steps / (time.perf_counter() - start)
    actions = np.random.default_rng(seed).integers(
        2, env.vocab_size, size=(steps, BATCH, env.slate_size), dtype=np.int32
    )
    start, cpu = time.perf_counter(), time.process_time()
    for action in actions:
        env.step(action)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    return {
        "num_items": num_items,
        "user_steps_per_s": with_policy,
        "env_only_user_steps_per_s": BATCH * steps / wall,
        "env_only_user_steps_per_cpu_s": BATCH * steps / cpu,
    }


def reference_returns(episodes: int, seed: int) -> list[RolloutResult]:
    """Evaluates the four reference policies in the default config."""
    env = InterestEvolutionEnv(InterestEvolutionConfig(), batch_size=BATCH, seed=seed)
    spec = (env.time_step_spec(), env.action_spec())
    policies = {
        "random": random_slate_policy(*spec, seed=seed),
        "most-popular": MostPopularPolicy(*spec, env.item_popularity()),
        "oracle-myopic": oracle_myopic_policy(env),
        "far-sighted": far_sighted_policy(env),
    }
    return [evaluate_policy(env, p, episodes, seed=seed, name=n) for n, p in policies.items()]


def semi_synthetic_returns(
    path: Path, episodes: int, seed: int
) -> tuple[list[RolloutResult], float]:
    """Fits the semi-synthetic simulator on MovieLens-100k and evaluates the reference policies."""
    from tfrec.data import load_movielens_100k

    log = load_movielens_100k(path, with_titles=False)
    start = time.perf_counter()
    env = SemiSyntheticEnv(log, SemiSyntheticConfig(), batch_size=BATCH, seed=seed)
    fit_seconds = time.perf_counter() - start
    spec = (env.time_step_spec(), env.action_spec())
    policies = {
        "random": random_slate_policy(*spec, seed=seed),
        "most-popular": MostPopularPolicy(*spec, env.item_popularity()),
        "oracle-myopic": oracle_myopic_policy(env),
    }
    results = [evaluate_policy(env, p, episodes, seed=seed, name=n) for n, p in policies.items()]
    return results, fit_seconds


def print_results(results: list[RolloutResult], unit: str) -> None:
    """Prints one row per policy."""
    print(
        f"{'policy':>14} | {'mean return':>18} | {'CTR':>5} | {'length':>6} | "
        f"{'coverage':>8} | {'diversity':>9}"
    )
    for r in results:
        print(
            f"{r.policy:>14} | {r.mean_return:>8.2f} ± {r.return_half_width:<7.2f} | "
            f"{r.ctr:>5.3f} | {r.mean_length:>6.1f} | {r.coverage:>8.3f} | {r.diversity:>9.3f}"
        )
    print(f"(return unit: {unit})")


def rows(results: list[RolloutResult]) -> list[dict]:
    """JSON-ready rows."""
    return [
        {k: (round(v, 4) if isinstance(v, float) else v) for k, v in r.as_row().items()}
        for r in results
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=400, help="timed steps per catalog size")
    parser.add_argument("--episodes", type=int, default=1024, help="episodes per policy")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--movielens",
        type=Path,
        default=DEFAULT_ML100K,
        help="ml-100k folder for the semi-synthetic part (skipped when absent)",
    )
    args = parser.parse_args()

    load_before = os.getloadavg()
    throughput(CATALOGS[0], args.steps // 4, args.seed)  # process warm-up, discarded
    speed = []
    for n in CATALOGS:  # median of 3 runs: the machine is shared
        runs = [throughput(n, args.steps, args.seed + r) for r in range(3)]
        speed.append({k: float(np.median([r[k] for r in runs])) for k in runs[0]})
        speed[-1]["num_items"] = n
    print(
        f"\nSimulator throughput (batch {BATCH}, random policy, median of 3 x {args.steps} steps)"
    )
    print(f"{'catalog':>9} | {'env+policy /s':>14} | {'env only /s':>12} | {'env only /CPU-s':>15}")
    for row in speed:
        print(
            f"{row['num_items']:>9,} | {row['user_steps_per_s']:>14,.0f} | "
            f"{row['env_only_user_steps_per_s']:>12,.0f} | "
            f"{row['env_only_user_steps_per_cpu_s']:>15,.0f}"
        )

    start = time.perf_counter()
    results = reference_returns(args.episodes, args.seed)
    eval_seconds = time.perf_counter() - start
    print(f"\nReference policies, default config ({args.episodes} episodes each, 95% t-interval)")
    print_results(results, "minutes of engagement")
    ordered = all(a.return_upper < b.return_lower for a, b in zip(results, results[1:]))
    print(f"\nrandom < popular < myopic < far-sighted with non-overlapping CIs: {ordered}")

    semi, fit_seconds = [], None
    if (args.movielens / "u.data").is_file():
        semi, fit_seconds = semi_synthetic_returns(args.movielens, args.episodes, args.seed)
        print(
            f"\nSemi-synthetic simulator on MovieLens-100k (implicit ALS fit {fit_seconds:.1f} s, "
            f"{args.episodes} episodes each)"
        )
        print_results(semi, "clicks")
    else:
        print(f"\n(no MovieLens-100k at {args.movielens}: semi-synthetic part skipped)")
    load_after = os.getloadavg()
    print(
        f"load average before/after (1, 5, 15 min): {load_before} / {load_after}; "
        f"cpus: {os.cpu_count()}"
    )
    print(
        json.dumps(
            {
                "benchmark": "simulator",
                "batch_size": BATCH,
                "timed_steps": args.steps,
                "throughput": speed,
                "episodes_per_policy": args.episodes,
                "reference_returns": [
                    {k: (round(v, 4) if isinstance(v, float) else v) for k, v in r.as_row().items()}
                    for r in results
                ],
                "ordering_holds": ordered,
                "evaluation_seconds": round(eval_seconds, 1),
                "loadavg_before": load_before,
                "loadavg_after": load_after,
                "cpu_count": os.cpu_count(),
                "python": platform.python_version(),
            }
        )
    )


if __name__ == "__main__":
    main()
