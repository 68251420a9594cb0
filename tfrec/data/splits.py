"""Train / validation / test splits of `Sequences`: leave-last-out and global temporal.

Both return ``(train, valid, test)``: ``train`` is a `Sequences`; ``valid`` and ``test`` are
`EvalSet` s of (user, history, target) triples. Users that cannot give an evaluation example are
never dropped silently: they stay in ``train`` and the `EvalSet` counts them in
``num_skipped_users``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tfrec.data.sequences import Sequences


@dataclass(frozen=True, eq=False)
class EvalSet:
    """Next-item evaluation examples: for each user, a history and the item that followed it.

    Attributes:
      users: user ids, object str ``[n]``.
      histories: `Sequences` with ``n`` users (oldest item first).
      targets: int32 ``[n]`` item indices to predict (may be `OOV_INDEX` for items outside the
        vocabulary: ranking metrics then count a miss).
      num_skipped_users: users of the source sequences without an example here (too short, or
        without history / interaction in the period); they contribute to training only.
    """

    users: np.ndarray
    histories: Sequences
    targets: np.ndarray
    num_skipped_users: int = 0

    def __post_init__(self) -> None:
        if not (len(self.users) == len(self.histories) == len(self.targets)):
            raise ValueError(
                f"EvalSet needs one history and one target per user: {len(self.users)} users, "
                f"{len(self.histories)} histories, {len(self.targets)} targets."
            )

    def __len__(self) -> int:
        return len(self.users)

    def padded_histories(self, max_len: int) -> np.ndarray:
        """int32 ``[n, max_len]``: the last ``max_len`` history items, left-padded."""
        return self.histories.padded(max_len)


def leave_last_out(seqs: Sequences, min_length: int = 3) -> tuple[Sequences, EvalSet, EvalSet]:
    """Leave-last-out split: the last item of each user is test, the second-to-last validation.

    * train: every user's sequence without its last two items;
    * valid: history = all but the last two items, target = the second-to-last item;
    * test: history = all but the last item, target = the last item.

    Users with fewer than ``min_length`` (default 3) interactions cannot provide a non-empty
    validation history; they keep their whole sequence in ``train`` and are counted in
    ``valid.num_skipped_users`` / ``test.num_skipped_users``. Order within a user is the log's
    stable (timestamp, file row) order.

    Args:
      seqs: the sequences to split.
      min_length: minimum interactions for a user to be evaluated (>= 3).

    Returns:
      ``(train, valid, test)``.
    """
    if min_length < 3:
        raise ValueError(
            f"min_length must be >= 3 (one training item, one validation, one test), got "
            f"{min_length}."
        )
    lengths = seqs.lengths
    evaluated = lengths >= min_length
    skipped = int((~evaluated).sum())
    starts, ends = seqs.starts, seqs.ends
    all_users = np.arange(len(seqs))
    train = seqs.slice_rows(all_users, starts, np.where(evaluated, ends - 2, ends))
    users = np.flatnonzero(evaluated)
    valid = EvalSet(
        users=seqs.users[users],
        histories=seqs.slice_rows(users, starts[users], ends[users] - 2),
        targets=seqs.items[ends[users] - 2].astype(np.int32),
        num_skipped_users=skipped,
    )
    test = EvalSet(
        users=seqs.users[users],
        histories=seqs.slice_rows(users, starts[users], ends[users] - 1),
        targets=seqs.items[ends[users] - 1].astype(np.int32),
        num_skipped_users=skipped,
    )
    return train, valid, test


def _first_at_or_after(seqs: Sequences, threshold: float) -> np.ndarray:
    """int64 ``[U]``: per user, the first row with timestamp >= threshold (``end`` if none)."""
    # Timestamps are sorted within a user, so the rows before the threshold come first.
    before = np.concatenate([[0], np.cumsum(seqs.timestamps < threshold)]).astype(np.int64)
    return seqs.starts + (before[seqs.ends] - before[seqs.starts])


def _eval_at(seqs: Sequences, boundary: np.ndarray, limit: np.ndarray) -> EvalSet:
    """Examples whose target is the row ``boundary`` when ``boundary < limit`` and history is
    non-empty."""
    ok = (boundary < limit) & (boundary > seqs.starts)
    users = np.flatnonzero(ok)
    return EvalSet(
        users=seqs.users[users],
        histories=seqs.slice_rows(users, seqs.starts[users], boundary[users]),
        targets=seqs.items[boundary[users]].astype(np.int32),
        num_skipped_users=int((~ok).sum()),
    )


def temporal_split(
    seqs: Sequences, cutoff: float, valid_cutoff: float | None = None
) -> tuple[Sequences, EvalSet, EvalSet]:
    """Global temporal split at timestamp ``cutoff`` (and optionally ``valid_cutoff`` < cutoff).

    * train: every interaction with ``timestamp < valid_cutoff`` (``< cutoff`` when
      ``valid_cutoff`` is None);
    * test: for each user with an interaction at or after ``cutoff`` and at least one before it,
      history = all interactions before ``cutoff``, target = the first one at or after it;
    * valid: likewise at ``valid_cutoff``, targets restricted to ``[valid_cutoff, cutoff)``;
      empty when ``valid_cutoff`` is None.

    Users with no history before a cutoff (cold start) or no interaction after it are counted in
    ``num_skipped_users``.

    Args:
      seqs: the sequences to split.
      cutoff: test boundary timestamp.
      valid_cutoff: optional validation boundary timestamp, ``< cutoff``.

    Returns:
      ``(train, valid, test)``.
    """
    if valid_cutoff is not None and not valid_cutoff < cutoff:
        raise ValueError(f"valid_cutoff ({valid_cutoff}) must be earlier than cutoff ({cutoff}).")
    test_boundary = _first_at_or_after(seqs, cutoff)
    test = _eval_at(seqs, test_boundary, seqs.ends)
    all_users = np.arange(len(seqs))
    if valid_cutoff is None:
        train = seqs.slice_rows(all_users, seqs.starts, test_boundary)
        none = np.zeros(0, dtype=np.int64)
        valid = EvalSet(
            users=seqs.users[none],
            histories=seqs.slice_rows(none, none, none),
            targets=np.zeros(0, dtype=np.int32),
            num_skipped_users=len(seqs),
        )
    else:
        valid_boundary = _first_at_or_after(seqs, valid_cutoff)
        train = seqs.slice_rows(all_users, seqs.starts, valid_boundary)
        valid = _eval_at(seqs, valid_boundary, test_boundary)
    return train, valid, test
