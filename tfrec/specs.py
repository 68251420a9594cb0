"""Tensor specs shared by networks, policies, agents and environments (the single source of truth).

Index convention (everywhere in tfrec):
  * ``PAD_INDEX = 0``: padding in history windows (left-padded, most recent item last).
  * ``OOV_INDEX = 1``: an item id the vocabulary does not know.
  * real items have indices ``FIRST_ITEM_INDEX = 2 .. vocab_size - 1``.

``vocab_size`` therefore always counts the two reserved indices: a catalog of ``n`` items has
``vocab_size = n + NUM_RESERVED``.

Shapes:
  * observation ``history``: int32 ``[max_len]`` item indices (batched: ``[batch, max_len]``).
  * slate action (what environments and the serving/collect policies take/emit): int32 ``[k]``.
  * item action (what one logged interaction holds, the training data of the REINFORCE agent):
    scalar int32 item index.
"""

from __future__ import annotations

import numpy as np
from tf_agents.specs import array_spec
from tf_agents.trajectories import time_step as ts

PAD_INDEX = 0
OOV_INDEX = 1
FIRST_ITEM_INDEX = 2
NUM_RESERVED = 2


def _check_vocab(vocab_size: int) -> None:
    if vocab_size <= NUM_RESERVED:
        raise ValueError(
            f"vocab_size={vocab_size} leaves no real item: it must be > {NUM_RESERVED} "
            "(indices 0 = padding and 1 = out-of-vocabulary are reserved)."
        )


def history_spec(max_len: int, vocab_size: int) -> array_spec.BoundedArraySpec:
    """Observation spec: a left-padded window of item indices.

    Args:
      max_len: length of the history window.
      vocab_size: number of indices including the reserved padding/OOV indices.

    Returns:
      BoundedArraySpec int32 ``[max_len]`` in ``[0, vocab_size - 1]``, named ``history``.
    """
    if max_len < 1:
        raise ValueError(f"max_len must be >= 1, got {max_len}.")
    _check_vocab(vocab_size)
    return array_spec.BoundedArraySpec(
        shape=(max_len,), dtype=np.int32, minimum=0, maximum=vocab_size - 1, name="history"
    )


def slate_action_spec(k: int, vocab_size: int) -> array_spec.BoundedArraySpec:
    """Action spec of a slate of ``k`` recommended items.

    Args:
      k: slate size (``k = 1`` allowed).
      vocab_size: number of indices including the reserved ones.

    Returns:
      BoundedArraySpec int32 ``[k]`` in ``[FIRST_ITEM_INDEX, vocab_size - 1]``, named ``slate``.
    """
    _check_vocab(vocab_size)
    if not 1 <= k <= vocab_size - NUM_RESERVED:
        raise ValueError(
            f"slate size k={k} must be between 1 and the number of items "
            f"({vocab_size - NUM_RESERVED})."
        )
    return array_spec.BoundedArraySpec(
        shape=(k,), dtype=np.int32, minimum=FIRST_ITEM_INDEX, maximum=vocab_size - 1, name="slate"
    )


def item_action_spec(vocab_size: int) -> array_spec.BoundedArraySpec:
    """Action spec of one consumed/logged item (the REINFORCE agent's training action).

    Args:
      vocab_size: number of indices including the reserved ones.

    Returns:
      Scalar BoundedArraySpec int32 in ``[FIRST_ITEM_INDEX, vocab_size - 1]``, named ``item``.
    """
    _check_vocab(vocab_size)
    return array_spec.BoundedArraySpec(
        shape=(), dtype=np.int32, minimum=FIRST_ITEM_INDEX, maximum=vocab_size - 1, name="item"
    )


def reward_spec() -> array_spec.ArraySpec:
    """Scalar float32 reward spec."""
    return array_spec.ArraySpec(shape=(), dtype=np.float32, name="reward")


def time_step_spec(max_len: int, vocab_size: int) -> ts.TimeStep:
    """TimeStep spec whose observation is :func:`history_spec`."""
    return ts.time_step_spec(history_spec(max_len, vocab_size), reward_spec())


# -- impression-level (slate) experience ------------------------------------------------------
# The training data of the REINFORCE agent with ``experience="impressions"`` (online collection
# and impression logs alike). Rows are ``[batch, T]`` like ``tfrec.data.session_dataset``:
#   observation int32 [B, T, max_len]  history before the step
#   action      int32 [B, T, k]        the slate shown (item indices)
#   reward      float32 [B, T]         the step's reward (0 when nothing was clicked)
#   policy_info {SLATE_LOG_PROPENSITY: float32 [B, T]  log β(slate | s) of the ordered slate
#                                                       under the collecting policy (NaN: unknown),
#                INCLUSION_PROPENSITY: float32 [B, T, k] β's probability that each shown item is
#                                                       in the slate (NaN: unknown),
#                CLICK_POSITION: int32 [B, T]           clicked slate position, -1 = no click}
# Every environment step is a real step (FIRST, then MID; next_step_type LAST on the episode's
# last step, discount 0 there when the session terminated); the rest of a row are boundary steps
# (step_type LAST, next_step_type FIRST, reward 0, action FIRST_ITEM_INDEX, click -1).
SLATE_LOG_PROPENSITY = "slate_log_propensity"
INCLUSION_PROPENSITY = "inclusion_propensity"
CLICK_POSITION = "click_position"


def impression_info_spec(k: int) -> dict[str, array_spec.ArraySpec]:
    """``policy_info`` spec of one impression step (see the layout above).

    Args:
      k: slate size.

    Returns:
      ``{SLATE_LOG_PROPENSITY: float32 [], INCLUSION_PROPENSITY: float32 [k],
      CLICK_POSITION: int32 []}``.
    """
    return {
        SLATE_LOG_PROPENSITY: array_spec.ArraySpec((), np.float32, name=SLATE_LOG_PROPENSITY),
        INCLUSION_PROPENSITY: array_spec.ArraySpec((k,), np.float32, name=INCLUSION_PROPENSITY),
        CLICK_POSITION: array_spec.ArraySpec((), np.int32, name=CLICK_POSITION),
    }
