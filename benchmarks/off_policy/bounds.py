"""Part 6: what a history-only policy can reach.

Oracles that know the items but not the user's interests, or estimate them from the observed
history, myopic and far-sighted, next to the oracles with the true interests.
"""

from __future__ import annotations

from tfrec.environments import InterestEvolutionConfig, InterestEvolutionEnv
from tfrec.evaluation import evaluate_policy
from tfrec.policies import (
    HistoryInferredOracle,
    MostPopularPolicy,
    OraclePolicy,
    UserBlindView,
    far_sighted_policy,
    oracle_myopic_policy,
    random_slate_policy,
)

from .settings import Settings


def reference_bounds(settings: Settings) -> dict[str, dict[str, float]]:
    """Part 6: oracle policies with and without the user's interests, myopic and far-sighted.

    Same evaluation simulator and episodes as part 3's references (seed 1, 512 episodes).
    """
    del settings  # the sizes of part 3's references, fixed
    eval_env = InterestEvolutionEnv(InterestEvolutionConfig(), batch_size=64, seed=1)
    spec = (eval_env.time_step_spec(), eval_env.action_spec())
    blind = UserBlindView(eval_env)
    policies = {
        "far-sighted (true interests)": far_sighted_policy(eval_env),
        "far-sighted, user-blind": OraclePolicy(blind, budget_value=1.0),
        "oracle-myopic (true interests)": oracle_myopic_policy(eval_env),
        "myopic, user-blind": OraclePolicy(blind, budget_value=0.0),
        "far-sighted, interests from history": HistoryInferredOracle(eval_env, 1.0),
        "myopic, interests from history": HistoryInferredOracle(eval_env, 0.0),
        "most-popular": MostPopularPolicy(*spec, eval_env.item_popularity()),
        "random": random_slate_policy(*spec, seed=0),
    }
    out = {}
    for name, policy in policies.items():
        r = evaluate_policy(eval_env, policy, 512, seed=99, name=name)
        out[name] = {"return": r.mean_return, "lower": r.return_lower, "upper": r.return_upper}
    return out
