"""`InteractionLog`: a validated, time-ordered table of (user, item, timestamp, reward, propensity).

The canonical frame (`InteractionLog.df`) has the columns

| column | dtype | meaning |
| --- | --- | --- |
| `user` | str | user id |
| `item` | str | item id (no newline: the vocabulary asset is one id per line) |
| `timestamp` | int64 or float64 | event time (unix seconds for MovieLens; any monotone clock) |
| `reward` | float32 | 1.0 unless a reward column, an event-type mapping or a rating function says otherwise |
| `propensity` | float32 | probability with which the logging system showed the item; NaN = unknown |

plus any extra column of the input (e.g. `rating`, `event`, `title`). Rows are sorted stably by
(user, timestamp): interactions of a user with the same timestamp keep their input (file) order.

Real logs mix feedback signals, so the reward comes from exactly one of: a reward column, an event
column plus a mapping (``{"click": 0.2, "purchase": 1.0}``) or a function of a rating column.
Nothing is silently dropped: invalid rows raise an error that names the column and the first
offending rows (the checks live in `tfrec.data.validation`), and `InteractionLog.filter` returns a
`FilterReport` of what it removed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tfrec.data.validation import (
    CANONICAL_COLUMNS,
    ITEM,
    PROPENSITY,
    REWARD,
    TIMESTAMP,
    USER,
    canonicalize,
    existing_file,
    finite_floats,
    mapped_event_rewards,
    require_column,
)


@dataclass(frozen=True)
class FilterReport:
    """What `InteractionLog.filter` removed (nothing is dropped silently).

    Attributes:
      removed_users: ids of users removed entirely, sorted.
      removed_items: ids of items removed entirely, sorted.
      removed_interactions: number of rows removed.
      rounds: filtering passes run (1 unless iterated to a k-core).
      remaining_interactions: rows left.
    """

    removed_users: np.ndarray
    removed_items: np.ndarray
    removed_interactions: int
    rounds: int
    remaining_interactions: int

    def __str__(self) -> str:
        return (
            f"removed {self.removed_interactions} interactions, {len(self.removed_users)} users "
            f"and {len(self.removed_items)} items in {self.rounds} round(s); "
            f"{self.remaining_interactions} interactions remain"
        )


class InteractionLog:
    """A validated interaction log, sorted stably by (user, timestamp).

    Build it with `from_dataframe`, `from_csv`, `from_parquet` or `from_file`; the constructor
    takes an already canonical frame (see the module docstring) and re-validates it.

    Args:
      df: frame with the canonical columns `user`, `item`, `timestamp` (and optionally `reward`,
        `propensity`, extra columns).
      source: name used in error messages (a file name, "DataFrame" ...).
    """

    def __init__(self, df: pd.DataFrame, *, source: str = "DataFrame") -> None:
        if not isinstance(df, pd.DataFrame):
            raise TypeError(f"InteractionLog needs a pandas DataFrame, got {type(df).__name__}.")
        self._df = canonicalize(df, source=source)
        self.source = source

    # ----------------------------------------------------------------------------- constructors
    @classmethod
    def from_dataframe(
        cls,
        df: pd.DataFrame,
        *,
        user_col: str = USER,
        item_col: str = ITEM,
        timestamp_col: str = TIMESTAMP,
        reward_col: str | None = None,
        event_col: str | None = None,
        event_rewards: Mapping[str, float] | None = None,
        rating_col: str | None = None,
        rating_to_reward: Callable[[np.ndarray], np.ndarray] | None = None,
        propensity_col: str | None = None,
        source: str = "DataFrame",
    ) -> InteractionLog:
        """Builds a log from a DataFrame with configurable column names.

        The reward comes from at most one source: ``reward_col``; or ``event_col`` with
        ``event_rewards`` (e.g. ``{"click": 0.2, "purchase": 1.0}``); or ``rating_col`` with
        ``rating_to_reward`` (a vectorised function, e.g. ``lambda r: r / 5``). With none of them,
        a column named ``reward`` is used when present, else every reward is 1.0. Likewise a
        column named ``propensity`` is used when ``propensity_col`` is None.

        Args:
          df: the raw interactions, one row per interaction.
          user_col: user id column.
          item_col: item id column.
          timestamp_col: numeric (or datetime) time column.
          reward_col: numeric reward column.
          event_col: event-type column, mapped to rewards by ``event_rewards``.
          event_rewards: reward of each event type; unknown types raise ValueError.
          rating_col: rating column, mapped to rewards by ``rating_to_reward``.
          rating_to_reward: function from a float64 array of ratings ``[n]`` to rewards ``[n]``.
          propensity_col: logging propensity column, values in (0, 1] or NaN (unknown).
          source: name used in error messages.

        Returns:
          The validated, sorted `InteractionLog`. Input columns other than the named ones are
          kept as extra columns.

        Raises:
          ValueError: missing column, null/empty ids, bad timestamps, NaN/inf rewards,
            propensity outside (0, 1], unknown event type, empty log.
          TypeError: ``df`` is not a DataFrame.
        """
        if not isinstance(df, pd.DataFrame):
            raise TypeError(f"from_dataframe needs a pandas DataFrame, got {type(df).__name__}.")
        if len(df) == 0:
            raise ValueError(f"{source}: the interaction log is empty (0 rows).")
        sources = [reward_col is not None, event_col is not None, rating_col is not None]
        if sum(sources) > 1:
            raise ValueError(
                "Give the reward through one of reward_col, event_col (+ event_rewards) or "
                "rating_col (+ rating_to_reward), not several."
            )
        if (event_col is None) != (event_rewards is None):
            raise ValueError("event_col and event_rewards must be given together.")
        if rating_col is not None and rating_to_reward is None:
            raise ValueError("rating_col needs rating_to_reward (e.g. lambda r: r / 5).")
        df = df.reset_index(drop=True)
        names = {USER: user_col, ITEM: item_col, TIMESTAMP: timestamp_col}
        out = {
            USER: require_column(df, user_col, "user", source),
            ITEM: require_column(df, item_col, "item", source),
            TIMESTAMP: require_column(df, timestamp_col, "timestamp", source),
        }
        if event_col is not None:
            events = require_column(df, event_col, "event", source)
            out[REWARD] = mapped_event_rewards(events, event_col, event_rewards, source)
            names[REWARD] = f"event_rewards[{event_col}]"
        elif rating_col is not None:
            ratings = require_column(df, rating_col, "rating", source)
            ratings = finite_floats(ratings, rating_col, "rating", source)
            rewards = np.asarray(rating_to_reward(ratings), dtype=np.float64)
            if rewards.shape != ratings.shape:
                raise ValueError(
                    f"rating_to_reward must return one reward per rating (shape {ratings.shape}),"
                    f" got shape {rewards.shape}."
                )
            out[REWARD] = rewards
            names[REWARD] = f"rating_to_reward({rating_col})"
        elif reward_col is not None:
            out[REWARD] = require_column(df, reward_col, "reward", source)
            names[REWARD] = reward_col
        elif REWARD in df.columns:
            out[REWARD] = df[REWARD]
        if propensity_col is not None:
            out[PROPENSITY] = require_column(df, propensity_col, "propensity", source)
            names[PROPENSITY] = propensity_col
        elif PROPENSITY in df.columns:
            out[PROPENSITY] = df[PROPENSITY]
        used = {user_col, item_col, timestamp_col, reward_col, propensity_col}
        for column in df.columns:
            if column in used or column in out:
                continue
            if column in CANONICAL_COLUMNS:
                raise ValueError(
                    f"{source}: column {column!r} is a canonical column name but another column "
                    f"is mapped to {column!r}; rename or drop {column!r}."
                )
            out[column] = df[column]
        log = cls.__new__(cls)
        log._df = canonicalize(pd.DataFrame(out), source=source, names=names)
        log.source = source
        return log

    @classmethod
    def from_csv(
        cls,
        path: str | Path,
        *,
        sep: str = ",",
        header: bool = True,
        names: list[str] | None = None,
        encoding: str = "utf-8",
        **columns: Any,
    ) -> InteractionLog:
        """Reads a CSV (or any delimited) file. Id columns are read as strings ("007" stays "007").

        Args:
          path: the file.
          sep: field separator ("\\t" for TSV).
          header: whether the first line holds the column names.
          names: column names when the file has no header.
          encoding: text encoding.
          **columns: column options of `from_dataframe` (``user_col=``, ``event_rewards=`` ...).

        Returns:
          The validated `InteractionLog`.

        Raises:
          FileNotFoundError: the file does not exist.
          ValueError: the file is unreadable, malformed, empty or has invalid rows.
        """
        path = existing_file(path)
        id_cols = [columns.get("user_col", USER), columns.get("item_col", ITEM)]
        try:
            df = pd.read_csv(
                path,
                sep=sep,
                header=0 if header else None,
                names=names,
                encoding=encoding,
                dtype={c: str for c in id_cols},
                keep_default_na=True,
            )
        except pd.errors.EmptyDataError as err:
            raise ValueError(f"{path}: the file is empty (no header, no rows).") from err
        except pd.errors.ParserError as err:
            raise ValueError(
                f"{path}: malformed CSV ({err}). Check the separator (sep={sep!r}) and that every "
                "line has the same number of fields."
            ) from err
        except UnicodeDecodeError as err:
            raise ValueError(
                f"{path}: cannot decode the file as {encoding} ({err}); pass encoding=..."
            ) from err
        return cls.from_dataframe(df, source=str(path), **columns)

    @classmethod
    def from_parquet(cls, path: str | Path, **columns: Any) -> InteractionLog:
        """Reads a Parquet file.

        Args:
          path: the file.
          **columns: column options of `from_dataframe`.

        Returns:
          The validated `InteractionLog`.

        Raises:
          FileNotFoundError: the file does not exist.
          ValueError: the file is not readable Parquet or has invalid rows.
        """
        path = existing_file(path)
        try:
            df = pd.read_parquet(path)
        except (OSError, ValueError) as err:  # pyarrow's ArrowInvalid is a ValueError
            raise ValueError(f"{path}: not a readable Parquet file ({err}).") from err
        return cls.from_dataframe(df, source=str(path), **columns)

    @classmethod
    def from_file(cls, path: str | Path, **options: Any) -> InteractionLog:
        """Reads a log by file suffix: ``.csv``, ``.tsv`` / ``.tab`` (tab separated), ``.parquet``
        / ``.pq``.

        Args:
          path: the file.
          **options: options of `from_csv` / `from_parquet`.

        Returns:
          The validated `InteractionLog`.
        """
        suffix = Path(path).suffix.lower()
        if suffix == ".csv":
            return cls.from_csv(path, **options)
        if suffix in (".tsv", ".tab"):
            return cls.from_csv(path, **{"sep": "\t", **options})
        if suffix in (".parquet", ".pq"):
            return cls.from_parquet(path, **options)
        raise ValueError(
            f"{path}: unknown log format {suffix!r}; use .csv, .tsv or .parquet, or call "
            "InteractionLog.from_csv(path, sep=...) directly."
        )

    # ------------------------------------------------------------------------------- accessors
    @property
    def df(self) -> pd.DataFrame:
        """The canonical frame (do not modify it in place)."""
        return self._df

    def __len__(self) -> int:
        return len(self._df)

    @property
    def num_interactions(self) -> int:
        """Number of rows."""
        return len(self._df)

    @property
    def num_users(self) -> int:
        """Number of distinct users."""
        return int(self._df[USER].nunique())

    @property
    def num_items(self) -> int:
        """Number of distinct items."""
        return int(self._df[ITEM].nunique())

    @property
    def has_propensity(self) -> bool:
        """True when every interaction has a logged propensity (no NaN)."""
        return bool(self._df[PROPENSITY].notna().all())

    def __repr__(self) -> str:
        return (
            f"InteractionLog({self.num_interactions} interactions, {self.num_users} users, "
            f"{self.num_items} items, source={self.source!r})"
        )

    # --------------------------------------------------------------------------------- filters
    def filter(
        self,
        min_user_interactions: int = 1,
        min_item_interactions: int = 1,
        *,
        k_core: bool = False,
        max_rounds: int = 100,
    ) -> tuple[InteractionLog, FilterReport]:
        """Removes users and items with too few interactions.

        One pass removes items with fewer than ``min_item_interactions`` rows, then users with
        fewer than ``min_user_interactions`` remaining rows. With ``k_core=True`` the passes
        repeat until both conditions hold for every remaining user and item (a k-core).

        Args:
          min_user_interactions: minimum rows per user.
          min_item_interactions: minimum rows per item.
          k_core: iterate to a fixed point.
          max_rounds: safety bound on the number of passes.

        Returns:
          ``(filtered_log, report)``; the report lists the removed users/items and row count.

        Raises:
          ValueError: a minimum below 1, or nothing left after filtering.
        """
        if min_user_interactions < 1 or min_item_interactions < 1:
            raise ValueError("min_user_interactions and min_item_interactions must be >= 1.")
        df = self._df
        users = df[USER].to_numpy()
        items = df[ITEM].to_numpy()
        user_codes, user_ids = pd.factorize(users)
        item_codes, item_ids = pd.factorize(items)
        keep = np.ones(len(df), dtype=bool)
        rounds = 0
        while rounds < max_rounds:
            rounds += 1
            item_counts = np.bincount(item_codes[keep], minlength=len(item_ids))
            keep &= item_counts[item_codes] >= min_item_interactions
            user_counts = np.bincount(user_codes[keep], minlength=len(user_ids))
            keep &= user_counts[user_codes] >= min_user_interactions
            item_counts = np.bincount(item_codes[keep], minlength=len(item_ids))
            stable = bool(np.all(item_counts[item_codes[keep]] >= min_item_interactions))
            if not k_core or stable:
                break
        kept_users = np.bincount(user_codes[keep], minlength=len(user_ids)) > 0
        kept_items = np.bincount(item_codes[keep], minlength=len(item_ids)) > 0
        report = FilterReport(
            removed_users=np.sort(np.asarray(user_ids[~kept_users], dtype=object)),
            removed_items=np.sort(np.asarray(item_ids[~kept_items], dtype=object)),
            removed_interactions=int((~keep).sum()),
            rounds=rounds,
            remaining_interactions=int(keep.sum()),
        )
        if not keep.any():
            raise ValueError(
                f"{self.source}: filtering with min_user_interactions={min_user_interactions}, "
                f"min_item_interactions={min_item_interactions} removes every interaction; "
                "lower the minimums."
            )
        return InteractionLog(df[keep].reset_index(drop=True), source=self.source), report

    # ---------------------------------------------------------------------------------- output
    def to_csv(self, path: str | Path) -> Path:
        """Writes the canonical frame as CSV (readable back with `from_csv`); returns ``path``."""
        return self._write(path, "to_csv")

    def to_parquet(self, path: str | Path) -> Path:
        """Writes the canonical frame as Parquet (readable with `from_parquet`); returns ``path``."""
        return self._write(path, "to_parquet")

    def _write(self, path: str | Path, writer: str) -> Path:
        """``self.df.<writer>(path, index=False)`` (``writer``: a DataFrame ``to_*`` method)."""
        path = Path(path)
        getattr(self._df, writer)(path, index=False)
        return path
