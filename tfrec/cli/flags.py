"""Command-line flags -> config dataclass fields, by one table per config (no argument lists).

A table is one string of config field names, each optionally ``field=flag`` where the flag's
``argparse`` destination differs from the field (``"max_len num_layers=layers seed"``). The
config dataclass validates the values (its ``__post_init__``); a flag left out (``None``) keeps
the settings file's value, else the default (:func:`tfrec.settings.make_config`).
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import Any

__all__ = ["config_from_flags", "flag_values"]


def flag_values(args: argparse.Namespace, table: str) -> dict[str, Any]:
    """Config field -> the value of its flag, for the fields of ``table``.

    Args:
      args: the parsed command line.
      table: field names separated by spaces, each ``field`` or ``field=flag`` (the flag's
        ``argparse`` destination, e.g. ``num_layers=layers`` for ``--layers``).

    Returns:
      ``{field: getattr(args, flag)}`` (None: the flag was not given).

    Raises:
      AttributeError: the command has no such flag (a wrong table).
    """
    values = {}
    for entry in table.split():
        field, _, flag = entry.partition("=")
        values[field] = getattr(args, flag or field)
    return values


def config_from_flags(
    cls: type,
    settings: Mapping[str, Mapping[str, Any]] | None,
    section: str,
    args: argparse.Namespace,
    table: str,
    **values: Any,
) -> Any:
    """A config from the settings file's ``section``, the flags of ``table`` on top.

    Args:
      cls: the config dataclass (e.g. ``AgentConfig``).
      settings: from :func:`tfrec.settings.load_settings` (or None).
      section: the settings section of ``cls`` (e.g. ``"agent"``).
      args: the parsed command line.
      table: the fields given by flags (see :func:`flag_values`).
      **values: further field values (computed from flags); they replace the table's.

    Returns:
      The config instance; None values keep the file's or the default value.

    Raises:
      ValueError: unknown field, wrong type or invalid value (from the config's own checks).
    """
    from tfrec.settings import make_config

    return make_config(cls, settings, section, **{**flag_values(args, table), **values})
