"""`ItemVocabulary`: string item ids <-> contiguous int32 indices (0 = padding, 1 = OOV).

Real items get indices ``2 .. size - 1`` ordered by decreasing frequency, ties broken by the id
string (so the mapping is deterministic for a given log). The vocabulary is saved as a plain-text
asset, one real item id per line, line ``i`` holding index ``i + 2``, so a SavedModel can build its
lookup table from the same file (``tf.lookup.TextFileInitializer`` with ``value_index=LINE_NUMBER``
plus an offset of `NUM_RESERVED`).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from tfrec.specs import FIRST_ITEM_INDEX, NUM_RESERVED, OOV_INDEX, PAD_INDEX

PAD_TOKEN = ""
OOV_TOKEN = "[OOV]"


def _as_str_array(values: Iterable[object] | np.ndarray | pd.Series) -> np.ndarray:
    """Flattens ``values`` into an object array of Python strings (vectorised ``str``)."""
    if isinstance(values, pd.Series | pd.Index):
        series = pd.Series(values.to_numpy())
    else:
        series = pd.Series(np.asarray(values, dtype=object).reshape(-1))
    return series.astype(str).to_numpy(dtype=object)


class ItemVocabulary:
    """Maps item ids to indices following the `tfrec.specs` index convention.

    Args:
      ids: real item ids in index order (``ids[j]`` has index ``j + 2``); unique, non-empty,
        without line breaks.
      frequencies: optional counts of the real items ``[len(ids)]``; zeros when unknown (e.g.
        after `load`).
      oov_count: occurrences mapped to OOV when the vocabulary was built (items under
        ``min_count``).

    Raises:
      ValueError: duplicate, empty or multi-line ids, or a frequency array of the wrong length.
    """

    def __init__(
        self,
        ids: Iterable[str] | np.ndarray,
        frequencies: np.ndarray | None = None,
        *,
        oov_count: int = 0,
    ) -> None:
        ids = _as_str_array(list(ids) if not isinstance(ids, np.ndarray | pd.Series) else ids)
        _check_ids(ids, where="ItemVocabulary ids")
        self._ids = ids
        self._index = pd.Index(ids)
        counts = np.zeros(len(ids) + NUM_RESERVED, dtype=np.int64)
        if frequencies is not None:
            frequencies = np.asarray(frequencies, dtype=np.int64)
            if frequencies.shape != (len(ids),):
                raise ValueError(
                    f"frequencies must have one count per id: shape ({len(ids)},), "
                    f"got {frequencies.shape}."
                )
            counts[NUM_RESERVED:] = frequencies
        counts[OOV_INDEX] = oov_count
        self._frequencies = counts

    @classmethod
    def from_items(
        cls, items: Iterable[str] | np.ndarray | pd.Series, min_count: int = 1
    ) -> ItemVocabulary:
        """Builds the vocabulary from item occurrences (e.g. ``log.df["item"]``).

        Args:
          items: one entry per interaction ``[n]``.
          min_count: items seen fewer times map to OOV (their occurrences are counted in
            ``frequencies[OOV_INDEX]``).

        Returns:
          Vocabulary ordered by decreasing count, ties by id string.

        Raises:
          ValueError: ``min_count < 1``, no items, or no item reaching ``min_count``.
        """
        if min_count < 1:
            raise ValueError(f"min_count must be >= 1, got {min_count}.")
        values = items if isinstance(items, pd.Series) else pd.Series(list(items), dtype=object)
        codes, uniques = pd.factorize(values.astype(str))
        if len(uniques) == 0:
            raise ValueError("cannot build an ItemVocabulary from zero items.")
        counts = np.bincount(codes, minlength=len(uniques)).astype(np.int64)
        uniques = _as_str_array(uniques)
        keep = counts >= min_count
        if not keep.any():
            raise ValueError(
                f"no item occurs at least min_count={min_count} times (max count "
                f"{counts.max()}); lower min_count."
            )
        kept_ids, kept_counts = uniques[keep], counts[keep]
        order = np.lexsort((kept_ids.astype(str), -kept_counts))
        return cls(kept_ids[order], kept_counts[order], oov_count=int(counts[~keep].sum()))

    # ---------------------------------------------------------------------------------- sizes
    @property
    def size(self) -> int:
        """Number of indices including padding and OOV (= ``vocab_size`` of the specs)."""
        return len(self._ids) + NUM_RESERVED

    @property
    def num_items(self) -> int:
        """Number of real items."""
        return len(self._ids)

    def __len__(self) -> int:
        """Same as `size` (indices including the two reserved ones)."""
        return self.size

    def __contains__(self, item_id: object) -> bool:
        return str(item_id) in self._index

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ItemVocabulary) and np.array_equal(self._ids, other._ids)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"ItemVocabulary(num_items={self.num_items}, size={self.size})"

    @property
    def ids(self) -> np.ndarray:
        """Real item ids, index-aligned: ``ids[j]`` has index ``j + 2``. object str ``[num_items]``."""
        return self._ids

    @property
    def frequencies(self) -> np.ndarray:
        """int64 ``[size]``: count of each index (0 for padding, OOV occurrences at index 1)."""
        return self._frequencies

    # -------------------------------------------------------------------------------- mapping
    def lookup(self, ids: Iterable[object] | np.ndarray | pd.Series) -> np.ndarray:
        """Maps item ids to indices, vectorised (hash lookup, no Python loop).

        Args:
          ids: item ids of any shape (non-strings are converted with ``str``); ``""`` is padding.

        Returns:
          int32 array of the same shape: the index, `OOV_INDEX` for unknown ids, `PAD_INDEX`
          for ``""``.
        """
        if isinstance(ids, pd.Series | pd.Index):
            shape, flat = (len(ids),), ids
        else:
            array = np.asarray(ids, dtype=object)
            shape, flat = array.shape, array.reshape(-1)
        # Hash each distinct id once: factorize, then look up the (few) distinct values.
        codes, uniques = pd.factorize(flat)
        uniques = _as_str_array(uniques)
        positions = self._index.get_indexer(uniques)
        table = np.where(positions >= 0, positions + FIRST_ITEM_INDEX, OOV_INDEX)
        table[uniques == PAD_TOKEN] = PAD_INDEX
        table = np.append(table, OOV_INDEX).astype(np.int32)  # code -1 (null) -> OOV
        return table[codes].reshape(shape)

    def to_ids(self, indices: Iterable[int] | np.ndarray) -> np.ndarray:
        """Maps indices back to ids.

        Args:
          indices: integer indices of any shape, in ``[0, size - 1]``.

        Returns:
          object str array of the same shape; padding is ``""``, OOV is ``"[OOV]"``.

        Raises:
          ValueError: an index outside ``[0, size - 1]``.
        """
        indices = np.asarray(indices)
        if indices.size and (indices.min() < 0 or indices.max() >= self.size):
            bad = indices[(indices < 0) | (indices >= self.size)].reshape(-1)[:5]
            raise ValueError(
                f"indices {bad.tolist()} are outside the vocabulary [0, {self.size - 1}]."
            )
        table = np.concatenate([np.array([PAD_TOKEN, OOV_TOKEN], dtype=object), self._ids])
        return table[indices.astype(np.int64)]

    # ----------------------------------------------------------------------------------- file
    def save(self, path: str | Path) -> Path:
        """Writes one real item id per line (UTF-8); line ``i`` is index ``i + 2``.

        Args:
          path: destination file (parent folders are created).

        Returns:
          The path written.
        """
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(f"{item}\n" for item in self._ids), encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: str | Path) -> ItemVocabulary:
        """Reads a file written by `save` (frequencies are not stored: they load as zeros).

        Args:
          path: the vocabulary file.

        Returns:
          The vocabulary.

        Raises:
          FileNotFoundError: no such file.
          ValueError: empty file, empty lines or duplicate ids.
        """
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"vocabulary file not found: {path}")
        text = path.read_text(encoding="utf-8")
        lines = text.split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        if not lines:
            raise ValueError(f"{path}: the vocabulary file is empty (no item ids).")
        ids = np.array(lines, dtype=object)
        _check_ids(ids, where=str(path), lines=True)
        return cls(ids)


def _check_ids(ids: np.ndarray, *, where: str, lines: bool = False) -> None:
    unit = "line" if lines else "position"
    base = 1 if lines else 0
    series = pd.Series(ids, dtype=object)
    empty = np.flatnonzero((series == "").to_numpy())
    if len(empty):
        raise ValueError(
            f"{where}: empty item id at {unit}(s) {(empty[:5] + base).tolist()}; every line must "
            "hold one non-empty item id."
        )
    multiline = np.flatnonzero(series.str.contains(r"[\r\n]", regex=True).to_numpy())
    if len(multiline):
        raise ValueError(
            f"{where}: item ids at {unit}(s) {(multiline[:5] + base).tolist()} contain a line "
            "break."
        )
    duplicated = np.flatnonzero(series.duplicated().to_numpy())
    if len(duplicated):
        raise ValueError(
            f"{where}: duplicate item id(s) {series.iloc[duplicated[:5]].tolist()} at {unit}(s) "
            f"{(duplicated[:5] + base).tolist()}; each id must appear once."
        )
