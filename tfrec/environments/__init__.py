"""User simulators as batched TF-Agents ``PyEnvironment``s, and logged-data generation.

* :class:`InterestEvolutionEnv` — synthetic RecSim-style simulator (catalog with clickbait,
  users with interests, satiation and a time budget, logit choice with a no-click option).
* :class:`SemiSyntheticEnv` — users and click model fitted (implicit ALS) on a real
  ``InteractionLog``.
* :func:`generate_logged_data` — roll out a behaviour policy (popularity softmax, or the
  personalised :class:`PersonalizedSoftmaxPolicy`) and return an ``InteractionLog`` with true
  propensities and the behaviour policy's true value.

All environments share the contract of ``docs/architecture.md`` (:class:`SlateEnvironment`).
"""

from tfrec.environments.base import SlateEnvironment, catalog_vocabulary, left_pad
from tfrec.environments.catalog import Catalog, CatalogConfig
from tfrec.environments.choice import (
    first_occurrence_mask,
    sample_choice,
    slate_choice_probabilities,
)
from tfrec.environments.episodes import StepBatch, run_episodes
from tfrec.environments.factorization import ImplicitALS, fit_implicit_als
from tfrec.environments.logged_data import LoggedData, generate_logged_data
from tfrec.environments.logging_policy import (
    PersonalizedSoftmaxPolicy,
    PopularitySoftmaxPolicy,
    personalized_probabilities,
)
from tfrec.environments.semi_synthetic import SemiSyntheticConfig, SemiSyntheticEnv
from tfrec.environments.simulator import InterestEvolutionConfig, InterestEvolutionEnv
from tfrec.environments.users import UserConfig, UserModel, UserState

__all__ = [
    "Catalog",
    "CatalogConfig",
    "ImplicitALS",
    "InterestEvolutionConfig",
    "InterestEvolutionEnv",
    "LoggedData",
    "PersonalizedSoftmaxPolicy",
    "PopularitySoftmaxPolicy",
    "SemiSyntheticConfig",
    "SemiSyntheticEnv",
    "SlateEnvironment",
    "StepBatch",
    "UserConfig",
    "UserModel",
    "UserState",
    "catalog_vocabulary",
    "first_occurrence_mask",
    "fit_implicit_als",
    "generate_logged_data",
    "left_pad",
    "personalized_probabilities",
    "run_episodes",
    "sample_choice",
    "slate_choice_probabilities",
]
