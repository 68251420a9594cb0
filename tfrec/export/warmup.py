"""TF Serving warmup requests: ``assets.extra/tf_serving_warmup_requests``.

TF Serving replays the ``PredictionLog`` records of this TFRecord file when it loads a version, so
the first real request does not pay for graph initialisation (lookup tables, kernel selection).
See https://www.tensorflow.org/tfx/serving/saved_model_warmup.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import tensorflow as tf
from tensorflow_serving.apis import model_pb2, predict_pb2, prediction_log_pb2

from tfrec.export.signatures import DEFAULT_SIGNATURE, HISTORY_KEY

WARMUP_DIR = "assets.extra"
WARMUP_FILE = "tf_serving_warmup_requests"


def representative_histories(item_ids: Sequence[str], max_len: int) -> list[list[list[str]]]:
    """A few request batches covering the shapes a server sees (built from item ids only).

    Args:
      item_ids: the vocabulary's item ids in index order.
      max_len: the export's history window.

    Returns:
      Batches of string histories: one item; a full window; a longer-than-window history; a
      padded batch of mixed lengths with an unknown id; an empty history.
    """
    ids = list(item_ids)
    full = [ids[i % len(ids)] for i in range(max_len)]
    longer = [ids[i % len(ids)] for i in range(2 * max_len + 1)]
    mixed = [[*([""] * (max_len - 1)), ids[0]], [*full[: max_len - 1], "<unknown item>"]]
    return [[[ids[0]]], [full], [longer], mixed, [[""]]]


def _request(
    model_name: str, batch: Sequence[Sequence[str]], signature_name: str
) -> predict_pb2.PredictRequest:
    width = max(len(row) for row in batch)
    padded = np.array([[""] * (width - len(row)) + list(row) for row in batch], dtype=object)
    request = predict_pb2.PredictRequest(
        model_spec=model_pb2.ModelSpec(name=model_name, signature_name=signature_name)
    )
    request.inputs[HISTORY_KEY].CopyFrom(tf.make_tensor_proto(padded, dtype=tf.string))
    return request


def write_warmup_requests(
    export_dir: str | os.PathLike,
    histories: Sequence[Sequence[Sequence[str]]],
    model_name: str = "model",
    signature_name: str = DEFAULT_SIGNATURE,
) -> Path:
    """Writes ``<export_dir>/assets.extra/tf_serving_warmup_requests``.

    Args:
      export_dir: a SavedModel version folder.
      histories: request batches; each is a list of rows of item-id strings (rows of unequal
        length are left-padded with ``""``).
      model_name: ``ModelSpec.name`` of the requests (TF Serving ignores it during warmup).
      signature_name: the signature the requests call.

    Returns:
      Path of the written TFRecord file.

    Raises:
      ValueError: no request, or an empty batch.
    """
    if not histories:
        raise ValueError("histories is empty: give at least one warmup request batch.")
    target = Path(export_dir) / WARMUP_DIR
    target.mkdir(parents=True, exist_ok=True)
    path = target / WARMUP_FILE
    with tf.io.TFRecordWriter(str(path)) as writer:
        for number, batch in enumerate(histories):
            if len(batch) == 0:
                raise ValueError(f"warmup batch {number} has no row.")
            log = prediction_log_pb2.PredictionLog(
                predict_log=prediction_log_pb2.PredictLog(
                    request=_request(model_name, batch, signature_name)
                )
            )
            writer.write(log.SerializeToString())
    return path


def read_warmup_requests(path: str | os.PathLike) -> list[predict_pb2.PredictRequest]:
    """Parses a warmup file back into its ``PredictRequest`` s (to check or replay it).

    Raises:
      FileNotFoundError: the file does not exist.
      ValueError: a record is not a ``PredictionLog`` with a predict request.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"warmup file {path} does not exist.")
    requests = []
    for number, record in enumerate(tf.data.TFRecordDataset(str(path)).as_numpy_iterator()):
        log = prediction_log_pb2.PredictionLog.FromString(record)
        if log.WhichOneof("log_type") != "predict_log":
            raise ValueError(f"record {number} of {path} is not a predict_log PredictionLog.")
        requests.append(log.predict_log.request)
    return requests
