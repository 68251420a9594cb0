"""Where batch-1 serving time goes at 100k items: encoder vs scoring, with and without XLA.

Runs in-process (``tf.function``s, no SavedModel), so it isolates the compute of
``serving_default`` from loading and signature overhead. Prints a table and, as its last line,
one JSON object with the same figures.

Usage: ``.venv/bin/python benchmarks/serving_breakdown.py [--items 100000] [--calls 200]``
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np

# isort: off
import tfrec  # noqa: F401  (must come first: TensorFlow with Keras 2)
import tensorflow as tf

# isort: on
from tfrec.encoders import SequenceEncoder


def median_ms(fn, calls: int) -> float:
    """Median wall-clock milliseconds of ``fn()`` (result materialised) after one warm-up call."""
    fn()
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times) * 1e3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--max-len", type=int, default=50)
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    vocab_size = args.items + 2
    encoder = SequenceEncoder(vocab_size, args.max_len, dim=args.dim, num_layers=2, num_heads=2)
    encoder.build(None)
    table_np = rng.standard_normal((vocab_size, args.dim), dtype=np.float32)
    table = tf.Variable(table_np)
    ids = tf.constant(rng.integers(2, vocab_size, (1, args.max_len)), tf.int32)

    def encode(x):
        return encoder(x, training=False)

    def recommend(x):
        scores = tf.linalg.matmul(encode(x), table, transpose_b=True)
        return tf.math.top_k(scores[:, 2:], 10)

    load_before = os.getloadavg()
    rows = {}
    for jit in (False, True):
        enc_fn = tf.function(encode, jit_compile=jit)
        rec_fn = tf.function(recommend, jit_compile=jit)
        rows[f"xla={jit}"] = {
            "encoder_ms": median_ms(lambda f=enc_fn: f(ids).numpy(), args.calls),
            "encoder_score_topk_ms": median_ms(lambda f=rec_fn: f(ids)[0].numpy(), args.calls),
        }
    state = rng.standard_normal((1, args.dim), dtype=np.float32)
    numpy_ms = median_ms(lambda: np.argpartition(-(state @ table_np.T)[0], 10)[:10], args.calls)
    print(
        f"batch 1, {args.items:,} items, d={args.dim}, max_len {args.max_len}, median of {args.calls}"
    )
    print(f"{'variant':<10} {'encoder ms':>11} {'encoder+score+top10 ms':>23} {'/ numpy':>8}")
    for name, row in rows.items():
        ratio = row["encoder_score_topk_ms"] / numpy_ms
        row["ratio_to_numpy"] = ratio
        print(
            f"{name:<10} {row['encoder_ms']:>11.2f} {row['encoder_score_topk_ms']:>23.2f} {ratio:>8.2f}"
        )
    print(f"{'numpy ref':<10} {'-':>11} {numpy_ms:>23.2f}   (state @ table.T + argpartition)")
    print(f"load average before {load_before}, after {os.getloadavg()}")
    print(
        json.dumps(
            {
                "benchmark": "serving_breakdown",
                "items": args.items,
                "dim": args.dim,
                "max_len": args.max_len,
                "numpy_ms": numpy_ms,
                "variants": rows,
                "loadavg_before": load_before,
                "loadavg_after": os.getloadavg(),
            }
        )
    )


if __name__ == "__main__":
    main()
