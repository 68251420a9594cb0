"""What can be exported: finding the encoder and the item ids behind a model, policy or vocabulary.

Per ``docs/architecture.md``, anything with an ``encoder`` attribute (the supervised model, the
REINFORCE agent and its actor network), a ``tfrec.encoders.SequenceEncoder`` itself, or a policy
whose ``actor_network`` (tfrec's top-K policies), possibly behind TF-Agents wrappers that expose
``wrapped_policy`` (``GreedyPolicy``, ``EpsilonGreedyPolicy``), has one, is exportable: the state
is ``encoder(history) [batch, dim]`` and the scores are ``encoder.item_embedding.logits(state)``.
Only public attributes are followed.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf

from tfrec.specs import NUM_RESERVED

# Public attributes that lead from a policy or agent toward its encoder.
_WRAPPER_ATTRS = ("encoder", "actor_network", "wrapped_policy")


def _is_encoder(obj: Any) -> bool:
    return isinstance(obj, tf.keras.Model) and hasattr(obj, "item_embedding")


def resolve_encoder(model_or_policy: Any) -> tf.keras.Model:
    """Finds the sequence encoder of a model, network or TF-Agents policy.

    Args:
      model_or_policy: a ``SequenceEncoder``; anything with an ``encoder`` attribute; or a
        policy whose public ``actor_network`` has one (also through TF-Agents wrappers with a
        public ``wrapped_policy``, such as ``GreedyPolicy``).

    Returns:
      The encoder: a built ``tf.keras.Model`` with an ``item_embedding`` whose ``embeddings`` is the
      tied item table ``[vocab_size, dim]``.

    Raises:
      TypeError: no encoder can be found.
      ValueError: the encoder was never called (its weights do not exist yet).
    """
    seen: set[int] = set()
    stack = [model_or_policy]
    while stack:
        obj = stack.pop()
        if obj is None or id(obj) in seen:
            continue
        seen.add(id(obj))
        if _is_encoder(obj):
            encoder = obj
            break
        stack.extend(getattr(obj, name, None) for name in _WRAPPER_ATTRS)
    else:
        raise TypeError(
            f"cannot export {type(model_or_policy).__name__}: expected a tfrec SequenceEncoder, an "
            "object with an `encoder` attribute (supervised model, actor network) or a TF-Agents "
            "policy whose actor network has one."
        )
    if not encoder.built or getattr(encoder.item_embedding, "embeddings", None) is None:
        raise ValueError(
            f"the encoder {encoder.name!r} has no weights yet: call it once on a batch of histories "
            "(or train it) before exporting."
        )
    return encoder


def encoder_max_len(encoder: tf.keras.Model, max_len: int | None) -> int:
    """The history window of the export: ``max_len`` if given, else ``encoder.max_len``.

    Raises:
      ValueError: neither is known, ``max_len < 1``, or ``max_len`` exceeds ``encoder.max_len``.
    """
    native = getattr(encoder, "max_len", None)
    if max_len is None:
        if native is None:
            raise ValueError(
                f"the encoder {encoder.name!r} has no `max_len` attribute: pass max_len= "
                "(the history window length it was trained with)."
            )
        return int(native)
    if int(max_len) < 1:
        raise ValueError(f"max_len must be >= 1, got {max_len}.")
    if native is not None and int(max_len) > int(native):
        raise ValueError(
            f"max_len={max_len} exceeds the encoder's max_len={native}: use at most {native}."
        )
    return int(max_len)


def vocabulary_item_ids(vocabulary: Any, vocab_size: int | None = None) -> list[str]:
    """The real item ids in index order (index ``i + 2`` for entry ``i``), validated.

    Args:
      vocabulary: a ``tfrec.data.ItemVocabulary`` (its ``ids``: the real items, ``ids[j]`` has
        index ``j + 2``), a path to a saved vocabulary file (one real item id per line), or a
        sequence of item-id strings in index order starting at index 2.
      vocab_size: the encoder's vocabulary size (including the reserved indices), to check
        against.

    Returns:
      ``vocab_size - 2`` item ids.

    Raises:
      FileNotFoundError: a vocabulary path does not exist.
      TypeError: an id is not a string.
      ValueError: empty, duplicate, blank or multi-line ids, or a size that does not match the
        encoder.
    """
    if isinstance(vocabulary, str | os.PathLike):
        path = Path(vocabulary)
        if not path.is_file():
            raise FileNotFoundError(f"vocabulary file {path} does not exist.")
        ids: Sequence[Any] = path.read_text(encoding="utf-8").splitlines()
    elif hasattr(vocabulary, "ids") and hasattr(vocabulary, "num_items"):
        ids = list(np.asarray(vocabulary.ids, dtype=object))
        if len(ids) == int(vocabulary.num_items) + NUM_RESERVED:  # ids that include reserved
            ids = ids[NUM_RESERVED:]
    elif isinstance(vocabulary, Sequence | np.ndarray):
        ids = list(vocabulary)
    else:
        raise TypeError(
            f"vocabulary must be a tfrec.data.ItemVocabulary, a vocabulary file path or a sequence "
            f"of item-id strings, got {type(vocabulary).__name__}."
        )
    out = []
    for position, item in enumerate(ids):
        if not isinstance(item, str | np.str_):
            raise TypeError(
                f"item ids must be strings; entry {position} is {item!r} ({type(item).__name__})."
            )
        item = str(item)
        if item == "" or "\n" in item or "\r" in item:
            raise ValueError(
                f"item id at position {position} ({item!r}) is empty or spans several lines: the "
                "vocabulary asset stores one id per line and '' means padding."
            )
        out.append(item)
    if not out:
        raise ValueError("the vocabulary holds no item.")
    if len(set(out)) != len(out):
        seen: set[str] = set()
        duplicate = next(i for i in out if i in seen or seen.add(i))
        raise ValueError(f"the vocabulary holds item id {duplicate!r} more than once.")
    if vocab_size is not None and len(out) + NUM_RESERVED != vocab_size:
        raise ValueError(
            f"the vocabulary has {len(out)} items but the encoder scores {vocab_size} indices "
            f"({vocab_size - NUM_RESERVED} items + {NUM_RESERVED} reserved): export the vocabulary "
            "the model was trained with."
        )
    return out
