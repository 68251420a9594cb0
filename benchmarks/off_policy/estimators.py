"""Part 1: off-policy estimators against the simulator's truth.

An impression log of the popularity-softmax behaviour policy; for several target policies
(slates of i.i.d. draws from another item distribution) IPS / capped IPS / SNIPS / DR
(per-decision, exact slate ratios) and the one-step approximation are compared with the target's
true value from simulator rollouts.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tfrec.evaluation import (
    OffPolicyData,
    OffPolicyOptions,
    SlateEpisodes,
    additive_slate_model,
    capped_ips,
    doubly_robust,
    evaluate_policy,
    independent_slate_log_probs,
    ips,
    snips,
)
from tfrec.policies import PopularitySoftmaxPolicy, generate_logged_data

from .settings import Settings, default_env


def all_estimates(
    data: OffPolicyData, logged_q: np.ndarray, target_v: np.ndarray
) -> dict[str, Any]:
    """IPS, capped IPS, SNIPS, doubly robust and one-step SNIPS of one target on one log."""
    return {
        "ips": ips(data),
        "capped_ips": capped_ips(data),
        "snips": snips(data),
        "dr": doubly_robust(data, logged_q, target_v),
        "snips_one_step": snips(data, OffPolicyOptions(ratio_mode="one_step")),
    }


def relative_errors(estimates: dict[str, Any], truth: float) -> dict[str, float]:
    """``{name: value, name_rel_error: (value - truth) / truth}`` of each estimate."""
    row = {}
    for key, est in estimates.items():
        row[key] = est.value
        row[f"{key}_rel_error"] = (est.value - truth) / truth
    return row


def estimator_accuracy(settings: Settings) -> list[dict[str, Any]]:
    """OPE estimates of several i.i.d.-slate targets against their rollout values."""
    env = default_env(0)
    popularity = env.item_popularity()
    logged = generate_logged_data(
        env, settings.ope_episodes, impressions=True, popularity=popularity, seed=1
    )
    episodes = SlateEpisodes.from_impressions(logged.log, env.vocabulary, env.slate_size)
    behavior = logged.behavior_probabilities
    quality = env.catalog.quality.astype(np.float64)
    targets = {
        "popularity, tau=0.8": popularity ** (1 / 0.8),
        "popularity, tau=0.5": popularity ** (1 / 0.5),
        "quality tilt, a=0.5": behavior * np.exp(0.5 * quality),
        "quality tilt, a=1": behavior * np.exp(1.0 * quality),
        "quality tilt, a=2": behavior * np.exp(2.0 * quality),
    }
    rows = []
    for name, weights in targets.items():
        policy = PopularitySoftmaxPolicy(
            env.time_step_spec(), env.action_spec(), weights / weights.sum(), 1.0, seed=2
        )
        truth = evaluate_policy(env, policy, settings.truth_episodes, seed=3, name=name)
        item_probs = np.concatenate([[0.0, 0.0], policy.probabilities])
        data = episodes.off_policy_data(independent_slate_log_probs(item_probs, episodes.slates))
        logged_q, target_v = additive_slate_model(episodes, item_probs)
        estimates = all_estimates(data, logged_q, target_v)
        row: dict[str, Any] = {
            "target": name,
            "true_value": truth.mean_return,
            "true_half_width": truth.return_half_width,
            "behavior_value": logged.true_value,
            "ess": estimates["ips"].effective_sample_size,
        }
        for key, est in estimates.items():
            row[key] = est.value
            row[f"{key}_half_width"] = est.upper - est.value
            row[f"{key}_rel_error"] = (est.value - truth.mean_return) / truth.mean_return
        row["naive_rel_error"] = (logged.true_value - truth.mean_return) / truth.mean_return
        rows.append(row)
    return rows
