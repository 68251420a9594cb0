"""TF-Agents policies over slates of items.

* :class:`GreedyTopKPolicy` (serving), :class:`SlateSamplingPolicy` (full-catalog exploration
  with exact slate propensities, the impression-mode collect policy) and
  :class:`BoltzmannTopKPolicy` (top-M exploration, Chen et al. 2019 §5, click-only mode) wrap a
  :class:`tfrec.networks.ActorNetwork`.
* Reference policies for the simulators (:mod:`tfrec.policies.reference`): random, most-popular,
  oracle-myopic and far-sighted (true user state), and the history-only oracles
  (:class:`HistoryInferredOracle`: interests estimated from the observed window); together they
  bracket what a learned policy can reach.
* Behaviour (logging) policies with exact propensities (:mod:`tfrec.policies.behavior`):
  :class:`PopularitySoftmaxPolicy`, :class:`EpsilonPopularityPolicy` (mixed with uniform
  slates), :class:`PersonalizedSoftmaxPolicy`; :func:`generate_logged_data` rolls one out on a
  simulator and returns the log with the behaviour's true value (:class:`LoggedData`).
"""

from tfrec.policies.behavior import (
    EpsilonPopularityPolicy,
    PersonalizedSoftmaxPolicy,
    PopularitySoftmaxPolicy,
    iid_slate_info,
    personalized_probabilities,
    popularity_softmax,
    slate_propensity_spec,
)
from tfrec.policies.logged_data import LoggedData, generate_logged_data
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
from tfrec.policies.sampled_slate import SampledSlatePolicy
from tfrec.policies.slate_sampling import SlateSamplingPolicy
from tfrec.policies.topk import LOG_PROBABILITY, BoltzmannTopKPolicy, GreedyTopKPolicy

__all__ = [
    "LOG_PROBABILITY",
    "BoltzmannTopKPolicy",
    "EpsilonPopularityPolicy",
    "GreedyTopKPolicy",
    "HistoryInferredOracle",
    "LoggedData",
    "MostPopularPolicy",
    "OraclePolicy",
    "PersonalizedSoftmaxPolicy",
    "PopularitySoftmaxPolicy",
    "RandomSlatePolicy",
    "SampledSlatePolicy",
    "SlateSamplingPolicy",
    "UserBlindView",
    "best_mnl_slate",
    "far_sighted_policy",
    "generate_logged_data",
    "iid_slate_info",
    "oracle_myopic_policy",
    "personalized_probabilities",
    "popularity_softmax",
    "random_slate_policy",
    "slate_propensity_spec",
]
