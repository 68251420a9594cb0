"""Checks of interaction-log columns (ids, timestamps, rewards, propensities) -> canonical frame.

Every check raises one ``ValueError`` that names the source (a file name, "DataFrame" ...), the
column and the first offending rows (0-based data rows of the input), so that nothing is silently
dropped. `tfrec.data.InteractionLog` builds its canonical frame with :func:`canonicalize`; the
impression log reuses :func:`format_rows` / :func:`format_values` for its own columns.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

USER = "user"
ITEM = "item"
TIMESTAMP = "timestamp"
REWARD = "reward"
PROPENSITY = "propensity"
CANONICAL_COLUMNS = (USER, ITEM, TIMESTAMP, REWARD, PROPENSITY)

_MAX_SHOWN = 5

__all__ = [
    "CANONICAL_COLUMNS",
    "ITEM",
    "PROPENSITY",
    "REWARD",
    "TIMESTAMP",
    "USER",
    "canonicalize",
    "existing_file",
    "finite_floats",
    "format_rows",
    "format_values",
    "mapped_event_rewards",
    "require_column",
    "validated_ids",
    "validated_timestamps",
]


def format_rows(positions: np.ndarray) -> str:
    """Formats the first offending row positions (0-based data rows of the input)."""
    positions = np.asarray(positions)
    shown = ", ".join(str(int(p)) for p in positions[:_MAX_SHOWN])
    more = f" and {len(positions) - _MAX_SHOWN} more" if len(positions) > _MAX_SHOWN else ""
    return f"rows [{shown}]{more}"


def format_values(values: Any) -> str:
    """The first offending values, ``repr``-ed and comma separated."""
    return ", ".join(repr(v) for v in list(values)[:_MAX_SHOWN])


def require_column(df: pd.DataFrame, column: str, role: str, source: str) -> pd.Series:
    """``df[column]``; a missing column raises ``ValueError`` naming the available ones.

    Args:
      df: the input frame.
      column: the column name.
      role: what the column holds (``"user"``, ``"item"``, ``"timestamp"``, ``"reward"`` ...).
      source: name used in error messages.

    Returns:
      The column ``[n]``.
    """
    if column not in df.columns:
        raise ValueError(
            f"{source}: the {role} column {column!r} is missing; available columns: "
            f"{list(map(str, df.columns))}. Pass {role}_col=<name> to use another column."
        )
    return df[column]


def validated_ids(series: pd.Series, column: str, role: str, source: str) -> pd.Series:
    """Validates an id column (no null, empty or multi-line id); returns it as strings ``[n]``."""
    null = np.flatnonzero(series.isna().to_numpy())
    if len(null):
        raise ValueError(
            f"{source}: column {column!r} ({role} id) has {len(null)} null value(s) at "
            f"{format_rows(null)}; every interaction needs a {role} id. Drop or fill those rows "
            "first."
        )
    ids = series.astype(str)
    bad = np.flatnonzero(
        (
            ids.str.contains("\n", regex=False) | ids.str.contains("\r", regex=False) | (ids == "")
        ).to_numpy()
    )
    if len(bad):
        raise ValueError(
            f"{source}: column {column!r} ({role} id) has empty ids or ids containing a line "
            f"break at {format_rows(bad)} (values {format_values(ids.iloc[bad])}); the vocabulary "
            "file stores one id per line, so ids must be non-empty and single-line."
        )
    return ids.reset_index(drop=True)


def validated_timestamps(series: pd.Series, column: str, source: str) -> np.ndarray:
    """Validates a timestamp column: numeric (or datetime, converted to unix seconds), finite."""
    if pd.api.types.is_datetime64_any_dtype(series):
        if series.isna().any():
            bad = np.flatnonzero(series.isna().to_numpy())
            raise ValueError(
                f"{source}: column {column!r} (timestamp) has missing datetimes at "
                f"{format_rows(bad)}."
            )
        values = series.dt.tz_localize(None) if series.dt.tz is not None else series
        return (values.astype("datetime64[ns]").astype("int64") // 10**9).to_numpy(np.int64)
    if pd.api.types.is_bool_dtype(series):
        raise ValueError(f"{source}: column {column!r} (timestamp) is boolean, not numeric.")
    if pd.api.types.is_numeric_dtype(series):
        numeric = series
    else:
        numeric = pd.to_numeric(series, errors="coerce")
        not_numeric = np.flatnonzero((numeric.isna() & series.notna()).to_numpy())
        if len(not_numeric):
            raise ValueError(
                f"{source}: column {column!r} (timestamp) is not numeric at "
                f"{format_rows(not_numeric)} (values {format_values(series.iloc[not_numeric])}); "
                "timestamps must be numbers (e.g. unix seconds) or datetimes."
            )
    array, bad = _float_array(numeric)
    if len(bad):
        raise ValueError(
            f"{source}: column {column!r} (timestamp) has NaN/missing or infinite values at "
            f"{format_rows(bad)}; every interaction needs a time."
        )
    if pd.api.types.is_integer_dtype(numeric) or np.all(array == np.floor(array)):
        if np.all(np.abs(array) < 2**53):
            return array.astype(np.int64)
    return array


def _float_array(numeric: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """A numeric column as float64 ``[n]`` (missing -> NaN) and the rows of its non-finite values."""
    array = numeric.to_numpy(dtype=np.float64, na_value=np.nan)
    return array, np.flatnonzero(~np.isfinite(array))


def finite_floats(series: pd.Series, column: str, role: str, source: str) -> np.ndarray:
    """A numeric column as float64 ``[n]``; NaN, missing, non-numeric or infinite values raise."""
    array, bad = _float_array(pd.to_numeric(series, errors="coerce"))
    if len(bad):
        raise ValueError(
            f"{source}: column {column!r} ({role}) has NaN, missing, non-numeric or infinite "
            f"values at {format_rows(bad)} (values {format_values(series.iloc[bad])})."
        )
    return array


def mapped_event_rewards(
    series: pd.Series, column: str, mapping: Mapping[str, float], source: str
) -> np.ndarray:
    """The reward of each row's event type, float64 ``[n]`` (``{"click": 0.2, "purchase": 1.0}``).

    Raises:
      ValueError: an empty mapping, a non-finite reward, or an event type (or null) it lacks.
    """
    if not mapping:
        raise ValueError("event_rewards must map at least one event type to a reward.")
    bad_values = [k for k, v in mapping.items() if not math.isfinite(float(v))]
    if bad_values:
        raise ValueError(f"event_rewards has non-finite rewards for events {bad_values}.")
    codes, uniques = pd.factorize(series)  # null -> code -1
    uniques = [str(u) for u in uniques]
    rewards = {str(k): float(v) for k, v in mapping.items()}
    unknown_names = sorted(u for u in uniques if u not in rewards)
    unknown = np.flatnonzero(
        (codes < 0) | np.isin(codes, [uniques.index(u) for u in unknown_names])
    )
    if len(unknown):
        names = unknown_names + (["<null>"] if (codes < 0).any() else [])
        raise ValueError(
            f"{source}: column {column!r} (event type) has event(s) {names[:_MAX_SHOWN]} at "
            f"{format_rows(unknown)} that event_rewards does not map (it maps {list(rewards)}). "
            "Add them to the mapping or filter those rows first."
        )
    table = np.array([rewards[u] for u in uniques], dtype=np.float64)
    return table[codes]


def existing_file(path: str | Path) -> Path:
    """``path`` as a ``Path``; a missing path or a directory raises (``FileNotFoundError``)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"interaction log file not found: {path}")
    if not path.is_file():
        raise ValueError(f"{path} is not a file (a directory?); pass the log file itself.")
    return path


def canonicalize(
    df: pd.DataFrame, *, source: str, names: Mapping[str, str] | None = None
) -> pd.DataFrame:
    """Validates canonical columns, fixes dtypes, sorts stably by (user, timestamp).

    Args:
      df: a frame with the canonical columns (see `tfrec.data.log`) and any extra ones.
      source: name used in error messages.
      names: canonical column name -> the user's column name, for error messages.

    Returns:
      The canonical frame: ``user``, ``item`` (str), ``timestamp`` (int64 or float64),
      ``reward``, ``propensity`` (float32, NaN = unknown), then the extra columns.
    """
    names = {c: c for c in CANONICAL_COLUMNS} | dict(names or {})
    if len(df) == 0:
        raise ValueError(f"{source}: the interaction log is empty (0 rows).")
    df = df.reset_index(drop=True)
    for column, role in ((USER, "user"), (ITEM, "item"), (TIMESTAMP, "timestamp")):
        require_column(df, column, role, source)
    users = validated_ids(df[USER], names[USER], "user", source)
    items = validated_ids(df[ITEM], names[ITEM], "item", source)
    timestamps = validated_timestamps(df[TIMESTAMP], names[TIMESTAMP], source)
    if REWARD in df.columns:
        rewards = finite_floats(df[REWARD], names[REWARD], "reward", source).astype(np.float32)
    else:
        rewards = np.ones(len(df), dtype=np.float32)
    if PROPENSITY in df.columns:
        numeric = pd.to_numeric(df[PROPENSITY], errors="coerce")
        propensities = numeric.to_numpy(dtype=np.float64, na_value=np.nan)
        not_numeric = np.flatnonzero((numeric.isna() & df[PROPENSITY].notna()).to_numpy())
        bad = np.flatnonzero(~np.isnan(propensities) & ~((propensities > 0) & (propensities <= 1)))
        bad = np.union1d(bad, not_numeric)
        if len(bad):
            raise ValueError(
                f"{source}: column {names[PROPENSITY]!r} (propensity) must be a probability in "
                f"(0, 1] (or NaN when unknown); {format_rows(bad)} have "
                f"{format_values(df[PROPENSITY].iloc[bad])}."
            )
        propensities = propensities.astype(np.float32)
    else:
        propensities = np.full(len(df), np.nan, dtype=np.float32)
    user_codes, _ = pd.factorize(users, sort=True)
    order = np.lexsort((timestamps, user_codes))  # np.lexsort is stable: ties keep input order
    extra = [c for c in df.columns if c not in CANONICAL_COLUMNS]
    columns = {
        USER: users.take(order).reset_index(drop=True),
        ITEM: items.take(order).reset_index(drop=True),
        TIMESTAMP: timestamps[order],
        REWARD: rewards[order],
        PROPENSITY: propensities[order],
    }
    for column in extra:
        columns[column] = df[column].take(order).reset_index(drop=True)
    return pd.DataFrame(columns)
