"""One-line-per-user sequence files (the S3-Rec / ICLRec format) as an `InteractionLog`.

The sequential-recommendation literature distributes its preprocessed Amazon and Yelp data as
text files with one line per user, ``user item1 item2 ...``, items oldest first, no timestamps
or ratings (S3-Rec, Zhou et al. CIKM 2020; ICLRec, Chen et al. WWW 2022). Every item is one
interaction with reward 1 and timestamp = its position in the line, so tfrec's time-ordered
splits (``leave_last_out``) reproduce the published leave-one-out protocol. The known public
files can be checked against their published sha256 (`KNOWN_SHA256`).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd

from tfrec.data.log import InteractionLog

__all__ = ["KNOWN_SHA256", "read_sequence_file"]

# sha256 of the files distributed with the ICLRec code (see shared/data/README.md).
KNOWN_SHA256 = {
    "Sports_and_Outdoors.txt": "2a095e0648872beb9982408958290f5d655db5be2911c3756b5446de9f0b8de2",
    "Yelp.txt": "724b219106b81dd2349027da997334ddb6da9fe2f152ad6e0d97a93170f7caed",
}


def read_sequence_file(
    path: str | Path, sep: str | None = None, verify: bool = False
) -> InteractionLog:
    """Reads ``user item1 item2 ...`` lines (oldest item first) into an interaction log.

    Args:
      path: the text file.
      sep: field separator (None: any whitespace).
      verify: check the file against `KNOWN_SHA256` (an error for a known name whose bytes
        differ; unknown names are not checked).

    Returns:
      An `InteractionLog` with columns ``user``, ``item``, ``timestamp`` (the position in the
      line) and reward 1.

    Raises:
      FileNotFoundError: no such file.
      ValueError: a line with a user but no item (names the line), an empty file, or a
        checksum mismatch.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"sequence file not found: {path}")
    if verify and path.name in KNOWN_SHA256:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest != KNOWN_SHA256[path.name]:
            raise ValueError(
                f"{path}: sha256 {digest} differs from the published {KNOWN_SHA256[path.name]}."
            )
    users: list[str] = []
    items: list[str] = []
    steps: list[int] = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            fields = [f for f in (line.split(sep) if sep else line.split()) if f.strip()]
            if not fields:
                continue
            if len(fields) < 2:
                raise ValueError(
                    f"{path}:{number}: a sequence line is 'user item1 item2 ...'; got "
                    f"{line.strip()!r}."
                )
            users += [fields[0].strip()] * (len(fields) - 1)
            items += [f.strip() for f in fields[1:]]
            steps += range(len(fields) - 1)
    if not users:
        raise ValueError(f"{path}: no sequence line ('user item1 item2 ...') in the file.")
    frame = pd.DataFrame({"user": users, "item": items, "timestamp": steps})
    return InteractionLog.from_dataframe(frame, source=str(path))
