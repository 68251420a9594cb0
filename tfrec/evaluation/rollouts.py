"""Policy evaluation by rollouts on a (batched) simulator: return with a 95% CI and slate metrics.

``evaluate_policy`` runs whole episodes of a TF-Agents policy (py policy, or TF policy wrapped in
``PyTFEagerPolicy``) on a batched tfrec environment and reports

* mean return over episodes with a Student-t confidence interval,
* click-through rate (clicks / slates shown),
* mean session length (steps),
* catalog coverage (distinct items recommended / catalog size),
* intra-list diversity (mean pairwise ``1 - cosine`` between the feature vectors of a slate's
  items, Ziegler et al. 2005; 0 for a slate of one item). Needs item features: given explicitly,
  or taken from the environment's ``item_features``; NaN when neither exists.

Episodes are selected without length bias (see :func:`tfrec.environments.episodes.run_episodes`).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import pandas as pd

from tfrec.environments.choice import first_occurrence_mask
from tfrec.environments.episodes import run_episodes
from tfrec.specs import FIRST_ITEM_INDEX


def t_quantile(probability: float, df: float) -> float:
    """Quantile of Student's t distribution (TFP), e.g. ``t_quantile(0.975, 9) = 2.262``.

    Args:
      probability: in ``(0, 1)``.
      df: degrees of freedom, > 0.

    Returns:
      The quantile as a float.
    """
    import tensorflow_probability as tfp  # local: heavy import

    dist = tfp.distributions.StudentT(df=np.float64(df), loc=np.float64(0), scale=np.float64(1))
    return float(dist.quantile(np.float64(probability)))


def mean_confidence_interval(
    values: np.ndarray, confidence: float = 0.95
) -> tuple[float, float, float]:
    """Mean and two-sided Student-t confidence interval of i.i.d. values.

    Args:
      values: float ``[n]``, ``n >= 2``.
      confidence: coverage of the interval.

    Returns:
      ``(mean, lower, upper)``.
    """
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 1 or values.size < 2:
        raise ValueError(f"need at least 2 values for a confidence interval, got {values.size}.")
    mean = float(values.mean())
    half = t_quantile(0.5 + confidence / 2.0, values.size - 1) * values.std(ddof=1)
    half /= math.sqrt(values.size)
    return mean, float(mean - half), float(mean + half)


def intra_list_diversity(slates: np.ndarray, features: np.ndarray) -> np.ndarray:
    """Mean pairwise cosine distance of the distinct items of each slate.

    Args:
      slates: int ``[n, k]`` catalog rows.
      features: float ``[N, d]`` item feature vectors.

    Returns:
      float64 ``[n]`` in ``[0, 2]``; 0 for a slate with a single distinct item.
    """
    x = np.asarray(features, np.float64)[slates]  # [n, k, d]
    x /= np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)
    distinct = first_occurrence_mask(slates).astype(np.float64)  # [n, k]
    pair = distinct[:, :, None] * distinct[:, None, :]
    pair *= 1.0 - np.eye(slates.shape[1])[None]
    distance = 1.0 - np.einsum("nkd,nld->nkl", x, x)
    count = pair.sum((1, 2))
    return np.where(count > 0, (distance * pair).sum((1, 2)) / np.maximum(count, 1), 0.0)


@dataclasses.dataclass(frozen=True)
class RolloutResult:
    """Summary of an evaluation by rollouts.

    Attributes:
      policy: name of the evaluated policy.
      num_episodes: episodes averaged.
      mean_return: mean undiscounted episode return.
      return_lower: lower end of the return's confidence interval.
      return_upper: upper end.
      confidence: coverage of the interval (0.95).
      ctr: clicks per slate shown.
      mean_length: mean episode length in steps.
      coverage: distinct items recommended / catalog size.
      diversity: mean intra-list diversity of the slates (NaN without item features).
      returns: float64 ``[num_episodes]`` the episode returns.
    """

    policy: str
    num_episodes: int
    mean_return: float
    return_lower: float
    return_upper: float
    confidence: float
    ctr: float
    mean_length: float
    coverage: float
    diversity: float
    returns: np.ndarray = dataclasses.field(repr=False, compare=False)

    @classmethod
    def from_returns(
        cls,
        policy: str,
        returns: np.ndarray,
        confidence: float,
        *,
        ctr: float,
        mean_length: float,
        coverage: float,
        diversity: float,
    ) -> RolloutResult:
        """The result of episode ``returns``: their mean with a Student-t CI, and slate metrics.

        Args:
          policy: name of the evaluated policy.
          returns: float ``[num_episodes]`` episode returns (``num_episodes >= 2``).
          confidence: coverage of the return's interval.
          ctr: clicks per slate shown.
          mean_length: mean episode length in steps.
          coverage: distinct items recommended / catalog size.
          diversity: mean intra-list diversity (NaN without item features).

        Returns:
          The :class:`RolloutResult`.
        """
        mean, lower, upper = mean_confidence_interval(returns, confidence)
        metrics = (ctr, mean_length, coverage, diversity)
        return cls(policy, len(returns), mean, lower, upper, confidence, *metrics, returns)

    @property
    def return_half_width(self) -> float:
        """Half width of the return's confidence interval."""
        return (self.return_upper - self.return_lower) / 2.0

    def as_row(self) -> dict[str, Any]:
        """The scalar fields as a dict (one table row)."""
        return {
            f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "returns"
        }

    @staticmethod
    def to_frame(results: list[RolloutResult]) -> pd.DataFrame:
        """A DataFrame with one row per result."""
        return pd.DataFrame([r.as_row() for r in results])


def evaluate_policy(
    env: Any,
    policy: Any,
    num_episodes: int,
    seed: int | None = 0,
    *,
    name: str | None = None,
    item_features: np.ndarray | None = None,
    confidence: float = 0.95,
    max_total_steps: int | None = None,
) -> RolloutResult:
    """Runs ``num_episodes`` complete episodes of ``policy`` on ``env`` and summarises them.

    Args:
      env: a batched tfrec environment (``SlateEnvironment``: batched ``PyEnvironment`` with
        ``get_info()``). It is re-seeded with ``seed`` and reset.
      policy: a ``PyPolicy`` (e.g. :mod:`tfrec.policies.reference`) or a ``TFPolicy`` (wrapped in
        ``PyTFEagerPolicy``), taking the env's batched time steps.
      num_episodes: episodes to evaluate (>= 2).
      seed: environment seed (None: keep the environment's generator).
      name: policy name for the result (default: the policy's class name).
      item_features: float ``[N, d]`` for intra-list diversity (default ``env.item_features``).
      confidence: coverage of the return's interval.
      max_total_steps: safety cap on environment steps (default: see
        :func:`~tfrec.environments.episodes.run_episodes`).

    Returns:
      A :class:`RolloutResult`.
    """
    if num_episodes < 2:
        raise ValueError(
            f"num_episodes must be >= 2 for a confidence interval, got {num_episodes}."
        )
    name = name or type(policy).__name__
    if item_features is None:
        item_features = getattr(env, "item_features", None)
    returns = np.zeros(num_episodes)
    lengths = np.zeros(num_episodes, np.int64)
    clicks = slates_shown = 0
    recommended = np.zeros(env.num_items, bool)
    diversity_sum = 0.0
    for batch in run_episodes(env, policy, num_episodes, seed, max_total_steps):
        rows = batch.action - FIRST_ITEM_INDEX
        recommended[rows.ravel()] = True
        if item_features is not None and rows.size:
            diversity_sum += float(intra_list_diversity(rows, item_features).sum())
        slates_shown += rows.shape[0]
        clicks += int((batch.click_position >= 0).sum())
        np.add.at(returns, batch.episode, batch.reward)
        np.add.at(lengths, batch.episode, 1)
    return RolloutResult.from_returns(
        name,
        returns,
        confidence,
        ctr=clicks / max(slates_shown, 1),
        mean_length=float(lengths.mean()),
        coverage=float(recommended.mean()),
        diversity=diversity_sum / slates_shown if item_features is not None else float("nan"),
    )


def clickbait_shares(
    env: Any, policy: Any, episodes: int, seed: int | None = 99
) -> dict[str, float]:
    """Share of clickbait among the items a policy shows and among the clicks it gets.

    Args:
      env: a simulator whose ``catalog.is_clickbait`` (bool ``[N]``) marks clickbait items
        (``InterestEvolutionEnv``).
      policy: the policy (py or TF).
      episodes: whole episodes to run.
      seed: environment seed.

    Returns:
      ``{"shown": share of shown slate items, "clicked": share of clicks}``.
    """
    shown = clicked = 0.0
    shown_bait = clicked_bait = 0.0
    bait = env.catalog.is_clickbait
    for batch in run_episodes(env, policy, episodes, seed=seed):
        rows = batch.action - FIRST_ITEM_INDEX
        shown += rows.size
        shown_bait += bait[rows].sum()
        click = batch.clicked_item[batch.click_position >= 0] - FIRST_ITEM_INDEX
        clicked += click.size
        clicked_bait += bait[click].sum()
    return {"shown": shown_bait / shown, "clicked": clicked_bait / max(clicked, 1.0)}
