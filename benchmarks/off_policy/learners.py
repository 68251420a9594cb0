"""Part 2: learning from biased logs.

A click log of a biased behaviour policy (popularity softmax at ``--behavior-temperature``, or
the personalised softmax); per seed, trains (a) the supervised next-item Transformer, (b)
REINFORCE without correction, (c) with the capped π/β correction, (d) with the top-K correction
(K = slate size), all from scratch with the same encoder; evaluates each greedy top-K policy
online (mean return over ``eval_episodes`` episodes) and by NDCG@10 on held-out logged episodes.
The summary gives the mean over seeds ± the 95% t-interval of that mean, next to the reference
policies, and statistics of the π/β weights on the training log (ESS, capped fraction).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import tensorflow as tf

from tfrec.agents.corrections import DEFAULT_WEIGHT_CAP, topk_multiplier
from tfrec.data import build_sequences, leave_last_out, session_dataset
from tfrec.environments import InterestEvolutionEnv
from tfrec.evaluation import (
    clickbait_shares,
    effective_sample_size,
    evaluate_policy,
    evaluate_ranking,
    importance_weight_statistics,
    mean_confidence_interval,
)
from tfrec.networks.actor import ActorNetwork
from tfrec.policies import (
    MostPopularPolicy,
    far_sighted_policy,
    generate_logged_data,
    oracle_myopic_policy,
    random_slate_policy,
)
from tfrec.policies.topk import GreedyTopKPolicy
from tfrec.training.config import AgentConfig
from tfrec.training.offline import train_from_log
from tfrec.training.supervised import SupervisedConfig, train_next_item_model

from .behavior import Behavior
from .settings import METHODS, Settings, default_env, offline_config

SUMMARY_MEANS = (
    "clickbait_shown",
    "final_mean_weight",
    "final_mean_log_pi",
    "mean_max_pi",
    "weight_median",
    "weight_mean",
    "weight_p99",
    "fraction_capped",
    "ess_fraction_capped",
    "ess_fraction_topk",
)
"""Per-seed figures whose mean over seeds the summary reports."""


def heldout_ndcg(scorer: Any, heldout: Any, max_len: int) -> float:
    """NDCG@10 of the last click of each held-out episode given the earlier ones."""
    metrics = evaluate_ranking(scorer, heldout.padded_histories(max_len), heldout.targets, ks=(10,))
    return float(metrics["ndcg@10"])


def concentration(network: ActorNetwork, heldout: Any, max_len: int, k: int) -> dict[str, float]:
    """How peaked π is on held-out histories: mean max π and mean ``λ_K / K`` of its top item.

    ``λ_K(π) = K (1 - π)^(K-1)`` equals ``K`` while ``π ≪ 1/K``: when even the top item's π is
    small, the top-K correction is the π/β correction times a constant.
    """
    histories = tf.constant(heldout.padded_histories(max_len))
    probs = tf.nn.softmax(network(histories, training=False)[0].logits)
    top = tf.reduce_max(probs, axis=-1)
    return {
        "mean_max_pi": float(tf.reduce_mean(top)),
        "mean_top_item_lambda_over_k": float(tf.reduce_mean(topk_multiplier(top, k)) / k),
    }


def weight_statistics(
    network: ActorNetwork, dataset: tf.data.Dataset, k: int, cap: float = DEFAULT_WEIGHT_CAP
) -> dict[str, float]:
    """What the corrections do on the training log under the trained π.

    Over the logged clicks of ``dataset`` (real steps only): π/β at the logged item (median,
    mean, 99th percentile), the fraction of weights above the cap ``c``, and the Kish effective
    sample size, as a fraction of the clicks, of the capped weights ``min(π/β, c)`` and of the
    top-K weights ``λ_K · min(π/β, c)`` (:func:`tfrec.evaluation.importance_weight_statistics`).
    """
    ratios, lambdas = [], []
    for batch in dataset:
        real = ~batch.is_boundary()
        states = network.states(batch.observation, training=False)
        logits = network.logits_from_states(tf.reshape(states, [-1, network.state_dim]))
        log_pi = -tf.nn.sparse_softmax_cross_entropy_with_logits(
            labels=tf.reshape(batch.action, [-1]), logits=logits
        )
        log_pi = tf.boolean_mask(log_pi, tf.reshape(real, [-1]))
        log_beta = tf.boolean_mask(batch.policy_info["log_propensity"], real)
        ratios.append(np.exp(log_pi.numpy().astype(np.float64) - log_beta.numpy()))
        lambdas.append(topk_multiplier(tf.exp(log_pi), k).numpy())
    ratio, lam = np.concatenate(ratios), np.concatenate(lambdas)
    stats = importance_weight_statistics(ratio, cap)
    return {
        "weight_median": stats["median"],
        "weight_mean": stats["mean"],
        "weight_p99": stats["p99"],
        "fraction_capped": stats["fraction_capped"],
        "ess_fraction_capped": stats["ess_fraction"],
        "ess_fraction_topk": effective_sample_size(np.minimum(ratio, cap) * lam) / ratio.size,
    }


def mean_over_seeds(values: np.ndarray, key: str) -> dict[str, float]:
    """``{key, key_lower, key_upper}``: the mean over seeds and its 95% t-interval."""
    if len(values) >= 2:
        mean, lower, upper = mean_confidence_interval(values)
    else:
        mean = lower = upper = float(values[0])
    return {key: mean, f"{key}_lower": lower, f"{key}_upper": upper}


def _supervised_run(
    settings: Settings, data: dict[str, Any], env: InterestEvolutionEnv, seed: int
) -> dict[str, float]:
    """Learner (a) of one seed: the supervised next-item Transformer, greedy top-K."""
    enc, eval_env = settings.encoder, data["eval_env"]
    model, _ = train_next_item_model(
        data["train"],
        data["valid"],
        SupervisedConfig(
            encoder=dataclasses.replace(enc, repeat_bias=False, use_output_bias=False),
            learning_rate=1e-3,  # the simulator recipe (tuned at 1e-3; the sequential default is 2e-3)
            epochs=settings.supervised_epochs,
            patience=2,
            seed=seed,
        ),
        env.vocabulary.size,
    )
    policy = GreedyTopKPolicy.from_encoder(model.encoder, env.slate_size)
    rollout = evaluate_policy(eval_env, policy, settings.eval_episodes, seed=100 + seed)
    bait = clickbait_shares(eval_env, policy, 256)
    return {
        "return": rollout.mean_return,
        "clickbait_shown": bait["shown"],
        "ndcg@10": heldout_ndcg(model.encoder.score_items, data["heldout"], enc.max_len),
    }


def _reinforce_run(
    settings: Settings,
    data: dict[str, Any],
    env: InterestEvolutionEnv,
    correction: str,
    seed: int,
) -> dict[str, float]:
    """Learner (b), (c) or (d) of one seed: REINFORCE from the click log with ``correction``."""
    max_len, eval_env, heldout = settings.encoder.max_len, data["eval_env"], data["heldout"]
    trained = train_from_log(
        data["log"],
        AgentConfig(slate_size=env.slate_size, correction=correction),
        settings.encoder,
        offline_config(settings, seed),
        vocabulary=env.vocabulary,
    )
    network = trained.agent.actor_network
    rollout = evaluate_policy(
        eval_env, trained.agent.policy, settings.eval_episodes, seed=100 + seed
    )
    bait = clickbait_shares(eval_env, trained.agent.policy, 256)
    return {
        "return": rollout.mean_return,
        "clickbait_shown": bait["shown"],
        "ndcg@10": heldout_ndcg(
            lambda h, net=network: net(h, training=False)[0].logits, heldout, max_len
        ),
        "final_mean_weight": trained.history.losses["mean_weight"][-1],
        "final_mean_log_pi": trained.history.losses["mean_log_pi"][-1],
        **concentration(network, heldout, max_len, env.slate_size),
        **weight_statistics(network, data["diagnostic_batches"], env.slate_size),
    }


def _references(
    settings: Settings, behavior: Behavior, eval_env: InterestEvolutionEnv, popularity: np.ndarray
) -> dict[str, dict[str, float]]:
    """Return (with the episodes' CI) of the behaviour and the reference policies."""
    spec = (eval_env.time_step_spec(), eval_env.action_spec())
    references = {
        "behaviour (logging) policy": behavior.policy(eval_env, popularity, 5),
        "random": random_slate_policy(*spec, seed=5),
        "most-popular": MostPopularPolicy(*spec, popularity),
        "oracle-myopic": oracle_myopic_policy(eval_env),
        "far-sighted reference": far_sighted_policy(eval_env),
    }
    rows = {}
    for name, policy in references.items():
        r = evaluate_policy(eval_env, policy, settings.eval_episodes * 2, seed=99, name=name)
        rows[name] = {"return": r.mean_return, "lower": r.return_lower, "upper": r.return_upper}
    return rows


def _summary(per_seed: list[dict[str, float]]) -> dict[str, Any]:
    """Per-seed returns and NDCG, their means with CIs, and the means of the diagnostics."""
    returns = np.array([r["return"] for r in per_seed])
    ndcgs = np.array([r["ndcg@10"] for r in per_seed])
    row: dict[str, Any] = {"per_seed_return": returns.tolist(), "per_seed_ndcg@10": ndcgs.tolist()}
    for key in SUMMARY_MEANS:
        if key in per_seed[0]:
            row[key] = float(np.mean([r[key] for r in per_seed]))
    row.update(mean_over_seeds(returns, "return"))
    row.update(mean_over_seeds(ndcgs, "ndcg@10"))
    return row


def train_and_evaluate(settings: Settings, behavior: Behavior) -> dict[str, Any]:
    """Part 2: the four learners on a biased click log, per seed."""
    env = default_env(0)
    vocab = env.vocabulary
    popularity = env.item_popularity()
    logged = generate_logged_data(
        env, settings.log_episodes, policy=behavior.policy(env, popularity, 11), seed=11
    )
    heldout_log = generate_logged_data(
        env, settings.heldout_episodes, policy=behavior.policy(env, popularity, 12), seed=12
    )
    diagnostic_batches = session_dataset(
        build_sequences(logged.log, vocab), settings.encoder.max_len, 20, 64, shuffle=False
    ).take(8)
    _, _, heldout = leave_last_out(build_sequences(heldout_log.log, vocab), min_length=3)
    train_seqs, valid, _ = leave_last_out(build_sequences(logged.log, vocab), min_length=3)
    data = {
        "log": logged.log,
        "train": train_seqs,
        "valid": valid,
        "heldout": heldout,
        "diagnostic_batches": diagnostic_batches,
        "eval_env": default_env(1000),
    }
    results: dict[str, list[dict[str, float]]] = {"(a) supervised Transformer": []}
    results.update({name: [] for name in METHODS})
    for seed in range(settings.first_seed, settings.first_seed + settings.seeds):
        tf.keras.utils.set_random_seed(seed)
        supervised = _supervised_run(settings, data, env, seed)
        results["(a) supervised Transformer"].append(supervised)
        for name, correction in METHODS.items():
            results[name].append(_reinforce_run(settings, data, env, correction, seed))
            print(f"  seed {seed} {name}: {results[name][-1]}", flush=True)
        print(f"  seed {seed} (a): {results['(a) supervised Transformer'][-1]}", flush=True)
    reference_rows = _references(settings, behavior, data["eval_env"], popularity)
    log_propensity = logged.log.df["propensity"].to_numpy(np.float64)
    return {
        "behavior": dataclasses.asdict(behavior),
        "behavior_description": behavior.describe(),
        "behavior_temperature": behavior.temperature,
        "log_propensity_median": float(np.median(log_propensity)),
        "log_propensity_max_over_min": float(log_propensity.max() / log_propensity.min()),
        "log_clicks": len(logged.log),
        "log_episodes": settings.log_episodes,
        "behavior_true_value": logged.true_value,
        "learners": {name: _summary(per_seed) for name, per_seed in results.items()},
        "references": reference_rows,
    }
