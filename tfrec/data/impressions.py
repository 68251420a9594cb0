"""Impression logs (every shown slate, one row per shown item) and their REINFORCE trajectories.

An impression log is an `InteractionLog` with four more columns (see ``docs/concepts.md``,
"Impression logs"):

| column | dtype | meaning |
| --- | --- | --- |
| `user` | str | user / episode id |
| `timestamp` | int64 or float64 | time of the slate (e.g. the step index in the session) |
| `slate` | any id (int64 from the simulators) | slate id, unique per shown slate |
| `position` | int64 | slot of the item in the slate, ``0 .. k-1`` |
| `item` | str | the shown item |
| `clicked` | int8 | 1 on the clicked row, 0 elsewhere (at most one click per slate) |
| `reward` | float32 | the step's reward on the clicked row, 0 on every other row |
| `propensity` | float32 | ``P(item in slate)`` under the logging policy (inclusion), NaN = unknown |
| `slate_log_propensity` | float32 | ``log beta(slate)`` of the ordered slate, the same on every row of the slate, NaN = unknown |
| `position_propensity` | float32 | optional: ``P(this position shows item)`` under the logging policy (the per-position marginal that independent / pseudo-inverse IPS need), NaN = unknown |

Slates without a click are rows too (all ``clicked = 0``, reward 0): they are the negative
feedback an impression-level learner needs. Rows are sorted by (user, timestamp, slate,
position); slates of one user with the same timestamp keep their input order.

`impression_dataset` turns the log into `tf_agents` trajectories in the layout of
`tfrec.specs` (block "impression-level (slate) experience"): one step per slate, the observation
is the user's history of *clicked* items before the slate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import tensorflow as tf
from tf_agents.trajectories import trajectory

from tfrec.data.log import InteractionLog
from tfrec.data.pipeline import (
    _example_stream,
    _finish,
    _step_types,
    _tf_windows,
    session_chunks,
)
from tfrec.data.sequences import Sequences, gather_windows
from tfrec.data.validation import (
    PROPENSITY,
    REWARD,
    TIMESTAMP,
    USER,
    format_rows,
    format_values,
)
from tfrec.data.vocab import ItemVocabulary
from tfrec.specs import (
    CLICK_POSITION,
    FIRST_ITEM_INDEX,
    INCLUSION_PROPENSITY,
    PAD_INDEX,
    SLATE_LOG_PROPENSITY,
    history_spec,
    slate_action_spec,
)

SLATE = "slate"
POSITION = "position"
CLICKED = "clicked"
IMPRESSION_COLUMNS = (SLATE, POSITION, CLICKED, SLATE_LOG_PROPENSITY)
POSITION_PROPENSITY = "position_propensity"  # optional: P(position k shows the item)
_INPUT_ROW = "_impression_input_row"  # temporary: input row numbers for error messages


class ImpressionLog(InteractionLog):
    """A validated impression log: every shown slate, one row per shown item.

    A subclass rather than more checks in `InteractionLog`: the slate rules (positions
    ``0 .. k-1``, at most one click, one size ``k``, one propensity per slate) bind *groups* of
    rows, which a click log does not have, and row-wise operations of `InteractionLog` such as
    `filter` would cut slates apart. Being an `InteractionLog`, it reads and writes the same
    files (`from_csv`, `from_parquet`, `from_file`, `to_csv`, `to_parquet`) and works wherever a
    log is expected (vocabularies, `tfrec.evaluation.SlateEpisodes.from_impressions`).

    Loading keeps every row. Invalid logs raise a one-line ValueError naming the column, the
    slate and the first offending (0-based input) rows.

    Args:
      df: frame with the columns of the module docstring (``slate_log_propensity`` and
        ``propensity`` may be absent: NaN).
      source: name used in error messages.
    """

    def __init__(self, df: pd.DataFrame, *, source: str = "DataFrame") -> None:
        if not isinstance(df, pd.DataFrame):
            raise TypeError(f"ImpressionLog needs a pandas DataFrame, got {type(df).__name__}.")
        super().__init__(_with_input_rows(df), source=source)
        self._df = _canonicalize_slates(self._df, source)

    @classmethod
    def from_dataframe(cls, df: pd.DataFrame, **options: Any) -> ImpressionLog:
        """Builds the log from a DataFrame (options as `InteractionLog.from_dataframe`).

        Args:
          df: one row per shown item.
          **options: column options of `InteractionLog.from_dataframe` (``user_col=``,
            ``source=`` ...). The impression columns must carry their canonical names.

        Returns:
          The validated `ImpressionLog`.

        Raises:
          ValueError: an `InteractionLog` error, or a broken slate (see the class docstring).
        """
        if not isinstance(df, pd.DataFrame):
            raise TypeError(f"from_dataframe needs a pandas DataFrame, got {type(df).__name__}.")
        log = super().from_dataframe(_with_input_rows(df), **options)
        log._df = _canonicalize_slates(log._df, log.source)
        return log

    @property
    def slate_size(self) -> int:
        """``k``: items per slate."""
        return int((self._df[SLATE] == self._df[SLATE].iloc[0]).sum())

    @property
    def num_slates(self) -> int:
        """Number of shown slates."""
        return len(self._df) // self.slate_size

    def filter(self, *args: Any, **kwargs: Any) -> tuple[InteractionLog, Any]:
        """Not supported: removing rows would cut slates apart."""
        raise ValueError(
            f"{self.source}: an impression log cannot be filtered row by row (it would cut "
            "slates apart); filter whole users or slates on .df and rebuild the ImpressionLog."
        )

    def __repr__(self) -> str:
        return (
            f"ImpressionLog({self.num_slates} slates of {self.slate_size}, {self.num_users} "
            f"users, {self.num_items} items, source={self.source!r})"
        )


def _with_input_rows(df: pd.DataFrame) -> pd.DataFrame:
    return df.reset_index(drop=True).assign(**{_INPUT_ROW: np.arange(len(df), dtype=np.int64)})


def _integers(series: pd.Series, column: str, source: str, rows: np.ndarray) -> np.ndarray:
    numeric = pd.to_numeric(series, errors="coerce").to_numpy(np.float64, na_value=np.nan)
    bad = np.flatnonzero(~np.isfinite(numeric) | (numeric != np.round(numeric)))
    if len(bad):
        raise ValueError(
            f"{source}: column {column!r} must hold integers; {format_rows(rows[bad])} have "
            f"{format_values(series.iloc[bad])}."
        )
    return numeric.astype(np.int64)


def _canonicalize_slates(df: pd.DataFrame, source: str) -> pd.DataFrame:
    """Validates the slate structure of a canonical frame; returns it sorted and typed."""
    rows = df.pop(_INPUT_ROW).to_numpy(np.int64) if _INPUT_ROW in df else np.arange(len(df))
    missing = [c for c in (SLATE, POSITION, CLICKED) if c not in df.columns]
    if missing:
        raise ValueError(
            f"{source}: an impression log needs the column(s) {missing} (one row per shown "
            f"item: {', '.join(IMPRESSION_COLUMNS)}); available: {list(map(str, df.columns))}."
        )
    null = np.flatnonzero(df[SLATE].isna().to_numpy())
    if len(null):
        raise ValueError(
            f"{source}: column {SLATE!r} (slate id) is null at {format_rows(rows[null])}."
        )
    position = _integers(df[POSITION], POSITION, source, rows)
    clicked = df[CLICKED]
    if pd.api.types.is_bool_dtype(clicked):
        clicked = clicked.to_numpy(np.int64)
    else:
        clicked = pd.to_numeric(clicked, errors="coerce").to_numpy(np.float64, na_value=np.nan)
        bad = np.flatnonzero(~np.isin(clicked, (0.0, 1.0)))
        if len(bad):
            raise ValueError(
                f"{source}: column {CLICKED!r} must be 0 or 1; {format_rows(rows[bad])} have "
                f"{format_values(df[CLICKED].iloc[bad])}."
            )
    if SLATE_LOG_PROPENSITY in df.columns:
        log_prop = pd.to_numeric(df[SLATE_LOG_PROPENSITY], errors="coerce")
        log_prop = log_prop.to_numpy(np.float64, na_value=np.nan)
        bad = np.flatnonzero(~np.isnan(log_prop) & ~(np.isfinite(log_prop) & (log_prop <= 0)))
        bad = np.union1d(bad, np.flatnonzero(np.isnan(log_prop) & df[SLATE_LOG_PROPENSITY].notna()))
        if len(bad):
            raise ValueError(
                f"{source}: column {SLATE_LOG_PROPENSITY!r} must be a finite log-probability <= 0 "
                f"(or NaN when unknown); {format_rows(rows[bad])} have "
                f"{format_values(df[SLATE_LOG_PROPENSITY].iloc[bad])}."
            )
    else:
        log_prop = np.full(len(df), np.nan)

    # Slates in order of first appearance (the frame is sorted by user, timestamp), rows of a
    # slate by position.
    codes, slate_ids = pd.factorize(df[SLATE])
    order = np.lexsort((position, codes))
    df, rows, codes = df.take(order).reset_index(drop=True), rows[order], codes[order]
    position, clicked, log_prop = position[order], clicked[order], log_prop[order]
    sizes = np.bincount(codes, minlength=len(slate_ids))
    first = np.cumsum(sizes) - sizes  # first row of each slate
    of_row = first[codes]

    def fail(mask: np.ndarray, column: str, problem: str) -> None:
        bad = np.flatnonzero(mask)
        if len(bad):
            code = codes[bad[0]]
            where = format_rows(np.sort(rows[codes == code]))
            raise ValueError(
                f"{source}: slate {slate_ids[code]!r} ({where}), column {column!r}: {problem}."
            )

    k = int(sizes[0])
    fail(
        sizes[codes] != k,
        SLATE,
        f"every slate must show the same number of items, but slate {slate_ids[0]!r} has {k} "
        "rows and this one has a different number",
    )
    for column in (USER, TIMESTAMP):
        values = df[column].to_numpy()
        fail(values != values[of_row], column, f"every row of a slate needs the same {column}")
    in_slate = np.arange(len(df)) - of_row
    fail(position != in_slate, POSITION, f"positions must be 0..{k - 1}, each exactly once")
    num_clicks = np.bincount(codes, clicked, len(slate_ids))
    fail(num_clicks[codes] > 1, CLICKED, "a slate has at most one clicked row")
    fail(
        (clicked == 0) & (df[REWARD].to_numpy() != 0),
        REWARD,
        "the reward belongs to the clicked row: rows with clicked = 0 must have reward 0",
    )
    both_nan = np.isnan(log_prop) & np.isnan(log_prop[of_row])
    fail(
        ~((log_prop == log_prop[of_row]) | both_nan),
        SLATE_LOG_PROPENSITY,
        "every row of a slate must hold the same slate log-propensity",
    )
    # An item is in the slate at least as often as this very slate is shown.
    fail(
        df[PROPENSITY].to_numpy(np.float64) < np.exp(log_prop) * (1 - 1e-4) - 1e-7,
        PROPENSITY,
        "an item's inclusion propensity must be >= exp(slate_log_propensity)",
    )
    if POSITION_PROPENSITY in df.columns:
        marginal = pd.to_numeric(df[POSITION_PROPENSITY], errors="coerce")
        marginal = marginal.to_numpy(np.float64, na_value=np.nan)
        wrong = ~np.isnan(marginal) & ~((marginal > 0) & (marginal <= 1 + 1e-6))
        fail(
            wrong | (np.isnan(marginal) & df[POSITION_PROPENSITY].notna().to_numpy()),
            POSITION_PROPENSITY,
            "a position propensity must be a probability in (0, 1] (or NaN when unknown)",
        )
        fail(
            marginal < np.exp(log_prop) * (1 - 1e-4) - 1e-7,
            POSITION_PROPENSITY,
            "a position shows its item at least as often as the whole slate is shown: "
            "position_propensity must be >= exp(slate_log_propensity)",
        )
        df[POSITION_PROPENSITY] = marginal.astype(np.float32)
    df[POSITION] = position
    df[CLICKED] = clicked.astype(np.int8)
    df[SLATE_LOG_PROPENSITY] = log_prop.astype(np.float32)
    return df


# ------------------------------------------------------------------------ trajectories


@dataclass(frozen=True, eq=False)
class ImpressionSteps:
    """The steps (shown slates) of an impression log as numpy arrays, chunked into episodes.

    Slate ``s`` (``S`` in all, sorted by user and time) is step ``s``; its user's clicked items
    before it are ``clicked_items[history_lower[s]:history_ends[s]]`` (oldest first).

    Attributes:
      slates: int32 ``[S, k]`` item indices of each slate, in position order.
      rewards: float32 ``[S]`` the step rewards (0 without a click).
      click_position: int32 ``[S]`` clicked position, -1 = no click.
      slate_log_propensity: float32 ``[S]`` (NaN = unknown).
      inclusion_propensity: float32 ``[S, k]`` (NaN = unknown).
      clicked_items: int32 ``[N_clicks]`` the clicked items in step order.
      history_ends: int64 ``[S + 1]`` clicks before each step (``history_ends[S] = N_clicks``).
      history_lower: int64 ``[S]`` first click of each step's user.
      chunk_starts: int64 ``[C]`` first step of each episode chunk.
      chunk_lengths: int64 ``[C]`` its number of steps (``<= max_steps``).
      chunk_terminal: bool ``[C]`` whether the chunk ends its session (False: the session was
        split after ``max_steps`` slates and goes on in the next chunk).
    """

    slates: np.ndarray
    rewards: np.ndarray
    click_position: np.ndarray
    slate_log_propensity: np.ndarray
    inclusion_propensity: np.ndarray
    clicked_items: np.ndarray
    history_ends: np.ndarray
    history_lower: np.ndarray
    chunk_starts: np.ndarray
    chunk_lengths: np.ndarray
    chunk_terminal: np.ndarray

    @property
    def slate_size(self) -> int:
        """``k``."""
        return int(self.slates.shape[1])

    def histories(self, max_len: int) -> np.ndarray:
        """int32 ``[S, max_len]``: each step's clicked-item history, left-padded, most recent last."""
        return gather_windows(
            self.clicked_items, self.history_ends[:-1], self.history_lower, max_len
        )


def as_impression_log(log_or_frame: ImpressionLog | InteractionLog | pd.DataFrame) -> ImpressionLog:
    """Returns ``log_or_frame`` as a validated `ImpressionLog` (frames and plain logs are checked)."""
    if isinstance(log_or_frame, ImpressionLog):
        return log_or_frame
    if isinstance(log_or_frame, InteractionLog):
        return ImpressionLog(log_or_frame.df, source=log_or_frame.source)
    if isinstance(log_or_frame, pd.DataFrame):
        return ImpressionLog.from_dataframe(log_or_frame)
    raise TypeError(
        "expected an ImpressionLog, InteractionLog or pandas DataFrame, got "
        f"{type(log_or_frame).__name__}."
    )


def impression_steps(
    log_or_frame: ImpressionLog | InteractionLog | pd.DataFrame,
    vocabulary: ItemVocabulary,
    max_steps: int,
    session_gap: float | None = None,
) -> ImpressionSteps:
    """Numpy form of the impression trajectories: one step per slate, chunked per session.

    Sessions (a user's slates, or split after timestamp gaps ``> session_gap`` as in
    `tfrec.data.pipeline.session_chunks`) longer than ``max_steps`` become several chunks.

    Args:
      log_or_frame: the impression log (a frame or plain `InteractionLog` is validated first).
      vocabulary: item ids -> indices; it must know every shown item.
      max_steps: maximum steps per chunk.
      session_gap: inactivity that ends a session (None: one session per user).

    Returns:
      The `ImpressionSteps`.

    Raises:
      ValueError: an invalid log, or a shown item unknown to the vocabulary.
    """
    log = as_impression_log(log_or_frame)
    if not isinstance(vocabulary, ItemVocabulary):
        raise TypeError(f"vocabulary must be an ItemVocabulary, got {type(vocabulary).__name__}.")
    df, k = log.df, log.slate_size
    items = vocabulary.lookup(df["item"])
    unknown = np.flatnonzero(items < FIRST_ITEM_INDEX)
    if len(unknown):
        bad = unknown[0]
        raise ValueError(
            f"{log.source}: item {df['item'].iloc[bad]!r} of slate {df[SLATE].iloc[bad]!r} is not "
            "in the vocabulary (shown items are actions, they need an index): build the "
            "vocabulary from every shown item or the catalog."
        )
    slate_action_spec(k, vocabulary.size)  # k <= number of items
    num_slates = len(df) // k
    slates = items.reshape(num_slates, k).astype(np.int32)
    clicked = df[CLICKED].to_numpy().reshape(num_slates, k) == 1
    has_click = clicked.any(axis=1)
    click_position = np.where(has_click, clicked.argmax(axis=1), -1).astype(np.int32)
    clicked_item = np.where(has_click, slates[np.arange(num_slates), click_position], PAD_INDEX)
    head = df.iloc[::k]  # the first row of every slate
    user_codes, users = pd.factorize(head[USER].to_numpy())
    # One Sequences "row" per slate, so session_chunks splits the slates of every user.
    slate_seqs = Sequences(
        users=np.asarray(users, dtype=object),
        offsets=np.concatenate([[0], np.cumsum(np.bincount(user_codes))]).astype(np.int64),
        items=clicked_item.astype(np.int32),
        rewards=df[REWARD].to_numpy(np.float32).reshape(num_slates, k).sum(axis=1),
        propensities=head[SLATE_LOG_PROPENSITY].to_numpy(np.float32),
        timestamps=head[TIMESTAMP].to_numpy(),
    )
    starts, lengths, _ = session_chunks(slate_seqs, max_steps, session_gap)
    session_starts, session_lengths, _ = session_chunks(slate_seqs, num_slates, session_gap)
    history_ends = np.concatenate([[0], np.cumsum(has_click)]).astype(np.int64)
    first_slate = slate_seqs.starts[slate_seqs.row_users()]
    return ImpressionSteps(
        slates=slates,
        rewards=slate_seqs.rewards,
        click_position=click_position,
        slate_log_propensity=slate_seqs.propensities,
        inclusion_propensity=df[PROPENSITY].to_numpy(np.float32).reshape(num_slates, k),
        clicked_items=clicked_item[has_click].astype(np.int32),
        history_ends=history_ends,
        history_lower=history_ends[first_slate],
        chunk_starts=starts,
        chunk_lengths=lengths,
        chunk_terminal=np.isin(starts + lengths, session_starts + session_lengths),
    )


def impression_dataset(
    log_or_frame: ImpressionLog | InteractionLog | pd.DataFrame,
    vocabulary: ItemVocabulary,
    max_len: int,
    max_steps: int,
    batch_size: int,
    *,
    session_gap: float | None = None,
    shuffle: bool = True,
    seed: int = 0,
) -> tf.data.Dataset:
    """Impression-level trajectories for the REINFORCE agent (``experience="impressions"``).

    Like `tfrec.data.session_dataset`, but one step per *shown slate* (with or without a click),
    in the layout of `tfrec.specs` ("impression-level (slate) experience"). Each row is one
    session chunk of ``n <= max_steps`` slates, then boundary steps up to ``T = max_steps + 1``.
    Step ``t < n``: observation = the user's last ``max_len`` *clicked* items before the slate
    (earlier sessions included; a slate without a click does not extend it), action = the slate,
    reward, ``policy_info`` = the slate's log-propensity, its items' inclusion propensities and
    the clicked position (-1 = none); step_type FIRST at ``t = 0`` then MID; next_step_type LAST
    at ``t = n - 1``, with discount 0 there when the chunk ends its session (the session
    terminated) and 1 when the session was split after ``max_steps`` slates (truncated; it goes on
    as the next chunk, an episode of its own, as in `session_dataset`). Boundary steps ``t >= n``: step_type LAST, next_step_type
    FIRST, reward 0, discount 1, action `FIRST_ITEM_INDEX`, click -1, slate log-propensity 0,
    inclusion 1 (neutral, not NaN), observation = the history after the chunk.

    Args:
      log_or_frame: the impression log (a frame or plain `InteractionLog` is validated first).
      vocabulary: item ids -> indices; it must know every shown item.
      max_len: observation window length.
      max_steps: maximum real steps per row.
      batch_size: rows per batch (the last batch may be smaller).
      session_gap: inactivity that ends a session (None: one session per user).
      shuffle: shuffle the rows (seeded) each epoch.
      seed: shuffle seed; the same seed gives the same batches.

    Returns:
      Dataset of `Trajectory`: ``observation`` int32 ``[B, T, max_len]``, ``action`` int32
      ``[B, T, k]``, ``reward`` / ``discount`` float32 ``[B, T]``, ``step_type`` /
      ``next_step_type`` int32 ``[B, T]``, ``policy_info = {SLATE_LOG_PROPENSITY: float32 [B, T],
      INCLUSION_PROPENSITY: float32 [B, T, k], CLICK_POSITION: int32 [B, T]}`` (NaN where the
      log's propensities are unknown).
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}.")
    steps = impression_steps(log_or_frame, vocabulary, max_steps, session_gap)
    history_spec(max_len, vocabulary.size)  # max_len >= 1
    horizon = max_steps + 1
    clicked_items = tf.constant(steps.clicked_items, tf.int32)
    history_ends = tf.constant(steps.history_ends)
    slates = tf.constant(steps.slates, tf.int32)
    rewards = tf.constant(steps.rewards, tf.float32)
    clicks = tf.constant(steps.click_position, tf.int32)
    slate_log_propensity = tf.constant(steps.slate_log_propensity, tf.float32)
    inclusion = tf.constant(steps.inclusion_propensity, tf.float32)
    chunk_starts = tf.constant(steps.chunk_starts)
    chunk_lengths = tf.constant(steps.chunk_lengths)
    chunk_lower = tf.constant(steps.history_lower[steps.chunk_starts])
    chunk_terminal = tf.constant(steps.chunk_terminal)

    def gather(example: tf.Tensor) -> trajectory.Trajectory:
        start = tf.gather(chunk_starts, example)[:, None]  # [B, 1]
        length = tf.gather(chunk_lengths, example)[:, None]
        t = tf.range(horizon, dtype=tf.int64)[None, :]  # [1, T]
        real = t < length  # [B, T]
        step = tf.broadcast_to(tf.where(real, start + t, start + length), tf.shape(real))
        lower = tf.broadcast_to(tf.gather(chunk_lower, example)[:, None], tf.shape(step))
        observation = _tf_windows(clicked_items, tf.gather(history_ends, step), lower, max_len)
        safe = tf.minimum(step, start + length - 1)
        terminal = tf.gather(chunk_terminal, example)[:, None]
        step_type, next_step_type, discount = _step_types(t, length, terminal)
        return trajectory.Trajectory(
            step_type=step_type,
            observation=observation,
            action=tf.where(real[..., None], tf.gather(slates, safe), FIRST_ITEM_INDEX),
            policy_info={
                SLATE_LOG_PROPENSITY: tf.where(real, tf.gather(slate_log_propensity, safe), 0.0),
                INCLUSION_PROPENSITY: tf.where(real[..., None], tf.gather(inclusion, safe), 1.0),
                CLICK_POSITION: tf.where(real, tf.gather(clicks, safe), -1),
            },
            next_step_type=next_step_type,
            reward=tf.where(real, tf.gather(rewards, safe), 0.0),
            discount=discount * tf.ones_like(tf.cast(real, tf.float32)),
        )

    return _finish(_example_stream(len(steps.chunk_starts), batch_size, shuffle, seed), gather)
