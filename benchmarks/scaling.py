"""Scaling benchmark: offline REINFORCE steps/s on 1 vs 2 devices, and peak memory vs catalog size.

Usage::

    .venv/bin/python benchmarks/scaling.py            # both parts (a few minutes)
    .venv/bin/python benchmarks/scaling.py --quick    # smaller runs

Part 1 splits the CPU into two logical devices and trains the same job with the ``default``
strategy (one device) and ``mirrored`` (two replicas, the global batch split between them).
On a CPU both "devices" share the same cores, so this measures the overhead of replication
(all-reduce, per-replica graphs), not a speed-up; on GPUs each replica gets its own chip.
Steps/s are ``(N2 - N1) / (T(N2) - T(N1))`` from two runs of N1 and N2 steps, so that tracing and
start-up cancel out, after a discarded warm-up run (NaN when the difference is not positive: too
noisy a machine).

Part 2 trains, in a fresh child process per catalog size, a REINFORCE agent with sampled softmax
(1024 negatives) and Adagrad (which updates only the used rows of the item tables) on a catalog
of 10k / 100k / 1M items, and reports the child's peak RSS (``ru_maxrss``) and its RSS before
the model was built. The machine is shared: ``os.getloadavg()`` is printed.

The last line of the output is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np

import tfrec  # noqa: F401  (Keras 2 before TensorFlow)

ENCODER = dict(max_len=10, dim=16, num_layers=1, num_heads=1, dropout=0.0)


def _rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def memory_child(num_items: int, steps: int) -> dict:
    """Trains ``steps`` steps on a ``num_items`` catalog; returns memory and time figures."""
    from tfrec.data import ItemVocabulary, generate_log
    from tfrec.training.config import AgentConfig, EncoderConfig, OfflineConfig
    from tfrec.training.offline import train_from_log

    rss_start = _rss_mb()
    log = generate_log(num_users=200, num_items=2000, interactions_per_user=12, seed=0)
    # The catalog: every item of the log plus unseen ones up to num_items.
    seen = list(dict.fromkeys(log.df["item"].tolist()))
    extra = [f"extra_{j}" for j in range(num_items - len(seen))]
    vocabulary = ItemVocabulary.from_items(seen + extra)
    agent = AgentConfig(
        slate_size=10, optimizer="adagrad", sampled_softmax_threshold=1000, num_sampled=1024
    )
    offline = OfflineConfig(max_steps=10, batch_size=32, num_train_steps=steps, progress=False)
    start = time.perf_counter()
    result = train_from_log(log, agent, EncoderConfig(**ENCODER), offline, vocabulary=vocabulary)
    seconds = time.perf_counter() - start
    assert result.agent.uses_sampled_softmax
    return {
        "items": num_items,
        "vocab_size": vocabulary.size,
        "rss_before_mb": rss_start,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "seconds": seconds,
        "final_loss": result.history.losses["loss"][-1],
    }


def throughput(strategy: str, steps: int) -> float:
    """Seconds of a ``steps``-step offline run under ``strategy`` (from a fresh agent)."""
    from tfrec.data import generate_log
    from tfrec.training.config import AgentConfig, EncoderConfig, OfflineConfig
    from tfrec.training.offline import train_from_log

    log = generate_log(num_users=500, num_items=1000, interactions_per_user=20, seed=0)
    config = OfflineConfig(
        max_steps=10, batch_size=64, num_train_steps=steps, progress=False, strategy=strategy
    )
    start = time.perf_counter()
    train_from_log(log, AgentConfig(slate_size=10), EncoderConfig(**ENCODER), config)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer steps, smaller catalogs")
    parser.add_argument("--memory-child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--steps", type=int, default=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        print(json.dumps(memory_child(args.memory_child, args.steps)))
        return

    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    # 100 extra steps (~10 s) so that run-to-run tracing noise (~1 s) stays small against them.
    short, long = (3, 23) if args.quick else (5, 105)
    speed = {}
    for strategy in ("default", "mirrored"):
        # A discarded warm-up run first: the first run in a process pays one-time costs (kernel
        # registration, thread pools) that would otherwise land in t_short and can make
        # t_long - t_short meaningless (even negative).
        throughput(strategy, short)
        t_short, t_long = throughput(strategy, short), throughput(strategy, long)
        speed[strategy] = (long - short) / (t_long - t_short) if t_long > t_short else float("nan")

    sizes = (10_000, 100_000) if args.quick else (10_000, 100_000, 1_000_000)
    memory = []
    for items in sizes:
        child = subprocess.run(
            [sys.executable, __file__, "--memory-child", str(items), "--steps", "5"],
            capture_output=True,
            text=True,
            env={**os.environ, "CUDA_VISIBLE_DEVICES": ""},
        )
        if child.returncode:
            raise SystemExit(f"memory child for {items} items failed:\n{child.stderr[-3000:]}")
        memory.append(json.loads(child.stdout.strip().splitlines()[-1]))
    if len(memory) >= 2:
        a, b = memory[-2], memory[-1]
        per_million = (b["peak_rss_mb"] - a["peak_rss_mb"]) / ((b["items"] - a["items"]) / 1e6)
    else:
        per_million = float("nan")
    load = os.getloadavg()

    print(
        f"load average (1/5/15 min): {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}, cpus {os.cpu_count()}"
    )
    print("\nOffline REINFORCE, batch 64 x 11 steps, dim 16, 1k items (steps/s)")
    print(f"{'strategy':<12}{'replicas':>9}{'steps/s':>10}")
    for name, replicas in (("default", 1), ("mirrored", 2)):
        print(f"{name:<12}{replicas:>9}{speed[name]:>10.2f}")
    print("\nSampled softmax (1024 negatives) + Adagrad, dim 16, 5 steps: memory vs catalog")
    print(f"{'items':>10}{'RSS before MB':>15}{'peak RSS MB':>13}{'s (5 steps)':>13}")
    for row in memory:
        print(
            f"{row['items']:>10,}{row['rss_before_mb']:>15.0f}{row['peak_rss_mb']:>13.0f}"
            f"{row['seconds']:>13.1f}"
        )
    print(f"\npeak RSS per million items (slope of the last two): {per_million:.0f} MB")
    print(
        json.dumps(
            {
                "loadavg": [round(x, 2) for x in load],
                "steps_per_second": {
                    k: None if np.isnan(v) else round(v, 3) for k, v in speed.items()
                },
                "memory": memory,
                "peak_rss_mb_per_million_items": None
                if np.isnan(per_million)
                else round(per_million, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
