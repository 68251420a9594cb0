"""Semi-synthetic simulator: users and click model fitted on a real interaction log.

An implicit-ALS model (:func:`~tfrec.environments.factorization.fit_implicit_als`) fitted on an
``InteractionLog`` plays the users' click model, as in the semi-synthetic evaluations of
Chen et al. 2019 and RecSim (Ie et al. 2019):

* a new user is a real user of the log, sampled uniformly; the session starts after a random
  prefix of its real sequence (cut uniform in ``[1, len]``), and the observed history is the last
  ``max_len`` items of that prefix;
* item ``j`` has logit ``score_scale * <x_u, y_j> - repeat_penalty * seen_j`` (``seen_j``: the
  user consumed ``j`` in the prefix or the session) against a no-click logit, with the multinomial
  logit choice of :mod:`tfrec.environments.choice`;
* after clicking ``j`` the user's factor drifts toward the item, ``x_u += drift_rate (y_j - x_u)``;
* reward 1 per click; the user has ``patience`` no-clicks before leaving (each slate without a
  click costs 1), and the step cap ends the session otherwise.

Item index ``j + 2`` is the fitted model's item row ``j``; the vocabulary holds the log's real
item ids in that order.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from tfrec.environments.base import SlateEnvironment
from tfrec.environments.choice import sample_choice, slate_choice_probabilities
from tfrec.environments.factorization import ImplicitALS, fit_implicit_als
from tfrec.specs import FIRST_ITEM_INDEX, PAD_INDEX


@dataclasses.dataclass(frozen=True)
class SemiSyntheticConfig:
    """Configuration of :class:`SemiSyntheticEnv`.

    Attributes:
      slate_size: items per slate ``k``.
      max_len: width of the observed history window.
      max_steps: step cap of a session.
      factors: ALS latent dimension.
      als_iterations: ALS sweeps.
      als_regularization: ALS L2 weight.
      als_alpha: ALS confidence slope.
      score_scale: multiplier of ``<x_u, y_j>`` in the choice logit.
      no_click_logit: logit of the no-click option.
      repeat_penalty: logit penalty of an item the user has already consumed.
      drift_rate: step of the user factor toward a clicked item, in ``[0, 1]``.
      patience: no-click slates a user tolerates before leaving.
    """

    slate_size: int = 5
    max_len: int = 20
    max_steps: int = 50
    factors: int = 32
    als_iterations: int = 10
    als_regularization: float = 0.1
    als_alpha: float = 10.0
    score_scale: float = 5.0
    no_click_logit: float = 3.0
    repeat_penalty: float = 5.0
    drift_rate: float = 0.1
    patience: float = 5.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.drift_rate <= 1.0:
            raise ValueError(
                f"SemiSyntheticConfig.drift_rate must be in [0, 1], got {self.drift_rate}."
            )
        if self.patience <= 0:
            raise ValueError(f"SemiSyntheticConfig.patience must be > 0, got {self.patience}.")


class SemiSyntheticEnv(SlateEnvironment):
    """Batched simulator whose users and click model come from a real log.

    Args:
      log: the :class:`tfrec.data.InteractionLog` to fit (ignored when ``model`` is given).
      config: simulator configuration.
      batch_size: users simulated in parallel ``B``.
      seed: seed of user sampling and choices (and of the ALS initialisation).
      model: an already fitted :class:`ImplicitALS` (skips fitting).
    """

    def __init__(
        self,
        log: Any = None,
        config: SemiSyntheticConfig | None = None,
        batch_size: int = 1,
        seed: int | None = 0,
        model: ImplicitALS | None = None,
    ):
        config = config or SemiSyntheticConfig()
        if model is None:
            if log is None:
                raise ValueError("SemiSyntheticEnv needs an InteractionLog (log=) or a model=.")
            model = fit_implicit_als(
                log,
                factors=config.factors,
                regularization=config.als_regularization,
                alpha=config.als_alpha,
                iterations=config.als_iterations,
                seed=0 if seed is None else seed,
            )
        num_items = model.item_ids.size
        if not 1 <= config.slate_size <= num_items:
            raise ValueError(
                f"slate_size={config.slate_size} must be in [1, items in the log={num_items}]."
            )
        super().__init__(num_items, config, batch_size, seed)
        self.model = model
        d = model.item_factors.shape[1]
        self.user_factors = np.zeros((batch_size, d), np.float32)
        self.user_rows = np.zeros(batch_size, np.int64)
        self.seen = np.zeros((batch_size, num_items), bool)
        self.patience = np.zeros(batch_size, np.float32)

    @property
    def vocabulary(self) -> Any:
        """:class:`tfrec.data.ItemVocabulary` of the log's item ids (row ``j`` = index ``j + 2``)."""
        if self._vocabulary is None:
            from tfrec.data import ItemVocabulary

            self._vocabulary = ItemVocabulary(self.model.item_ids, self.model.item_counts)
        return self._vocabulary

    # -- hooks ------------------------------------------------------------------------------
    def _start_users(self, users: np.ndarray) -> np.ndarray:
        m = self.model
        rows = self._rng.integers(0, m.user_ids.size, size=users.size)
        self.user_rows[users] = rows
        self.user_factors[users] = m.user_factors[rows]
        self.patience[users] = self.config.patience
        self.seen[users] = False
        windows = np.full((users.size, self.max_len), PAD_INDEX, np.int32)
        for n, (slot, row) in enumerate(zip(users, rows)):
            sequence = m.user_items[m.user_offsets[row] : m.user_offsets[row + 1]]
            prefix = sequence[: self._rng.integers(1, sequence.size + 1)]
            self.seen[slot, prefix] = True
            recent = prefix[-self.max_len :]
            windows[n, self.max_len - recent.size :] = recent + FIRST_ITEM_INDEX
        return windows

    def _logits(self, users: np.ndarray, rows: np.ndarray | None) -> np.ndarray:
        c, y = self.config, self.model.item_factors
        x = self.user_factors[users]
        if rows is None:
            score, seen = x @ y.T, self.seen[users]
        else:
            score = np.einsum("bd,bkd->bk", x, y[rows])
            seen = np.take_along_axis(self.seen[users], rows, axis=1)
        return c.score_scale * score - c.repeat_penalty * seen

    def _respond(
        self, users: np.ndarray, rows: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        c = self.config
        probs = slate_choice_probabilities(self._logits(users, rows), rows, c.no_click_logit)
        position = sample_choice(probs, self._rng)
        click = position >= 0
        cu = users[click]
        crow = rows[click, position[click]]
        self.seen[cu, crow] = True
        self.user_factors[cu] += c.drift_rate * (
            self.model.item_factors[crow] - self.user_factors[cu]
        )
        self.patience[users[~click]] -= 1.0
        reward = click.astype(np.float32)
        return position, reward, self.patience[users] <= 0.0

    # -- oracle access (same interface as InterestEvolutionEnv) ------------------------------
    @property
    def no_click_logit(self) -> float:
        """Logit of the no-click option."""
        return self.config.no_click_logit

    @property
    def no_click_budget_effect(self) -> float:
        """Patience lost by a slate without a click."""
        return -1.0

    @property
    def item_features(self) -> np.ndarray:
        """float32 ``[N, d]`` the fitted item factors (for diversity metrics)."""
        return self.model.item_factors

    def click_logits(self) -> np.ndarray:
        """True choice logits of every item for the current users: float ``[B, N]``."""
        return self._logits(np.arange(self.batch_size), None)

    def item_rewards(self) -> np.ndarray:
        """Reward of a click on each item (1): float32 ``[N]``."""
        return np.ones(self.num_items, np.float32)

    def item_budget_effects(self) -> np.ndarray:
        """Patience change of a click on each item (0): float32 ``[N]``."""
        return np.zeros(self.num_items, np.float32)

    def item_popularity(self) -> np.ndarray:
        """Interaction counts of the items in the fitted log, plus one: float64 ``[N]``."""
        return self.model.item_counts.astype(np.float64) + 1.0
