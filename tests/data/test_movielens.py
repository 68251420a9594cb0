"""MovieLens-100k loader: download logic (no network) and the real data when present."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tfrec.data import movielens
from tfrec.data.sequences import build_sequences
from tfrec.data.splits import leave_last_out
from tfrec.data.vocab import ItemVocabulary


def _fake_folder(root: Path, data: str = "1\t10\t5\t100\n2\t10\t3\t50\n1\t20\t1\t100\n") -> Path:
    folder = root / "ml-100k"
    folder.mkdir(parents=True)
    (folder / "u.data").write_text(data)
    (folder / "u.item").write_bytes(
        "10|Caf\xe9 (1995)|01-Jan-1995||http://x|0\n20|Other (1996)|||http://y|0\n".encode(
            "latin-1"
        )
    )
    return folder


def test_local_folder_with_titles_and_reward(tmp_path):
    folder = _fake_folder(tmp_path)
    log = movielens.load_movielens_100k(folder, verify=False)
    df = log.df
    # User 1: items 10 and 20 share timestamp 100 and keep file order.
    assert df["user"].tolist() == ["1", "1", "2"]
    assert df["item"].tolist() == ["10", "20", "10"]
    assert df["reward"].tolist() == pytest.approx([1.0, 0.2, 0.6])
    assert df["rating"].tolist() == [5, 1, 3]
    assert df["title"].tolist() == ["Café (1995)", "Other (1996)", "Café (1995)"]
    assert movielens.item_titles(folder)["10"] == "Café (1995)"


def test_checksum_and_missing_files(tmp_path):
    folder = _fake_folder(tmp_path)
    with pytest.raises(ValueError, match="not the official MovieLens-100k u.data"):
        movielens.load_movielens_100k(folder)
    with pytest.raises(FileNotFoundError, match="folder not found"):
        movielens.load_movielens_100k(tmp_path / "nowhere")
    (folder / "u.data").unlink()
    with pytest.raises(FileNotFoundError, match="u.data not found"):
        movielens.load_movielens_100k(folder)


def test_download_uses_get_file_with_sha256(tmp_path, monkeypatch, ml100k_path):
    calls = []

    def fake_get_file(**kwargs):
        calls.append(kwargs)
        datasets = Path(kwargs["cache_dir"]) / "datasets"
        shutil.copytree(ml100k_path, datasets / "ml-100k")
        return str(datasets / "ml-100k.zip")

    monkeypatch.setattr(movielens.tf.keras.utils, "get_file", fake_get_file)
    log = movielens.load_movielens_100k(cache_dir=tmp_path)
    assert len(log) == 100_000
    assert calls[0]["origin"] == movielens.ML100K_URL
    assert calls[0]["file_hash"] == movielens.ML100K_ZIP_SHA256
    assert calls[0]["hash_algorithm"] == "sha256" and calls[0]["extract"] is True


def test_download_rejects_a_corrupted_extraction(tmp_path, monkeypatch):
    def fake_get_file(**kwargs):
        datasets = Path(kwargs["cache_dir"]) / "datasets"
        _fake_folder(datasets)
        return str(datasets / "ml-100k.zip")

    monkeypatch.setattr(movielens.tf.keras.utils, "get_file", fake_get_file)
    with pytest.raises(ValueError, match="does not match the official"):
        movielens.download_movielens_100k(tmp_path)


@pytest.mark.movielens
def test_real_movielens_100k(ml100k_path):
    log = movielens.load_movielens_100k(ml100k_path)
    assert (len(log), log.num_users, log.num_items) == (100_000, 943, 1682)
    df = log.df
    # Ties keep file order: user "1" is sorted by timestamp, and among equal timestamps the
    # original u.data rows stay in their order.
    raw = movielens.pd.read_csv(
        ml100k_path / "u.data", sep="\t", names=["user", "item", "rating", "timestamp"]
    )
    raw = raw[raw["user"] == 1].reset_index()  # "index" = file row
    expected = raw.sort_values(["timestamp", "index"])["item"].astype(str).tolist()
    assert df[df["user"] == "1"]["item"].tolist() == expected
    seqs = build_sequences(log, ItemVocabulary.from_items(df["item"]))
    train, valid, test = leave_last_out(seqs)
    assert len(test) == 943 and test.num_skipped_users == 0
    assert train.num_interactions == 100_000 - 2 * 943
