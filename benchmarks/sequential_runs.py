"""Worker of ``benchmarks/sequential.py``: one job (the baselines, or one seed of one Transformer
variant) in its own process.

TensorFlow keeps part of every trained model's memory after ``clear_session`` (the resident set
grew by 40-70 MiB per seed when all seeds ran in one process), so the orchestrator runs each job
in a fresh process and never imports TensorFlow itself. Usage (by the orchestrator)::

    python benchmarks/sequential_runs.py SPEC.json RESULT.json
"""

from __future__ import annotations

import ctypes
import dataclasses
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
sys.path.insert(0, str(Path(__file__).resolve().parent))

# isort: off
import tfrec  # noqa: E402,F401  (must come first: sets TF_USE_LEGACY_KERAS before TF loads)
import tensorflow as tf  # noqa: E402

# isort: on
from sequential import KS  # noqa: E402

from tfrec.data import (  # noqa: E402
    InteractionLog,
    ItemVocabulary,
    build_sequences,
    leave_last_out,
    read_sequence_file,
)
from tfrec.data.pipeline import sequence_windows  # noqa: E402
from tfrec.evaluation.baselines import (  # noqa: E402
    EASE,
    ItemCooccurrence,
    MostPopular,
    RandomScorer,
)
from tfrec.evaluation.ranking import evaluate_ranking  # noqa: E402
from tfrec.training.config import EncoderConfig  # noqa: E402
from tfrec.training.fit_controls import TrainingBudget  # noqa: E402
from tfrec.training.supervised import (  # noqa: E402
    SUPERVISED_ENCODER,
    SupervisedConfig,
    inference_scorer,
    supervised_encoder,
    train_next_item_model,
)

ENCODER_FIELDS = frozenset(field.name for field in dataclasses.fields(EncoderConfig))


def peak_rss_bytes() -> int:
    """Peak resident set size of this process so far (Linux ``ru_maxrss`` is in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MiB."""
    return peak_rss_bytes() / 2**20


def load_log(data: Path, sep: str | None, fmt: str) -> InteractionLog:
    """Reads ``user item rating timestamp`` rows (or an ml-100k folder) or sequence lines."""
    if fmt == "sequences":
        return read_sequence_file(data, sep=sep, verify=True)
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


class ProgressPrinter(tf.keras.callbacks.Callback):
    """One line per epoch: training seconds, loss, validation NDCG@10, RSS."""

    def __init__(self, clock: TrainingBudget) -> None:
        super().__init__()
        self.clock = clock

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        print(
            f"  epoch {epoch + 1:3d}  train {self.clock.seconds:6.1f} s  loss "
            f"{logs.get('loss', float('nan')):.4f}  val NDCG@10 {logs.get('val_ndcg@10', 0.0):.4f}"
            f"  peak RSS {peak_rss_mb():.0f} MiB",
            flush=True,
        )


def evaluate_both(scorer, histories, targets, full_histories) -> dict[str, dict[str, float]]:
    """Unmasked and history-masked full-ranking metrics."""
    return {
        "unmasked": evaluate_ranking(scorer, histories, targets, ks=KS, trim_padding=True),
        "masked": evaluate_ranking(
            scorer, histories, targets, ks=KS, exclude=full_histories, trim_padding=True
        ),
    }


def train_one_seed(
    config: SupervisedConfig,
    train,
    valid,
    test,
    vocab_size: int,
    num_windows: int,
    eval_histories: tuple[np.ndarray, np.ndarray],
) -> dict:
    """Trains one seed of one variant; returns its test metrics, timing and validation curve.

    The curve is validation NDCG@10 (the early-stopping metric, masked as ``config`` says)
    against training seconds: the test set is ranked once, at the end.
    """
    histories, full_histories = eval_histories
    clock = TrainingBudget(None)  # measures; config.max_train_seconds stops
    fit_start = time.perf_counter()
    model, history = train_next_item_model(
        train, valid, config, vocab_size, [clock, ProgressPrinter(clock)]
    )
    fit_seconds = time.perf_counter() - fit_start
    metrics = evaluate_both(
        inference_scorer(model.encoder), histories, test.targets, full_histories
    )
    epochs = len(clock.epoch_seconds)
    curve_points = [
        (round(s, 1), round(n, 4))
        for s, n in zip(np.cumsum(clock.epoch_seconds), history.history["val_ndcg@10"])
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
        "first_epoch_seconds": clock.epoch_seconds[0],
        "sequences_per_second": num_windows * epochs / clock.seconds,
        "curve": curve_points,
        "repeat_weight": float(weight.numpy()) if weight is not None else None,
        "load_average": os.getloadavg(),
    }
    learned = f", learned repeat weight {run['repeat_weight']:.2f}" if weight is not None else ""
    print(
        f"seed {config.seed}: {epochs} epochs, {clock.seconds:.0f} s training, best epoch "
        f"{run['best_epoch']}, test NDCG@10 masked {metrics['masked']['ndcg@10']:.4f} / unmasked "
        f"{metrics['unmasked']['ndcg@10']:.4f}{learned}",
        flush=True,
    )
    return run


def fit_baselines(train, vocab_size: int) -> tuple[dict, dict[str, str]]:
    """The baseline scorers that fit in memory, and why the others were skipped."""
    scorers = {
        "Random": RandomScorer(vocab_size, seed=0),
        "MostPopular": MostPopular.from_sequences(train, vocab_size),
        "ItemKNN (co-occurrence)": ItemCooccurrence.from_sequences(train, vocab_size),
    }
    skipped = {}
    try:
        scorers["EASE"] = EASE.from_sequences(train, vocab_size)
    except ValueError as error:  # the catalog's dense [V, V] matrices exceed the memory budget
        skipped["EASE"] = str(error)
        print(f"EASE skipped: {error}", flush=True)
    return scorers, skipped


def config_from_spec(fields: dict) -> SupervisedConfig:
    """``SupervisedConfig`` from flat JSON fields: the ``EncoderConfig`` ones (``max_len``,
    ``dim`` ...) replace :data:`SUPERVISED_ENCODER`'s, the others are ``SupervisedConfig``'s
    (lists back to tuples)."""
    if isinstance(fields.get("length_buckets"), list):
        fields = {**fields, "length_buckets": tuple(fields["length_buckets"])}
    encoder = {name: value for name, value in fields.items() if name in ENCODER_FIELDS}
    rest = {name: value for name, value in fields.items() if name not in ENCODER_FIELDS}
    return SupervisedConfig(encoder=supervised_encoder(**encoder), **rest)


def run_job(spec: dict) -> dict:
    """Loads and splits the data, then runs ``spec["job"]``: ``"baselines"`` or ``"train"``.

    Args:
      spec: ``data``, ``sep``, ``format``, ``job``, ``max_len``; for ``"train"`` also
        ``config`` (the ``SupervisedConfig`` / encoder fields that differ from the defaults).

    Returns:
      ``{"metrics": ...}`` (baselines: per model) or the run dict of :func:`train_one_seed`;
      plus ``peak_rss_bytes`` of this process.
    """
    log = load_log(Path(spec["data"]), spec["sep"], spec["format"])
    vocab = ItemVocabulary.from_items(log.df["item"])
    train, valid, test = leave_last_out(build_sequences(log, vocab))
    max_len = spec.get("max_len") or SUPERVISED_ENCODER.max_len
    histories = test.padded_histories(max_len)
    full_histories = test.padded_histories(int(test.histories.lengths.max()))
    if spec["job"] == "baselines":
        print(
            f"data: {spec['data']} ({log.num_users} users, {vocab.num_items} items, "
            f"{log.num_interactions} interactions); {len(test)} test users; "
            f"{train.num_interactions} training interactions",
            flush=True,
        )
        baselines, skipped = fit_baselines(train, vocab.size)
        result = {
            "metrics": {
                name: evaluate_both(scorer, histories, test.targets, full_histories)
                for name, scorer in baselines.items()
            },
            "skipped": skipped,
            "dataset": {
                "users": log.num_users,
                "items": vocab.num_items,
                "interactions": log.num_interactions,
                "test_users": len(test),
                "training_windows": len(sequence_windows(train, max_len)[0]),
            },
        }
    else:
        result = train_one_seed(
            config_from_spec(spec["config"]),
            train,
            valid,
            test,
            vocab.size,
            len(sequence_windows(train, max_len)[0]),  # training sequences per epoch
            (histories, full_histories),
        )
    result["peak_rss_bytes"] = peak_rss_bytes()
    return result


if __name__ == "__main__":
    spec_path, result_path = sys.argv[1:3]
    result = run_job(json.loads(Path(spec_path).read_text(encoding="utf-8")))
    Path(result_path).write_text(json.dumps(result), encoding="utf-8")
