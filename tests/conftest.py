"""Shared pytest fixtures. Importing tfrec first makes TF use Keras 2 (tf_keras)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MPLBACKEND", "Agg")

import pytest  # noqa: E402

import tfrec  # noqa: E402,F401

ML100K_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "ml-100k"
ML100K_SHA256 = "06416e597f82b7342361e41163890c81036900f418ad91315590814211dca490"


@pytest.fixture(scope="session")
def ml100k_path() -> Path:
    """Path to ../shared/data/ml-100k; skips the test when absent or not the official file."""
    data = ML100K_DIR / "u.data"
    if not data.is_file():
        pytest.skip(f"MovieLens-100k not found at {ML100K_DIR}")
    if hashlib.sha256(data.read_bytes()).hexdigest() != ML100K_SHA256:
        pytest.skip(f"{data} is not the official MovieLens-100k u.data (checksum differs)")
    return ML100K_DIR


@pytest.fixture(scope="session")
def three_user_log():
    """user a: 4 items, user b: 2 items (too short for held-out items), user c: 3 items."""
    import pandas as pd

    from tfrec.data import InteractionLog

    rows = [("a", "x", 1), ("a", "y", 2), ("a", "z", 3), ("a", "x", 4)]
    rows += [("b", "y", 1), ("b", "z", 2), ("c", "z", 1), ("c", "y", 2), ("c", "x", 3)]
    return InteractionLog.from_dataframe(pd.DataFrame(rows, columns=["user", "item", "timestamp"]))
