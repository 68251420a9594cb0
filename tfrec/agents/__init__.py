"""Agents: the top-K off-policy-corrected REINFORCE agent and the supervised next-item model.

* :class:`TopKOffPolicyReinforceAgent` — TF-Agents ``ReinforceAgent`` with the corrections of
  Chen et al., WSDM 2019 (arXiv 1812.02353); the corrections themselves are small pure functions in
  :mod:`tfrec.agents.corrections`.
* :class:`NextItemModel` — SASRec trained with full (or sampled, logQ-corrected) softmax
  cross-entropy at every position (Kang & McAuley 2018; Klenitskiy & Vasilev 2023): the warm start
  of the agent and the baseline every RL result is judged against.
"""

from tfrec.agents import corrections
from tfrec.agents.reinforce import (
    CORRECTIONS,
    LOG_PROPENSITY,
    TopKOffPolicyReinforceAgent,
    TopKReinforceLossInfo,
)
from tfrec.agents.supervised import (
    NextItemModel,
    RankingCallback,
    SupervisedConfig,
    build_next_item_model,
    inference_scorer,
    sampling_distribution,
    train_next_item_model,
)

__all__ = [
    "CORRECTIONS",
    "LOG_PROPENSITY",
    "NextItemModel",
    "RankingCallback",
    "SupervisedConfig",
    "TopKOffPolicyReinforceAgent",
    "TopKReinforceLossInfo",
    "build_next_item_model",
    "corrections",
    "inference_scorer",
    "sampling_distribution",
    "train_next_item_model",
]
