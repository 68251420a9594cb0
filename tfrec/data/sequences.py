"""`Sequences`: every user's time-ordered item indices in one CSR structure.

User ``u``'s interactions are ``items[offsets[u]:offsets[u + 1]]`` (oldest first), with the
matching ``rewards``, ``propensities`` and ``timestamps``. Building and padding are vectorised over
all interactions at once (no Python loop per user or per interaction).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from tfrec.data.log import InteractionLog
from tfrec.data.validation import ITEM, PROPENSITY, REWARD, TIMESTAMP, USER
from tfrec.data.vocab import ItemVocabulary
from tfrec.specs import PAD_INDEX


@dataclass(frozen=True, eq=False)
class Sequences:
    """Per-user interaction sequences in CSR layout.

    Attributes:
      users: user ids, object str ``[U]``.
      offsets: int64 ``[U + 1]``, ``offsets[0] = 0``, non-decreasing; user ``u`` owns rows
        ``offsets[u]:offsets[u + 1]``.
      items: int32 ``[N]`` item indices (`tfrec.specs` convention).
      rewards: float32 ``[N]``.
      propensities: float32 ``[N]`` (NaN = unknown).
      timestamps: int64 or float64 ``[N]``, non-decreasing within a user.
    """

    users: np.ndarray
    offsets: np.ndarray
    items: np.ndarray
    rewards: np.ndarray
    propensities: np.ndarray
    timestamps: np.ndarray

    def __post_init__(self) -> None:
        offsets = np.asarray(self.offsets)
        n = len(self.items)
        if offsets.ndim != 1 or len(offsets) != len(self.users) + 1:
            raise ValueError(
                f"offsets must have shape [num_users + 1] = [{len(self.users) + 1}], got "
                f"{offsets.shape}."
            )
        if offsets[0] != 0 or offsets[-1] != n or np.any(np.diff(offsets) < 0):
            raise ValueError(
                f"offsets must start at 0, end at len(items) = {n} and never decrease."
            )
        for name in ("rewards", "propensities", "timestamps"):
            if len(getattr(self, name)) != n:
                raise ValueError(
                    f"{name} has {len(getattr(self, name))} entries, items has {n}: one per "
                    "interaction is required."
                )

    def __len__(self) -> int:
        """Number of users."""
        return len(self.users)

    @property
    def num_interactions(self) -> int:
        """Total number of interactions ``N``."""
        return len(self.items)

    @property
    def lengths(self) -> np.ndarray:
        """int64 ``[U]``: number of interactions of each user."""
        return np.diff(self.offsets)

    @property
    def starts(self) -> np.ndarray:
        """int64 ``[U]``: first row of each user."""
        return self.offsets[:-1]

    @property
    def ends(self) -> np.ndarray:
        """int64 ``[U]``: one past the last row of each user."""
        return self.offsets[1:]

    def item_counts(self, vocab_size: int) -> np.ndarray:
        """Interaction count of each item index (the one item-count function of tfrec).

        Args:
          vocab_size: the catalog size including the padding index 0 (``ItemVocabulary.size``).

        Returns:
          float64 ``[vocab_size]``; index 0 (padding) counts 0.

        Raises:
          ValueError: if an item index is ``>= vocab_size``.
        """
        items = np.asarray(self.items, np.int64)
        if items.size and items.max() >= vocab_size:
            raise ValueError(
                f"the sequences hold item index {int(items.max())} but vocab_size={vocab_size}: "
                "pass the vocabulary's size (ItemVocabulary.size)."
            )
        return np.bincount(items, minlength=vocab_size).astype(np.float64)

    def row_users(self) -> np.ndarray:
        """int64 ``[N]``: the user position (0..U-1) of every interaction."""
        return np.repeat(np.arange(len(self.users)), self.lengths)

    def user_items(self, user: int) -> np.ndarray:
        """int32 item indices of the user at position ``user``, oldest first."""
        return self.items[self.offsets[user] : self.offsets[user + 1]]

    def padded(self, max_len: int) -> np.ndarray:
        """The last ``max_len`` items of every user, left-padded with 0, most recent last.

        Args:
          max_len: window length (>= 1).

        Returns:
          int32 ``[U, max_len]``, e.g. a user with items ``[5, 9]`` and ``max_len = 4`` gives
          ``[0, 0, 5, 9]``.
        """
        return gather_windows(self.items, self.ends, self.starts, max_len)

    def select(self, mask_or_positions: np.ndarray) -> Sequences:
        """Keeps a subset of users (in the given order when positions are given).

        Args:
          mask_or_positions: bool ``[U]`` mask or int user positions.

        Returns:
          A new `Sequences` holding only those users.
        """
        chosen = np.asarray(mask_or_positions)
        positions = np.flatnonzero(chosen) if chosen.dtype == bool else chosen.astype(np.int64)
        return self.slice_rows(positions, self.starts[positions], self.ends[positions])

    def slice_rows(self, users: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> Sequences:
        """Builds new sequences from one row range ``[starts[i], ends[i])`` per selected user.

        Args:
          users: int user positions ``[M]`` (into ``self.users``).
          starts: int64 ``[M]`` first rows (inclusive).
          ends: int64 ``[M]`` last rows (exclusive), ``starts <= ends``.

        Returns:
          `Sequences` with ``M`` users (some possibly empty).
        """
        lengths = np.asarray(ends, dtype=np.int64) - np.asarray(starts, dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        rows = ranges(np.asarray(starts, dtype=np.int64), lengths)
        return Sequences(
            users=self.users[np.asarray(users, dtype=np.int64)],
            offsets=offsets,
            items=self.items[rows],
            rewards=self.rewards[rows],
            propensities=self.propensities[rows],
            timestamps=self.timestamps[rows],
        )


def ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Concatenates ``arange(s, s + n)`` for every ``(s, n)`` pair, vectorised.

    Args:
      starts: int64 ``[M]``.
      lengths: int64 ``[M]``, non-negative.

    Returns:
      int64 ``[sum(lengths)]``; e.g. starts ``[5, 0]``, lengths ``[2, 3]`` -> ``[5, 6, 0, 1, 2]``.
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    total = int(lengths.sum())
    group_starts = np.cumsum(lengths) - lengths
    within = np.arange(total, dtype=np.int64) - np.repeat(group_starts, lengths)
    return np.repeat(np.asarray(starts, dtype=np.int64), lengths) + within


def gather_windows(
    items: np.ndarray, ends: np.ndarray, lower: np.ndarray, max_len: int
) -> np.ndarray:
    """Left-padded windows ``items[max(lower, end - max_len):end]``, vectorised.

    Args:
      items: int32 ``[N]``.
      ends: int ``[M]`` exclusive window ends.
      lower: int ``[M]`` first row a window may include (the user's first row).
      max_len: window length.

    Returns:
      int32 ``[M, max_len]``, 0 (`PAD_INDEX`) where the window has no item.
    """
    if max_len < 1:
        raise ValueError(f"max_len must be >= 1, got {max_len}.")
    ends = np.asarray(ends, dtype=np.int64)
    positions = ends[:, None] - max_len + np.arange(max_len, dtype=np.int64)[None, :]
    valid = positions >= np.asarray(lower, dtype=np.int64)[:, None]
    if len(items) == 0:
        return np.zeros((len(ends), max_len), dtype=np.int32)
    gathered = items[np.clip(positions, 0, len(items) - 1)]
    return np.where(valid, gathered, PAD_INDEX).astype(np.int32)


def build_sequences(log: InteractionLog, vocab: ItemVocabulary) -> Sequences:
    """Turns a log into per-user index sequences (the log is already sorted by user, time).

    Items unknown to ``vocab`` (e.g. under its ``min_count``) become `OOV_INDEX` rather than
    being dropped, so sequence positions and timestamps stay faithful to the log.

    Args:
      log: the interaction log.
      vocab: the item vocabulary.

    Returns:
      `Sequences` with users in the log's order (sorted by user id string).
    """
    if not isinstance(log, InteractionLog):
        raise TypeError(f"build_sequences needs an InteractionLog, got {type(log).__name__}.")
    if not isinstance(vocab, ItemVocabulary):
        raise TypeError(f"build_sequences needs an ItemVocabulary, got {type(vocab).__name__}.")
    df = log.df
    # The log is sorted by user, so factorize (first-appearance order) numbers users in order.
    codes, users = pd.factorize(df[USER].to_numpy())
    counts = np.bincount(codes, minlength=len(users))
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    return Sequences(
        users=np.asarray(users, dtype=object),
        offsets=offsets,
        items=vocab.lookup(df[ITEM]),
        rewards=df[REWARD].to_numpy(np.float32),
        propensities=df[PROPENSITY].to_numpy(np.float32),
        timestamps=df[TIMESTAMP].to_numpy(),
    )
