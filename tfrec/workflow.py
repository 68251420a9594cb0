"""End-to-end steps shared by the ``tfrec`` command line and the notebooks.

Each function composes library calls (``tfrec.data``, ``tfrec.training.supervised``,
``tfrec.training``, ``tfrec.evaluation``, ``tfrec.policies``) into one step of the user's job:

* :func:`greedy_policy`: any trained encoder as a greedy top-K slate policy (TF-Agents);
* :func:`reference_policies` and :func:`compare_policies`: random / most-popular / oracle
  references and a table of simulator returns with confidence intervals;
* :func:`ranking_baselines` and :func:`ranking_table`: full-catalog ranking metrics of several
  scorers on one evaluation set;
* :func:`save_model_dir` / :func:`load_model_dir`: the *model folder* ``tfrec train`` writes and
  ``tfrec evaluate|export|explain`` read (``encoder.keras``, ``vocabulary.txt``, ``run.json``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import tensorflow as tf
from tqdm.auto import tqdm

from tfrec.data import EvalSet, ItemVocabulary, Sequences
from tfrec.encoders import SequenceEncoder
from tfrec.evaluation.baselines import ItemCooccurrence, MostPopular, RandomScorer
from tfrec.evaluation.ranking import evaluate_ranking
from tfrec.evaluation.rollouts import RolloutResult, evaluate_policy
from tfrec.networks.actor import ActorNetwork
from tfrec.policies.reference import (
    HistoryInferredOracle,
    MostPopularPolicy,
    far_sighted_policy,
    oracle_myopic_policy,
    random_slate_policy,
)
from tfrec.policies.topk import GreedyTopKPolicy
from tfrec.specs import time_step_spec
from tfrec.training.config import EncoderConfig

ENCODER_FILE = "encoder.keras"
VOCABULARY_FILE = "vocabulary.txt"
RUN_FILE = "run.json"

__all__ = [
    "ENCODER_FILE",
    "RUN_FILE",
    "VOCABULARY_FILE",
    "compare_policies",
    "encoder_config",
    "greedy_policy",
    "load_model_dir",
    "ranking_baselines",
    "ranking_table",
    "reference_policies",
    "save_model_dir",
]


def encoder_config(encoder: SequenceEncoder) -> EncoderConfig:
    """The ``EncoderConfig`` of an existing encoder, to build a warm-startable twin for the
    REINFORCE agent: the same architecture, without a repeat bias (the agent refuses one;
    ``warm_start_encoder`` copies every other weight)."""
    return EncoderConfig(
        max_len=encoder.max_len,
        dim=encoder.dim,
        num_layers=encoder.num_layers,
        num_heads=encoder.num_heads,
        dropout=encoder.dropout,
        use_output_bias=encoder.use_output_bias,
    )


def greedy_policy(encoder: SequenceEncoder, k: int, exclude_history: bool = False) -> Any:
    """The encoder's top-``k`` items by score as a TF-Agents slate policy.

    Args:
      encoder: a built encoder (e.g. the supervised model's); its ``max_len`` is the history
        window of the observations.
      k: slate size.
      exclude_history: never recommend items of the history window.

    Returns:
      A ``GreedyTopKPolicy`` over an ``ActorNetwork`` of that encoder (no extra heads).
    """
    spec = time_step_spec(encoder.max_len, encoder.vocab_size)
    network = ActorNetwork(spec.observation, encoder, behavior_head=False)
    return GreedyTopKPolicy(spec, network, k, exclude_history=exclude_history)


def reference_policies(
    env: Any, popularity: np.ndarray | None = None, oracles: bool = True, seed: int = 0
) -> dict[str, Any]:
    """The simulator's reference policies, floor first.

    Args:
      env: a tfrec simulator.
      popularity: item popularity for "most-popular" (``[num_items]`` or ``[vocab_size]``,
        e.g. the log's ``Sequences.item_counts(vocab_size)``); default ``env.item_popularity()``.
      oracles: add "oracle-myopic" and "far-sighted", which read the simulator's true user
        state (ceilings a learned policy cannot see), and "history-myopic" /
        "history-far-sighted", the same with the interests estimated from the observed history
        (:class:`tfrec.policies.HistoryInferredOracle`: what a policy that sees what the
        learner sees, plus the item attributes, reaches).
      seed: seed of the random policy.

    Returns:
      ``{"random": ..., "most-popular": ..., ["history-myopic": ..., "history-far-sighted": ...,
      "oracle-myopic": ..., "far-sighted": ...]}``.
    """
    spec = (env.time_step_spec(), env.action_spec())
    if popularity is None:
        popularity = env.item_popularity()
    policies = {
        "random": random_slate_policy(*spec, seed=seed),
        "most-popular": MostPopularPolicy(*spec, np.asarray(popularity, np.float64) + 1e-9),
    }
    if oracles and hasattr(env, "catalog"):
        policies["history-myopic"] = HistoryInferredOracle(env, 0.0)
        policies["history-far-sighted"] = HistoryInferredOracle(env, 1.0)
    if oracles:
        policies["oracle-myopic"] = oracle_myopic_policy(env)
        policies["far-sighted"] = far_sighted_policy(env)
    return policies


def compare_policies(
    env: Any,
    policies: Mapping[str, Any],
    num_episodes: int,
    seed: int = 0,
    progress: bool = False,
) -> pd.DataFrame:
    """Simulator return (95% t-interval), CTR, length, coverage, diversity of each policy.

    Args:
      env: the simulator (re-seeded with ``seed`` for every policy: same users for all).
      policies: name -> ``PyPolicy`` or ``TFPolicy``.
      num_episodes: episodes per policy (>= 2).
      seed: environment seed.
      progress: show a tqdm bar over the policies.

    Returns:
      One row per policy (``RolloutResult.as_row`` columns), in the given order.
    """
    results = [
        evaluate_policy(env, policy, num_episodes, seed=seed, name=name)
        for name, policy in tqdm(policies.items(), desc="evaluate", disable=not progress)
    ]
    return RolloutResult.to_frame(results)


def ranking_baselines(train: Sequences, vocab_size: int, seed: int = 0) -> dict[str, Any]:
    """Non-neural scorers fitted on the training sequences: random, most-popular, item-KNN."""
    return {
        "random": RandomScorer(vocab_size, seed=seed),
        "most-popular": MostPopular.from_sequences(train, vocab_size),
        "item-knn": ItemCooccurrence.from_sequences(train, vocab_size),
    }


def ranking_table(
    scorers: Mapping[str, Any],
    eval_set: EvalSet,
    max_len: int,
    ks: tuple[int, ...] = (10, 20),
    exclude_history: bool = False,
) -> pd.DataFrame:
    """Full-catalog HR/NDCG/MRR/coverage@K of several scorers on one evaluation set.

    Args:
      scorers: name -> callable ``histories [batch, max_len] -> scores [batch, vocab_size]``
        (``inference_scorer(encoder)``, a baseline of :func:`ranking_baselines`).
      eval_set: histories and targets (e.g. the ``test`` part of ``leave_last_out``).
      max_len: history window fed to the scorers.
      ks: cut-offs.
      exclude_history: remove history items from the candidates.

    Returns:
      One row per scorer: ``model`` then ``hr@K``, ``ndcg@K``, ``mrr@K``, ``coverage@K``.
    """
    if len(eval_set) == 0:
        raise ValueError("the evaluation set is empty: no user has a held-out target.")
    histories = eval_set.padded_histories(max_len)
    rows = []
    for name, scorer in scorers.items():
        metrics = evaluate_ranking(
            scorer, histories, eval_set.targets, ks=ks, exclude_history=exclude_history
        )
        metrics.pop("num_examples")
        rows.append({"model": name, **metrics})
    return pd.DataFrame(rows)


def save_model_dir(
    path: str | os.PathLike,
    encoder: SequenceEncoder,
    vocabulary: ItemVocabulary,
    info: Mapping[str, Any] | None = None,
) -> Path:
    """Writes a model folder: ``encoder.keras``, ``vocabulary.txt`` and ``run.json``.

    Args:
      path: the folder (created).
      encoder: the trained encoder.
      vocabulary: its vocabulary.
      info: JSON-serialisable facts about the run (algorithm, configs, metrics).

    Returns:
      The folder.
    """
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    encoder.save(str(folder / ENCODER_FILE))
    vocabulary.save(folder / VOCABULARY_FILE)
    (folder / RUN_FILE).write_text(json.dumps(dict(info or {}), indent=2, default=str) + "\n")
    return folder


def load_model_dir(path: str | os.PathLike) -> tuple[SequenceEncoder, ItemVocabulary, dict]:
    """Reads a model folder (:func:`save_model_dir`) or a ``tfrec export`` version folder.

    Args:
      path: a model folder, or an exported SavedModel version (``extras/encoder.keras`` and
        ``assets/vocabulary.txt``).

    Returns:
      ``(encoder, vocabulary, info)``.

    Raises:
      FileNotFoundError: the folder holds neither layout.
    """
    folder = Path(path)
    layouts = [
        (folder / ENCODER_FILE, folder / VOCABULARY_FILE, folder / RUN_FILE),
        (
            folder / "extras" / ENCODER_FILE,
            folder / "assets" / VOCABULARY_FILE,
            folder / "assets.extra" / "tfrec_export.json",
        ),
    ]
    for encoder_file, vocabulary_file, info_file in layouts:
        if encoder_file.is_file() and vocabulary_file.is_file():
            encoder = tf.keras.models.load_model(str(encoder_file), compile=False)
            vocabulary = ItemVocabulary.load(vocabulary_file)
            info = json.loads(info_file.read_text()) if info_file.is_file() else {}
            return encoder, vocabulary, info
    raise FileNotFoundError(
        f"{folder} is not a tfrec model folder: expected {ENCODER_FILE} + {VOCABULARY_FILE} "
        "(written by `tfrec train`) or extras/encoder.keras + assets/vocabulary.txt (an export "
        "version folder written by `tfrec export`)."
    )
