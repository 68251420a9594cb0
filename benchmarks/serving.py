"""Serving benchmark: ``serving_default`` latency and throughput of exported SavedModels.

For each catalog size (default 10k / 100k / 1M items, d = 64, a random-weight 2-layer
SequenceEncoder with max_len 50), the parent process exports the model with
``tfrec.export.export_for_serving`` (float32, and the float16 / int8 item tables), then a **fresh
process that imports only tensorflow and numpy** loads the exports and measures, on full windows of
50 string item ids:

  * latency p50 / p99 at batch 1 (one call = one request, ``.numpy()`` included);
  * throughput at batch 256 (requests per second);
  * beside it, the memory-bandwidth reference: bare numpy ``state @ item_table.T`` +
    ``argpartition`` (+ sorting the top k) on the same float32 table, same batch sizes;
  * for float16 / int8: the top-10 agreement with the float32 export on the same requests
    (mean |top10 ∩ top10_float32| / 10).

The TF figures include what the reference leaves out (string lookup, history compaction, the
Transformer encoder), so ``ratio = p50(tf) / p50(numpy)`` is an upper bound of the serving overhead.

Usage: ``.venv/bin/python benchmarks/serving.py [--sizes 10000,100000,1000000] [--calls 200]``.
Prints a table, then as its very last line one JSON object with the same figures. The machine
load average (``os.getloadavg()``) is printed too: timings on a shared machine are noisy.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

DIM = 64
MAX_LEN = 50
K = 10
BATCH = 256
DTYPES = ("float32", "float16", "int8")
DEFAULT_VARIANTS = "float32,float32:4,float16,int8"


def parse_variant(variant: str) -> tuple[str, int]:
    """``"float16"`` -> ("float16", 1) (the export's default, one shard); ``"float32:4"`` -> 4."""
    dtype, _, shards = variant.partition(":")
    if dtype not in DTYPES or (shards and (not shards.isdigit() or int(shards) < 1)):
        raise ValueError(
            f"variant {variant!r}: expected DTYPE or DTYPE:SHARDS (SHARDS >= 1), DTYPE in {DTYPES}"
        )
    return dtype, int(shards) if shards else 1


def _export(num_items: int, root: Path, variants: tuple[str, ...]) -> dict[str, str]:
    """Exports a random-weight encoder over ``num_items`` items; returns {variant: dir}."""
    import tfrec  # noqa: F401, I001  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)
    import tensorflow as tf

    from tfrec.encoders import SequenceEncoder
    from tfrec.export import export_for_serving

    tf.keras.utils.set_random_seed(0)
    ids = [f"item_{i}" for i in range(num_items)]
    encoder = SequenceEncoder(num_items + 2, max_len=MAX_LEN, dim=DIM, num_layers=2, dropout=0.0)
    encoder(np.zeros((1, MAX_LEN), np.int32))
    np.save(root / f"table_{num_items}.npy", encoder.item_embedding.embeddings.numpy())
    dirs = {}
    for variant in variants:
        dtype, shards = parse_variant(variant)
        path = export_for_serving(
            encoder,
            ids,
            base_dir=root / f"m{num_items}_{variant.replace(':', '_')}",
            k=K,
            item_table_dtype=dtype,
            num_shards=shards,
            save_keras=False,
        )
        dirs[variant] = str(path)
    return dirs


def _percentiles(seconds: list[float]) -> tuple[float, float]:
    ms = np.asarray(seconds) * 1e3
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 99))


def _measure(args: argparse.Namespace) -> None:
    """Child process: plain TensorFlow + numpy only."""
    import tensorflow as tf

    assert "tfrec" not in sys.modules
    dirs = json.loads(args.measure)
    table = np.load(args.table)
    num_items = table.shape[0] - 2
    rng = np.random.default_rng(1)

    def requests(batch: int, count: int) -> list[np.ndarray]:
        picks = rng.integers(0, num_items, size=(count, batch, MAX_LEN))
        return [np.char.add("item_", p.astype(str)).astype(object) for p in picks]

    if args.intra_op:
        tf.config.threading.set_intra_op_parallelism_threads(args.intra_op)
    if args.inter_op:
        tf.config.threading.set_inter_op_parallelism_threads(args.inter_op)
    single = requests(1, args.calls)
    batched = requests(BATCH, args.batch_calls)

    # numpy reference: the scoring matmul + top-k selection alone, float32.
    def numpy_topk(states: np.ndarray) -> np.ndarray:
        scores = states @ table.T
        top = np.argpartition(scores, -K, axis=1)[:, -K:]
        order = np.argsort(-np.take_along_axis(scores, top, axis=1), axis=1)
        return np.take_along_axis(top, order, axis=1)

    serves = {v: tf.saved_model.load(p).signatures["serving_default"] for v, p in dirs.items()}
    states = rng.normal(size=(args.calls, 1, DIM)).astype(np.float32)
    for request, state in zip(single[:10], states[:10]):  # warm-up: kernels, lookup tables
        for serve in serves.values():
            serve(history=tf.constant(request))
        numpy_topk(state)
    # Batch-1 calls interleaved round-robin (each variant, then numpy, request by request), so a
    # change of machine load during the run hits every column alike.
    times: dict[str, list[float]] = {v: [] for v in [*serves, "numpy"]}
    for request, state in zip(single, states):
        for variant, serve in serves.items():
            start = time.perf_counter()
            serve(history=tf.constant(request))["item_ids"].numpy()
            times[variant].append(time.perf_counter() - start)
        start = time.perf_counter()
        numpy_topk(state)
        times["numpy"].append(time.perf_counter() - start)
    rows = []
    reference_ids = None
    for variant, serve in serves.items():
        p50, p99 = _percentiles(times[variant])
        serve(history=tf.constant(batched[0]))
        start = time.perf_counter()
        for request in batched:
            serve(history=tf.constant(request))["item_ids"].numpy()
        throughput = BATCH * len(batched) / (time.perf_counter() - start)
        agreement_ids = np.concatenate(
            [serve(history=tf.constant(r))["item_ids"].numpy() for r in batched[:2]]
        )
        if reference_ids is None:
            reference_ids, agreement = agreement_ids, 1.0
        else:
            agreement = float(
                np.mean([len(set(a) & set(b)) / K for a, b in zip(reference_ids, agreement_ids)])
            )
        path = dirs[variant]
        size_mb = sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file()) / 2**20
        meta = json.loads((Path(path) / "assets.extra" / "tfrec_export.json").read_text())
        rows.append(
            {
                "variant": variant,
                "shards": meta["item_table_shards"],
                "p50_ms": p50,
                "p99_ms": p99,
                "throughput_rps": throughput,
                "top10_agreement": agreement,
                "export_mb": size_mb,
            }
        )
    p50, p99 = _percentiles(times["numpy"])
    batch_states = rng.normal(size=(args.batch_calls, BATCH, DIM)).astype(np.float32)
    start = time.perf_counter()
    for state in batch_states:
        numpy_topk(state)
    throughput = BATCH * len(batch_states) / (time.perf_counter() - start)
    print(
        json.dumps(
            {"rows": rows, "numpy": {"p50_ms": p50, "p99_ms": p99, "throughput_rps": throughput}}
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument(
        "--variants",
        default=DEFAULT_VARIANTS,
        help="comma-separated DTYPE or DTYPE:SHARDS (first: the float32 reference of top10)",
    )
    parser.add_argument(
        "--intra-op", type=int, default=0, help="TF intra-op threads (0: TF default)"
    )
    parser.add_argument(
        "--inter-op", type=int, default=0, help="TF inter-op threads (0: TF default)"
    )
    parser.add_argument("--calls", type=int, default=200, help="timed batch-1 requests")
    parser.add_argument("--batch-calls", type=int, default=5, help="timed batch-256 requests")
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    parser.add_argument("--table", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        _measure(args)
        return

    sizes = [int(s) for s in args.sizes.split(",")]
    variants = tuple(v for v in args.variants.split(",") if v)
    try:
        parsed = [parse_variant(v) for v in variants]
    except ValueError as error:
        parser.error(str(error))
    if parsed[0][0] != "float32":
        parser.error("--variants must start with a float32 variant (the top10 reference).")
    load_before = os.getloadavg()
    results = []
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    env.pop("TF_USE_LEGACY_KERAS", None)
    with tempfile.TemporaryDirectory(prefix="tfrec-serving-bench-") as tmp:
        for num_items in sizes:
            start = time.perf_counter()
            dirs = _export(num_items, Path(tmp), variants)
            export_s = time.perf_counter() - start
            child = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--measure",
                    json.dumps(dirs),
                    "--table",
                    str(Path(tmp) / f"table_{num_items}.npy"),
                    "--calls",
                    str(args.calls),
                    "--batch-calls",
                    str(args.batch_calls),
                    "--intra-op",
                    str(args.intra_op),
                    "--inter-op",
                    str(args.inter_op),
                ],
                capture_output=True,
                text=True,
                env=env,
                check=False,
            )
            if child.returncode != 0:
                sys.exit(f"measuring {num_items} items failed:\n{child.stderr[-3000:]}")
            measured = json.loads(child.stdout.strip().splitlines()[-1])
            for row in measured["rows"]:
                row.update(
                    items=num_items,
                    numpy_p50_ms=measured["numpy"]["p50_ms"],
                    numpy_p99_ms=measured["numpy"]["p99_ms"],
                    numpy_throughput_rps=measured["numpy"]["throughput_rps"],
                    p50_ratio=row["p50_ms"] / measured["numpy"]["p50_ms"],
                    export_s=export_s,
                )
                results.append(row)
            for path in Path(tmp).iterdir():  # free disk between sizes
                if path.is_dir():
                    subprocess.run(["rm", "-rf", str(path)], check=True)
    load_after = os.getloadavg()

    header = (
        f"{'items':>9} {'table':>9} {'shards':>6} {'p50 ms':>8} {'p99 ms':>8} {'req/s@256':>10} "
        f"{'np p50':>8} {'np p99':>8} {'np req/s':>9} {'p50/np':>7} {'top10':>6} {'MB':>7}"
    )
    print(f"serving_default, batch 1 latency and batch {BATCH} throughput (d={DIM}, k={K})")
    print(header)
    print("-" * len(header))
    for r in results:
        print(
            f"{r['items']:>9,} {r['variant']:>9} {r['shards']:>6} {r['p50_ms']:>8.2f} {r['p99_ms']:>8.2f} "
            f"{r['throughput_rps']:>10.0f} {r['numpy_p50_ms']:>8.2f} {r['numpy_p99_ms']:>8.2f} "
            f"{r['numpy_throughput_rps']:>9.0f} {r['p50_ratio']:>7.2f} "
            f"{r['top10_agreement']:>6.3f} {r['export_mb']:>7.1f}"
        )
    target = [
        r
        for r in results
        if r["items"] == 100_000 and r["variant"] in ("float32", "float32:1") and r["shards"] == 1
    ]
    if target:
        verdict = "met" if target[0]["p50_ratio"] <= 2.0 else "MISSED"
        print(f"target p50(100k, float32) <= 2x numpy: {target[0]['p50_ratio']:.2f}x -> {verdict}")
    print(
        f"load average before {tuple(round(x, 2) for x in load_before)}, after "
        f"{tuple(round(x, 2) for x in load_after)}; {os.cpu_count()} CPUs; {platform.processor()}"
    )
    print(
        json.dumps(
            {
                "benchmark": "serving",
                "dim": DIM,
                "max_len": MAX_LEN,
                "k": K,
                "batch": BATCH,
                "calls": args.calls,
                "batch_calls": args.batch_calls,
                "intra_op": args.intra_op,
                "inter_op": args.inter_op,
                "loadavg_before": load_before,
                "loadavg_after": load_after,
                "cpus": os.cpu_count(),
                "results": results,
            }
        )
    )


if __name__ == "__main__":
    main()
