"""Alias of ``benchmarks/sequential.py`` on MovieLens-100k (kept for old commands and docs).

python benchmarks/movielens.py [flags]  ==  python benchmarks/sequential.py --dataset ml-100k [flags]
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sequential import main  # noqa: E402

if __name__ == "__main__":
    main(["--dataset", "ml-100k", *sys.argv[1:]])
