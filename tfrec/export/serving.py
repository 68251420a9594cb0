"""``export_for_serving``: one call from a trained model or policy to a TF Serving version folder.

Layout written (atomically, see :mod:`tfrec.export.versioning`)::

    <base_dir>/<version>/
      saved_model.pb, variables/          signatures serving_default and serving_indices
      assets/vocabulary.txt               one item id per line (line i = index i + 2)
      assets.extra/tf_serving_warmup_requests   PredictionLog TFRecord (warmup=True)
      assets.extra/tfrec_export.json      k, max_len, table dtype, sizes (no user data)
      extras/encoder.keras                the encoder for Keras reuse (save_keras=True)
      extras/policy/                      TF-Agents PolicySaver export (when given a TF policy)

TF Serving loads only ``saved_model.pb``, ``variables/``, ``assets/`` and ``assets.extra/``; the
``extras/`` folder rides along in the same atomic version so all artefacts of a version agree.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import tensorflow as tf
from tf_agents.policies import policy_saver, tf_policy

from tfrec.export.compression import TABLE_DTYPES, ItemTable, TableDType
from tfrec.export.signatures import ServingModule
from tfrec.export.sources import encoder_max_len, resolve_encoder, vocabulary_item_ids
from tfrec.export.versioning import atomic_version_dir, resolve_version
from tfrec.export.warmup import WARMUP_DIR, representative_histories, write_warmup_requests
from tfrec.specs import NUM_RESERVED

VOCABULARY_ASSET = "vocabulary.txt"
EXTRAS_DIR = "extras"
KERAS_FILE = "encoder.keras"
POLICY_DIR = "policy"
METADATA_FILE = "tfrec_export.json"


def export_for_serving(
    model_or_policy: Any,
    vocabulary: Any,
    base_dir: str | os.PathLike | None = None,
    version: int | None = None,
    k: int = 10,
    exclude_history: bool = False,
    max_len: int | None = None,
    item_table_dtype: TableDType = "float32",
    num_shards: int = 1,
    warmup: bool = True,
    name: str = "tfrec",
    save_keras: bool = True,
    save_policy: bool = True,
) -> Path:
    """Exports a recommender as a versioned SavedModel for TF Serving.

    The SavedModel needs plain TensorFlow only (no tfrec, TF-Agents or TFP) and core ops only.
    Signatures are documented in :mod:`tfrec.export.signatures` and ``docs/serving.md``.

    Args:
      model_or_policy: a ``SequenceEncoder``, anything with an ``encoder`` attribute (supervised
        model, ``ActorNetwork``) or a TF-Agents policy built on such a network.
      vocabulary: the ``tfrec.data.ItemVocabulary`` the model was trained with (or its saved file,
        or the item ids in index order from index 2).
      base_dir: the model's base folder (TF Serving's ``--model_base_path``); default
        ``saved_models/<name>``.
      version: integer version; default: the next free one (1 for a new base folder).
      k: recommendations per request, ``1 <= k <= number of items``.
      exclude_history: if True, items in the request's history are not recommended.
      max_len: history window fed to the encoder; default ``encoder.max_len``.
      item_table_dtype: ``"float32"``, ``"float16"`` or ``"int8"`` (per-row scales) storage of
        the scoring table (see :mod:`tfrec.export.compression`).
      num_shards: row shards of the scoring table, scored concurrently (see
        :mod:`tfrec.export.retrieval`): more batch throughput on large float32 catalogs,
        no batch-1 latency gain measured (see :class:`~tfrec.export.compression.ItemTable`).
      warmup: write ``assets.extra/tf_serving_warmup_requests``.
      name: model name (default base folder, warmup ``ModelSpec.name``).
      save_keras: also save the encoder as ``extras/encoder.keras``.
      save_policy: when ``model_or_policy`` is a TF-Agents ``TFPolicy``, also export it with
        ``PolicySaver`` into ``extras/policy/`` (its ``action`` signature).

    Returns:
      The published version folder ``<base_dir>/<version>``.

    Raises:
      TypeError / ValueError: nothing exportable, a vocabulary that does not match the encoder, a
        bad ``k`` / ``max_len`` / ``item_table_dtype`` / ``version``.
      FileExistsError: the version exists already.
      OSError: the base folder is not writable; nothing is left behind.
    """
    encoder = resolve_encoder(model_or_policy)
    embedding = encoder.item_embedding
    vocab_size = int(embedding.embeddings.shape[0])
    item_ids = vocabulary_item_ids(vocabulary, vocab_size)
    window = encoder_max_len(encoder, max_len)
    num_items = vocab_size - NUM_RESERVED
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= num_items:
        raise ValueError(f"k={k!r} must be an int between 1 and the number of items ({num_items}).")
    if item_table_dtype not in TABLE_DTYPES:
        raise ValueError(
            f"item_table_dtype must be one of {TABLE_DTYPES}, got {item_table_dtype!r}."
        )
    base = Path(base_dir) if base_dir is not None else Path("saved_models") / name
    version = resolve_version(base, version)

    with tempfile.TemporaryDirectory(prefix="tfrec-vocab-") as staging:
        vocab_file = Path(staging) / VOCABULARY_ASSET
        vocab_file.write_text("".join(f"{item}\n" for item in item_ids), encoding="utf-8")
        table = ItemTable(
            embedding.embeddings,
            bias=getattr(embedding, "output_bias", None),
            dtype=item_table_dtype,
            num_shards=num_shards,
        )
        module = ServingModule(
            encoder, str(vocab_file), table, k=k, max_len=window, exclude_history=exclude_history
        )
        with atomic_version_dir(base, version) as tmp:
            tf.saved_model.save(module, str(tmp), signatures=module.signatures())
            if warmup:
                write_warmup_requests(tmp, representative_histories(item_ids, window), name)
            _write_metadata(tmp, k, window, exclude_history, table, encoder)
            if save_keras:
                _save_keras(encoder, tmp / EXTRAS_DIR / KERAS_FILE)
            if save_policy and isinstance(model_or_policy, tf_policy.TFPolicy):
                saver = policy_saver.PolicySaver(model_or_policy, batch_size=None)
                saver.save(str(tmp / EXTRAS_DIR / POLICY_DIR))
    return base / str(version)


def _save_keras(encoder: tf.keras.Model, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        encoder.save(str(path))
    except (NotImplementedError, TypeError, ValueError) as error:
        raise ValueError(
            f"the encoder {encoder.name!r} cannot be saved as a .keras file ({error}); make it "
            "serialisable (get_config + register_keras_serializable) or pass save_keras=False."
        ) from error


def _write_metadata(
    export_dir: Path,
    k: int,
    max_len: int,
    exclude_history: bool,
    table: ItemTable,
    encoder: tf.keras.Model,
) -> None:
    from tfrec._version import __version__

    metadata = {
        "tfrec_version": __version__,
        "k": k,
        "max_len": max_len,
        "exclude_history": exclude_history,
        "item_table_dtype": table.dtype,
        "item_table_shards": table.num_shards,
        "repeat_bias": getattr(encoder, "repeat_weight", None) is not None,
        "vocab_size": table.vocab_size,
        "num_items": table.vocab_size - NUM_RESERVED,
        "dim": table.dim,
        "signatures": ["serving_default", "serving_indices"],
    }
    target = export_dir / WARMUP_DIR  # assets.extra/
    target.mkdir(parents=True, exist_ok=True)
    (target / METADATA_FILE).write_text(json.dumps(metadata, indent=2) + "\n", encoding="utf-8")
