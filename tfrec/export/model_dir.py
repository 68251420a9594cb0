"""The *model folder*: what ``tfrec train`` (and ``tfrec demo``) write and the other commands read.

Contract of a model folder::

    <folder>/
      encoder.keras     the trained SequenceEncoder, a Keras v3 ``.keras`` archive
                        (architecture + weights; load with ``compile=False``)
      vocabulary.txt    ItemVocabulary.save: one real item id per line, UTF-8; line ``i``
                        holds item index ``i + 2`` (index 0 = padding, 1 = OOV, never written)
      run.json          JSON facts about the run: ``algo`` ("supervised", "reinforce", ...),
                        the configs, metrics and history; informative only, no code reads
                        a field of it to rebuild the model

* Writer: :func:`save_model_dir`, called by ``tfrec train`` (``cli/train.py``) and ``tfrec demo``.
* Readers: :func:`load_model_dir`, called by ``tfrec evaluate``, ``tfrec export``, ``tfrec
  explain`` and ``tfrec train --warm-start``. It also reads a ``tfrec export`` version folder
  (:mod:`tfrec.export.serving`: ``extras/encoder.keras``, ``assets/vocabulary.txt``,
  ``assets.extra/tfrec_export.json`` in place of ``run.json``), so every command that takes a
  model accepts either.

Index convention (``tfrec.specs``): the encoder scores ``vocab_size = len(vocabulary.txt) + 2``
indices; index 0 is padding (left-padded histories), 1 is the out-of-vocabulary item, real items
start at 2. The vocabulary always travels with the encoder: the indices mean nothing without it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import tensorflow as tf

from tfrec.data import ItemVocabulary
from tfrec.encoders import SequenceEncoder
from tfrec.export.serving import EXTRAS_DIR, KERAS_FILE, METADATA_FILE, VOCABULARY_ASSET
from tfrec.export.warmup import WARMUP_DIR

__all__ = ["ENCODER_FILE", "RUN_FILE", "VOCABULARY_FILE", "load_model_dir", "save_model_dir"]

ENCODER_FILE = "encoder.keras"
VOCABULARY_FILE = "vocabulary.txt"
RUN_FILE = "run.json"


def save_model_dir(
    path: str | os.PathLike,
    encoder: SequenceEncoder,
    vocabulary: ItemVocabulary,
    info: Mapping[str, Any] | None = None,
) -> Path:
    """Writes a model folder: ``encoder.keras``, ``vocabulary.txt`` and ``run.json``.

    Args:
      path: the folder (created).
      encoder: the trained encoder.
      vocabulary: its vocabulary.
      info: JSON-serialisable facts about the run (algorithm, configs, metrics).

    Returns:
      The folder.
    """
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    encoder.save(str(folder / ENCODER_FILE))
    vocabulary.save(folder / VOCABULARY_FILE)
    (folder / RUN_FILE).write_text(json.dumps(dict(info or {}), indent=2, default=str) + "\n")
    return folder


def load_model_dir(path: str | os.PathLike) -> tuple[SequenceEncoder, ItemVocabulary, dict]:
    """Reads a model folder (:func:`save_model_dir`) or a ``tfrec export`` version folder.

    Args:
      path: a model folder, or an exported SavedModel version (``extras/encoder.keras`` and
        ``assets/vocabulary.txt``).

    Returns:
      ``(encoder, vocabulary, info)``.

    Raises:
      FileNotFoundError: the folder holds neither layout.
    """
    folder = Path(path)
    layouts = [
        (folder / ENCODER_FILE, folder / VOCABULARY_FILE, folder / RUN_FILE),
        (
            folder / EXTRAS_DIR / KERAS_FILE,
            folder / tf.saved_model.ASSETS_DIRECTORY / VOCABULARY_ASSET,
            folder / WARMUP_DIR / METADATA_FILE,
        ),
    ]
    for encoder_file, vocabulary_file, info_file in layouts:
        if encoder_file.is_file() and vocabulary_file.is_file():
            encoder = tf.keras.models.load_model(str(encoder_file), compile=False)
            vocabulary = ItemVocabulary.load(vocabulary_file)
            info = json.loads(info_file.read_text()) if info_file.is_file() else {}
            return encoder, vocabulary, info
    raise FileNotFoundError(
        f"{folder} is not a tfrec model folder: expected {ENCODER_FILE} + {VOCABULARY_FILE} "
        "(written by `tfrec train`) or extras/encoder.keras + assets/vocabulary.txt (an export "
        "version folder written by `tfrec export`)."
    )
