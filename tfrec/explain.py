"""Why was an item recommended? Attention of the state over the history items.

A tfrec recommendation is ``top-k of encoder(history) · item_embedding``: every recommended item is
scored from the same user state, the encoder's output at the most recent position. That state is
built by causal self-attention over the history, so the attention that the last position pays to
each earlier position says which past items the state (and hence the recommendation) was built
from.

Two read-outs of the encoder's attention probabilities (``SequenceEncoder.attention_weights``):

* ``"rollout"`` (default): attention rollout (Abnar & Zuidema, ACL 2020, "Quantifying Attention
  Flow in Transformers", arXiv 2005.00928). Per block, heads are averaged and the residual
  connection is accounted for as ``0.5 A + 0.5 I`` (rows renormalised); the blocks' matrices are
  multiplied, first block on the right: ``R = Â_L · … · Â_1``. ``R[i, j]`` is the share of
  position ``i``'s representation that flows from input position ``j``.
* ``"last"``: the head-averaged attention of the last block only.

Attention is a view of the information flow, not a causal attribution (Jain & Wallace, NAACL
2019, "Attention is not Explanation"): read it as "which items the state looked at".
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np
import tensorflow as tf

from tfrec.specs import FIRST_ITEM_INDEX, PAD_INDEX

METHODS = ("rollout", "last")

__all__ = ["METHODS", "Explanation", "attention_rollout", "explain_history"]


def attention_rollout(attentions: Sequence[Any]) -> np.ndarray:
    """Attention rollout over blocks (Abnar & Zuidema 2020).

    Args:
      attentions: one array per block (first block first), each float ``[batch, heads, L, L]``
        with rows summing to 1 (``SequenceEncoder.attention_weights``).

    Returns:
      float64 ``[batch, L, L]``: ``R = Â_L · … · Â_1`` with ``Â = rownorm(0.5 · mean_heads(A) +
      0.5 · I)``. Rows sum to 1.

    Raises:
      ValueError: no block, or a block that is not ``[batch, heads, L, L]`` like the first one.
    """
    if len(attentions) == 0:
        raise ValueError("attention_rollout needs the attention of at least one block.")
    first = np.asarray(attentions[0])
    if first.ndim != 4 or first.shape[-1] != first.shape[-2]:
        raise ValueError(
            f"each block's attention must be [batch, heads, L, L], got shape {first.shape}."
        )
    batch, _, length, _ = first.shape
    rollout = np.broadcast_to(np.eye(length), (batch, length, length)).copy()
    for index, attention in enumerate(attentions):
        attention = np.asarray(attention, np.float64)
        if attention.shape[0] != batch or attention.shape[2:] != (length, length):
            raise ValueError(
                f"block {index} attention has shape {attention.shape}, expected "
                f"[{batch}, heads, {length}, {length}] like block 0."
            )
        mixed = 0.5 * attention.mean(axis=1) + 0.5 * np.eye(length)
        mixed /= mixed.sum(axis=-1, keepdims=True)
        rollout = mixed @ rollout
    return rollout


@dataclasses.dataclass(frozen=True)
class Explanation:
    """A recommendation for one history and the weight of each history item in it.

    Attributes:
      history: int ``[n]`` item indices of the (non-padded) history, oldest first.
      history_ids: the history's item ids (``[n]``).
      history_weights: float ``[n]``, sums to 1: attention of the most recent position over each
        history item (by ``method``).
      attention: float ``[n, n]`` the full matrix the weights are the last row of (row ``i``:
        what position ``i`` attends to), for heatmaps.
      items: int ``[k]`` recommended item indices, best first.
      item_ids: their ids.
      scores: float ``[k]`` their logits.
      method: ``"rollout"`` or ``"last"``.
    """

    history: np.ndarray
    history_ids: list[str]
    history_weights: np.ndarray
    attention: np.ndarray
    items: np.ndarray
    item_ids: list[str]
    scores: np.ndarray
    method: str

    def top_reasons(self, n: int = 3) -> list[tuple[str, float]]:
        """The ``n`` history items with the largest weights, as ``(item id, weight)``."""
        order = np.argsort(-self.history_weights, kind="stable")[:n]
        return [(self.history_ids[i], float(self.history_weights[i])) for i in order]

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return {
            "method": self.method,
            "recommendations": [
                {"item_id": item, "score": float(score)}
                for item, score in zip(self.item_ids, self.scores)
            ],
            "history": [
                {"item_id": item, "weight": float(weight)}
                for item, weight in zip(self.history_ids, self.history_weights)
            ],
        }

    def format(self, titles: dict[str, str] | None = None) -> str:
        """Two small text tables: the recommendations, then the history items by weight."""
        titles = titles or {}

        def name(item: str) -> str:
            title = titles.get(item)
            return f"{item}  {title}" if title else item

        lines = ["rank  score     item"]
        for rank, (item, score) in enumerate(zip(self.item_ids, self.scores), start=1):
            lines.append(f"{rank:>4}  {score:>8.3f}  {name(item)}")
        lines.append("")
        lines.append(f"history item weights ({self.method} attention of the latest position)")
        lines.append("pos  weight  bar                   item")
        n = len(self.history_ids)
        for position, (item, weight) in enumerate(zip(self.history_ids, self.history_weights)):
            bar = "#" * int(round(20 * weight))
            age = f"t-{n - 1 - position}" if position < n - 1 else "last"
            lines.append(f"{age:>4}  {weight:>6.3f}  {bar:<20}  {name(item)}")
        return "\n".join(lines)


def _item_ids(vocabulary: Any, indices: np.ndarray) -> list[str]:
    if vocabulary is None:
        return [str(int(i)) for i in indices]
    return [str(item) for item in vocabulary.to_ids(np.asarray(indices))]


def explain_history(
    encoder: tf.keras.Model,
    history: Sequence[int] | np.ndarray,
    k: int = 10,
    vocabulary: Any = None,
    method: str = "rollout",
    exclude_history: bool = False,
) -> Explanation:
    """Recommends ``k`` items for one history and weighs each history item.

    Args:
      encoder: a ``tfrec.encoders.SequenceEncoder`` (``attention_weights`` and ``score_items``).
      history: int ``[seq_len]`` item indices, oldest first; padding (0) is dropped and only the
        last ``encoder.max_len`` items are kept.
      k: number of recommendations.
      vocabulary: a ``tfrec.data.ItemVocabulary`` to name items (indices as strings when None).
      method: ``"rollout"`` or ``"last"`` (see the module docstring).
      exclude_history: do not recommend items of the history.

    Returns:
      An :class:`Explanation`.

    Raises:
      ValueError: unknown ``method``, an empty history, bad ``k``, or indices outside the catalog.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}.")
    ids = np.asarray(history, dtype=np.int64).reshape(-1)
    ids = ids[ids != PAD_INDEX][-int(encoder.max_len) :]
    if ids.size == 0:
        raise ValueError("the history holds no item (only padding): give at least one item.")
    vocab_size = int(encoder.vocab_size)
    if ids.min() < 0 or ids.max() >= vocab_size:
        bad = int(ids[(ids < 0) | (ids >= vocab_size)][0])
        raise ValueError(f"history index {bad} is outside the catalog [0, {vocab_size - 1}].")
    num_items = vocab_size - FIRST_ITEM_INDEX
    if not 1 <= k <= num_items:
        raise ValueError(f"k={k} must be between 1 and the number of items ({num_items}).")
    batch = tf.constant(ids[np.newaxis], tf.int32)  # [1, n]
    attentions = [a.numpy() for a in encoder.attention_weights(batch)]  # [1, heads, n, n] each
    if method == "rollout":
        matrix = attention_rollout(attentions)[0]
    else:
        matrix = attentions[-1].mean(axis=1)[0].astype(np.float64)
    scores = encoder.score_items(batch, training=False).numpy()[0]  # [vocab_size]
    if exclude_history:
        scores[ids] = np.finfo(scores.dtype).min
    top = np.argsort(-scores, kind="stable")[:k]
    top = top[scores[top] > np.finfo(scores.dtype).min]  # fewer than k when the history is excluded
    weights = matrix[-1] / matrix[-1].sum()
    return Explanation(
        history=ids,
        history_ids=_item_ids(vocabulary, ids),
        history_weights=weights,
        attention=matrix,
        items=top,
        item_ids=_item_ids(vocabulary, top),
        scores=scores[top],
        method=method,
    )
