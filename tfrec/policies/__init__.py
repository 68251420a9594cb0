"""TF-Agents policies over slates of items.

* :class:`GreedyTopKPolicy` (serving), :class:`SlateSamplingPolicy` (full-catalog exploration
  with exact slate propensities, the impression-mode collect policy) and
  :class:`BoltzmannTopKPolicy` (top-M exploration, Chen et al. 2019 §5, click-only mode) wrap a
  :class:`tfrec.networks.ActorNetwork`.
* Reference policies for the simulators (:mod:`tfrec.policies.reference`): random, most-popular,
  oracle-myopic and far-sighted (true user state), and the history-only oracles
  (:class:`HistoryInferredOracle`: interests estimated from the observed window); together they
  bracket what a learned policy can reach.
"""

from tfrec.policies.reference import (
    HistoryInferredOracle,
    MostPopularPolicy,
    OraclePolicy,
    RandomSlatePolicy,
    UserBlindView,
    best_mnl_slate,
    far_sighted_policy,
    oracle_myopic_policy,
    random_slate_policy,
)
from tfrec.policies.slate_sampling import SlateSamplingPolicy
from tfrec.policies.topk import LOG_PROBABILITY, BoltzmannTopKPolicy, GreedyTopKPolicy

__all__ = [
    "LOG_PROBABILITY",
    "BoltzmannTopKPolicy",
    "GreedyTopKPolicy",
    "HistoryInferredOracle",
    "MostPopularPolicy",
    "OraclePolicy",
    "RandomSlatePolicy",
    "SlateSamplingPolicy",
    "UserBlindView",
    "best_mnl_slate",
    "far_sighted_policy",
    "oracle_myopic_policy",
    "random_slate_policy",
]
