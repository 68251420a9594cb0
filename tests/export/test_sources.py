"""Finding the encoder behind a model or policy, and reading the vocabulary to export."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tfrec.export.sources import encoder_max_len, resolve_encoder, vocabulary_item_ids


class _Holder:
    def __init__(self, encoder) -> None:
        self.encoder = encoder


class _Wrapper:  # like GreedyPolicy: the policy it wraps holds the network
    def __init__(self, inner) -> None:
        self.wrapped_policy = inner


def test_resolve_encoder_through_attributes(encoder) -> None:
    assert resolve_encoder(encoder) is encoder
    assert resolve_encoder(_Holder(encoder)) is encoder
    assert resolve_encoder(_Wrapper(_Holder(encoder))) is encoder
    with pytest.raises(TypeError, match="cannot export _Wrapper"):
        resolve_encoder(_Wrapper(None))


def test_unbuilt_encoder_is_rejected() -> None:
    from tfrec.encoders import SequenceEncoder

    with pytest.raises(ValueError, match="no weights yet"):
        resolve_encoder(SequenceEncoder(10, max_len=3, dim=4, num_layers=1, num_heads=1))


def test_max_len(encoder) -> None:
    assert encoder_max_len(encoder, None) == 5
    assert encoder_max_len(encoder, 3) == 3
    with pytest.raises(ValueError, match=">= 1"):
        encoder_max_len(encoder, 0)


def test_vocabulary_forms(vocab, tmp_path: Path) -> None:
    ids = vocabulary_item_ids(vocab, vocab.size)
    assert ids[:3] == [str(i) for i in vocab.ids[:3]] and len(ids) == 40
    assert vocabulary_item_ids(vocab.save(tmp_path / "vocab.txt"), vocab.size) == ids
    assert vocabulary_item_ids(np.array(["b", "a"])) == ["b", "a"]
    with pytest.raises(FileNotFoundError, match="missing.txt"):
        vocabulary_item_ids(tmp_path / "missing.txt")
    with pytest.raises(TypeError, match="entry 1 is 7"):
        vocabulary_item_ids(["a", 7])
    with pytest.raises(ValueError, match="empty or spans several lines"):
        vocabulary_item_ids(["a", "b\nc"])
    with pytest.raises(ValueError, match="holds no item"):
        vocabulary_item_ids([])
    with pytest.raises(TypeError, match="got int"):
        vocabulary_item_ids(3)


def test_resolve_encoder_follows_public_attributes_only(encoder) -> None:
    class _Private:  # an encoder reachable only through private attributes is not found
        def __init__(self, inner) -> None:
            self._actor_network = _Holder(inner)
            self._policy = _Holder(inner)

    with pytest.raises(TypeError, match="cannot export _Private"):
        resolve_encoder(_Private(encoder))
