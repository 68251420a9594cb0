"""Users of the interest-evolution simulator: latent state, choice model, transition, reward.

Follows RecSim's interest-evolution user model (Ie et al. 2019, arXiv 1909.04847, §4), with the
parts vectorised over a batch of users in numpy:

* **state**: interest vector ``u in R^T`` (uniform in ``[-1, 1]``), per-topic satiation
  ``sigma in R^T`` (starts at 0), time budget ``b`` (minutes).
* **choice** (multinomial logit with a no-click option, :mod:`tfrec.environments.choice`): item
  ``j`` has logit ``s_j = appeal_weight * appeal_j + interest_weight * <u, f_j>
  - satiation_weight * sigma_{topic_j}``; clicking nothing has logit ``no_click_logit``.
* **transition** after clicking item ``j`` of topic ``t``: interest drifts toward the topic,
  ``u_t += drift_rate * (1 - u_t)``; satiation decays, ``sigma *= satiation_decay``, then
  ``sigma_t += 1``; the budget pays the item's length and is partly refunded by its quality,
  ``b += -length_j + refund_rate * quality_j * length_j``. A step without a click costs
  ``no_click_cost`` minutes and also decays satiation.
* **reward** of a click: ``1`` (``"click"``) or the item's length in minutes (``"engagement"``).
* **termination**: the budget is spent (``b <= 0``).

Clickbait items (high appeal, negative quality) are clicked more, but each click costs
``length * (1 + refund_rate * |quality|)`` minutes of budget instead of
``length * (1 - refund_rate * quality)``: they win now and end sessions sooner.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from tfrec.environments.catalog import Catalog

REWARD_TYPES = ("click", "engagement")


@dataclasses.dataclass(frozen=True)
class UserConfig:
    """Parameters of the user model (see the module docstring for the equations).

    Attributes:
      interest_low: lower bound of the uniform initial interest in each topic.
      interest_high: upper bound of the uniform initial interest in each topic.
      budget: time budget of a session (minutes).
      appeal_weight: weight of the item's appeal in the choice logit.
      interest_weight: weight of ``<interest, features>`` in the choice logit.
      satiation_weight: how much one unit of topic satiation lowers the logit.
      satiation_decay: per-step multiplicative decay of satiation, in ``[0, 1]``.
      no_click_logit: logit of the no-click option.
      drift_rate: step size of the interest drift toward a consumed topic, in ``[0, 1]``.
      refund_rate: fraction of ``quality * length`` refunded to the budget after a click.
      no_click_cost: budget (minutes) a step without a click costs.
      initial_history_len: items in a new user's observed history, drawn from its interests
        (topic ~ softmax(interest / initial_history_temperature), item uniform in the topic).
        They are observation only: they change neither interest nor satiation.
      initial_history_temperature: temperature of that topic softmax.
    """

    interest_low: float = -1.0
    interest_high: float = 1.0
    budget: float = 60.0
    appeal_weight: float = 1.0
    interest_weight: float = 2.0
    satiation_weight: float = 1.0
    satiation_decay: float = 0.8
    no_click_logit: float = 2.5
    drift_rate: float = 0.1
    refund_rate: float = 0.9
    no_click_cost: float = 3.0
    initial_history_len: int = 5
    initial_history_temperature: float = 0.5

    def __post_init__(self) -> None:
        if not self.interest_low <= self.interest_high:
            raise ValueError(
                f"UserConfig needs interest_low <= interest_high, got {self.interest_low} > "
                f"{self.interest_high}."
            )
        if self.budget <= 0:
            raise ValueError(f"UserConfig.budget must be > 0 minutes, got {self.budget}.")
        for name in ("satiation_decay", "drift_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"UserConfig.{name} must be in [0, 1], got {value}.")
        if self.no_click_cost <= 0:
            raise ValueError(
                f"UserConfig.no_click_cost must be > 0 (else a session may never end), got "
                f"{self.no_click_cost}."
            )
        if self.initial_history_len < 0:
            raise ValueError(
                f"UserConfig.initial_history_len must be >= 0, got {self.initial_history_len}."
            )
        if self.initial_history_temperature <= 0:
            raise ValueError(
                "UserConfig.initial_history_temperature must be > 0, got "
                f"{self.initial_history_temperature}."
            )


@dataclasses.dataclass(eq=False)
class UserState:
    """Latent state of a batch of users (mutable; updated in place by the simulator).

    Attributes:
      interest: float32 ``[B, T]``.
      satiation: float32 ``[B, T]``.
      budget: float32 ``[B]`` remaining minutes.
    """

    interest: np.ndarray
    satiation: np.ndarray
    budget: np.ndarray


class UserModel:
    """Vectorised interest-evolution user model over a fixed catalog.

    Args:
      config: user parameters.
      catalog: the items users choose from.
      reward_type: ``"click"`` or ``"engagement"``.
    """

    def __init__(self, config: UserConfig, catalog: Catalog, reward_type: str = "engagement"):
        if reward_type not in REWARD_TYPES:
            raise ValueError(f"reward_type must be one of {REWARD_TYPES}, got {reward_type!r}.")
        self.config = config
        self.catalog = catalog
        self.reward_type = reward_type
        # Per-item constants of the logit, the reward and the budget effect of a click.
        self._static_logit = (config.appeal_weight * catalog.appeal).astype(np.float32)
        self._click_reward = (
            np.ones(catalog.num_items, np.float32)
            if reward_type == "click"
            else catalog.length.astype(np.float32)
        )
        self._click_budget = (
            -catalog.length + config.refund_rate * catalog.quality * catalog.length
        ).astype(np.float32)
        order = np.argsort(catalog.topics, kind="stable")
        counts = np.bincount(catalog.topics, minlength=catalog.num_topics)
        self._topic_items = order
        self._topic_start = np.concatenate([[0], np.cumsum(counts)[:-1]])
        self._topic_count = counts

    # -- state ------------------------------------------------------------------------------
    def sample(self, n: int, rng: np.random.Generator) -> UserState:
        """Samples ``n`` fresh users.

        Args:
          n: number of users.
          rng: numpy random generator.

        Returns:
          A :class:`UserState` with arrays of leading dimension ``n``.
        """
        c, t = self.config, self.catalog.num_topics
        interest = rng.uniform(c.interest_low, c.interest_high, size=(n, t)).astype(np.float32)
        return UserState(
            interest=interest,
            satiation=np.zeros((n, t), np.float32),
            budget=np.full(n, c.budget, np.float32),
        )

    def initial_history(self, interest: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Catalog rows a new user has consumed before the session (observation only).

        Args:
          interest: float ``[n, T]`` the users' interests.
          rng: numpy random generator.

        Returns:
          int64 ``[n, initial_history_len]`` catalog rows, oldest first.
        """
        n, length = interest.shape[0], self.config.initial_history_len
        present = self._topic_count > 0
        logits = np.where(present, interest / self.config.initial_history_temperature, -np.inf)
        p = np.exp(logits - logits.max(axis=1, keepdims=True))
        cum = np.cumsum(p / p.sum(axis=1, keepdims=True), axis=1)
        u = rng.random((n, length))
        topic = np.minimum((cum[:, None, :] <= u[:, :, None]).sum(-1), len(present) - 1)
        offset = (rng.random((n, length)) * self._topic_count[topic]).astype(np.int64)
        return self._topic_items[self._topic_start[topic] + offset]

    # -- choice -----------------------------------------------------------------------------
    def item_logits(self, state: UserState, rows: np.ndarray | None = None) -> np.ndarray:
        """Choice logits ``s_j`` of items for each user.

        Args:
          state: users' state, leading dimension ``B``.
          rows: int ``[B, k]`` catalog rows, or None for the whole catalog.

        Returns:
          float32 ``[B, k]`` (or ``[B, N]`` when ``rows`` is None).
        """
        c, cat = self.config, self.catalog
        if rows is None:
            affinity = state.interest @ cat.features.T  # [B, N]
            sat = state.satiation[:, cat.topics]
            static = self._static_logit[None, :]
        else:
            affinity = (cat.features[rows] * state.interest[:, None, :]).sum(-1)
            sat = state.satiation[np.arange(rows.shape[0])[:, None], cat.topics[rows]]
            static = self._static_logit[rows]
        return static + c.interest_weight * affinity - c.satiation_weight * sat

    def click_reward(self, rows: np.ndarray | None = None) -> np.ndarray:
        """Reward of clicking each item (1, or its length in minutes).

        Args:
          rows: int catalog rows of any shape, or None for the whole catalog ``[N]``.

        Returns:
          float32 array shaped like ``rows`` (or ``[N]``).
        """
        return self._click_reward if rows is None else self._click_reward[rows]

    def click_budget_effect(self, rows: np.ndarray | None = None) -> np.ndarray:
        """Change of the budget when the item is clicked: ``-length + refund*quality*length``.

        Args:
          rows: int catalog rows of any shape, or None for the whole catalog ``[N]``.

        Returns:
          float32 array shaped like ``rows`` (or ``[N]``), in minutes.
        """
        return self._click_budget if rows is None else self._click_budget[rows]

    @property
    def no_click_budget_effect(self) -> float:
        """Change of the budget after a step without a click (``-no_click_cost``)."""
        return -self.config.no_click_cost

    # -- transition -------------------------------------------------------------------------
    def step(self, state: UserState, users: np.ndarray, clicked_rows: np.ndarray) -> np.ndarray:
        """Applies one step's transition to some users, in place.

        Args:
          state: the batch's state (modified in place).
          users: int ``[n]`` indices of the users that took a step.
          clicked_rows: int ``[n]`` catalog row each of them clicked, ``-1`` for no click.

        Returns:
          float32 ``[n]`` rewards of the step.
        """
        c = self.config
        everyone = users.size == state.budget.shape[0]  # fast path: no fancy indexing
        if everyone:
            state.satiation *= c.satiation_decay
        else:
            state.satiation[users] *= c.satiation_decay
        click = clicked_rows >= 0
        cu, crow = users[click], clicked_rows[click]
        ct = self.catalog.topics[crow]
        state.interest[cu, ct] += c.drift_rate * (1.0 - state.interest[cu, ct])
        state.satiation[cu, ct] += 1.0
        delta = np.full(users.size, self.no_click_budget_effect, np.float32)
        delta[click] = self._click_budget[crow]
        reward = np.zeros(users.size, np.float32)
        reward[click] = self._click_reward[crow]
        if everyone:
            state.budget += delta
        else:
            state.budget[users] += delta
        return reward
