"""Data-layer benchmark: 1,000,000 generated interactions (100k users, 50k items).

Measures, on the CPU:
  * seconds to build the vocabulary, the sequences and the leave-last-out split;
  * seconds from building each tf.data pipeline to holding its 100th batch (batch size 256,
    shuffled, max_len 50; session rows of 20 steps, session gap 30 minutes);
  * peak resident memory of the process (``resource.getrusage``, includes TensorFlow itself).

Usage: ``.venv/bin/python benchmarks/data_pipeline.py [--interactions N --users U --items I]``.
Prints a table, then as its very last line one JSON object with the same figures.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import time

import tfrec  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)
from tfrec.data import (
    ItemVocabulary,
    build_sequences,
    generate_log,
    leave_last_out,
    next_item_dataset,
    sequence_dataset,
    session_dataset,
)


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def _time_to_batch(dataset, batches: int) -> float:
    start = time.perf_counter()
    for i, _ in enumerate(dataset):
        if i + 1 == batches:
            break
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interactions", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--items", type=int, default=50_000)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--batches", type=int, default=100)
    parser.add_argument("--max-len", type=int, default=50)
    parser.add_argument("--max-steps", type=int, default=20)
    args = parser.parse_args()

    load_before = os.getloadavg()
    t0 = time.perf_counter()
    log = generate_log(
        args.users, args.items, total_interactions=args.interactions, seed=0, with_propensity=True
    )
    generate_s = time.perf_counter() - t0

    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    vocab = ItemVocabulary.from_items(log.df["item"])
    timings["vocabulary_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    seqs = build_sequences(log, vocab)
    timings["sequences_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    train, valid, test = leave_last_out(seqs)
    timings["splits_s"] = time.perf_counter() - t0
    build_s = timings["vocabulary_s"] + timings["sequences_s"] + timings["splits_s"]

    pipelines = {
        "next_item": lambda: next_item_dataset(train, args.max_len, args.batch_size, seed=0),
        "sequence": lambda: sequence_dataset(train, args.max_len, args.batch_size, seed=0),
        "session": lambda: session_dataset(
            train, args.max_len, args.max_steps, args.batch_size, seed=0, session_gap=1800
        ),
    }
    to_batch: dict[str, float] = {}
    for name, make in pipelines.items():
        start = time.perf_counter()
        dataset = make()
        to_batch[name] = (time.perf_counter() - start) + _time_to_batch(dataset, args.batches)
    total_s = build_s + sum(to_batch.values())
    peak_mb = _peak_rss_mb()
    load_after = os.getloadavg()

    rows = [
        ("interactions / users / items", f"{len(log)} / {log.num_users} / {log.num_items}"),
        ("generate log (not counted)", f"{generate_s:.2f} s"),
        ("vocabulary", f"{timings['vocabulary_s']:.2f} s"),
        ("sequences", f"{timings['sequences_s']:.2f} s"),
        ("leave-last-out split", f"{timings['splits_s']:.2f} s"),
        *[
            (f"{name} pipeline: to batch {args.batches} (B={args.batch_size})", f"{s:.2f} s")
            for name, s in to_batch.items()
        ],
        ("total (build + 3 pipelines)", f"{total_s:.2f} s"),
        ("peak RSS", f"{peak_mb:.0f} MB"),
        ("load average before / after", f"{load_before[0]:.2f} / {load_after[0]:.2f}"),
        ("CPUs", f"{os.cpu_count()} ({platform.processor() or platform.machine()})"),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"{'measure':<{width}}  value")
    print("-" * (width + 14))
    for label, value in rows:
        print(f"{label:<{width}}  {value}")
    result = {
        "interactions": len(log),
        "users": log.num_users,
        "items": log.num_items,
        "batch_size": args.batch_size,
        "batches": args.batches,
        "max_len": args.max_len,
        "generate_s": round(generate_s, 3),
        **{k: round(v, 3) for k, v in timings.items()},
        "build_s": round(build_s, 3),
        **{f"{k}_to_batch_{args.batches}_s": round(v, 3) for k, v in to_batch.items()},
        "total_s": round(total_s, 3),
        "peak_rss_mb": round(peak_mb, 1),
        "loadavg_1min_before": round(load_before[0], 2),
        "loadavg_1min_after": round(load_after[0], 2),
        "cpu_count": os.cpu_count(),
        "train_users": len(train),
        "valid_users": len(valid),
        "test_users": len(test),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
