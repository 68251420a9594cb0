"""The logging policies of the benchmark and the budget-shaped training simulator."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from tfrec.environments import InterestEvolutionEnv
from tfrec.policies import PersonalizedSoftmaxPolicy, PopularitySoftmaxPolicy


@dataclasses.dataclass(frozen=True)
class Behavior:
    """The logging policy of part 2 (``--behavior`` and its weights)."""

    kind: str = "popularity"
    temperature: float = 0.5
    interest_weight: float = 1.0
    popularity_weight: float = 1.0

    def policy(self, env: InterestEvolutionEnv, popularity: np.ndarray, seed: int) -> Any:
        """The behaviour policy on ``env`` (the personalised one reads ``env``'s users)."""
        if self.kind == "personalized":
            return PersonalizedSoftmaxPolicy(
                env, popularity, self.interest_weight, self.popularity_weight, seed=seed
            )
        return PopularitySoftmaxPolicy(
            env.time_step_spec(), env.action_spec(), popularity, self.temperature, seed=seed
        )

    def describe(self) -> str:
        """One line naming the policy and its weights."""
        if self.kind == "personalized":
            return (
                f"personalised softmax({self.interest_weight:g} * click logit + "
                f"{self.popularity_weight:g} * log popularity)"
            )
        return f"popularity softmax, tau={self.temperature:g}"


class BudgetShapedEnv(InterestEvolutionEnv):
    """The default simulator whose reward is the far-sighted oracle's per-step value.

    A click on item ``j`` earns ``reward_j + (budget_effect_j - no_click_budget_effect)``, a step
    without a click 0: exactly the values :func:`far_sighted_policy` maximises step by step
    (``budget_value = 1``), so the budget refund of a high-quality item is paid *at the click*
    instead of as a longer session later. Training on it and evaluating on the true return
    separates "cannot plan the budget" from "cannot infer the user from the history".
    """

    def _respond(
        self, users: np.ndarray, rows: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        position, reward, done = super()._respond(users, rows)
        clicked = rows[np.arange(users.size), np.maximum(position, 0)]
        bonus = self.item_budget_effects()[clicked] - self.no_click_budget_effect
        return position, (reward + np.where(position >= 0, bonus, 0.0)).astype(np.float32), done
