"""User simulators as batched TF-Agents ``PyEnvironment``s.

* :class:`InterestEvolutionEnv` — synthetic RecSim-style simulator (catalog with clickbait,
  users with interests, satiation and a time budget, logit choice with a no-click option).
* :class:`SemiSyntheticEnv` — users and click model fitted (implicit ALS) on a real
  ``InteractionLog``.
* :func:`run_episodes` — roll a policy out over a number of episodes, step batch by step batch.

The behaviour (logging) policies and the logs rolled out with them live one layer up, in
:mod:`tfrec.policies` (``tfrec.policies.generate_logged_data``).

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
from tfrec.environments.semi_synthetic import SemiSyntheticConfig, SemiSyntheticEnv
from tfrec.environments.simulator import InterestEvolutionConfig, InterestEvolutionEnv
from tfrec.environments.users import UserConfig, UserModel, UserState

__all__ = [
    "Catalog",
    "CatalogConfig",
    "ImplicitALS",
    "InterestEvolutionConfig",
    "InterestEvolutionEnv",
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
    "left_pad",
    "run_episodes",
    "sample_choice",
    "slate_choice_probabilities",
]
