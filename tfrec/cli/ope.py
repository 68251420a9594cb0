"""``tfrec evaluate --ope``: slate off-policy estimates of a model's policy from an impression log."""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any

import numpy as np
import pandas as pd

CHUNK = 1024


def target_item_probs(encoder: Any, histories: np.ndarray, epsilon: float) -> np.ndarray:
    """``q = (1 - eps) softmax(model logits) + eps uniform`` over the items: ``[n, vocab]``.

    The mixture of the collect policy (``tfrec.policies.slate_distribution.mixture_log_probs``)
    in float64; the reserved indices get probability 0.
    """
    import tensorflow as tf

    from tfrec.policies.slate_distribution import mixture_log_probs
    from tfrec.specs import FIRST_ITEM_INDEX

    parts = []
    for start in range(0, len(histories), CHUNK):
        batch = tf.constant(histories[start : start + CHUNK], tf.int32)
        logits = encoder.score_items(batch, training=False).numpy().astype(np.float64)
        logits[:, :FIRST_ITEM_INDEX] = np.finfo(np.float64).min
        num_items = logits.shape[1] - FIRST_ITEM_INDEX
        parts.append(np.exp(mixture_log_probs(logits, epsilon, num_items).numpy()))
    return np.concatenate(parts)


def ope_report(args: argparse.Namespace, encoder: Any, vocabulary: Any, log: Any) -> pd.DataFrame:
    """The estimator table of the model's slate policy on an impression log.

    The target draws slates of the log's size ``K`` from ``q`` (``--ope-epsilon`` uniform mixed
    into the model's softmax) as ``--ope-slate-model`` (``independent``: exact propensities;
    ``plackett_luce``: positions >= 3 by Monte Carlo). Rows: every estimator the log's
    propensity columns allow, per slate (each slate a unit: the value of one slate) and per
    session (per-decision over each user's slates: the value of a session), plus the logging
    policy's own mean ("logged").

    Returns:
      A frame with columns ``unit, estimator, value, lower, upper, stderr, ess``.
    """
    from tfrec.evaluation.slate import SlateData, SlateOptions, estimate_all
    from tfrec.evaluation.slate_propensities import (
        independent_propensities,
        logged_slates,
        plackett_luce_propensities,
    )

    logged = logged_slates(log, vocabulary, encoder.max_len)
    q = target_item_probs(encoder, logged.histories, args.ope_epsilon)
    if args.ope_slate_model == "independent":
        target = independent_propensities(q, logged.slates)
    else:
        target, _ = plackett_luce_propensities(q, logged.slates, num_samples=args.ope_samples)
    keep = {kind: getattr(logged.behavior, kind) is not None for kind in ("joint", "position")}
    target = dataclasses.replace(
        target,
        cascade=None,
        **{kind: getattr(target, kind) if keep[kind] else None for kind in keep},
    )
    rows = []
    for unit, sessions in (("slate", None), ("session", logged.sessions)):
        data = SlateData.create(logged.rewards, logged.behavior, target, sessions=sessions)
        per_unit = np.bincount(data.unit, logged.rewards.sum(axis=1))
        rows.append(
            {
                "unit": unit,
                "estimator": "logged",
                "value": float(per_unit.mean()),
                "lower": np.nan,
                "upper": np.nan,
                "stderr": float(per_unit.std(ddof=1) / np.sqrt(len(per_unit))),
                "ess": float(len(per_unit)),
            }
        )
        for name, est in estimate_all(data, SlateOptions()).items():
            rows.append(
                {
                    "unit": unit,
                    "estimator": name,
                    "value": est.value,
                    "lower": est.lower,
                    "upper": est.upper,
                    "stderr": est.stderr,
                    "ess": est.effective_sample_size,
                }
            )
    return pd.DataFrame(rows)


def add_ope_flags(parser: argparse.ArgumentParser) -> None:
    """The ``--ope`` flags of ``tfrec evaluate``."""
    parser.add_argument(
        "--ope",
        action="store_true",
        help="off-policy estimates of the model's slate policy from the impression --log",
    )
    parser.add_argument(
        "--ope-epsilon", type=float, default=0.05, help="uniform share of the evaluated policy"
    )
    parser.add_argument(
        "--ope-slate-model",
        choices=["independent", "plackett_luce"],
        default="independent",
        help="how the evaluated policy draws a slate from its item distribution",
    )
    parser.add_argument(
        "--ope-samples", type=int, default=500, help="Monte-Carlo draws (plackett_luce)"
    )
