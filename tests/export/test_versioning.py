"""Versioned atomic folders: next version, publish on success, nothing left on failure."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tfrec.export.versioning import atomic_version_dir, next_version, resolve_version


def test_next_version_ignores_non_integer_folders(tmp_path: Path) -> None:
    assert next_version(tmp_path / "missing") == 1
    for name in ("1", "3", "tmp", ".tmp-export-4-abc"):
        (tmp_path / name).mkdir()
    (tmp_path / "7").write_text("a file, not a version")
    assert next_version(tmp_path) == 4


def test_resolve_version_checks(tmp_path: Path) -> None:
    (tmp_path / "2").mkdir()
    assert resolve_version(tmp_path, None) == 3
    assert resolve_version(tmp_path, 5) == 5
    with pytest.raises(FileExistsError, match="already exists"):
        resolve_version(tmp_path, 2)
    with pytest.raises(ValueError, match=">= 0"):
        resolve_version(tmp_path, -1)
    with pytest.raises(TypeError, match="int or None"):
        resolve_version(tmp_path, "3")


def test_publishes_on_success(tmp_path: Path) -> None:
    with atomic_version_dir(tmp_path / "model", 1) as tmp:
        assert not (tmp_path / "model" / "1").exists()
        (tmp / "saved_model.pb").write_text("x")
    assert os.listdir(tmp_path / "model") == ["1"]
    assert (tmp_path / "model" / "1" / "saved_model.pb").read_text() == "x"


def test_error_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(OSError, match="disk full"):
        with atomic_version_dir(tmp_path, 1) as tmp:
            (tmp / "variables").mkdir()
            raise OSError("disk full")
    assert os.listdir(tmp_path) == []
