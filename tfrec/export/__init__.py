"""Export for TF Serving: versioned SavedModel with item-id signatures, warmup, models.config.

``export_for_serving(model_or_policy, vocabulary, ...)`` writes ``<base_dir>/<version>/`` atomically;
``write_models_config`` writes a ``models.config`` for ``tensorflow_model_server``;
``save_model_dir`` / ``load_model_dir`` write and read the model folder of ``tfrec train``
(:mod:`tfrec.export.model_dir`). See ``docs/serving.md``.
"""

from tfrec.export.compression import ItemTable, quantize_int8
from tfrec.export.model_config import models_config, write_models_config
from tfrec.export.model_dir import (
    ENCODER_FILE,
    RUN_FILE,
    VOCABULARY_FILE,
    load_model_dir,
    save_model_dir,
)
from tfrec.export.request_history import compact_history
from tfrec.export.retrieval import sharded_top_k
from tfrec.export.serving import export_for_serving
from tfrec.export.signatures import ServingModule
from tfrec.export.sources import resolve_encoder
from tfrec.export.versioning import atomic_version_dir, next_version
from tfrec.export.warmup import read_warmup_requests, write_warmup_requests

__all__ = [
    "ENCODER_FILE",
    "RUN_FILE",
    "VOCABULARY_FILE",
    "ItemTable",
    "ServingModule",
    "atomic_version_dir",
    "compact_history",
    "export_for_serving",
    "load_model_dir",
    "models_config",
    "next_version",
    "quantize_int8",
    "read_warmup_requests",
    "resolve_encoder",
    "save_model_dir",
    "sharded_top_k",
    "write_models_config",
    "write_warmup_requests",
]
