"""`read_sequence_file` on generated files, and on the shared public files when present."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tfrec.data import ItemVocabulary, build_sequences, leave_last_out, read_sequence_file

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"


def test_lines_become_time_ordered_interactions(tmp_path: Path) -> None:
    path = tmp_path / "seqs.txt"
    path.write_text("1 10 11 12\n2 11 10\n\n3 12 13 10 11\n", encoding="utf-8")
    log = read_sequence_file(path)
    assert log.num_users == 3 and log.num_interactions == 9
    vocab = ItemVocabulary.from_items(log.df["item"])
    train, valid, test = leave_last_out(build_sequences(log, vocab))
    # User 3's last item is the test target, the one before it the validation target.
    row = list(test.users).index("3")
    assert list(vocab.to_ids([int(np.asarray(test.targets)[row])])) == ["11"]
    assert len(valid) == 2  # user 2 (two items) has a test target only


def test_bad_lines_and_checksums_are_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "seqs.txt"
    path.write_text("1 10 11\n2\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"seqs.txt:2: a sequence line"):
        read_sequence_file(path)
    with pytest.raises(FileNotFoundError, match="not found"):
        read_sequence_file(tmp_path / "missing.txt")
    fake = tmp_path / "Yelp.txt"
    fake.write_text("1 2 3\n", encoding="utf-8")
    with pytest.raises(ValueError, match="sha256"):
        read_sequence_file(fake, verify=True)


@pytest.mark.parametrize(
    ("relative", "users", "items", "interactions"),
    [
        ("amazon-sports/Sports_and_Outdoors.txt", 35_598, 18_357, 296_337),
        ("yelp/Yelp.txt", 30_431, 20_033, 316_354),
    ],
)
def test_shared_public_files_match_their_readme(
    relative: str, users: int, items: int, interactions: int
) -> None:
    path = SHARED / relative
    if not path.is_file():
        pytest.skip(f"{path} is not here (../shared/data is optional)")
    log = read_sequence_file(path, verify=True)
    assert (log.num_users, log.df["item"].nunique(), log.num_interactions) == (
        users,
        items,
        interactions,
    )
