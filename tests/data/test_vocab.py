"""ItemVocabulary: frequency order with deterministic ties, vectorised lookup, text asset."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tfrec.data.vocab import OOV_TOKEN, ItemVocabulary
from tfrec.specs import OOV_INDEX, PAD_INDEX


def test_frequency_order_ties_by_id_and_sizes():
    vocab = ItemVocabulary.from_items(["b", "c", "a", "c", "b", "d", "c"])
    # c x3, then b x2, then a and d x1 (tie broken by id): indices 2, 3, 4, 5.
    assert vocab.ids.tolist() == ["c", "b", "a", "d"]
    assert vocab.frequencies.tolist() == [0, 0, 3, 2, 1, 1]
    assert (vocab.size, vocab.num_items, len(vocab)) == (6, 4, 6)


def test_min_count_maps_rare_items_to_oov_and_counts_them():
    vocab = ItemVocabulary.from_items(pd.Series(["x", "x", "y", "z"]), min_count=2)
    assert vocab.ids.tolist() == ["x"]
    assert vocab.frequencies.tolist() == [0, 2, 2]
    assert vocab.lookup(["y", "x"]).tolist() == [OOV_INDEX, 2]


def test_lookup_keeps_shape_handles_padding_unknown_and_numbers():
    vocab = ItemVocabulary(["10", "20", "30"])
    out = vocab.lookup(np.array([["30", ""], ["99", "10"]]))
    assert out.dtype == np.int32
    assert out.tolist() == [[4, PAD_INDEX], [OOV_INDEX, 2]]
    assert vocab.lookup([20, 10]).tolist() == [3, 2]
    assert vocab.lookup(pd.Series(["20"])).tolist() == [3]
    assert "20" in vocab and "40" not in vocab


def test_to_ids_inverts_lookup_and_rejects_out_of_range():
    vocab = ItemVocabulary(["p", "q"])
    assert vocab.to_ids([[3, 2], [0, 1]]).tolist() == [["q", "p"], ["", OOV_TOKEN]]
    with pytest.raises(ValueError, match=r"indices \[4\] are outside the vocabulary \[0, 3\]"):
        vocab.to_ids([2, 4])


@pytest.mark.smoke
def test_save_load_is_one_id_per_line(tmp_path):
    vocab = ItemVocabulary.from_items(["é", "b", "b"])
    path = vocab.save(tmp_path / "assets" / "vocab.txt")
    assert path.read_text(encoding="utf-8") == "b\né\n"
    loaded = ItemVocabulary.load(path)
    assert loaded == vocab
    assert loaded.lookup(["é", "b"]).tolist() == [3, 2]
    assert loaded.frequencies.tolist() == [0, 0, 0, 0]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a\nb\na\n", r"duplicate item id\(s\) \['a'\] at line\(s\) \[3\]"),
        ("a\n\nb\n", r"empty item id at line\(s\) \[2\]"),
        ("", "empty"),
    ],
    ids=["duplicate", "empty-line", "empty-file"],
)
def test_load_rejects_bad_files(tmp_path, text, message):
    path = tmp_path / "vocab.txt"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        ItemVocabulary.load(path)


def test_bad_construction():
    with pytest.raises(FileNotFoundError):
        ItemVocabulary.load("/nonexistent/vocab.txt")
    with pytest.raises(ValueError, match="line break"):
        ItemVocabulary(["a", "b\nc"])
    with pytest.raises(ValueError, match="min_count=5"):
        ItemVocabulary.from_items(["a", "a"], min_count=5)
    with pytest.raises(ValueError, match="frequencies must have one count per id"):
        ItemVocabulary(["a"], frequencies=np.array([1, 2]))
