"""``tf.distribute`` strategy selection for tfrec training (config / CLI flag / ``TF_CONFIG``).

Strategies (``STRATEGIES``):

* ``"default"``: TensorFlow's default strategy (one device, no replication).
* ``"mirrored"``: ``tf.distribute.MirroredStrategy``, synchronous data parallelism over the local
  GPUs (or logical CPU devices): every replica holds a copy of the variables and gradients are
  all-reduced each step.
* ``"multi_worker_mirrored"``: ``tf.distribute.MultiWorkerMirroredStrategy``, the same across
  worker processes/hosts. The cluster comes from the ``TF_CONFIG`` environment variable (read by
  ``tf.distribute.cluster_resolver.TFConfigClusterResolver``); every worker runs the same command
  and the worker with ``task.index == 0`` is the chief that writes the checkpoints.

The global batch (``OfflineConfig.batch_size``, ``SupervisedConfig.batch_size``) is split across
the replicas, and the optimizer *sums* the replicas' gradients (TensorFlow's custom-training-loop
convention). tfrec's losses are means over the local batch, so each custom train step scales its
loss to the replica's share, ``tf.nn.compute_average_loss`` style: ``NextItemModel.train_step``
and the REINFORCE agent's ``total_loss`` (:mod:`tfrec.agents.replicas`) divide by the number of
replicas. One step on ``n`` replicas then approximates one step on one device with the whole batch
(exactly when every replica's loss averages the same number of terms).
"""

from __future__ import annotations

import argparse
import json
import os
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import tensorflow as tf

__all__ = [
    "STRATEGIES",
    "add_strategy_argument",
    "check_global_batch",
    "is_chief",
    "make_strategy",
    "read_tf_config",
    "validate_strategy_name",
    "worker_directory",
]

STRATEGIES = ("default", "mirrored", "multi_worker_mirrored")
_TF_CONFIG = "TF_CONFIG"


def validate_strategy_name(name: str, field: str = "strategy") -> str:
    """Checks a strategy name.

    Args:
      name: one of :data:`STRATEGIES`.
      field: how the caller calls it in the error (e.g. ``"OfflineConfig.strategy"``).

    Returns:
      ``name``.

    Raises:
      ValueError: naming the unknown strategy and the valid ones.
    """
    if name not in STRATEGIES:
        raise ValueError(
            f"{field}={name!r} is not a known distribution strategy: use one of "
            f"{', '.join(STRATEGIES)} (multi_worker_mirrored reads the cluster from TF_CONFIG)."
        )
    return name


def read_tf_config(environ: Mapping[str, str] | None = None) -> dict[str, Any] | None:
    """Parses and checks the ``TF_CONFIG`` environment variable.

    Args:
      environ: the environment (``os.environ`` when None).

    Returns:
      The parsed dict (``{"cluster": {"worker": ["host:port", ...]}, "task": {"type": "worker",
      "index": i}}``), or None when ``TF_CONFIG`` is unset or empty.

    Raises:
      ValueError: if ``TF_CONFIG`` is not JSON, has no ``cluster``/``task``, or its task is not
        in its cluster (the message quotes the offending part).
    """
    raw = (os.environ if environ is None else environ).get(_TF_CONFIG, "")
    if not raw.strip():
        return None
    try:
        config = json.loads(raw)
    except json.JSONDecodeError as error:
        raise ValueError(f"TF_CONFIG is not valid JSON ({error}): {raw[:200]!r}") from error
    cluster, task = config.get("cluster"), config.get("task")
    if not isinstance(cluster, dict) or not cluster:
        raise ValueError(
            'TF_CONFIG needs a "cluster" mapping, e.g. {"cluster": {"worker": ["host1:12345", '
            '"host2:12345"]}, "task": {"type": "worker", "index": 0}}; got ' + repr(raw[:200])
        )
    if not isinstance(task, dict) or "type" not in task or "index" not in task:
        raise ValueError(
            'TF_CONFIG needs a "task" with "type" and "index", e.g. {"type": "worker", '
            f'"index": 0}}; got {task!r}.'
        )
    members = cluster.get(task["type"])
    if not isinstance(members, list) or not 0 <= int(task["index"]) < len(members):
        raise ValueError(
            f"TF_CONFIG task {task!r} is not in its cluster {cluster!r}: the index must be < the "
            "number of addresses of that type."
        )
    return config


def make_strategy(
    name: str = "default", devices: list[str] | None = None
) -> tf.distribute.Strategy:
    """Creates the distribution strategy named ``name``.

    Call it once per process, before building models: MultiWorkerMirroredStrategy must be created
    before any other TensorFlow op runs.

    Args:
      name: one of :data:`STRATEGIES`.
      devices: for ``"mirrored"``, the devices to mirror over; when None, every local GPU, or
        every logical CPU device when there is no GPU (one unless
        ``tf.config.set_logical_device_configuration`` split the CPU).

    Returns:
      The ``tf.distribute.Strategy``.

    Raises:
      ValueError: for an unknown name, an invalid ``TF_CONFIG``, or ``devices`` given to a
        strategy other than ``"mirrored"``.
    """
    validate_strategy_name(name)
    tf_config = read_tf_config()
    if devices is not None and name != "mirrored":
        raise ValueError(f"devices={devices} only applies to strategy='mirrored', not {name!r}.")
    if name == "multi_worker_mirrored":
        if tf_config is None:
            warnings.warn(
                "strategy='multi_worker_mirrored' without TF_CONFIG trains on this process "
                "only; set TF_CONFIG on every worker (see docs/scaling.md).",
                RuntimeWarning,
                stacklevel=2,
            )
        return tf.distribute.MultiWorkerMirroredStrategy()
    if tf_config is not None and len(tf_config["cluster"].get("worker", [])) > 1:
        warnings.warn(
            f"TF_CONFIG describes {len(tf_config['cluster']['worker'])} workers but "
            f"strategy={name!r} ignores it: use strategy='multi_worker_mirrored'.",
            RuntimeWarning,
            stacklevel=2,
        )
    if name == "mirrored":
        if devices is None and not tf.config.list_logical_devices("GPU"):
            devices = [device.name for device in tf.config.list_logical_devices("CPU")]
        return tf.distribute.MirroredStrategy(devices)
    return tf.distribute.get_strategy()


def add_strategy_argument(parser: argparse.ArgumentParser) -> None:
    """Adds ``--strategy {default,mirrored,multi_worker_mirrored}`` to a command-line parser."""
    parser.add_argument(
        "--strategy",
        choices=STRATEGIES,
        default="default",
        help="tf.distribute strategy (multi_worker_mirrored reads the cluster from TF_CONFIG)",
    )


def check_global_batch(batch_size: int, strategy: tf.distribute.Strategy) -> None:
    """Checks that a global batch gives every replica at least one example.

    Raises:
      ValueError: if ``batch_size < strategy.num_replicas_in_sync``.
    """
    replicas = strategy.num_replicas_in_sync
    if batch_size < replicas:
        raise ValueError(
            f"batch_size={batch_size} is the global batch, split over {replicas} replicas: it "
            f"must be >= {replicas} (use a multiple of {replicas})."
        )


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """Whether this process writes shared outputs (checkpoints): always true except for the
    non-chief workers of a multi-worker strategy."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not strategy.extended._in_multi_worker_mode():  # noqa: SLF001
        return True
    task_type, task_id = resolver.task_type, resolver.task_id
    return task_type is None or task_type == "chief" or (task_type == "worker" and task_id == 0)


def worker_directory(directory: str | Path, strategy: tf.distribute.Strategy) -> Path:
    """Where this process writes checkpoints: ``directory`` on the chief, a private
    ``directory/workertemp_<task_id>`` on the other workers (every worker must take part in
    saving, but only the chief's copy is kept; TensorFlow's multi-worker checkpoint recipe)."""
    directory = Path(directory)
    if is_chief(strategy):
        return directory
    return directory / f"workertemp_{strategy.cluster_resolver.task_id}"
