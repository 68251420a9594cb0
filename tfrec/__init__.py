"""tfrec: reinforcement-learning recommendation on TensorFlow.

Importing ``tfrec`` sets ``TF_USE_LEGACY_KERAS=1`` *before* TensorFlow is imported, because
TF-Agents only runs on Keras 2 (the ``tf_keras`` package). Every Keras object in tfrec is a
``tf.keras`` (= ``tf_keras``) object.

Subpackages are imported lazily (``tfrec.data``, ``tfrec.agents`` ...), so ``import tfrec`` costs
little more than ``import tensorflow``.
"""

from __future__ import annotations

import importlib
import os
import sys

# Checked *before* setting the variable: once TensorFlow is imported without it, modules that
# touch ``tf.keras`` may get Keras 3 even if the variable is set afterwards.
if "tensorflow" in sys.modules and os.environ.get("TF_USE_LEGACY_KERAS") != "1":
    raise ImportError(
        "tfrec needs Keras 2 (tf_keras), but TensorFlow was imported before tfrec without "
        "TF_USE_LEGACY_KERAS=1. Import tfrec before tensorflow, or set TF_USE_LEGACY_KERAS=1 in "
        "the environment (`export TF_USE_LEGACY_KERAS=1`)."
    )
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import tensorflow as tf  # noqa: E402

from tfrec._version import __version__  # noqa: E402


def _check_keras() -> None:
    module = tf.keras.layers.Layer.__module__
    if not module.startswith("tf_keras"):
        raise ImportError(
            f"tfrec needs tf.keras to be Keras 2 (tf_keras), but tf.keras is {module!r}. "
            "TensorFlow was probably imported before tfrec without TF_USE_LEGACY_KERAS=1: set "
            "`export TF_USE_LEGACY_KERAS=1` (or import tfrec first) and install tf-keras "
            "matching your TensorFlow (`pip install tf-keras==2.21.*`)."
        )


_check_keras()

_SUBPACKAGES = (
    "agents",
    "cli",
    "data",
    "encoders",
    "environments",
    "evaluation",
    "explain",
    "export",
    "layers",
    "networks",
    "plots",
    "policies",
    "settings",
    "specs",
    "training",
    "workflow",
)

__all__ = ["__version__", *_SUBPACKAGES]


def __getattr__(name: str):
    """Imports subpackages on first access (``tfrec.agents`` ...)."""
    if name in _SUBPACKAGES:
        module = importlib.import_module(f"tfrec.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'tfrec' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
