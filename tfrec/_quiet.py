"""A quiet start for the ``tfrec`` command: third-party start-up lines hidden unless ``--verbose``.

Importing TensorFlow prints C++ lines (``I0000 ... port.cc] oneDNN custom operations are on``,
``cudart_stub.cc] Could not find cuda drivers``) that absl writes to stderr *before* its logging
is initialised, so ``TF_CPP_MIN_LOG_LEVEL`` does not stop them; importing TF-Agents imports gym,
whose ``__init__`` prints a deprecation notice to stderr. Neither can be switched off by a
setting, so the ``tfrec`` console script (and ``python -m tfrec.cli``) makes those imports with
the stderr file descriptor pointed at a temporary file, and replays what was written there only if
the import fails. ``tfrec --verbose ...`` imports with stderr untouched.

This module imports nothing from tfrec or TensorFlow: ``tfrec/__init__.py`` uses it before it
imports TensorFlow. A program that imports tfrec is not the ``tfrec`` command and keeps every
message (:func:`cli_process` is False there).
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import tempfile
from collections.abc import Iterator, Sequence

CLI_MODULES = ("tfrec.cli", "tfrec.cli.main", "tfrec.cli.__main__")
"""Modules that run the ``tfrec`` command under ``python -m``."""

VERBOSE_FLAG = "--verbose"
"""The global flag (before the command) that shows every third-party log line."""

__all__ = ["CLI_MODULES", "VERBOSE_FLAG", "cli_process", "hidden_stderr", "verbose_requested"]


def cli_process(argv: Sequence[str] | None = None, orig_argv: Sequence[str] | None = None) -> bool:
    """Whether this process is the ``tfrec`` command (console script or ``python -m tfrec.cli``).

    Args:
      argv: the arguments (default ``sys.argv``); ``argv[0]`` is the console script's path.
      orig_argv: the interpreter's own arguments (default ``sys.orig_argv``), holding
        ``-m tfrec.cli`` under ``python -m``.

    Returns:
      True for the ``tfrec`` command, False for any other program (one that imports tfrec).
    """
    argv = sys.argv if argv is None else argv
    orig_argv = getattr(sys, "orig_argv", []) if orig_argv is None else orig_argv
    script = argv[0].replace("\\", "/").rsplit("/", 1)[-1] if argv else ""
    if script.removesuffix(".exe").removesuffix("-script.py") == "tfrec":
        return True
    return any(
        flag == "-m" and module in CLI_MODULES for flag, module in zip(orig_argv, orig_argv[1:])
    )


def verbose_requested(argv: Sequence[str] | None = None) -> bool:
    """Whether ``--verbose`` stands among the global options (those before the command).

    Args:
      argv: the arguments with the program name first (default ``sys.argv``).

    Returns:
      True when ``--verbose`` comes before the first argument that is not an option.
    """
    argv = sys.argv if argv is None else argv
    for arg in argv[1:]:
        if arg == VERBOSE_FLAG:
            return True
        if not arg.startswith("-"):
            return False
    return False


@contextlib.contextmanager
def hidden_stderr(enabled: bool = True) -> Iterator[None]:
    """Points the stderr file descriptor (C++ writes) and ``sys.stderr`` at temporary buffers.

    What was written is dropped when the block succeeds and written to the real stderr when it
    raises, so a failing import still shows its diagnostics.

    Args:
      enabled: False makes this a no-op (``--verbose``, or not the ``tfrec`` command).
    """
    if not enabled:
        yield
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, AttributeError, ValueError):  # no usable stderr descriptor: leave it
        yield
        return
    text = io.StringIO()
    with tempfile.TemporaryFile() as capture, contextlib.redirect_stderr(text):
        os.dup2(capture.fileno(), 2)
        try:
            yield
        except BaseException:
            _restore(saved)
            capture.seek(0)
            os.write(2, capture.read() + text.getvalue().encode("utf-8", "replace"))
            raise
        _restore(saved)


def _restore(saved: int) -> None:
    """Puts the saved stderr descriptor back (once)."""
    with contextlib.suppress(OSError, ValueError):
        sys.stderr.flush()
    with contextlib.suppress(OSError):
        os.dup2(saved, 2)
        os.close(saved)
