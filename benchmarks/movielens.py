"""MovieLens-100k next-item benchmark: baselines vs the supervised Transformer (SASRec + full CE).

Protocol (the one of RecBole's SASRec runs that issue 3 compares with): every rating is an
implicit interaction; per user, interactions ordered by time; leave-last-out (last item = test,
second-to-last = validation); full ranking over every item of the catalog; ties are ranked
pessimistically. Each metric is reported twice: *unmasked* (items already in the history stay
candidates, RecBole's protocol) and *masked* (the user's whole history is excluded).

Two Transformer variants (``--variants``): plain SASRec, and SASRec with the learned repeat bias
(``SupervisedConfig.repeat_bias``: one trained scalar ``w`` added to the score of every item of
the input window, RepeatNet-style; a model parameter learned from the training data, not an
evaluation mask: the unmasked protocol is unchanged). Each is early-stopped on validation NDCG@10 (best weights restored); the test set is
ranked once per epoch only to draw the curve "test NDCG@10 vs training seconds" (it never selects
anything) and once at the end for the table. Training seconds exclude the evaluations.

Usage (from the repository root)::

    python benchmarks/movielens.py                       # ../shared/data/ml-100k, seeds 0 1 2
    python benchmarks/movielens.py --data ratings.csv --sep ,      # user item rating timestamp
    python benchmarks/movielens.py --data seqs.txt --format sequences  # user item1 item2 ...

Prints a table, then, as the very last line, one JSON object with the same figures.

The baselines and every (variant, seed) training run in their own process
(``benchmarks/movielens_runs.py``): TensorFlow keeps part of each trained model's memory, so one
process training six models grew by 40-70 MiB per seed. This orchestrator never imports
TensorFlow; the reported peak RSS is the largest job's plus the orchestrator's own.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
WORKER = Path(__file__).resolve().parent / "movielens_runs.py"
KS = (10, 20)
COLUMNS = ("hr@10", "ndcg@10", "hr@20", "ndcg@20", "mrr@10")
PEER_NDCG10 = 0.0523  # RecBole 1.2.1 SASRec after 3 epochs (~750 s), from issue 3
VARIANTS = {
    "plain": ("Transformer (SASRec, full CE)", {}),
    "repeat": ("Transformer + repeat bias", {"repeat_bias": True}),
}


def run_worker(spec: dict, workdir: Path) -> dict:
    """Runs one job of ``movielens_runs.py`` in a fresh Python process; returns its result."""
    spec_path, result_path = workdir / "spec.json", workdir / "result.json"
    spec_path.write_text(json.dumps(spec), encoding="utf-8")
    result_path.unlink(missing_ok=True)
    subprocess.run([sys.executable, str(WORKER), str(spec_path), str(result_path)], check=True)
    return json.loads(result_path.read_text(encoding="utf-8"))


def variant_costs(runs: list[dict]) -> dict[str, float | None]:
    """Mean training seconds, seconds per epoch, sequences per second and repeat weight."""
    weights = [r["repeat_weight"] for r in runs if r["repeat_weight"] is not None]
    return {
        "train_seconds_mean": float(np.mean([r["train_seconds"] for r in runs])),
        "seconds_per_epoch_mean": float(np.mean([r["seconds_per_epoch"] for r in runs])),
        "sequences_per_second_mean": float(np.mean([r["sequences_per_second"] for r in runs])),
        "repeat_weight_mean": float(np.mean(weights)) if weights else None,
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared/data/ml-100k")
    parser.add_argument("--sep", default=None, help="field separator (default: tab / whitespace)")
    parser.add_argument("--format", choices=("ratings", "sequences"), default="ratings")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--max-len", type=int, default=50)
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--heads", type=int, default=2)
    parser.add_argument("--dropout", type=float, default=0.3)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--patience", type=int, default=4)
    parser.add_argument(
        "--max-train-seconds", type=float, default=150.0, help="training budget per seed"
    )
    parser.add_argument("--label-smoothing", type=float, default=0.0)
    parser.add_argument("--weight-decay", type=float, default=0.0, help="AdamW decay (0: Adam)")
    parser.add_argument(
        "--output-bias", action="store_true", help="learned per-item output bias (untied)"
    )
    parser.add_argument(
        "--variants",
        nargs="+",
        choices=tuple(VARIANTS),
        default=list(VARIANTS),
        help="Transformer variants: plain SASRec and/or SASRec with the learned repeat bias",
    )
    args = parser.parse_args(argv)
    if args.sep is not None:
        args.sep = args.sep.encode().decode("unicode_escape")  # allows --sep '\t'

    started = time.perf_counter()
    load_at_start = os.getloadavg()
    data_spec = {
        "data": str(args.data),
        "sep": args.sep,
        "format": args.format,
        "max_len": args.max_len,
    }
    config = {
        "max_len": args.max_len,
        "dim": args.dim,
        "num_layers": args.layers,
        "num_heads": args.heads,
        "dropout": args.dropout,
        "learning_rate": args.lr,
        "batch_size": args.batch_size,
        "epochs": args.epochs,
        "patience": args.patience,
        "use_output_bias": args.output_bias,
        "label_smoothing": args.label_smoothing,
        "weight_decay": args.weight_decay,
    }
    with tempfile.TemporaryDirectory(prefix="movielens_bench_") as tmp:
        workdir = Path(tmp)
        baselines = run_worker({**data_spec, "job": "baselines"}, workdir)
        results: dict[str, dict] = dict(baselines["metrics"])
        job_rss = [baselines["peak_rss_bytes"]]
        runs, stds = [], {}
        for variant in args.variants:
            name, overrides = VARIANTS[variant]
            variant_runs = []
            for seed in args.seeds:
                spec = {
                    **data_spec,
                    "job": "train",
                    "config": {**config, **overrides, "seed": seed},
                    "budget_s": args.max_train_seconds,
                }
                run = run_worker(spec, workdir)
                run["variant"] = variant
                job_rss.append(run["peak_rss_bytes"])
                variant_runs.append(run)
            runs += variant_runs
            results[name] = {
                view: {
                    key: float(np.mean([r["metrics"][view][key] for r in variant_runs]))
                    for key in variant_runs[0]["metrics"][view]
                }
                for view in ("unmasked", "masked")
            }
            stds[name] = {
                view: {
                    key: float(np.std([r["metrics"][view][key] for r in variant_runs]))
                    for key in COLUMNS
                }
                for view in ("unmasked", "masked")
            }
    own_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    peak_bytes = max(job_rss) + own_rss  # one job at a time, beside this orchestrator
    report = {
        "benchmark": "movielens",
        "data": str(args.data),
        "protocol": "leave-last-out by time, full ranking, pessimistic ties",
        "config": config,
        "seeds": args.seeds,
        "metrics": results,
        "variants": {v: VARIANTS[v][0] for v in args.variants},
        "variant_overrides": {v: VARIANTS[v][1] for v in args.variants},  # on top of "config"
        "transformer_std": stds,
        "runs": [{k: v for k, v in r.items() if k != "metrics"} for r in runs],
        "variant_costs": {
            v: variant_costs([r for r in runs if r["variant"] == v]) for v in args.variants
        },
        "peak_rss_bytes": peak_bytes,
        "peak_rss_mb": peak_bytes / 2**20,
        "job_peak_rss_bytes": job_rss,
        "orchestrator_rss_bytes": own_rss,
        "wall_seconds": time.perf_counter() - started,
        "load_average_start": load_at_start,
        "load_average": os.getloadavg(),
        "cpu_count": os.cpu_count(),
    }
    print_table(report)
    print(json.dumps(report))
    return report


def print_table(report: dict) -> None:
    """Readable table of the report."""
    header = f"{'model':32s}" + "".join(f"{c.upper():>10s}" for c in COLUMNS)
    for view in ("unmasked", "masked"):
        print(f"\n{view} (history items {'kept' if view == 'unmasked' else 'excluded'}):")
        print(header)
        for name, metrics in report["metrics"].items():
            print(f"{name:32s}" + "".join(f"{metrics[view][c]:10.4f}" for c in COLUMNS))
    print(f"\nTransformer runs over seeds {report['seeds']} (means):")
    for variant, cost in report["variant_costs"].items():
        weight = cost["repeat_weight_mean"]
        learned = f"; learned repeat weight {weight:.2f}" if weight is not None else ""
        print(
            f"  {report['variants'][variant]}: training {cost['train_seconds_mean']:.1f} s, "
            f"{cost['seconds_per_epoch_mean']:.1f} s/epoch, "
            f"{cost['sequences_per_second_mean']:.0f} training sequences/s{learned}"
        )
    print(
        f"peak RSS {report['peak_rss_mb']:.0f} MiB ({report['peak_rss_bytes']:.4g} B: largest job "
        f"{max(report['job_peak_rss_bytes']) / 2**20:.0f} MiB + orchestrator "
        f"{report['orchestrator_rss_bytes'] / 2**20:.0f} MiB); wall {report['wall_seconds']:.0f} s; "
        f"load average {tuple(round(x, 2) for x in report['load_average_start'])} at start, "
        f"{tuple(round(x, 2) for x in report['load_average'])} at end on "
        f"{report['cpu_count']} CPUs"
    )
    print("test NDCG@10 vs training seconds (per seed; the test set never selects anything):")
    for run in report["runs"]:
        points = "  ".join(f"{s:.0f}s:{n:.4f}" for s, n in run["curve"])
        reach = run["seconds_to_peer_ndcg10"]
        reached = f"{reach:.0f} s" if reach is not None else "not reached"
        weight = run["repeat_weight"]
        learned = f", w = {weight:.2f}" if weight is not None else ""
        print(
            f"  {run['variant']} seed {run['seed']} (NDCG@10 >= {PEER_NDCG10} at {reached}"
            f"{learned}): {points}"
        )


if __name__ == "__main__":
    main()
