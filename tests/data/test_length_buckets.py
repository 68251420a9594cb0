"""Length-bucketed `sequence_dataset`: every window once, the same content as unbucketed."""

from __future__ import annotations

import numpy as np
import pytest

from tfrec.data import Sequences, sequence_batches_per_epoch, sequence_dataset


def _seqs(lengths: list[int]) -> Sequences:
    items = np.concatenate([2 + np.arange(n) % 7 + 7 * (u % 3) for u, n in enumerate(lengths)])
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    n = len(items)
    return Sequences(
        users=np.array([f"u{u}" for u in range(len(lengths))], dtype=object),
        offsets=offsets,
        items=items.astype(np.int32),
        rewards=np.ones(n, np.float32),
        propensities=np.full(n, np.nan, np.float32),
        timestamps=np.arange(n, dtype=np.int64),
    )


def _rows(dataset) -> set[tuple[tuple[int, ...], tuple[int, ...]]]:
    """The (history, targets) windows without their left padding."""
    rows = set()
    for history, targets in dataset:
        for h, t in zip(history.numpy(), targets.numpy()):
            keep = h != 0
            rows.add((tuple(h[keep]), tuple(t[keep])))
    return rows


@pytest.mark.parametrize("shuffle", [False, True])
def test_buckets_hold_every_window_once_padded_to_their_length(shuffle: bool) -> None:
    seqs = _seqs([3, 5, 9, 2, 14, 6, 4, 30, 8])
    plain = sequence_dataset(seqs, max_len=12, batch_size=2, shuffle=shuffle, seed=3)
    bucketed = sequence_dataset(
        seqs, max_len=12, batch_size=2, shuffle=shuffle, seed=3, length_buckets=(4, 8)
    )
    assert _rows(bucketed) == _rows(plain)
    widths = {int(h.shape[1]) for h, _ in bucketed}
    assert widths <= {4, 8, 12} and len(widths) > 1
    num_windows = sum(int(h.shape[0]) for h, _ in bucketed)
    assert num_windows == sum(int(h.shape[0]) for h, _ in plain)
    assert sequence_batches_per_epoch(seqs, 12, 2, (4, 8)) == len(list(bucketed))
    assert sequence_batches_per_epoch(seqs, 12, 2) == len(list(plain))


def test_bucketed_epochs_are_reshuffled_and_seeded() -> None:
    seqs = _seqs([3, 5, 9, 2, 14, 6, 4, 30, 8, 5, 5, 7])
    dataset = sequence_dataset(seqs, 12, 2, seed=5, length_buckets=(4, 8))
    first = [h.numpy().tolist() for h, _ in dataset]
    second = [h.numpy().tolist() for h, _ in dataset]
    again = [
        h.numpy().tolist() for h, _ in sequence_dataset(seqs, 12, 2, seed=5, length_buckets=(4, 8))
    ]
    assert first != second and first == again


def test_bad_buckets_are_one_clear_error() -> None:
    with pytest.raises(ValueError, match="length_buckets must be increasing"):
        sequence_dataset(_seqs([3, 4]), 8, 2, length_buckets=(6, 4))
