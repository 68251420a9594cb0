"""Evaluation: full-catalog ranking metrics, baselines, off-policy estimators (per-step,
per-trajectory and slate), simulator rollouts."""

from tfrec.evaluation.baselines import EASE, ItemCooccurrence, MostPopular, RandomScorer
from tfrec.evaluation.compare import (
    compare_policies,
    ranking_baselines,
    ranking_table,
    reference_policies,
)
from tfrec.evaluation.estimate import (
    Estimate,
    EstimatorOptions,
    effective_sample_size,
    importance_weight_statistics,
)
from tfrec.evaluation.off_policy import OffPolicyOptions, capped_ips, doubly_robust, ips, snips
from tfrec.evaluation.off_policy_data import OffPolicyData
from tfrec.evaluation.ranking import evaluate_ranking, metrics_at_k, target_ranks, top_k_items
from tfrec.evaluation.rollouts import (
    RolloutResult,
    clickbait_shares,
    evaluate_policy,
    intra_list_diversity,
    mean_confidence_interval,
    t_quantile,
)
from tfrec.evaluation.slate import (
    SlateData,
    SlateOptions,
    SlatePropensities,
    cascade_doubly_robust,
    independent_ips,
    pseudo_inverse_ips,
    reward_interaction_ips,
    standard_ips,
)
from tfrec.evaluation.slate_episodes import (
    SlateEpisodes,
    additive_item_values,
    additive_slate_model,
    independent_slate_log_probs,
)
from tfrec.evaluation.slate_propensities import (
    LinearCascadeModel,
    logged_slates,
)

__all__ = [
    "SlateData",
    "SlateOptions",
    "SlatePropensities",
    "cascade_doubly_robust",
    "independent_ips",
    "pseudo_inverse_ips",
    "reward_interaction_ips",
    "standard_ips",
    "LinearCascadeModel",
    "logged_slates",
    "Estimate",
    "EstimatorOptions",
    "EASE",
    "ItemCooccurrence",
    "MostPopular",
    "OffPolicyData",
    "OffPolicyOptions",
    "RandomScorer",
    "RolloutResult",
    "SlateEpisodes",
    "additive_item_values",
    "additive_slate_model",
    "capped_ips",
    "compare_policies",
    "clickbait_shares",
    "doubly_robust",
    "effective_sample_size",
    "evaluate_policy",
    "evaluate_ranking",
    "importance_weight_statistics",
    "independent_slate_log_probs",
    "intra_list_diversity",
    "ips",
    "mean_confidence_interval",
    "metrics_at_k",
    "ranking_baselines",
    "ranking_table",
    "reference_policies",
    "snips",
    "t_quantile",
    "target_ranks",
    "top_k_items",
]
