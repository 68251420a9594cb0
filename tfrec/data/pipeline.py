"""`tf.data` input pipelines built from `Sequences`.

Every pipeline follows the same recipe, so that a million interactions stream fast:

1. compute, in numpy, one small integer record per training example (e.g. the row of its target
   and the first row of its user);
2. a ``tf.data.Dataset.range`` of the example numbers, ``batch``, and, when shuffling, a seeded
   random permutation of all examples (``tf.random.experimental.index_shuffle``, no shuffle
   buffer): each epoch has a new order, and the same seed gives the same epochs;
3. a vectorised ``map`` that gathers whole batches of left-padded history windows from the CSR
   arrays (held once as constants), and ``prefetch``.

Pipelines:

* `next_item_dataset`: one example per interaction that has at least one earlier interaction of
  the same user: ``history [B, max_len]``, ``target [B]``, ``reward [B]``, ``propensity [B]``.
* `sequence_dataset`: all-position next-item training (SASRec, Kang & McAuley 2018):
  ``(history [B, L], targets [B, L])``. A user's sequence is cut **from its end** into windows of
  ``max_len + 1`` items that overlap by one item (stride ``max_len``), so every transition of a
  long sequence is a target exactly once and the most recent items form a full window.
* `session_dataset`: `tf_agents.trajectories.Trajectory` batches for REINFORCE (Chen et al.
  2019), one session chunk per row, padded with boundary steps (see the function).

Examples whose target is not a real item (`OOV_INDEX`, i.e. an item under the vocabulary's
``min_count``) are not targets of `next_item_dataset`; in `sequence_dataset` their target is 0,
so a loss masked on ``targets > 0`` ignores them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import tensorflow as tf
from tf_agents.trajectories import time_step as ts
from tf_agents.trajectories import trajectory

from tfrec.data.sequences import Sequences, ranges
from tfrec.specs import FIRST_ITEM_INDEX, PAD_INDEX


def _check(seqs: Sequences, max_len: int, batch_size: int) -> None:
    if not isinstance(seqs, Sequences):
        raise TypeError(f"expected tfrec.data.Sequences, got {type(seqs).__name__}.")
    if max_len < 1:
        raise ValueError(f"max_len must be >= 1, got {max_len}.")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}.")


def _no_examples(what: str) -> ValueError:
    return ValueError(
        f"the sequences yield no {what}: every user needs at least two interactions. "
        "Check the log filters and the split."
    )


def _example_stream(
    num_examples: int, batch_size: int, shuffle: bool, seed: int
) -> tf.data.Dataset:
    """Batches of example numbers ``[B]`` int64, a seeded permutation of all examples per epoch.

    Shuffling is a full random permutation computed per batch with
    ``tf.random.experimental.index_shuffle`` (no shuffle buffer to fill, so the first batch is
    immediate even for millions of examples). The permutation key of each epoch comes from
    ``tf.data.Dataset.random(seed, rerandomize_each_iteration=True)``: each epoch (new iterator
    or ``repeat``) is ordered differently, and the same seed replays the same epochs.
    """
    batches = tf.data.Dataset.range(num_examples).batch(batch_size)
    if not shuffle:
        return batches
    max_index = tf.constant(num_examples - 1, tf.int64)

    def permuted(epoch_key: tf.Tensor) -> tf.data.Dataset:
        key = tf.stack([tf.constant(seed, tf.int64), epoch_key])
        return batches.map(lambda idx: tf.random.experimental.index_shuffle(idx, key, max_index))

    epoch_keys = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).take(1)
    return epoch_keys.flat_map(permuted)


def _tf_windows(items: tf.Tensor, ends: tf.Tensor, lower: tf.Tensor, max_len: int) -> tf.Tensor:
    """TF twin of `sequences.gather_windows` for any leading shape: ``ends``/``lower`` ``[...]``
    -> int32 ``[..., max_len]`` left-padded windows ``items[max(lower, end - max_len):end]``."""
    offsets = tf.range(max_len, dtype=tf.int64) - max_len
    positions = ends[..., None] + offsets
    valid = positions >= lower[..., None]
    gathered = tf.gather(items, tf.maximum(positions, 0))
    return tf.where(valid, gathered, tf.zeros_like(gathered))


def _finish(dataset: tf.data.Dataset, fn) -> tf.data.Dataset:
    return dataset.map(fn, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True).prefetch(
        tf.data.AUTOTUNE
    )


def next_item_dataset(
    seqs: Sequences, max_len: int, batch_size: int, shuffle: bool = True, seed: int = 0
) -> tf.data.Dataset:
    """Next-item examples: the ``max_len`` items before an interaction, and that interaction.

    Args:
      seqs: training sequences.
      max_len: history window length.
      batch_size: examples per batch (the last batch may be smaller).
      shuffle: shuffle all examples (seeded) each epoch.
      seed: shuffle seed; the same seed gives the same batches.

    Returns:
      Dataset of dicts ``history`` int32 ``[B, max_len]`` (left-padded, most recent last),
      ``target`` int32 ``[B]``, ``reward`` float32 ``[B]``, ``propensity`` float32 ``[B]``
      (NaN when unknown).
    """
    _check(seqs, max_len, batch_size)
    row_user = seqs.row_users()
    rows = np.arange(seqs.num_interactions, dtype=np.int64)
    user_start = seqs.starts[row_user]
    keep = (rows > user_start) & (seqs.items >= FIRST_ITEM_INDEX)
    targets, lower = rows[keep], user_start[keep]
    if len(targets) == 0:
        raise _no_examples("next-item example")
    items = tf.constant(seqs.items, tf.int32)
    rewards = tf.constant(seqs.rewards, tf.float32)
    propensities = tf.constant(seqs.propensities, tf.float32)
    target_rows = tf.constant(targets)
    lower_rows = tf.constant(lower)

    def gather(example: tf.Tensor) -> dict[str, tf.Tensor]:
        row = tf.gather(target_rows, example)
        return {
            "history": _tf_windows(items, row, tf.gather(lower_rows, example), max_len),
            "target": tf.gather(items, row),
            "reward": tf.gather(rewards, row),
            "propensity": tf.gather(propensities, row),
        }

    return _finish(_example_stream(len(targets), batch_size, shuffle, seed), gather)


def sequence_windows(seqs: Sequences, max_len: int) -> tuple[np.ndarray, np.ndarray]:
    """Row ranges of the `sequence_dataset` windows, cut from the end of each user's sequence.

    Args:
      seqs: sequences.
      max_len: model input length; windows hold up to ``max_len + 1`` items.

    Returns:
      ``(starts, ends)`` int64 ``[W]``: window ``w`` is rows ``[starts[w], ends[w])``, at least
      two items long. For a user with 7 items and ``max_len = 3`` the windows are rows
      ``[3, 7)``, ``[0, 4)``: items 0..3 and 3..6.
    """
    lengths = seqs.lengths
    transitions = np.maximum(lengths - 1, 0)
    per_user = -(-transitions // max_len)  # ceil: each window covers max_len transitions
    user_of_window = np.repeat(np.arange(len(seqs)), per_user)
    k = ranges(np.zeros(len(seqs), dtype=np.int64), per_user)
    ends = seqs.ends[user_of_window] - k * max_len
    starts = np.maximum(seqs.starts[user_of_window], ends - max_len - 1)
    return starts.astype(np.int64), ends.astype(np.int64)


def sequence_dataset(
    seqs: Sequences,
    max_len: int,
    batch_size: int,
    shuffle: bool = True,
    seed: int = 0,
    length_buckets: Sequence[int] | None = None,
) -> tf.data.Dataset:
    """All-position next-item batches (SASRec-style training).

    Args:
      seqs: training sequences.
      max_len: model input length ``L``.
      batch_size: windows per batch.
      shuffle: shuffle the windows (seeded) each epoch.
      seed: shuffle seed.
      length_buckets: optional increasing window lengths (e.g. ``(8, 16, 32)``; ``max_len`` is
        always the last bucket). Each window goes to the shortest bucket that holds it and every
        batch holds windows of one bucket, padded to that bucket's length only. Because the
        encoder aligns positions on the most recent item, a window padded to 8 gets the same
        states as padded to ``L``; on data whose median user has 6 items this removes most of
        the padding, which dominates the cost of a training step. Batches are then
        ``[B, bucket_length]`` (static batch, dynamic length: one traced training step). The
        last batch of each bucket may be smaller; with ``shuffle`` the order of the batches is
        a seeded permutation per epoch, as are the windows inside each bucket.

    Returns:
      Dataset of ``(history, targets)``, both int32 ``[B, L]``, left-padded: ``targets[:, t]``
      is the item that followed ``history[:, t]``; 0 where ``history`` is padding or the next
      item is OOV. E.g. items ``[a, b, c, d]`` with ``L = 5`` give history ``[0, 0, a, b, c]``
      and targets ``[0, 0, b, c, d]``.
    """
    _check(seqs, max_len, batch_size)
    starts, ends = sequence_windows(seqs, max_len)
    if len(starts) == 0:
        raise _no_examples("training window")
    items = tf.constant(seqs.items, tf.int32)
    bounds, bucket_of = _window_buckets(starts, ends, length_buckets, max_len)
    streams, choices = [], []
    for bucket, length in enumerate(bounds):
        members = np.flatnonzero(bucket_of == bucket)
        if len(members) == 0:
            continue
        window_starts = tf.constant(starts[members])
        window_ends = tf.constant(ends[members])

        def gather(
            example: tf.Tensor, lo=window_starts, hi=window_ends, length=int(length)
        ) -> tuple[tf.Tensor, tf.Tensor]:
            end = tf.gather(hi, example)
            start = tf.gather(lo, example)
            history = _tf_windows(items, end - 1, start, length)
            targets = _tf_windows(items, end, start + 1, length)
            real = (targets >= FIRST_ITEM_INDEX) & (history != PAD_INDEX)
            return history, tf.where(real, targets, tf.zeros_like(targets))

        stream = _example_stream(len(members), batch_size, shuffle, seed + bucket)
        streams.append(stream.map(gather, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True))
        choices += [len(streams) - 1] * (-(-len(members) // batch_size))
    if len(streams) == 1:
        return streams[0].prefetch(tf.data.AUTOTUNE)
    order = tf.data.Dataset.from_tensor_slices(np.asarray(choices, np.int64))
    if shuffle:
        order = _example_stream(len(choices), len(choices), True, seed).flat_map(
            lambda idx: tf.data.Dataset.from_tensor_slices(
                tf.gather(np.asarray(choices, np.int64), idx)
            )
        )
    return tf.data.Dataset.choose_from_datasets(streams, order).prefetch(tf.data.AUTOTUNE)


def _window_buckets(
    starts: np.ndarray, ends: np.ndarray, length_buckets: Sequence[int] | None, max_len: int
) -> tuple[np.ndarray, np.ndarray]:
    """Bucket lengths (increasing, ending with ``max_len``) and each window's bucket ``[W]``."""
    if length_buckets is None:
        bounds = np.asarray([max_len], np.int64)
    else:
        given = [int(b) for b in length_buckets]
        if any(b < 1 for b in given) or given != sorted(set(given)):
            raise ValueError(
                f"length_buckets must be increasing positive lengths, got {list(length_buckets)}."
            )
        bounds = np.asarray([b for b in given if b < max_len] + [max_len], np.int64)
    # A window of n items has n - 1 transitions (its history length).
    return bounds, np.searchsorted(bounds, ends - starts - 1)


def sequence_batches_per_epoch(
    seqs: Sequences, max_len: int, batch_size: int, length_buckets: Sequence[int] | None = None
) -> int:
    """Number of batches of one epoch of :func:`sequence_dataset` with the same arguments."""
    _check(seqs, max_len, batch_size)
    starts, ends = sequence_windows(seqs, max_len)
    _, bucket_of = _window_buckets(starts, ends, length_buckets, max_len)
    sizes = np.bincount(bucket_of)
    return int(np.sum(-(-sizes[sizes > 0] // batch_size)))


def session_chunks(
    seqs: Sequences, max_steps: int, session_gap: float | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Splits users into sessions, and sessions into chunks of at most ``max_steps``.

    A new session starts at a user's first interaction and after every gap between consecutive
    timestamps strictly greater than ``session_gap`` (None: one session per user).

    Args:
      seqs: sequences.
      max_steps: maximum steps per chunk.
      session_gap: inactivity (timestamp units) that ends a session.

    Returns:
      ``(starts, lengths, user_starts)`` int64 ``[C]``: chunk ``c`` is rows
      ``[starts[c], starts[c] + lengths[c])`` and its user's first row is ``user_starts[c]``.
    """
    if max_steps < 1:
        raise ValueError(f"max_steps must be >= 1, got {max_steps}.")
    if session_gap is not None and not session_gap >= 0:
        raise ValueError(f"session_gap must be >= 0 or None, got {session_gap}.")
    n = seqs.num_interactions
    new_session = np.zeros(n, dtype=bool)
    new_session[seqs.starts[seqs.lengths > 0]] = True
    if session_gap is not None and n > 1:
        gaps = np.diff(seqs.timestamps.astype(np.float64))
        new_session[1:] |= gaps > session_gap
    session_starts = np.flatnonzero(new_session).astype(np.int64)
    session_lengths = np.diff(np.append(session_starts, n))
    per_session = -(-session_lengths // max_steps)
    k = ranges(np.zeros(len(session_starts), dtype=np.int64), per_session)
    starts = np.repeat(session_starts, per_session) + k * max_steps
    lengths = np.minimum(
        np.repeat(session_starts + session_lengths, per_session) - starts, max_steps
    )
    row_user = seqs.row_users()
    user_starts = seqs.starts[row_user[starts]] if len(starts) else np.zeros(0, np.int64)
    return starts, lengths.astype(np.int64), user_starts.astype(np.int64)


def _step_types(
    t: tf.Tensor, length: tf.Tensor, terminal: tf.Tensor | bool
) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """``(step_type, next_step_type, discount)`` ``[B, T]`` of rows with ``length`` real steps.

    Step ``t < length``: FIRST at ``t = 0``, else MID; next_step_type LAST at ``t = length - 1``,
    with discount 0 there where ``terminal`` (the episode ended, not merely the row). Boundary
    steps ``t >= length``: step_type LAST, next_step_type FIRST, discount 1.
    """
    real, last = t < length, t == length - 1
    first_or_mid = tf.where(t == 0, ts.StepType.FIRST, ts.StepType.MID)
    step_type = tf.where(real, first_or_mid, ts.StepType.LAST)
    mid_or_last = tf.where(last, ts.StepType.LAST, ts.StepType.MID)
    next_step_type = tf.where(real, mid_or_last, ts.StepType.FIRST)
    discount = tf.where(last & terminal, 0.0, 1.0)
    return tf.cast(step_type, tf.int32), tf.cast(next_step_type, tf.int32), discount


def session_dataset(
    seqs: Sequences,
    max_len: int,
    max_steps: int,
    batch_size: int,
    shuffle: bool = True,
    seed: int = 0,
    session_gap: float | None = None,
) -> tf.data.Dataset:
    """Session trajectories for REINFORCE-style agents (Chen et al., WSDM 2019).

    Each row is one session chunk of ``n <= max_steps`` interactions followed by boundary
    steps, with time dimension ``T = max_steps + 1``. Chunks of a session longer than
    ``max_steps`` are separate episodes (returns are truncated at the chunk end). Step ``t < n``
    is the ``t``-th interaction: observation = the user's ``max_len`` items before it (earlier
    sessions included), action = the item, its reward and ``log(propensity)``; step_type FIRST
    at ``t = 0`` then MID, next_step_type LAST at ``t = n - 1`` with discount 0 (else MID,
    discount 1). Steps ``t >= n`` are boundary steps (`Trajectory.is_boundary()`): step_type
    LAST, next_step_type FIRST, reward 0, log-propensity 0, discount 1, action
    `FIRST_ITEM_INDEX`, observation = the history after the last item. Every row therefore ends
    in StepType.LAST, as `tf_agents.agents.ReinforceAgent` requires.

    Args:
      seqs: training sequences.
      max_len: observation window length.
      max_steps: maximum real steps per row.
      batch_size: rows per batch.
      shuffle: shuffle the rows (seeded) each epoch.
      seed: shuffle seed.
      session_gap: inactivity that ends a session (None: a user's whole sequence is one
        session).

    Returns:
      Dataset of `Trajectory`: ``observation`` int32 ``[B, T, max_len]``, ``action`` int32
      ``[B, T]``, ``reward`` / ``discount`` float32 ``[B, T]``, ``step_type`` /
      ``next_step_type`` int32 ``[B, T]``, ``policy_info = {"log_propensity": float32 [B, T]}``
      (NaN on real steps whose propensity is unknown).
    """
    _check(seqs, max_len, batch_size)
    starts, lengths, user_starts = session_chunks(seqs, max_steps, session_gap)
    if len(starts) == 0:
        raise ValueError("the sequences hold no interaction, so no session.")
    steps = max_steps + 1
    items = tf.constant(seqs.items, tf.int32)
    rewards = tf.constant(seqs.rewards, tf.float32)
    log_propensities = tf.constant(np.log(seqs.propensities.astype(np.float64)), tf.float32)
    chunk_starts = tf.constant(starts)
    chunk_lengths = tf.constant(lengths)
    chunk_lower = tf.constant(user_starts)

    def gather(example: tf.Tensor) -> trajectory.Trajectory:
        start = tf.gather(chunk_starts, example)[:, None]  # [B, 1]
        length = tf.gather(chunk_lengths, example)[:, None]
        lower = tf.gather(chunk_lower, example)[:, None]
        t = tf.range(steps, dtype=tf.int64)[None, :]  # [1, T]
        real = t < length  # [B, T]
        row = tf.where(real, start + t, start + length)  # boundary: the history after the chunk
        row = tf.broadcast_to(row, tf.shape(real))
        observation = _tf_windows(items, row, tf.broadcast_to(lower, tf.shape(row)), max_len)
        safe_row = tf.minimum(row, start + length - 1)
        action = tf.where(real, tf.gather(items, safe_row), FIRST_ITEM_INDEX)
        reward = tf.where(real, tf.gather(rewards, safe_row), 0.0)
        log_propensity = tf.where(real, tf.gather(log_propensities, safe_row), 0.0)
        step_type, next_step_type, discount = _step_types(t, length, terminal=True)
        return trajectory.Trajectory(
            step_type=step_type,
            observation=observation,
            action=action,
            policy_info={"log_propensity": log_propensity},
            next_step_type=next_step_type,
            reward=reward,
            discount=discount,
        )

    return _finish(_example_stream(len(starts), batch_size, shuffle, seed), gather)
