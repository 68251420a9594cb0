"""YAML run settings mapped onto tfrec's frozen config dataclasses (``tfrec ... --config run.yaml``).

A settings file is a mapping of sections, each the fields of one dataclass (all optional)::

    simulator:            # tfrec.environments.InterestEvolutionConfig
      slate_size: 5
      catalog: {num_items: 200}
    supervised: {encoder: {dim: 32}, epochs: 10}   # tfrec.training.supervised.SupervisedConfig
    encoder: {dim: 32, num_layers: 1}        # tfrec.training.config.EncoderConfig
    agent: {correction: topk, learning_rate: 0.001}   # AgentConfig
    offline: {num_train_steps: 500}          # OfflineConfig
    online: {num_iterations: 100}            # OnlineConfig

The file is read with ``yaml.safe_load``. Unknown sections or fields, and values of the wrong
type, raise a ``ValueError`` naming the file, the section and the field. Command-line flags
override the file (:func:`make_config`).
"""

from __future__ import annotations

import dataclasses
import os
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from tfrec.environments import InterestEvolutionConfig
from tfrec.training.config import AgentConfig, EncoderConfig, OfflineConfig, OnlineConfig
from tfrec.training.supervised import SupervisedConfig

SECTIONS: dict[str, type] = {
    "simulator": InterestEvolutionConfig,
    "supervised": SupervisedConfig,
    "encoder": EncoderConfig,
    "agent": AgentConfig,
    "offline": OfflineConfig,
    "online": OnlineConfig,
}

__all__ = ["SECTIONS", "from_mapping", "load_settings", "make_config"]


def load_settings(path: str | os.PathLike | None) -> dict[str, dict[str, Any]]:
    """Reads a YAML settings file into ``{section: {field: value}}`` (checked names only).

    Args:
      path: the YAML file, or None (no settings: ``{}``).

    Returns:
      The sections present in the file.

    Raises:
      FileNotFoundError: the file does not exist.
      ValueError: invalid YAML, a top level that is not a mapping, or an unknown section.
    """
    if path is None:
        return {}
    file = Path(path)
    if not file.is_file():
        raise FileNotFoundError(f"settings file {file} not found.")
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise ValueError(f"{file} is not valid YAML: {' '.join(str(err).split())}") from err
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise ValueError(f"{file}: the top level must be a mapping of sections {list(SECTIONS)}.")
    out = {}
    for section, values in data.items():
        if section not in SECTIONS:
            raise ValueError(
                f"{file}: unknown section {section!r}; known sections: {list(SECTIONS)}."
            )
        if values is None:
            values = {}
        if not isinstance(values, Mapping):
            raise ValueError(f"{file}: section {section!r} must be a mapping of fields.")
        out[str(section)] = dict(values)
    return out


def _coerce(value: Any, hint: Any, where: str) -> Any:
    """Checks/converts a YAML value to the annotated field type (int, float, bool, str, None)."""
    options = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
    if value is None:
        if type(None) in options:
            return None
        raise ValueError(f"{where} may not be null.")
    for option in options:
        if option is bool and isinstance(value, bool):
            return value
        if option is int and isinstance(value, int) and not isinstance(value, bool):
            return value
        if option is float and isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if option is float and isinstance(value, str):  # YAML 1.1 reads "1e-3" as a string
            try:
                return float(value)
            except ValueError:
                pass
        if option is str and isinstance(value, str):
            return value
    names = " or ".join(getattr(o, "__name__", str(o)) for o in options)
    raise ValueError(f"{where} must be {names}, got {value!r}.")


def from_mapping(cls: type, values: Mapping[str, Any], where: str = "") -> Any:
    """Builds a (possibly nested) config dataclass from a mapping of field values.

    Args:
      cls: the dataclass (e.g. ``AgentConfig``).
      values: field -> value; nested dataclass fields take a mapping.
      where: prefix of error messages (e.g. ``"run.yaml: agent"``).

    Returns:
      ``cls(**values)`` with defaults for the missing fields (its ``__post_init__`` validates).

    Raises:
      ValueError: unknown field, wrong type, or an invalid value.
    """
    where = where or cls.__name__
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    kwargs = {}
    for name, value in values.items():
        if name not in fields:
            raise ValueError(f"{where}: unknown field {name!r}; fields: {sorted(fields)}.")
        hint = hints[name]
        if dataclasses.is_dataclass(hint):
            if not isinstance(value, Mapping):
                raise ValueError(f"{where}.{name} must be a mapping of {hint.__name__} fields.")
            default = fields[name].default  # e.g. SupervisedConfig's own encoder defaults
            if dataclasses.is_dataclass(default):
                given = {f.name: getattr(default, f.name) for f in dataclasses.fields(default)}
                value = {**given, **value}
            kwargs[name] = from_mapping(hint, value, f"{where}.{name}")
        else:
            kwargs[name] = _coerce(value, hint, f"{where}.{name}")
    return cls(**kwargs)


def make_config(
    cls: type,
    settings: Mapping[str, Mapping[str, Any]] | None = None,
    section: str | None = None,
    **overrides: Any,
) -> Any:
    """A config from a settings section, with the non-None ``overrides`` (flags) on top.

    Args:
      cls: the dataclass.
      settings: from :func:`load_settings` (or None).
      section: the section of ``settings`` to read (e.g. ``"agent"``).
      **overrides: field values; None means "not given" and keeps the file's / default value.
        A mapping (a nested config's fields, e.g. ``encoder={"dim": 32}``) is merged onto the
        file's mapping for that field, its None entries left out.

    Returns:
      The config instance.
    """
    values = dict((settings or {}).get(section, {})) if section else {}
    for name, value in overrides.items():
        if isinstance(value, Mapping):
            current = values.get(name, {})
            if not isinstance(current, Mapping):
                continue  # the file's value is wrong: from_mapping names it
            value = {**current, **{k: v for k, v in value.items() if v is not None}} or None
        if value is not None:
            values[name] = value
    return from_mapping(cls, values, where=section or cls.__name__)
