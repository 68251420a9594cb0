"""Interaction logs -> vocabulary -> per-user sequences -> splits -> tf.data pipelines.

See docs/architecture.md ("Data") for the contracts other subpackages rely on.
"""

from tfrec.data.impressions import (
    ImpressionLog,
    ImpressionSteps,
    impression_dataset,
    impression_steps,
)
from tfrec.data.log import FilterReport, InteractionLog
from tfrec.data.movielens import download_movielens_100k, item_titles, load_movielens_100k
from tfrec.data.pipeline import (
    next_item_dataset,
    sequence_batches_per_epoch,
    sequence_dataset,
    session_dataset,
)
from tfrec.data.sequence_file import read_sequence_file
from tfrec.data.sequences import Sequences, build_sequences
from tfrec.data.splits import EvalSet, leave_last_out, temporal_split
from tfrec.data.synthetic import generate_log
from tfrec.data.vocab import ItemVocabulary

__all__ = [
    "EvalSet",
    "FilterReport",
    "ImpressionLog",
    "ImpressionSteps",
    "InteractionLog",
    "ItemVocabulary",
    "Sequences",
    "build_sequences",
    "download_movielens_100k",
    "generate_log",
    "impression_dataset",
    "impression_steps",
    "item_titles",
    "leave_last_out",
    "load_movielens_100k",
    "next_item_dataset",
    "read_sequence_file",
    "sequence_batches_per_epoch",
    "sequence_dataset",
    "session_dataset",
    "temporal_split",
]
