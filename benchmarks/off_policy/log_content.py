"""Part 8: what the training logs hold.

Clickbait share of the logged clicks and how much of the return's variance the clicked item
explains, for both behaviour policies of part 2; clickbait share of the oracles' slates.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from tfrec.environments import InterestEvolutionEnv
from tfrec.evaluation import clickbait_shares
from tfrec.policies import far_sighted_policy, generate_logged_data, oracle_myopic_policy

from .behavior import Behavior
from .settings import Settings, default_env


def log_statistics(log: Any, env: InterestEvolutionEnv, gamma: float = 0.9) -> dict[str, float]:
    """What a click log can teach: clickbait share of the clicks, and item signal in the returns.

    ``G_t`` is the discounted return (``gamma``) of each click within its episode, as the
    learners see it. "between-item share" is the fraction of the variance of ``G`` explained by
    the clicked item's identity (its chance level with ``m`` distinct items and ``n`` clicks is
    about ``m / n``).
    """
    df = log.df
    episode = df["user"].str.removeprefix("episode_").astype(int).to_numpy()
    order = np.lexsort((df["timestamp"].to_numpy(), episode))
    episode = episode[order]
    rows = df["item"].str.removeprefix("item_").astype(int).to_numpy()[order]
    reward = df["reward"].to_numpy(np.float64)[order]
    returns = np.zeros(len(reward))
    running = 0.0
    for i in range(len(reward) - 1, -1, -1):
        if i == len(reward) - 1 or episode[i + 1] != episode[i]:
            running = 0.0
        running = reward[i] + gamma * running
        returns[i] = running
    counts = np.bincount(rows, minlength=env.num_items)
    sums = np.bincount(rows, returns, minlength=env.num_items)
    item_mean = np.divide(sums, counts, out=np.zeros(env.num_items), where=counts > 0)
    centred = returns - returns.mean()
    between = float((counts * (item_mean - returns.mean()) ** 2).sum() / (centred**2).sum())
    return {
        "clicks": int(len(rows)),
        "clickbait_share_of_clicks": float(env.catalog.is_clickbait[rows].mean()),
        "return_mean": float(returns.mean()),
        "return_std": float(returns.std()),
        "corr_return_quality": float(np.corrcoef(returns, env.catalog.quality[rows])[0, 1]),
        "between_item_share": between,
        "between_item_chance": float((counts > 0).sum() / len(rows)),
    }


def log_content(settings: Settings, behavior: Behavior) -> dict[str, Any]:
    """Part 8: the content of part 2's training logs (both behaviours) and the oracles' slates."""
    env = default_env(0)
    popularity = env.item_popularity()
    out: dict[str, Any] = {}
    for b in (
        Behavior("popularity", behavior.temperature),
        dataclasses.replace(behavior, kind="personalized"),
    ):
        logged = generate_logged_data(
            env, settings.log_episodes, policy=b.policy(env, popularity, 11), seed=11
        )
        out[b.describe()] = {**log_statistics(logged.log, env), "true_value": logged.true_value}
    eval_env = default_env(1000)
    out["oracles"] = {
        "far-sighted": clickbait_shares(eval_env, far_sighted_policy(eval_env), 512),
        "oracle-myopic": clickbait_shares(eval_env, oracle_myopic_policy(eval_env), 512),
    }
    out["catalog_clickbait_share"] = float(env.catalog.is_clickbait.mean())
    return out
