"""Multinomial-logit (conditional logit) choice over a slate with a no-click option.

A user shown a slate ``S`` clicks item ``j in S`` with probability
``exp(s_j) / (exp(s_0) + sum_{i in distinct(S)} exp(s_i))`` and clicks nothing with probability
``exp(s_0) / (...)``, where ``s_0`` is the no-click logit (RecSim's "multinomial proportional /
logit choice model", Ie et al. 2019 §3.2). An item shown twice in one slate is one option: its
first position receives its probability, later duplicates receive zero (policies that sample
``K`` items i.i.d., as Chen et al. 2019 assume, may repeat items).
"""

from __future__ import annotations

import numpy as np


def first_occurrence_mask(slate: np.ndarray) -> np.ndarray:
    """Marks the first position of every distinct item of each slate.

    Args:
      slate: int ``[batch, k]`` item indices.

    Returns:
      bool ``[batch, k]``: True where the item does not occur at an earlier position.
    """
    slate = np.asarray(slate)
    k = slate.shape[-1]
    same = slate[..., :, None] == slate[..., None, :]  # [B, k, k]
    # argmax finds the first position holding the same item as position i.
    return same.argmax(axis=-1) == np.arange(k)


def slate_choice_probabilities(
    item_logits: np.ndarray, slate: np.ndarray, no_click_logit: float | np.ndarray
) -> np.ndarray:
    """Choice probabilities of the no-click option and of every slate position.

    Args:
      item_logits: float ``[batch, k]`` logits ``s_j`` of the slate's items.
      slate: int ``[batch, k]`` the slate (used only to find duplicates).
      no_click_logit: scalar or float ``[batch]`` logit ``s_0`` of clicking nothing.

    Returns:
      float64 ``[batch, k + 1]``: column 0 is P(no click), column ``1 + i`` is P(click position
      ``i``); duplicates after the first occurrence get 0. Rows sum to 1.
    """
    b, k = np.shape(item_logits)
    logits = np.empty((b, k + 1), np.float64)
    logits[:, 0] = no_click_logit
    logits[:, 1:] = item_logits
    logits -= logits.max(axis=-1, keepdims=True)
    weights = np.exp(logits, out=logits)
    weights[:, 1:] *= first_occurrence_mask(slate)
    weights /= weights.sum(axis=-1, keepdims=True)
    return weights


def sample_choice(probabilities: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Samples one option per row of :func:`slate_choice_probabilities`.

    Args:
      probabilities: float ``[batch, k + 1]``, column 0 = no click.
      rng: numpy random generator.

    Returns:
      int32 ``[batch]`` clicked slate position, ``-1`` for no click.
    """
    cumulative = np.cumsum(probabilities, axis=-1)
    u = rng.random(probabilities.shape[0]) * cumulative[:, -1]
    option = (cumulative <= u[:, None]).sum(axis=-1)
    option = np.minimum(option, probabilities.shape[-1] - 1)
    return (option - 1).astype(np.int32)
