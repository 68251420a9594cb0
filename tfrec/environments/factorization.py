"""Implicit-feedback matrix factorisation by alternating least squares (numpy).

Hu, Koren & Volinsky (ICDM 2008), "Collaborative Filtering for Implicit Feedback Datasets":
preferences ``p_ui = 1`` for observed (user, item) pairs, confidences ``c_ui = 1 + alpha * n_ui``
(``n_ui`` = number of interactions), and factors minimising
``sum_ui c_ui (p_ui - x_u^T y_i)^2 + reg * (|x|^2 + |y|^2)``. Each half-step solves, for every
user, ``(Y^T Y + alpha * Y_u^T diag(n_u) Y_u + reg I) x_u = Y_u^T (1 + alpha * n_u)``
(the paper's trick: ``Y^T Y`` is shared, only the user's own items add to it), as one batched
``np.linalg.solve``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd


@dataclasses.dataclass(frozen=True, eq=False)
class ImplicitALS:
    """Fitted factors.

    Attributes:
      user_ids: str ``[U]`` user ids, row-aligned with ``user_factors``.
      item_ids: str ``[N]`` item ids, row-aligned with ``item_factors``.
      user_factors: float32 ``[U, d]``.
      item_factors: float32 ``[N, d]``.
      item_counts: int64 ``[N]`` interactions per item in the fitted log.
      user_offsets: int64 ``[U + 1]`` CSR offsets of each user's items in ``user_items``.
      user_items: int64 ``[nnz]`` item rows each user interacted with, in log (time) order.
    """

    user_ids: np.ndarray
    item_ids: np.ndarray
    user_factors: np.ndarray
    item_factors: np.ndarray
    item_counts: np.ndarray
    user_offsets: np.ndarray
    user_items: np.ndarray

    def scores(self, users: np.ndarray) -> np.ndarray:
        """Predicted preferences ``x_u^T y_i`` of the given user rows for all items: ``[n, N]``."""
        return self.user_factors[users] @ self.item_factors.T


def _solve(
    fixed: np.ndarray,
    offsets: np.ndarray,
    indices: np.ndarray,
    counts: np.ndarray,
    alpha: float,
    reg: float,
) -> np.ndarray:
    """One ALS half-step: new factors of every row given the fixed side's factors."""
    d = fixed.shape[1]
    gram = fixed.T @ fixed + reg * np.eye(d)
    rows = offsets.size - 1
    lhs = np.broadcast_to(gram, (rows, d, d)).copy()
    rhs = np.zeros((rows, d))
    y = fixed[indices]  # [nnz, d], grouped by row
    conf = alpha * counts  # c - 1
    for r in range(rows):  # lhs[r] += Y_r^T diag(c - 1) Y_r ; rhs[r] = Y_r^T c
        s, e = offsets[r], offsets[r + 1]
        if s < e:
            yr = y[s:e]
            lhs[r] += (yr.T * conf[s:e]) @ yr
            rhs[r] = (1.0 + conf[s:e]) @ yr
    return np.linalg.solve(lhs, rhs[..., None])[..., 0]


def _csr(rows: np.ndarray, cols: np.ndarray, n_rows: int) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(rows, kind="stable")
    offsets = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=n_rows))])
    return offsets.astype(np.int64), order


def fit_implicit_als(
    log: Any,
    factors: int = 32,
    regularization: float = 0.1,
    alpha: float = 10.0,
    iterations: int = 10,
    seed: int = 0,
) -> ImplicitALS:
    """Fits implicit ALS on an interaction log.

    Args:
      log: a :class:`tfrec.data.InteractionLog` (columns ``user``, ``item``; rows sorted by
        user and time).
      factors: latent dimension ``d``.
      regularization: L2 weight ``reg``.
      alpha: confidence slope ``alpha``.
      iterations: ALS sweeps (each updates users then items).
      seed: seed of the initial item factors.

    Returns:
      The fitted :class:`ImplicitALS`.

    Raises:
      TypeError: ``log`` is not an ``InteractionLog``.
      ValueError: non-positive ``factors``, ``iterations`` or ``regularization``.
    """
    if factors < 1 or iterations < 1:
        raise ValueError(f"factors and iterations must be >= 1, got {factors}, {iterations}.")
    if regularization <= 0 or alpha < 0:
        raise ValueError(
            f"regularization must be > 0 and alpha >= 0, got {regularization}, {alpha}."
        )
    df = getattr(log, "df", None)
    if not isinstance(df, pd.DataFrame):
        raise TypeError(
            f"fit_implicit_als needs a tfrec.data.InteractionLog, got {type(log).__name__}; "
            "build one with InteractionLog.from_dataframe(df, user_col=..., item_col=..., "
            "timestamp_col=...)."
        )
    user_codes, user_ids = _factorize(df["user"])
    item_codes, item_ids = _factorize(df["item"])
    n_users, n_items = user_ids.size, item_ids.size
    # Aggregate repeated (user, item) pairs into counts n_ui.
    pair = user_codes.astype(np.int64) * n_items + item_codes
    uniq, counts = np.unique(pair, return_counts=True)
    pu, pi = uniq // n_items, uniq % n_items
    counts = counts.astype(np.float64)
    u_off, u_ord = _csr(pu, pi, n_users)
    i_off, i_ord = _csr(pi, pu, n_items)
    rng = np.random.default_rng(seed)
    y = 0.1 * rng.standard_normal((n_items, factors))
    x = np.zeros((n_users, factors))
    for _ in range(iterations):
        x = _solve(y, u_off, pi[u_ord], counts[u_ord], alpha, regularization)
        y = _solve(x, i_off, pu[i_ord], counts[i_ord], alpha, regularization)
    seq_offsets = np.concatenate([[0], np.cumsum(np.bincount(user_codes, minlength=n_users))])
    seq_items = item_codes[np.argsort(user_codes, kind="stable")]
    return ImplicitALS(
        user_ids=user_ids,
        item_ids=item_ids,
        user_factors=x.astype(np.float32),
        item_factors=y.astype(np.float32),
        item_counts=np.bincount(item_codes, minlength=n_items).astype(np.int64),
        user_offsets=seq_offsets.astype(np.int64),
        user_items=seq_items.astype(np.int64),
    )


def _factorize(column: Any) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes and the sorted distinct string values of a column."""
    values, inverse = np.unique(np.asarray(column, dtype=str), return_inverse=True)
    return inverse.astype(np.int64).reshape(-1), values.astype(object)
