"""Fixtures of the export tests: a tiny real SequenceEncoder, its vocabulary and one export."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import tensorflow as tf

from tfrec.data.vocab import ItemVocabulary
from tfrec.encoders import SequenceEncoder

NUM_ITEMS = 40
MAX_LEN = 5
K = 4


@pytest.fixture(scope="package")
def vocab() -> ItemVocabulary:
    """40 items ``item_0 .. item_39``."""
    return ItemVocabulary.from_items([f"item_{i}" for i in range(NUM_ITEMS)])


@pytest.fixture(scope="package")
def encoder(vocab: ItemVocabulary) -> SequenceEncoder:
    """A random-weight 1-layer encoder (dim 8, max_len 5, with an output bias)."""
    tf.keras.utils.set_random_seed(3)
    model = SequenceEncoder(
        vocab.size,
        max_len=MAX_LEN,
        dim=8,
        num_layers=1,
        num_heads=2,
        dropout=0.0,
        use_output_bias=True,
    )
    model(np.zeros((1, MAX_LEN), np.int32))
    # A non-zero bias, so the test sees it travel into the export.
    model.item_embedding.output_bias.assign(np.linspace(-0.5, 0.5, vocab.size).astype(np.float32))
    return model


@pytest.fixture(scope="package")
def export_dir(
    encoder: SequenceEncoder, vocab: ItemVocabulary, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """``serving_default`` export with k = 4, version 1, the item table in 3 shards (so every
    test of this export goes through the sharded top-k; the other exports use 1 shard)."""
    from tfrec.export import export_for_serving

    base = tmp_path_factory.mktemp("saved_models") / "sasrec"
    return export_for_serving(encoder, vocab, base_dir=base, k=K, name="sasrec", num_shards=3)


@pytest.fixture(scope="package")
def expected_topk(encoder: SequenceEncoder, vocab: ItemVocabulary) -> Callable[..., Any]:
    """``expected_topk(rows, k=K, exclude_history=False, encoder=None) -> (ids [B, k] str,
    scores [B, k])`` (``encoder``: another model than the package's ``encoder`` fixture).

    The reference top-k, computed in-process with the model and plain numpy (no export code):
    unknown ids and "" are dropped, the last MAX_LEN known items are left-padded, and the model's
    own ``score_items`` ranks the catalog.
    """
    return functools.partial(_expected_topk, encoder, vocab)


def _expected_topk(
    default_encoder: SequenceEncoder,
    vocab: ItemVocabulary,
    rows: list[list[str]],
    k: int = K,
    exclude_history: bool = False,
    encoder: SequenceEncoder | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    encoder = encoder or default_encoder
    windows = []
    for row in rows:
        known = [int(vocab.lookup([item])[0]) for item in row if item in vocab][-MAX_LEN:]
        windows.append([0] * (MAX_LEN - len(known)) + known)
    windows = np.array(windows, np.int32)
    scores = encoder.score_items(windows).numpy()
    if exclude_history:
        for b, window in enumerate(windows):
            scores[b, window] = np.finfo(np.float32).min
    scores = scores[:, 2:]
    top = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return vocab.to_ids(top + 2).astype(str), np.take_along_axis(scores, top, axis=1)
