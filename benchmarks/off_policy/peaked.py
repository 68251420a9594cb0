"""Part 5: a peaked policy on a small catalog.

(c) and (d) again on a 50-item catalog, where π can concentrate and the top-K multiplier
``λ_K = K (1 - π)^(K-1)`` differs from ``K``: return, mean max π and ``λ_K / K`` of π's top item.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf

from tfrec.data import build_sequences, leave_last_out
from tfrec.environments import CatalogConfig, InterestEvolutionConfig, InterestEvolutionEnv
from tfrec.evaluation import evaluate_policy
from tfrec.policies import generate_logged_data, oracle_myopic_policy, random_slate_policy
from tfrec.training.config import AgentConfig
from tfrec.training.offline import train_from_log

from .learners import concentration, mean_over_seeds
from .settings import BATCH, Settings, offline_config


def peaked_catalog(settings: Settings, num_items: int = 50) -> dict[str, Any]:
    """Part 5: (c) vs (d) where π can concentrate: a ``num_items`` catalog, same learners.

    On 1,000 items π stays near uniform, so ``λ_K ≈ K`` and (d) is (c) up to a constant; here the
    top item's π can approach ``1/K`` and the multiplier differs from item to item.
    """
    config = InterestEvolutionConfig(catalog=CatalogConfig(num_items=num_items))
    env = InterestEvolutionEnv(config, batch_size=BATCH, seed=0)
    eval_env = InterestEvolutionEnv(config, batch_size=BATCH, seed=1000)
    popularity = env.item_popularity()
    logged = generate_logged_data(env, settings.log_episodes, popularity=popularity, seed=11)
    heldout_log = generate_logged_data(env, 300, popularity=popularity, seed=12)
    _, _, heldout = leave_last_out(build_sequences(heldout_log.log, env.vocabulary), min_length=3)
    enc = settings.encoder
    rows: dict[str, list[dict[str, float]]] = {"importance": [], "topk": []}
    for seed in range(min(settings.seeds, 3)):
        for correction in rows:
            tf.keras.utils.set_random_seed(seed)
            trained = train_from_log(
                logged.log,
                AgentConfig(slate_size=env.slate_size, correction=correction),
                enc,
                offline_config(settings, seed),
                vocabulary=env.vocabulary,
            )
            rollout = evaluate_policy(
                eval_env, trained.agent.policy, settings.eval_episodes, seed=100 + seed
            )
            rows[correction].append(
                {
                    "return": rollout.mean_return,
                    **concentration(
                        trained.agent.actor_network, heldout, enc.max_len, env.slate_size
                    ),
                }
            )
            print(f"  peaked seed {seed} {correction}: {rows[correction][-1]}", flush=True)
    references = {
        "random": random_slate_policy(eval_env.time_step_spec(), eval_env.action_spec(), seed=5),
        "oracle-myopic": oracle_myopic_policy(eval_env),
    }
    out: dict[str, Any] = {"num_items": num_items, "log_clicks": len(logged.log)}
    for correction, per_seed in rows.items():
        returns = np.array([r["return"] for r in per_seed])
        row: dict[str, Any] = {"per_seed_return": returns.tolist()}
        row.update(mean_over_seeds(returns, "return"))
        for key in ("mean_max_pi", "mean_top_item_lambda_over_k"):
            row[key] = float(np.mean([r[key] for r in per_seed]))
        out[correction] = row
    for name, policy in references.items():
        out[name] = evaluate_policy(eval_env, policy, settings.eval_episodes, seed=99).mean_return
    return out
