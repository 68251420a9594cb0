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
"""

from __future__ import annotations

import argparse
import ctypes
import dataclasses
import gc
import json
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
M_ARENA_MAX = -8  # glibc mallopt parameter


def limit_malloc_arenas(arenas: int = 2) -> None:
    """Caps glibc's per-thread malloc arenas before TensorFlow starts its thread pools.

    Each thread that meets contention gets its own heap arena (up to 8 x cores); freed tensor
    memory then stays scattered over many arenas and the resident set grows seed after seed.
    Same effect as ``MALLOC_ARENA_MAX=2`` in the environment; a no-op outside glibc.
    """
    if os.environ.get("MALLOC_ARENA_MAX"):
        return
    try:
        ctypes.CDLL("libc.so.6").mallopt(M_ARENA_MAX, arenas)
    except (OSError, AttributeError):
        pass


limit_malloc_arenas()
sys.path.insert(0, str(REPO))

# isort: off
import tfrec  # noqa: E402,F401  (must come first: sets TF_USE_LEGACY_KERAS before TF loads)
import pandas as pd  # noqa: E402
import tensorflow as tf  # noqa: E402

# isort: on
from tfrec.agents.supervised import (  # noqa: E402
    RankingCallback,
    SupervisedConfig,
    inference_scorer,
    train_next_item_model,
)
from tfrec.data import (  # noqa: E402
    InteractionLog,
    ItemVocabulary,
    build_sequences,
    leave_last_out,
)
from tfrec.data.pipeline import sequence_windows  # noqa: E402
from tfrec.evaluation.baselines import ItemCooccurrence, MostPopular, RandomScorer  # noqa: E402
from tfrec.evaluation.ranking import evaluate_ranking  # noqa: E402

KS = (10, 20)
COLUMNS = ("hr@10", "ndcg@10", "hr@20", "ndcg@20", "mrr@10")
PEER_NDCG10 = 0.0523  # RecBole 1.2.1 SASRec after 3 epochs (~750 s), from issue 3
VARIANTS = {
    "plain": ("Transformer (SASRec, full CE)", {}),
    "repeat": ("Transformer + repeat bias", {"repeat_bias": True}),
}


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MiB (Linux ru_maxrss is in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def release_memory() -> None:
    """Drops the previous seed's Keras graph and returns freed heap pages to the OS (glibc's
    ``malloc_trim``), so the peak RSS does not grow seed after seed."""
    tf.keras.backend.clear_session()
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to trim
        pass


def load_log(data: Path, sep: str | None, fmt: str) -> InteractionLog:
    """Reads ``user item rating timestamp`` rows (or an ml-100k folder) or sequence lines."""
    if fmt == "sequences":
        if not data.is_file():
            raise FileNotFoundError(f"sequence file not found: {data}")
        users, items, steps = [], [], []
        with open(data, encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                fields = line.split(sep) if sep else line.split()
                fields = [f.strip() for f in fields if f.strip()]
                if not fields:
                    continue
                if len(fields) < 2:
                    raise ValueError(
                        f"{data}:{number}: a sequence line is 'user item1 item2 ...'; got "
                        f"{line.strip()!r}."
                    )
                users += [fields[0]] * (len(fields) - 1)
                items += fields[1:]
                steps += range(len(fields) - 1)
        frame = pd.DataFrame({"user": users, "item": items, "timestamp": steps})
        return InteractionLog.from_dataframe(frame, source=str(data))
    path = data / "u.data" if data.is_dir() else data
    if not path.is_file():
        raise FileNotFoundError(
            f"ratings file not found: {path}. Pass --data pointing to an ml-100k folder or a "
            "'user item rating timestamp' file."
        )
    return InteractionLog.from_csv(
        path,
        sep=sep or "\t",
        header=False,
        names=["user", "item", "rating", "timestamp"],
        rating_col="rating",
        rating_to_reward=lambda rating: np.ones_like(rating),
    )


class TrainingClock(tf.keras.callbacks.Callback):
    """Accumulates pure training time: from epoch start to the end of its last batch, so the
    ranking callbacks that run at epoch end are not counted. Stops after ``budget_s``."""

    def __init__(self, budget_s: float | None = None) -> None:
        super().__init__()
        self.budget_s = budget_s
        self.seconds = 0.0
        self.epoch_seconds: list[float] = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = self._last = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self._last = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.epoch_seconds.append(self._last - self._start)
        self.seconds += self.epoch_seconds[-1]
        if logs is not None:
            logs["train_seconds"] = self.seconds
        if self.budget_s is not None and self.seconds >= self.budget_s:
            self.model.stop_training = True


class ProgressPrinter(tf.keras.callbacks.Callback):
    """One line per epoch: training seconds, loss, validation and test NDCG@10, RSS."""

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        print(
            f"  epoch {epoch + 1:3d}  train {logs.get('train_seconds', 0.0):6.1f} s  loss "
            f"{logs.get('loss', float('nan')):.4f}  val NDCG@10 {logs.get('val_ndcg@10', 0.0):.4f}"
            f"  test NDCG@10 {logs.get('test_ndcg@10', 0.0):.4f}  peak RSS {peak_rss_mb():.0f} MiB",
            flush=True,
        )


def evaluate_both(scorer, histories, targets, full_histories) -> dict[str, dict[str, float]]:
    """Unmasked and history-masked full-ranking metrics."""
    return {
        "unmasked": evaluate_ranking(scorer, histories, targets, ks=KS),
        "masked": evaluate_ranking(scorer, histories, targets, ks=KS, exclude=full_histories),
    }


def train_one_seed(
    config: SupervisedConfig,
    train,
    valid,
    test,
    vocab_size: int,
    budget_s: float,
    num_windows: int,
    eval_histories: tuple[np.ndarray, np.ndarray],
) -> dict:
    """Trains one seed of one variant; returns its test metrics, timing and NDCG@10 curve."""
    release_memory()
    histories, full_histories = eval_histories
    clock = TrainingClock(budget_s)
    curve = RankingCallback(test, config.max_len, ks=(10,), prefix="test_")
    fit_start = time.perf_counter()
    model, history = train_next_item_model(
        train, valid, config, vocab_size, [clock, curve, ProgressPrinter()]
    )
    fit_seconds = time.perf_counter() - fit_start
    metrics = evaluate_both(
        inference_scorer(model.encoder), histories, test.targets, full_histories
    )
    epochs = len(clock.epoch_seconds)
    curve_points = [
        (round(s, 1), round(r["ndcg@10"], 4))
        for s, r in zip(np.cumsum(clock.epoch_seconds), curve.results)
    ]
    weight = model.encoder.repeat_weight
    run = {
        "seed": config.seed,
        "metrics": metrics,
        "epochs": epochs,
        "best_epoch": int(np.argmax(history.history["val_ndcg@10"])) + 1,
        "train_seconds": clock.seconds,
        "fit_seconds_with_eval": fit_seconds,
        "seconds_per_epoch": clock.seconds / epochs,
        "sequences_per_second": num_windows * epochs / clock.seconds,
        "curve": curve_points,
        "seconds_to_peer_ndcg10": next((s for s, n in curve_points if n >= PEER_NDCG10), None),
        "repeat_weight": float(weight.numpy()) if weight is not None else None,
        "load_average": os.getloadavg(),
    }
    learned = f", learned repeat weight {run['repeat_weight']:.2f}" if weight is not None else ""
    print(
        f"seed {config.seed}: {epochs} epochs, {clock.seconds:.0f} s training, best epoch "
        f"{run['best_epoch']}, test NDCG@10 {metrics['unmasked']['ndcg@10']:.4f}{learned}",
        flush=True,
    )
    return run


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
    log = load_log(args.data, args.sep, args.format)
    vocab = ItemVocabulary.from_items(log.df["item"])
    train, valid, test = leave_last_out(build_sequences(log, vocab))
    full_len = int(test.histories.lengths.max())
    histories = test.padded_histories(args.max_len)
    full_histories = test.padded_histories(full_len)
    print(
        f"data: {args.data} ({log.num_users} users, {vocab.num_items} items, "
        f"{log.num_interactions} interactions); {len(test)} test users; "
        f"{train.num_interactions} training interactions"
    )

    results: dict[str, dict] = {}
    baselines = {
        "Random": RandomScorer(vocab.size, seed=0),
        "MostPopular": MostPopular.from_sequences(train, vocab.size),
        "ItemKNN (co-occurrence)": ItemCooccurrence.from_sequences(train, vocab.size),
    }
    for name, scorer in baselines.items():
        results[name] = evaluate_both(scorer, histories, test.targets, full_histories)

    config = SupervisedConfig(
        max_len=args.max_len,
        dim=args.dim,
        num_layers=args.layers,
        num_heads=args.heads,
        dropout=args.dropout,
        learning_rate=args.lr,
        batch_size=args.batch_size,
        epochs=args.epochs,
        patience=args.patience,
        use_output_bias=args.output_bias,
        label_smoothing=args.label_smoothing,
        weight_decay=args.weight_decay,
    )
    del baselines, scorer  # the co-occurrence matrix is not needed during training
    release_memory()
    num_windows = len(sequence_windows(train, config.max_len)[0])  # training sequences/epoch
    runs = []
    stds = {}
    for variant in args.variants:
        name, overrides = VARIANTS[variant]
        variant_runs = [
            train_one_seed(
                dataclasses.replace(config, seed=seed, **overrides),
                train,
                valid,
                test,
                vocab.size,
                args.max_train_seconds,
                num_windows,
                (histories, full_histories),
            )
            for seed in args.seeds
        ]
        for run in variant_runs:
            run["variant"] = variant
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
    report = {
        "benchmark": "movielens",
        "data": str(args.data),
        "protocol": "leave-last-out by time, full ranking, pessimistic ties",
        "config": dataclasses.asdict(config),
        "seeds": args.seeds,
        "metrics": results,
        "variants": {v: VARIANTS[v][0] for v in args.variants},
        "variant_overrides": {v: VARIANTS[v][1] for v in args.variants},  # on top of "config"
        "transformer_std": stds,
        "runs": [{k: v for k, v in r.items() if k != "metrics"} for r in runs],
        "variant_costs": {
            v: variant_costs([r for r in runs if r["variant"] == v]) for v in args.variants
        },
        "peak_rss_mb": peak_rss_mb(),
        "peak_rss_bytes": peak_rss_mb() * 1024 * 1024,
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
        f"peak RSS {report['peak_rss_mb']:.0f} MiB ({report['peak_rss_bytes']:.3e} B); wall {report['wall_seconds']:.0f} s; "
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
