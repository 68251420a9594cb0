"""Synthetic interaction logs: Zipf item popularity, sessions with timestamps, mixed feedback.

Used by tests, benchmarks and ``tfrec demo``; fully vectorised (a million interactions in about a
second). Items are ``item_<j>`` (as in the simulators' vocabularies), users ``user_<u>``.

Generative story, per user:

* the number of interactions is ``1 + Poisson(interactions_per_user - 1)`` (or a multinomial
  share of ``total_interactions``), at least ``min_interactions``;
* each item is drawn from a Zipf popularity law ``p(j) ∝ 1 / rank(j) ** zipf_exponent`` (ranks
  are a seeded permutation of the items), except that with probability ``follow_prob`` the user
  takes the item after the previous one (``j + 1``): a sequential signal a model can learn;
* a new session starts with probability ``1 / mean_session_length``, after a gap of
  ``Exponential(session_gap_mean)`` seconds; within a session gaps are
  ``Exponential(step_gap_mean)`` seconds (at least 1 s);
* the event is a "purchase" with probability ``purchase_prob``, else a "click", and the reward
  comes from ``event_rewards``;
* optionally the logged propensity is the popularity probability of the item (what a logging
  policy sampling by popularity would have recorded).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from tfrec.data.log import InteractionLog

DEFAULT_EVENT_REWARDS = {"click": 0.2, "purchase": 1.0}


def zipf_probabilities(num_items: int, exponent: float, rng: np.random.Generator) -> np.ndarray:
    """Zipf popularity over a random ranking of the items.

    Args:
      num_items: catalog size.
      exponent: Zipf exponent ``s`` (0 = uniform).
      rng: random generator (the ranking is a permutation drawn from it).

    Returns:
      float64 ``[num_items]`` probabilities summing to 1.
    """
    ranks = rng.permutation(num_items) + 1
    weights = 1.0 / ranks.astype(np.float64) ** exponent
    return weights / weights.sum()


def generate_log(
    num_users: int = 1000,
    num_items: int = 500,
    interactions_per_user: float = 20.0,
    *,
    total_interactions: int | None = None,
    min_interactions: int = 3,
    seed: int = 0,
    zipf_exponent: float = 1.0,
    follow_prob: float = 0.3,
    mean_session_length: float = 8.0,
    step_gap_mean: float = 60.0,
    session_gap_mean: float = 86_400.0,
    purchase_prob: float = 0.1,
    event_rewards: Mapping[str, float] | None = None,
    with_propensity: bool = False,
    start_time: int = 1_600_000_000,
) -> InteractionLog:
    """Generates a seeded synthetic `InteractionLog` (see the module docstring for the model).

    Args:
      num_users: number of users.
      num_items: catalog size.
      interactions_per_user: mean interactions per user (ignored with ``total_interactions``).
      total_interactions: exact total number of interactions, shared among users.
      min_interactions: minimum interactions per user.
      seed: random seed; the same arguments and seed give the same log.
      zipf_exponent: popularity skew.
      follow_prob: probability of taking the item after the previous one.
      mean_session_length: mean interactions per session.
      step_gap_mean: mean seconds between interactions of a session.
      session_gap_mean: mean seconds between sessions.
      purchase_prob: probability that an interaction is a purchase.
      event_rewards: reward per event type (default click 0.2, purchase 1.0).
      with_propensity: add a ``propensity`` column (popularity probability of the item).
      start_time: earliest unix timestamp.

    Returns:
      `InteractionLog` with extra column ``event``.
    """
    if num_users < 1 or num_items < 1:
        raise ValueError(f"need num_users >= 1 and num_items >= 1, got {num_users}, {num_items}.")
    if min_interactions < 1:
        raise ValueError(f"min_interactions must be >= 1, got {min_interactions}.")
    if not 0 <= follow_prob <= 1 or not 0 <= purchase_prob <= 1:
        raise ValueError("follow_prob and purchase_prob must be probabilities in [0, 1].")
    if mean_session_length < 1:
        raise ValueError(f"mean_session_length must be >= 1, got {mean_session_length}.")
    rng = np.random.default_rng(seed)
    if total_interactions is not None:
        spare = total_interactions - min_interactions * num_users
        if spare < 0:
            raise ValueError(
                f"total_interactions={total_interactions} is less than min_interactions * "
                f"num_users = {min_interactions * num_users}."
            )
        counts = min_interactions + rng.multinomial(spare, np.full(num_users, 1.0 / num_users))
    else:
        if interactions_per_user < 1:
            raise ValueError(f"interactions_per_user must be >= 1, got {interactions_per_user}.")
        counts = np.maximum(1 + rng.poisson(interactions_per_user - 1, num_users), min_interactions)
    counts = counts.astype(np.int64)
    n = int(counts.sum())
    user_of_row = np.repeat(np.arange(num_users), counts)
    first_row = np.zeros(n, dtype=bool)
    first_row[np.cumsum(counts) - counts] = True

    popularity = zipf_probabilities(num_items, zipf_exponent, rng)
    sampled = rng.choice(num_items, size=n, p=popularity)
    follows = (rng.random(n) < follow_prob) & ~first_row
    # Runs of "follow" steps continue from the last sampled item: item = base + steps since base.
    rows = np.arange(n)
    base_row = np.maximum.accumulate(np.where(follows, 0, rows))
    items = (sampled[base_row] + (rows - base_row)) % num_items

    new_session = (rng.random(n) < 1.0 / mean_session_length) & ~first_row
    gaps = np.where(
        new_session,
        rng.exponential(session_gap_mean, n),
        np.maximum(rng.exponential(step_gap_mean, n), 1.0),
    ).astype(np.int64)
    gaps[first_row] = 0
    totals = np.cumsum(gaps)
    user_offset = np.repeat(totals[first_row], counts)
    user_start = start_time + rng.integers(0, 30 * 86_400, num_users)
    timestamps = user_start[user_of_row] + (totals - user_offset)

    purchases = rng.random(n) < purchase_prob
    frame = pd.DataFrame(
        {
            "user": "user_" + pd.Series(user_of_row).astype(str),
            "item": "item_" + pd.Series(items).astype(str),
            "timestamp": timestamps,
            "event": pd.Categorical.from_codes(purchases.astype(np.int8), ["click", "purchase"]),
        }
    )
    if with_propensity:
        frame["propensity"] = popularity[items]
    return InteractionLog.from_dataframe(
        frame,
        event_col="event",
        event_rewards=dict(event_rewards or DEFAULT_EVENT_REWARDS),
        source="generate_log",
    )
