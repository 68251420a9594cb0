"""MovieLens-100k (Harper & Konstan, ACM TiiS 2015) as an `InteractionLog`.

Every rating is an interaction; the reward is ``rating / 5`` unless ``rating_to_reward`` says
otherwise. Ratings with the same (user, timestamp) keep their ``u.data`` row order (the log's
stable sort), which makes leave-last-out splits well defined despite MovieLens' many same-second
ties. The data's licence forbids redistribution: tfrec never bundles it, it reads a local copy or
downloads the official archive.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import tensorflow as tf

from tfrec.data.log import InteractionLog

ML100K_URL = "https://files.grouplens.org/datasets/movielens/ml-100k.zip"
# sha256 of the official ml-100k.zip (4,924,029 bytes; GroupLens' published md5 is
# 0e33842e24a9c977be4e0107933c0723), as pinned by several public projects.
ML100K_ZIP_SHA256 = "50d2a982c66986937beb9ffb3aa76efe955bf3d5c6b761f4e3a7cd717c6a3229"
# sha256 of ml-100k/u.data inside it (checked after extraction and for local folders).
ML100K_DATA_SHA256 = "06416e597f82b7342361e41163890c81036900f418ad91315590814211dca490"

_DATA_COLUMNS = ["user", "item", "rating", "timestamp"]
_ITEM_FIELDS = 24  # movie id | title | release date | video date | url | 19 genre flags


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def download_movielens_100k(cache_dir: str | Path | None = None) -> Path:
    """Downloads and extracts the official archive with ``tf.keras.utils.get_file``.

    The zip is checked against `ML100K_ZIP_SHA256` by ``get_file``, the extracted ``u.data``
    against `ML100K_DATA_SHA256`.

    Args:
      cache_dir: cache root (default ``~/.keras``); files go to ``<cache_dir>/datasets``.

    Returns:
      The extracted ``ml-100k`` folder.

    Raises:
      ValueError: the extracted ``u.data`` is missing or has the wrong checksum.
    """
    archive = tf.keras.utils.get_file(
        fname="ml-100k.zip",
        origin=ML100K_URL,
        file_hash=ML100K_ZIP_SHA256,
        hash_algorithm="sha256",
        extract=True,
        cache_dir=None if cache_dir is None else str(cache_dir),
    )
    folder = Path(archive).parent / "ml-100k"
    data = folder / "u.data"
    if not data.is_file():
        raise ValueError(
            f"the MovieLens archive {archive} did not extract to {folder}; delete it and retry."
        )
    if _sha256(data) != ML100K_DATA_SHA256:
        raise ValueError(
            f"{data} does not match the official MovieLens-100k u.data (sha256 differs); "
            "delete the cached files and retry."
        )
    return folder


def load_movielens_100k(
    path: str | Path | None = None,
    cache_dir: str | Path | None = None,
    *,
    rating_to_reward: Callable[[np.ndarray], np.ndarray] | None = None,
    with_titles: bool = True,
    verify: bool = True,
) -> InteractionLog:
    """Loads MovieLens-100k ratings as an interaction log.

    Args:
      path: a local ``ml-100k`` folder (holding ``u.data`` and ``u.item``); None downloads the
        official archive (see `download_movielens_100k`).
      cache_dir: download cache root when ``path`` is None.
      rating_to_reward: maps ratings ``[n]`` (1..5) to rewards; default ``rating / 5``.
      with_titles: add a ``title`` column from ``u.item`` (latin-1).
      verify: check ``u.data`` against the official sha256.

    Returns:
      `InteractionLog` of 100,000 interactions (943 users, 1,682 items) with extra columns
      ``rating`` (int) and ``title`` (str).

    Raises:
      FileNotFoundError: ``path`` or its ``u.data`` does not exist.
      ValueError: ``u.data`` is not the official file (``verify=True``) or malformed.
    """
    folder = download_movielens_100k(cache_dir) if path is None else Path(path)
    data = folder / "u.data"
    if not folder.is_dir():
        raise FileNotFoundError(f"MovieLens-100k folder not found: {folder}")
    if not data.is_file():
        raise FileNotFoundError(
            f"{data} not found: pass the extracted ml-100k folder (holding u.data and u.item)."
        )
    if verify and _sha256(data) != ML100K_DATA_SHA256:
        raise ValueError(
            f"{data} is not the official MovieLens-100k u.data (sha256 differs); pass "
            "verify=False to load a modified copy."
        )
    log = InteractionLog.from_csv(
        data,
        sep="\t",
        header=False,
        names=_DATA_COLUMNS,
        rating_col="rating",
        rating_to_reward=rating_to_reward or (lambda rating: rating / 5.0),
    )
    if with_titles:
        titles = item_titles(folder)
        with_title = log.df.assign(title=log.df["item"].map(titles).fillna("").astype(str))
        log = InteractionLog(with_title, source=str(data))
    return log


def item_titles(path: str | Path) -> dict[str, str]:
    """Movie titles from ``u.item`` (latin-1, ``|``-separated).

    Args:
      path: the ``ml-100k`` folder.

    Returns:
      Mapping item id (str, as in the log) -> title.

    Raises:
      FileNotFoundError: no ``u.item``.
      ValueError: ``u.item`` is malformed.
    """
    item_file = Path(path) / "u.item"
    if not item_file.is_file():
        raise FileNotFoundError(f"{item_file} not found (MovieLens-100k movie titles).")
    try:
        frame = pd.read_csv(
            item_file,
            sep="|",
            header=None,
            encoding="latin-1",
            usecols=[0, 1],
            names=["item", "title"],
            dtype={"item": str, "title": str},
            keep_default_na=False,
        )
    except (pd.errors.ParserError, ValueError) as err:
        raise ValueError(f"{item_file}: malformed MovieLens item file ({err}).") from err
    return dict(zip(frame["item"], frame["title"]))
