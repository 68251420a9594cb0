"""Sequential next-item benchmark: baselines vs the supervised Transformer (SASRec), any data set.

Protocol (S3-Rec / ICLRec, the one the published figures use): per user, interactions in time
order; leave-one-out (last item = test, second-to-last = validation, the rest = training); full
ranking over every item of the catalog; ties ranked pessimistically. Every metric (HR, NDCG, MRR
@10 and @20) is reported twice: *masked* (the user's whole history removed from the candidates,
as published) and *unmasked* (history items stay candidates).

Data sets: ``--dataset ml-100k | sports | yelp`` read ``../shared/data`` (see its README), or
``--data FILE`` with ``--format ratings`` (``user item rating timestamp`` rows, or an ml-100k
folder) or ``--format sequences`` (one ``user item1 item2 ...`` line per user, oldest first).

Models: Random, MostPopular, ItemKNN (co-occurrence, sparse), EASE (Steck 2019; skipped with the
reason when its dense ``[V, V]`` matrices would exceed 1.5 GB), and the Transformer variants
(``--variants``): plain SASRec, and SASRec with the learned repeat bias (a trained scalar added to
the scores of the input window's items, RepeatNet-style; full softmax only). The Transformer's
recipe is ``SupervisedConfig``'s defaults (``tfrec.training.supervised``, the recommended one);
each flag below overrides one field. Training is budgeted by ``--max-train-seconds`` (training
seconds, evaluation excluded) and early-stopped on validation NDCG@10 (``--select masked``, the
published protocol, by default); the test set is ranked once, at the end.

Usage (from the repository root)::

    python benchmarks/sequential.py --dataset sports            # seeds 0 1 2, 900 s per seed
    python benchmarks/sequential.py --dataset ml-100k --variants plain repeat
    python benchmarks/sequential.py --data seqs.txt --format sequences

Prints one line per epoch, a table beside the published figures, then, as the very last line,
one JSON object with the same figures. The baselines and each (variant, seed) training run in
their own process (``benchmarks/sequential_runs.py``): TensorFlow keeps part of each trained
model's memory, so one process training six models grew by 40-70 MiB per seed. This orchestrator
never imports TensorFlow; the reported peak RSS is the largest job's plus the orchestrator's own.
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
WORKER = Path(__file__).resolve().parent / "sequential_runs.py"
KS = (10, 20)
COLUMNS = ("hr@10", "ndcg@10", "hr@20", "ndcg@20", "mrr@10")
SHARED = REPO.parent / "shared" / "data"
DATASETS = {  # name -> (path, format)
    "ml-100k": (SHARED / "ml-100k", "ratings"),
    "sports": (SHARED / "amazon-sports" / "Sports_and_Outdoors.txt", "sequences"),
    "yelp": (SHARED / "yelp" / "Yelp.txt", "sequences"),
}
# Published full-ranking figures, masked protocol (../shared/data/README.md; ML-100k: issue 3's
# RecBole re-run, unmasked). (model, HR@10, NDCG@10, source).
PUBLISHED = {
    "sports": [
        ("SASRec (BCE, one negative)", 0.0350, 0.0192, "eSASRec benchmark README"),
        ("ICLRec", 0.0437, 0.0238, "ICLRec README"),
        ("SASRec + sampled softmax (256 neg.)", 0.0569, 0.0314, "eSASRec benchmark README"),
        ("eSASRec", 0.0560, 0.0323, "eSASRec benchmark README"),
        ("ICSRec", 0.0565, 0.0335, "ICSRec README"),
    ],
    "yelp": [("ICLRec", 0.0409, 0.0207, "ICLRec README")],
    "ml-100k": [("RecBole SASRec, 3 epochs (unmasked)", None, 0.0523, "issue 3")],
}
VARIANTS = {
    "plain": ("Transformer (SASRec)", {}),
    "repeat": ("Transformer + repeat bias (full CE)", {"repeat_bias": True, "loss": "full"}),
}
# Recipe flags: argparse dest -> SupervisedConfig field, or its encoder's (EncoderConfig) field
# (None = the library default).
RECIPE_FLAGS = {
    "max_len": "max_len",
    "dim": "dim",
    "layers": "num_layers",
    "heads": "num_heads",
    "dropout": "dropout",
    "lr": "learning_rate",
    "batch_size": "batch_size",
    "epochs": "epochs",
    "patience": "patience",
    "loss": "loss",
    "sampler": "sampler",
    "num_sampled": "num_sampled",
    "warmup_steps": "warmup_steps",
    "lr_schedule": "lr_schedule",
    "clipnorm": "clipnorm",
    "label_smoothing": "label_smoothing",
    "weight_decay": "weight_decay",
}


def run_worker(spec: dict, workdir: Path) -> dict:
    """Runs one job of ``sequential_runs.py`` in a fresh Python process; returns its result."""
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


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", choices=tuple(DATASETS), default=None)
    parser.add_argument("--data", type=Path, default=None, help="a file instead of --dataset")
    parser.add_argument("--sep", default=None, help="field separator (default: tab / whitespace)")
    parser.add_argument("--format", choices=("ratings", "sequences"), default=None)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument(
        "--max-train-seconds", type=float, default=900.0, help="training budget per seed"
    )
    parser.add_argument(
        "--select",
        choices=("masked", "unmasked"),
        default="masked",
        help="validation protocol of early stopping",
    )
    parser.add_argument(
        "--variants",
        nargs="+",
        choices=tuple(VARIANTS),
        default=["plain"],
        help="Transformer variants: plain SASRec and/or SASRec with the learned repeat bias",
    )
    parser.add_argument(
        "--length-buckets",
        default=None,
        help="comma-separated window lengths, or 'none' to pad every window to max_len",
    )
    parser.add_argument("--no-baselines", action="store_true", help="Transformer runs only")
    for dest in RECIPE_FLAGS:
        flag = "--" + dest.replace("_", "-")
        if dest in ("loss", "sampler", "lr_schedule"):
            parser.add_argument(flag, default=None)
        elif dest in (
            "max_len",
            "dim",
            "layers",
            "heads",
            "batch_size",
            "epochs",
            "patience",
            "num_sampled",
            "warmup_steps",
        ):
            parser.add_argument(flag, type=int, default=None)
        else:
            parser.add_argument(flag, type=float, default=None)
    parser.add_argument("--output-bias", action="store_true", help="learned per-item output bias")
    args = parser.parse_args(argv)
    if args.data is None:
        args.dataset = args.dataset or "ml-100k"
        args.data, default_format = DATASETS[args.dataset]
        args.format = args.format or default_format
    args.format = args.format or "ratings"
    if args.sep is not None:
        args.sep = args.sep.encode().decode("unicode_escape")  # allows --sep '\t'
    return args


def recipe_overrides(args: argparse.Namespace) -> dict:
    """The ``SupervisedConfig`` fields given on the command line (the rest: library defaults)."""
    config = {
        field: getattr(args, dest)
        for dest, field in RECIPE_FLAGS.items()
        if getattr(args, dest) is not None
    }
    if args.output_bias:
        config["use_output_bias"] = True
    if args.length_buckets is not None:
        config["length_buckets"] = (
            None
            if args.length_buckets == "none"
            else [int(b) for b in args.length_buckets.split(",")]
        )
    config["exclude_history"] = args.select == "masked"
    config["max_train_seconds"] = args.max_train_seconds
    return config


def mean_and_std(runs: list[dict]) -> tuple[dict, dict]:
    """Per-view mean and std over seeds of the runs' test metrics."""
    views = ("unmasked", "masked")
    means = {
        v: {k: float(np.mean([r["metrics"][v][k] for r in runs])) for k in runs[0]["metrics"][v]}
        for v in views
    }
    stds = {
        v: {k: float(np.std([r["metrics"][v][k] for r in runs])) for k in COLUMNS} for v in views
    }
    return means, stds


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    if not Path(args.data).exists():
        print(f"data not found: {args.data} (see ../shared/data/README.md); nothing to run.")
        return {}
    started = time.perf_counter()
    load_at_start = os.getloadavg()
    config = recipe_overrides(args)
    data_spec = {
        "data": str(args.data),
        "sep": args.sep,
        "format": args.format,
        "max_len": config.get("max_len"),
    }
    results: dict[str, dict] = {}
    stds: dict[str, dict] = {}
    skipped: dict[str, str] = {}
    dataset: dict = {}
    runs: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="sequential_bench_") as tmp:
        workdir = Path(tmp)
        job_rss = []
        if not args.no_baselines:
            baselines = run_worker({**data_spec, "job": "baselines"}, workdir)
            results.update(baselines["metrics"])
            skipped, dataset = baselines["skipped"], baselines["dataset"]
            job_rss.append(baselines["peak_rss_bytes"])
        for variant in args.variants:
            name, overrides = VARIANTS[variant]
            variant_runs = []
            for seed in args.seeds:
                spec = {
                    **data_spec,
                    "job": "train",
                    "config": {**config, **overrides, "seed": seed},
                }
                run = run_worker(spec, workdir)
                run["variant"] = variant
                job_rss.append(run["peak_rss_bytes"])
                variant_runs.append(run)
            runs += variant_runs
            results[name], stds[name] = mean_and_std(variant_runs)
    own_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    peak_bytes = max(job_rss) + own_rss  # one job at a time, beside this orchestrator
    report = {
        "benchmark": "sequential",
        "dataset_name": args.dataset,
        "data": str(args.data),
        "dataset": dataset,
        "protocol": "leave-one-out per user, full ranking, pessimistic ties; masked = history "
        "removed from the candidates",
        "select": args.select,
        "recipe_overrides": config,
        "seeds": args.seeds,
        "metrics": results,
        "skipped": skipped,
        "published": PUBLISHED.get(args.dataset, []),
        "variants": {v: VARIANTS[v][0] for v in args.variants},
        "variant_overrides": {v: VARIANTS[v][1] for v in args.variants},
        "transformer_std": stds,
        "runs": [{k: v for k, v in r.items() if k != "metrics"} for r in runs],
        "per_seed_masked": {
            f"{r['variant']}/{r['seed']}": {k: r["metrics"]["masked"][k] for k in COLUMNS}
            for r in runs
        },
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
    """Readable tables of the report: masked then unmasked, the published figures, the costs."""
    header = f"{'model':40s}" + "".join(f"{c.upper():>10s}" for c in COLUMNS)
    for view in ("masked", "unmasked"):
        kept = "kept" if view == "unmasked" else "removed from the candidates"
        print(f"\n{view} (history items {kept}; Transformers: mean over seeds ± std):")
        print(header)
        for name, metrics in report["metrics"].items():
            std = report["transformer_std"].get(name, {}).get(view)
            cells = "".join(f"{metrics[view][c]:10.4f}" for c in COLUMNS)
            print(f"{name:40s}{cells}")
            if std:
                print(f"{'  ± std':40s}" + "".join(f"{std[c]:10.4f}" for c in COLUMNS))
    for name, reason in report["skipped"].items():
        print(f"{name} skipped: {reason}")
    if report["published"]:
        print("\npublished (full ranking, history masked unless stated):")
        for model, hr, ndcg, source in report["published"]:
            hr_cell = f"{hr:.4f}" if hr is not None else "   -  "
            print(f"  {model:40s} HR@10 {hr_cell}  NDCG@10 {ndcg:.4f}  ({source})")
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
    print("validation NDCG@10 vs training seconds (per seed; early stopping's metric):")
    for run in report["runs"]:
        points = "  ".join(f"{s:.0f}s:{n:.4f}" for s, n in run["curve"])
        weight = run["repeat_weight"]
        learned = f", w = {weight:.2f}" if weight is not None else ""
        print(
            f"  {run['variant']} seed {run['seed']} (best epoch {run['best_epoch']} of "
            f"{run['epochs']}{learned}): {points}"
        )


if __name__ == "__main__":
    main()
