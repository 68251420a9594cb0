"""Versioned, atomic export folders: ``<base_dir>/<version>/`` as TF Serving polls them.

TF Serving's file-system source watches ``base_dir`` and loads every sub-folder whose name is an
integer. A version must therefore appear complete or not at all: :func:`atomic_version_dir` yields
a temporary folder beside the final one (its name is not an integer, so TF Serving ignores it) and
renames it into place only when everything was written. Any error removes the temporary folder, so
a failed export leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

_TMP_PREFIX = ".tmp-export-"


def existing_versions(base_dir: str | os.PathLike) -> list[int]:
    """Integer versions already present in ``base_dir`` (sorted ascending).

    Args:
      base_dir: the model's base folder (``--model_base_path`` of TF Serving).

    Returns:
      The versions, i.e. the names of the sub-folders that are non-negative integers; ``[]`` when
      ``base_dir`` does not exist.
    """
    base = Path(base_dir)
    if not base.is_dir():
        return []
    return sorted(int(p.name) for p in base.iterdir() if p.is_dir() and p.name.isdigit())


def next_version(base_dir: str | os.PathLike) -> int:
    """The next free integer version: ``max(existing) + 1``, or ``1`` for a new model."""
    versions = existing_versions(base_dir)
    return versions[-1] + 1 if versions else 1


def resolve_version(base_dir: str | os.PathLike, version: int | None) -> int:
    """Checks a requested version (or picks the next one) and returns it.

    Args:
      base_dir: the model's base folder.
      version: a non-negative integer, or ``None`` for :func:`next_version`.

    Returns:
      The version to write.

    Raises:
      TypeError: ``version`` is not an integer.
      ValueError: ``version`` is negative.
      FileExistsError: ``<base_dir>/<version>`` already exists.
    """
    if version is None:
        return next_version(base_dir)
    if isinstance(version, bool) or not isinstance(version, int):
        raise TypeError(f"version must be an int or None, got {version!r}.")
    if version < 0:
        raise ValueError(f"version must be >= 0 (TF Serving versions are integers), got {version}.")
    target = Path(base_dir) / str(version)
    if target.exists():
        raise FileExistsError(
            f"{target} already exists: pass another version, or version=None for the next free "
            f"one ({next_version(base_dir)})."
        )
    return version


@contextlib.contextmanager
def atomic_version_dir(base_dir: str | os.PathLike, version: int) -> Iterator[Path]:
    """Yields a temporary folder that becomes ``<base_dir>/<version>`` on success.

    The temporary folder lives in ``base_dir`` (same file system, so the final ``os.rename`` is
    atomic). On any exception it is deleted and the exception propagates.

    Args:
      base_dir: the model's base folder; created if missing.
      version: the integer version to publish.

    Yields:
      The temporary folder to write into (it already exists and is empty).

    Raises:
      PermissionError / OSError: ``base_dir`` is not writable (nothing is left behind).
      FileExistsError: the version appeared while writing (a concurrent export).
    """
    base = Path(base_dir)
    base.mkdir(parents=True, exist_ok=True)
    final = base / str(version)
    tmp = base / f"{_TMP_PREFIX}{version}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        yield tmp
        if final.exists():
            raise FileExistsError(
                f"{final} appeared while exporting (another export wrote it): nothing was "
                "published; export again with version=None."
            )
        os.rename(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
