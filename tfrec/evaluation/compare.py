"""Comparison tables: several policies on one simulator, several scorers on one evaluation set.

* :func:`reference_policies` and :func:`compare_policies`: random / most-popular / oracle
  references and a table of simulator returns with confidence intervals;
* :func:`ranking_baselines` and :func:`ranking_table`: full-catalog ranking metrics of several
  scorers on one evaluation set.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from tfrec.data import EvalSet, Sequences
from tfrec.evaluation.baselines import ItemCooccurrence, MostPopular, RandomScorer
from tfrec.evaluation.ranking import evaluate_ranking
from tfrec.evaluation.rollouts import RolloutResult, evaluate_policy
from tfrec.policies.reference import (
    HistoryInferredOracle,
    MostPopularPolicy,
    far_sighted_policy,
    oracle_myopic_policy,
    random_slate_policy,
)

__all__ = ["compare_policies", "ranking_baselines", "ranking_table", "reference_policies"]


def reference_policies(
    env: Any, popularity: np.ndarray | None = None, oracles: bool = True, seed: int = 0
) -> dict[str, Any]:
    """The simulator's reference policies, floor first.

    Args:
      env: a tfrec simulator.
      popularity: item popularity for "most-popular" (``[num_items]`` or ``[vocab_size]``,
        e.g. the log's ``Sequences.item_counts(vocab_size)``); default
        ``env.item_popularity()``.
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
    """Non-neural scorers fitted on the training sequences: random, most-popular, item-KNN.

    Args:
      train: training sequences (item indices ``< vocab_size``).
      vocab_size: number of indices including the reserved ones (``ItemVocabulary.size``).
      seed: seed of the random scorer.

    Returns:
      ``{"random": RandomScorer, "most-popular": MostPopular, "item-knn": ItemCooccurrence}``.
    """
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

    Raises:
      ValueError: the evaluation set is empty.
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
