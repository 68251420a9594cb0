"""The propensities slate estimators need, from tfrec's slate models, and a cascade reward model.

For a per-item distribution ``q`` (``[num_slates, num_items]`` or one ``[num_items]`` for all)
and the logged slates ``a`` (``[num_slates, K]``, indices into ``q``), each function returns a
:class:`tfrec.evaluation.slate.SlatePropensities` (joint, per-position marginal, prefix):

* :func:`independent_propensities`: ``K`` i.i.d. draws (``slate_model="independent"``): all exact,
  ``P(a_k at k) = q(a_k)``, ``P(a_1..a_k) = prod_{j<=k} q(a_j)``.
* :func:`plackett_luce_propensities`: without replacement (``slate_model="plackett_luce"``, the
  Gumbel-top-k of :class:`tfrec.policies.SlateSamplingPolicy`). Joint and prefix are exact
  (``prod_j q(a_j) / (1 - sum_{i<j} q(a_i))``); the position marginal is exact at positions 1
  and 2 (``q(a) sum_{b != a} q(b) / (1 - q(b))``) and a Monte-Carlo estimate from
  ``num_samples`` Gumbel-top-k draws beyond, whose standard error ``sqrt(p (1 - p) / M)``
  (``<= 0.5 / sqrt(M)``) is returned with it.
* :func:`epsilon_popularity_propensities`: the exploratory logging policy
  :class:`tfrec.policies.behavior.EpsilonPopularityPolicy` (uniform slates of distinct
  items with probability ``epsilon``, else i.i.d. popularity draws): all exact.

:class:`LinearCascadeModel` is the per-position reward model of the cascade doubly robust
estimator (Kiyohara et al., WSDM 2022): one ridge regression per position on
``[context, one-hot(a_k)]``, fitted from the last position backwards on ``r_k + E_pi Q_{k+1}``
(obp's ``SlateRegressionModel`` recursion) or on the logged reward to go.

:func:`logged_slates` reads an impression log (the ``slate_log_propensity`` and
``position_propensity`` columns of ``tfrec.data.ImpressionLog``) into those arrays.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from tfrec.evaluation.slate import SlatePropensities

__all__ = [
    "LinearCascadeModel",
    "LoggedSlates",
    "logged_slates",
    "epsilon_popularity_propensities",
    "independent_propensities",
    "plackett_luce_propensities",
]


def _inputs(item_probs: np.ndarray, slates: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    q = np.asarray(item_probs, dtype=np.float64)
    a = np.asarray(slates)
    if a.ndim != 2 or not np.issubdtype(a.dtype, np.integer):
        raise ValueError(f"slates must be int [num_slates, slate_size], got {a.dtype} {a.shape}.")
    if q.ndim == 1:
        q = np.broadcast_to(q, (a.shape[0], q.shape[0]))
    if q.ndim != 2 or q.shape[0] != a.shape[0]:
        raise ValueError(
            f"item_probs must be [num_items] or [num_slates={a.shape[0]}, num_items], got "
            f"{q.shape}."
        )
    if a.min() < 0 or a.max() >= q.shape[1]:
        raise ValueError(f"slates hold indices {a.min()}..{a.max()} outside [0, {q.shape[1]}).")
    if (q < 0).any() or not np.allclose(q.sum(axis=1), 1.0, atol=1e-6):
        raise ValueError("item_probs rows must be non-negative and sum to 1.")
    return q, a


def independent_propensities(item_probs: np.ndarray, slates: np.ndarray) -> SlatePropensities:
    """Exact propensities of slates of ``K`` i.i.d. draws from ``q``.

    Args:
      item_probs: float ``[num_items]`` or ``[num_slates, num_items]`` ``q``.
      slates: int ``[num_slates, K]``.

    Returns:
      The :class:`SlatePropensities` (joint ``[num_slates]``, position and cascade
      ``[num_slates, K]``).
    """
    q, a = _inputs(item_probs, slates)
    position = np.take_along_axis(q, a, axis=1)
    cascade = np.cumprod(position, axis=1)
    return SlatePropensities(joint=cascade[:, -1].copy(), position=position, cascade=cascade)


def plackett_luce_propensities(
    item_probs: np.ndarray, slates: np.ndarray, num_samples: int = 2000, seed: int = 0
) -> tuple[SlatePropensities, np.ndarray]:
    """Propensities of slates drawn without replacement from ``q`` (Plackett-Luce).

    Args:
      item_probs: float ``[num_items]`` or ``[num_slates, num_items]`` ``q``.
      slates: int ``[num_slates, K]`` (a slate repeating an item has probability 0).
      num_samples: Gumbel-top-k draws per slate for the position marginals at positions >= 3.
      seed: seed of those draws.

    Returns:
      ``(propensities, position_stderr)``: the :class:`SlatePropensities` and float64
      ``[num_slates, K]`` the Monte-Carlo standard error of each position marginal (0 where
      exact).

    Raises:
      ValueError: if ``K > 2`` and ``num_samples < 1``.
    """
    q, a = _inputs(item_probs, slates)
    n, k = a.shape
    qa = np.take_along_axis(q, a, axis=1)  # [n, K]
    before = np.cumsum(qa, axis=1) - qa
    distinct = np.ones(n, dtype=bool)
    ordered = np.sort(a, axis=1)
    distinct &= np.all(ordered[:, 1:] != ordered[:, :-1], axis=1)
    cond = np.where(distinct[:, None], qa / np.maximum(1.0 - before, 1e-300), 0.0)
    cascade = np.cumprod(cond, axis=1)
    position = np.zeros((n, k))
    stderr = np.zeros((n, k))
    position[:, 0] = qa[:, 0]
    if k > 1:
        # P(a at 2) = q(a) * sum_{b != a} q(b) / (1 - q(b)).
        ratio = q / np.maximum(1.0 - q, 1e-300)
        s = ratio.sum(axis=1)
        position[:, 1] = qa[:, 1] * (s - qa[:, 1] / np.maximum(1.0 - qa[:, 1], 1e-300))
    if k > 2:
        if num_samples < 1:
            raise ValueError(
                f"num_samples must be >= 1 for slates of K={k} > 2, got {num_samples}."
            )
        rng = np.random.default_rng(seed)
        with np.errstate(divide="ignore"):
            log_q = np.log(q)
        hits = np.zeros((n, k - 2))
        for _ in range(num_samples):
            gumbel = log_q - np.log(-np.log(rng.uniform(1e-300, 1.0, size=q.shape)))
            top = np.argsort(-gumbel, axis=1)[:, :k]
            hits += top[:, 2:] == a[:, 2:]
        p = hits / num_samples
        position[:, 2:] = p
        stderr[:, 2:] = np.sqrt(p * (1.0 - p) / num_samples)
    return SlatePropensities(
        joint=cascade[:, -1].copy(), position=position, cascade=cascade
    ), stderr


def epsilon_popularity_propensities(policy: object, slates: np.ndarray) -> SlatePropensities:
    """Exact propensities of an ``EpsilonPopularityPolicy``'s slates.

    Prefix: ``epsilon [a_1..a_k distinct] / (N (N-1) .. (N-k+1)) + (1 - epsilon) prod_{j<=k}
    beta_pop(a_j)``.

    Args:
      policy: a :class:`tfrec.policies.behavior.EpsilonPopularityPolicy`.
      slates: int ``[num_slates, K]`` item indices (``>= 2``, as the simulator's actions).

    Returns:
      The :class:`SlatePropensities`.
    """
    for attr in ("epsilon", "num_items", "popularity_probabilities", "position_probability"):
        if not hasattr(policy, attr):
            raise TypeError(f"policy must be an EpsilonPopularityPolicy, got {type(policy)}.")
    a = np.asarray(slates)
    from tfrec.specs import FIRST_ITEM_INDEX

    eps, n_items = float(policy.epsilon), int(policy.num_items)
    popular = np.cumprod(policy.popularity_probabilities[a - FIRST_ITEM_INDEX], axis=1)
    k = a.shape[1]
    distinct = np.ones(a.shape, dtype=bool)
    for j in range(1, k):
        distinct[:, j] = distinct[:, j - 1] & np.all(a[:, :j] != a[:, j : j + 1], axis=1)
    uniform = np.cumprod(1.0 / (n_items - np.arange(k)))[None, :] * distinct
    cascade = eps * uniform + (1.0 - eps) * popular
    return SlatePropensities(
        joint=cascade[:, -1].copy(), position=policy.position_probability(a), cascade=cascade
    )


class LinearCascadeModel:
    """Per-position ridge regression ``Q_k(x, a_{1:k}) = x . beta_k + theta_k[a_k] + c_k``.

    Args:
      num_actions: number of actions (``a`` in ``0 .. num_actions-1``).
      ridge: L2 penalty of the coefficients (not of the intercept).
    """

    def __init__(self, num_actions: int, ridge: float = 1.0) -> None:
        if num_actions < 1 or ridge < 0:
            raise ValueError(f"need num_actions >= 1 and ridge >= 0, got {num_actions}, {ridge}.")
        self.num_actions = int(num_actions)
        self.ridge = float(ridge)
        self.coefs: list[tuple[np.ndarray, np.ndarray, float]] = []

    def _design(self, context: np.ndarray, actions: np.ndarray) -> np.ndarray:
        onehot = np.zeros((len(actions), self.num_actions))
        onehot[np.arange(len(actions)), actions] = 1.0
        return np.concatenate([context, onehot], axis=1)

    def _solve(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
        """Ridge on centred targets: the intercept is the mean, the one-hot part its offsets."""
        c = float(y.mean())
        gram = x.T @ x + self.ridge * np.eye(x.shape[1])
        coef = np.linalg.lstsq(gram, x.T @ (y - c), rcond=None)[0]
        d = x.shape[1] - self.num_actions
        return coef[:d], coef[d:], c

    def fit(
        self,
        context: np.ndarray,
        slates: np.ndarray,
        rewards: np.ndarray,
        target_item_probs: np.ndarray | None = None,
        continuation: np.ndarray | None = None,
    ) -> LinearCascadeModel:
        """Fits ``Q_K`` .. ``Q_1`` backwards.

        Args:
          context: float ``[num_slates, d]`` features of the request.
          slates: int ``[num_slates, K]`` logged actions.
          rewards: float ``[num_slates, K]`` position rewards.
          target_item_probs: float ``[num_slates, K, num_actions]`` or ``[num_slates,
            num_actions]`` (the same at every position) ``pi(a | x, a_{1:k-1})``: targets
            ``r_k + E_pi Q_{k+1}`` (fitted Q evaluation). None: the logged reward to go
            ``sum_{j >= k} r_j`` (the logging policy's Q; DR stays unbiased, only less
            efficient).
          continuation: optional float ``[num_slates]`` value after the slate (e.g. the logged
            return of the session's later steps), added to every target.

        Returns:
          ``self``.
        """
        x = np.asarray(context, dtype=np.float64)
        a = np.asarray(slates)
        r = np.asarray(rewards, dtype=np.float64)
        if x.ndim != 2 or a.shape != r.shape or a.shape[0] != x.shape[0]:
            raise ValueError(
                f"context {x.shape} must be [n, d], slates {a.shape} and rewards {r.shape} [n, K]."
            )
        n, k = a.shape
        after = np.zeros(n) if continuation is None else np.asarray(continuation, np.float64)
        self.coefs = [None] * k  # type: ignore[list-item]
        to_go = after.copy()
        for pos in range(k - 1, -1, -1):
            if target_item_probs is None or pos == k - 1:
                y = r[:, pos] + to_go
            else:
                y = r[:, pos] + self._expected(x, pos + 1, target_item_probs)
            self.coefs[pos] = self._solve(self._design(x, a[:, pos]), y)
            to_go = to_go + r[:, pos]
        return self

    def _expected(self, x: np.ndarray, pos: int, dist: np.ndarray) -> np.ndarray:
        beta, theta, c = self.coefs[pos]
        d = np.asarray(dist, dtype=np.float64)
        d = d[:, pos] if d.ndim == 3 else d
        return x @ beta + d @ theta + c

    def predict(
        self, context: np.ndarray, slates: np.ndarray, target_item_probs: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(q_logged, q_expected)`` ``[num_slates, K]`` for :func:`cascade_doubly_robust`.

        Args:
          context: float ``[num_slates, d]``.
          slates: int ``[num_slates, K]``.
          target_item_probs: as in :meth:`fit` (required here).

        Returns:
          ``Q_k`` of the logged action and ``E_{a ~ pi} Q_k``, float64 ``[num_slates, K]``.
        """
        if not self.coefs:
            raise ValueError("LinearCascadeModel.predict called before fit.")
        x = np.asarray(context, dtype=np.float64)
        a = np.asarray(slates)
        logged = np.stack(
            [x @ b + t[a[:, p]] + c for p, (b, t, c) in enumerate(self.coefs)], axis=1
        )
        expected = np.stack(
            [self._expected(x, p, target_item_probs) for p in range(a.shape[1])], axis=1
        )
        return logged, expected


@dataclasses.dataclass(frozen=True)
class LoggedSlates:
    """An impression log as the arrays slate estimators need (one row per shown slate).

    Attributes:
      slates: int32 ``[num_slates, K]`` item indices, in position order.
      rewards: float64 ``[num_slates, K]`` the reward at the clicked position, 0 elsewhere.
      sessions: ``[num_slates]`` the user of each slate (slates of a user in time order).
      histories: int32 ``[num_slates, max_len]`` the user's clicked items before the slate.
      behavior: the logging policy's :class:`~tfrec.evaluation.slate.SlatePropensities` from
        the ``slate_log_propensity`` (joint) and ``position_propensity`` (per-position) columns;
        a kind is None when its column is absent or has a NaN. The prefix (cascade) kind is not
        recorded in logs.
    """

    slates: np.ndarray
    rewards: np.ndarray
    sessions: np.ndarray
    histories: np.ndarray
    behavior: SlatePropensities


def logged_slates(log: object, vocabulary: object, max_len: int) -> LoggedSlates:
    """Reads an impression log (``tfrec.data.ImpressionLog`` layout) into :class:`LoggedSlates`.

    Args:
      log: an ``ImpressionLog`` (or an ``InteractionLog`` / DataFrame in its layout).
      vocabulary: the ``ItemVocabulary`` of the shown items.
      max_len: history window.

    Returns:
      The :class:`LoggedSlates`.

    Raises:
      ValueError: if the log records neither propensity column with values on every row.
    """
    from tfrec.data.impressions import POSITION_PROPENSITY, as_impression_log, impression_steps
    from tfrec.specs import SLATE_LOG_PROPENSITY

    log = as_impression_log(log)
    steps = impression_steps(log, vocabulary, max_steps=len(log.df))
    n, k = steps.slates.shape
    rewards = np.zeros((n, k))
    hit = np.flatnonzero(steps.click_position >= 0)
    rewards[hit, steps.click_position[hit]] = steps.rewards[hit]
    df = log.df
    joint = np.exp(df[SLATE_LOG_PROPENSITY].to_numpy(np.float64)[::k])
    position = None
    if POSITION_PROPENSITY in df.columns:
        position = df[POSITION_PROPENSITY].to_numpy(np.float64).reshape(n, k)
    joint = joint if np.isfinite(joint).all() else None
    position = position if position is not None and np.isfinite(position).all() else None
    if joint is None and position is None:
        raise ValueError(
            f"{log.source}: off-policy estimates need the logging policy's propensities, but "
            f"neither {SLATE_LOG_PROPENSITY!r} nor {POSITION_PROPENSITY!r} is known on every row."
        )
    return LoggedSlates(
        slates=steps.slates,
        rewards=rewards,
        sessions=df["user"].to_numpy()[::k],
        histories=steps.histories(max_len),
        behavior=SlatePropensities(joint=joint, position=position),
    )
