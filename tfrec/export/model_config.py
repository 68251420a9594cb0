"""``models.config`` for ``tensorflow_model_server --model_config_file``.

The file is a ``ModelServerConfig`` text proto (``model_config_list``) built with the protos of
``tensorflow-serving-api`` and parsed back before it is written, so a malformed file is never
produced. See https://www.tensorflow.org/tfx/serving/serving_config.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from google.protobuf import text_format
from tensorflow_serving.config import (
    file_system_storage_path_source_pb2,
    model_server_config_pb2,
)

VersionPolicy = str | int | Sequence[int]
_Policy = (
    file_system_storage_path_source_pb2.FileSystemStoragePathSourceConfig.ServableVersionPolicy
)


def version_policy_proto(policy: VersionPolicy) -> _Policy:
    """Builds a ``ServableVersionPolicy``.

    Args:
      policy: ``"latest"`` (serve the newest version), ``"all"`` (every version), an int ``n``
        (the ``n`` newest versions) or a list of ints (exactly those versions).

    Returns:
      The proto.

    Raises:
      ValueError / TypeError: any other value.
    """
    if isinstance(policy, str):
        if policy == "latest":
            return _Policy(latest=_Policy.Latest(num_versions=1))
        if policy == "all":
            return _Policy(all=_Policy.All())
        raise ValueError(
            f"version_policy {policy!r} is not 'latest', 'all', an int n (n newest versions) or a "
            "list of versions."
        )
    if isinstance(policy, bool):
        raise TypeError(f"version_policy must not be a bool, got {policy!r}.")
    if isinstance(policy, int):
        if policy < 1:
            raise ValueError(f"version_policy={policy}: the number of versions must be >= 1.")
        return _Policy(latest=_Policy.Latest(num_versions=policy))
    versions = list(policy)
    if not versions or not all(isinstance(v, int) and not isinstance(v, bool) for v in versions):
        raise TypeError(f"version_policy list must hold integer versions, got {policy!r}.")
    if any(v < 0 for v in versions):
        raise ValueError(f"versions must be >= 0, got {versions}.")
    return _Policy(specific=_Policy.Specific(versions=versions))


def models_config(
    models: Mapping[str, str | os.PathLike] | Iterable[str | os.PathLike],
    version_policy: VersionPolicy = "latest",
) -> model_server_config_pb2.ModelServerConfig:
    """The ``ModelServerConfig`` proto serving several models.

    Args:
      models: ``{name: base_path}``, or base paths whose folder name is the model name. Base
        paths are written as given: TF Serving resolves relative paths against its working
        directory, so give the paths *as the server sees them* (e.g. ``/models/<name>`` in a
        container).
      version_policy: see :func:`version_policy_proto`; applies to every model.

    Returns:
      The proto.

    Raises:
      ValueError: no model, an empty name or path, or a name used twice.
    """
    if isinstance(models, Mapping):
        pairs = [(str(name), os.fspath(path)) for name, path in models.items()]
    else:
        pairs = [(Path(path).name, os.fspath(path)) for path in models]
    if not pairs:
        raise ValueError("models is empty: give at least one {name: base_path}.")
    names = [name for name, _ in pairs]
    for name, path in pairs:
        if not name or not path:
            raise ValueError(f"model name and base path must be non-empty, got {name!r}: {path!r}.")
        if names.count(name) > 1:
            raise ValueError(f"model name {name!r} appears twice: names must be unique.")
    policy = version_policy_proto(version_policy)
    config = model_server_config_pb2.ModelServerConfig()
    for name, path in pairs:
        entry = config.model_config_list.config.add()
        entry.name = name
        entry.base_path = path
        entry.model_platform = "tensorflow"
        entry.model_version_policy.CopyFrom(policy)
    return config


def write_models_config(
    models: Mapping[str, str | os.PathLike] | Iterable[str | os.PathLike],
    path: str | os.PathLike = "models.config",
    version_policy: VersionPolicy = "latest",
) -> Path:
    """Writes a ``models.config`` text proto for ``tensorflow_model_server --model_config_file``.

    Args:
      models: ``{name: base_path}`` or a list of base paths (see :func:`models_config`).
      path: output file.
      version_policy: ``"latest"``, ``"all"``, an int ``n`` or a list of versions.

    Returns:
      The written path. Its text parses back (``text_format.Parse``) into the same proto.
    """
    config = models_config(models, version_policy)
    text = text_format.MessageToString(config)
    if text_format.Parse(text, model_server_config_pb2.ModelServerConfig()) != config:
        raise RuntimeError("models.config did not round-trip through text_format (protobuf bug).")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
