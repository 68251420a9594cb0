"""The interest-evolution simulator: a batched TF-Agents ``PyEnvironment`` (RecSim style).

Composed of a :class:`~tfrec.environments.catalog.Catalog`, a
:class:`~tfrec.environments.users.UserModel` (state, logit choice with a no-click option,
transition, reward, budget termination) and the shared slate mechanics of
:class:`~tfrec.environments.base.SlateEnvironment`. The observation is the user's consumed-item
history, never the latent state; oracle policies read the latent state through the methods
below (``click_logits``, ``click_probabilities``, ``expected_reward``, ``expected_budget_effect``).

Example::

    env = InterestEvolutionEnv(InterestEvolutionConfig(), batch_size=256, seed=0)
    tf_env = tf_agents.environments.TFPyEnvironment(env)
"""

from __future__ import annotations

import dataclasses

import numpy as np

from tfrec.environments.base import SlateEnvironment, left_pad
from tfrec.environments.catalog import Catalog, CatalogConfig
from tfrec.environments.choice import sample_choice, slate_choice_probabilities
from tfrec.environments.users import REWARD_TYPES, UserConfig, UserModel, UserState
from tfrec.specs import FIRST_ITEM_INDEX


@dataclasses.dataclass(frozen=True)
class InterestEvolutionConfig:
    """Configuration of :class:`InterestEvolutionEnv`.

    Attributes:
      catalog: how items are generated.
      users: the user model's parameters.
      slate_size: items per slate ``k``.
      max_len: width of the observed history window.
      max_steps: step cap of a session (truncation).
      reward: ``"engagement"`` (minutes consumed) or ``"click"`` (1 per click).
      catalog_seed: seed of the catalog, independent of the environment seed so that
        environments with different seeds share the same items.
    """

    catalog: CatalogConfig = dataclasses.field(default_factory=CatalogConfig)
    users: UserConfig = dataclasses.field(default_factory=UserConfig)
    slate_size: int = 5
    max_len: int = 20
    max_steps: int = 50
    reward: str = "engagement"
    catalog_seed: int = 0

    def __post_init__(self) -> None:
        if self.reward not in REWARD_TYPES:
            raise ValueError(
                f"InterestEvolutionConfig.reward must be one of {REWARD_TYPES}, got "
                f"{self.reward!r}."
            )
        if not 1 <= self.slate_size <= self.catalog.num_items:
            raise ValueError(
                f"InterestEvolutionConfig.slate_size={self.slate_size} must be in "
                f"[1, catalog.num_items={self.catalog.num_items}]."
            )


class InterestEvolutionEnv(SlateEnvironment):
    """Batched interest-evolution user simulator.

    Args:
      config: simulator configuration.
      batch_size: users simulated in parallel ``B``.
      seed: seed of users, choices and initial histories (the catalog uses
        ``config.catalog_seed``).
    """

    def __init__(
        self,
        config: InterestEvolutionConfig | None = None,
        batch_size: int = 1,
        seed: int | None = 0,
    ):
        config = config or InterestEvolutionConfig()
        super().__init__(config.catalog.num_items, config, batch_size, seed)
        self.catalog = Catalog.generate(config.catalog, np.random.default_rng(config.catalog_seed))
        self.user_model = UserModel(config.users, self.catalog, reward_type=config.reward)
        self.user_state: UserState = self.user_model.sample(batch_size, self._rng)

    # -- hooks ------------------------------------------------------------------------------
    def _start_users(self, users: np.ndarray) -> np.ndarray:
        fresh = self.user_model.sample(users.size, self._rng)
        self.user_state.interest[users] = fresh.interest
        self.user_state.satiation[users] = fresh.satiation
        self.user_state.budget[users] = fresh.budget
        rows = self.user_model.initial_history(fresh.interest, self._rng)
        return left_pad(rows + FIRST_ITEM_INDEX, self.max_len)

    def _respond(
        self, users: np.ndarray, rows: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        state = self.user_state
        if users.size == self.batch_size:  # fast path: every user is in an episode
            sub = state
        else:
            sub = UserState(state.interest[users], state.satiation[users], state.budget[users])
        probs = slate_choice_probabilities(
            self.user_model.item_logits(sub, rows), rows, self.config.users.no_click_logit
        )
        position = sample_choice(probs, self._rng)
        clicked_rows = rows[np.arange(users.size), position]
        clicked_rows[position < 0] = -1
        reward = self.user_model.step(state, users, clicked_rows)
        return position, reward, state.budget[users] <= 0.0

    # -- oracle access to the true model (for reference policies and analysis) --------------
    @property
    def no_click_logit(self) -> float:
        """Logit of the no-click option."""
        return self.config.users.no_click_logit

    @property
    def no_click_budget_effect(self) -> float:
        """Budget change (minutes) of a step without a click."""
        return self.user_model.no_click_budget_effect

    @property
    def item_features(self) -> np.ndarray:
        """float32 ``[N, T]`` item feature vectors (for diversity metrics)."""
        return self.catalog.features

    def click_logits(self) -> np.ndarray:
        """True choice logits of every catalog item for the current users.

        Returns:
          float32 ``[B, N]`` (column ``j`` = item index ``j + 2``).
        """
        return self.user_model.item_logits(self.user_state)

    def click_probabilities(self, slate: np.ndarray) -> np.ndarray:
        """True choice probabilities of a slate for the current users.

        Args:
          slate: int ``[B, k]`` item indices.

        Returns:
          float64 ``[B, k + 1]``: column 0 = no click, column ``1 + i`` = position ``i``.
        """
        rows = np.asarray(slate) - FIRST_ITEM_INDEX
        logits = self.user_model.item_logits(self.user_state, rows)
        return slate_choice_probabilities(logits, rows, self.no_click_logit)

    def item_rewards(self) -> np.ndarray:
        """Reward of a click on each catalog item: float32 ``[N]``."""
        return self.user_model.click_reward()

    def item_budget_effects(self) -> np.ndarray:
        """Budget change (minutes) of a click on each catalog item: float32 ``[N]``."""
        return self.user_model.click_budget_effect()

    def expected_reward(self, slate: np.ndarray) -> np.ndarray:
        """Expected immediate reward of showing ``slate`` to the current users.

        Args:
          slate: int ``[B, k]`` item indices.

        Returns:
          float64 ``[B]``.
        """
        probs = self.click_probabilities(slate)[:, 1:]
        return (probs * self.user_model.click_reward(np.asarray(slate) - FIRST_ITEM_INDEX)).sum(-1)

    def expected_budget_effect(self, slate: np.ndarray) -> np.ndarray:
        """Expected change of the budget (minutes) after showing ``slate``.

        Args:
          slate: int ``[B, k]`` item indices.

        Returns:
          float64 ``[B]`` (negative: the session gets shorter).
        """
        probs = self.click_probabilities(slate)
        rows = np.asarray(slate) - FIRST_ITEM_INDEX
        click = (probs[:, 1:] * self.user_model.click_budget_effect(rows)).sum(-1)
        return click + probs[:, 0] * self.user_model.no_click_budget_effect

    def item_popularity(self, num_users: int = 2000, seed: int = 0) -> np.ndarray:
        """Population click rate of each item shown alone to a fresh user (Monte Carlo).

        What a "most popular" chart of this catalog converges to: ``mean_u P(click j | {j}, u)``
        over ``num_users`` users sampled from the user prior.

        Args:
          num_users: users sampled for the average.
          seed: seed of that sample (independent of the environment's generator).

        Returns:
          float64 ``[N]`` in ``(0, 1)``.
        """
        users = self.user_model.sample(num_users, np.random.default_rng(seed))
        total = np.zeros(self.num_items)
        for start in range(0, num_users, 256):
            part = UserState(
                users.interest[start : start + 256],
                users.satiation[start : start + 256],
                users.budget[start : start + 256],
            )
            logits = self.user_model.item_logits(part).astype(np.float64)
            total += (1.0 / (1.0 + np.exp(self.no_click_logit - logits))).sum(0)
        return total / num_users
