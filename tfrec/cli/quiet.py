"""What a ``tfrec`` command hides while it runs: other libraries' warnings and log records.

TF-Agents and TensorFlow log through absl (its verbosity flag) and Python ``logging`` (``WARNING:absl:Could not
serialize policy.distribution() ...`` from ``PolicySaver``, "not a valid tf.function parameter
name" when a SavedModel is written); dependencies raise Python warnings (deprecations) a user of
the command can do nothing about. :func:`library_messages` keeps records below ERROR of those
loggers and warnings raised outside tfrec from the screen while a command runs, and puts the
previous settings back afterwards, so ``tfrec.cli.main([...])`` called from a program (or a test)
leaves its logging as it was. Start-up lines (TensorFlow's C++ lines, gym's notice) are handled
before TensorFlow is imported, by ``tfrec/_quiet.py``.
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Iterator

LIBRARY_LOGGERS = ("absl", "tensorflow", "tf_agents", "h5py")
"""Python loggers kept to ERROR and above unless ``--verbose``."""

FOREIGN_MODULES = r"(?!tfrec(\.|$))"
"""Warnings filter ``module`` pattern: every module that is not tfrec's."""

__all__ = ["FOREIGN_MODULES", "LIBRARY_LOGGERS", "library_messages"]


@contextlib.contextmanager
def library_messages(verbose: bool) -> Iterator[None]:
    """Hides other libraries' warnings and log records below ERROR in the block (unless verbose).

    tfrec's own warnings (``warnings.warn`` from a tfrec module) and every error still show.

    Args:
      verbose: show everything (``tfrec --verbose``): the block runs untouched.
    """
    if verbose:
        yield
        return
    from absl import logging as absl_logging

    loggers = [logging.getLogger(name) for name in LIBRARY_LOGGERS]
    levels = [logger.level for logger in loggers]
    # absl's verbosity flag, not only its logger: TensorFlow saves and restores the flag around
    # SavedModel writing (``absl.logging.set_verbosity(get_verbosity())``), resetting the logger.
    verbosity = absl_logging.get_verbosity()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", module=FOREIGN_MODULES)
        absl_logging.set_verbosity(absl_logging.ERROR)
        for logger in loggers:
            logger.setLevel(logging.ERROR)
        try:
            yield
        finally:
            absl_logging.set_verbosity(verbosity)
            for logger, level in zip(loggers, levels):
                logger.setLevel(level)
