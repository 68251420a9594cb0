"""tfrec: reinforcement-learning recommendation on TensorFlow.

Importing ``tfrec`` sets ``TF_USE_LEGACY_KERAS=1`` *before* TensorFlow is imported, because
TF-Agents only runs on Keras 2 (the ``tf_keras`` package). Every Keras object in tfrec is a
``tf.keras`` (= ``tf_keras``) object.

Subpackages are imported lazily (``tfrec.data``, ``tfrec.agents`` ...), so ``import tfrec`` costs
little more than ``import tensorflow``.

TF-Agents (``tf_agents``) is not a pip dependency of tfrec on Python 3.12+ (its last release pins a
pygame that does not install there; README "Install"): it is installed in a second step,
``pip install --no-deps tf-agents==0.19.0``. When it is missing, ``import tfrec`` warns with that
line, and importing anything that needs it raises ``ModuleNotFoundError`` with the same line.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import os
import sys
import warnings

# Checked *before* setting the variable: once TensorFlow is imported without it, modules that
# touch ``tf.keras`` may get Keras 3 even if the variable is set afterwards.
if "tensorflow" in sys.modules and os.environ.get("TF_USE_LEGACY_KERAS") != "1":
    raise ImportError(
        "tfrec needs Keras 2 (tf_keras), but TensorFlow was imported before tfrec without "
        "TF_USE_LEGACY_KERAS=1. Import tfrec before tensorflow, or set TF_USE_LEGACY_KERAS=1 in "
        "the environment (`export TF_USE_LEGACY_KERAS=1`)."
    )
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

from tfrec import _quiet  # noqa: E402  (imports no TensorFlow)

# The ``tfrec`` command hides TensorFlow's C++ start-up lines and gym's notice unless --verbose
# (tfrec/_quiet.py); ``tfrec --verbose`` shows TensorFlow's C++ log lines too.
_CLI_PROCESS = _quiet.cli_process()
_QUIET_START = _CLI_PROCESS and not _quiet.verbose_requested()
if _CLI_PROCESS and not _QUIET_START:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "0")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

with _quiet.hidden_stderr(_QUIET_START):
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

TF_AGENTS_REQUIREMENT = "tf-agents==0.19.0"

# What TF-Agents imports at run time -> the requirement setup.cfg declares for it (a missing one
# makes ``import tf_agents`` fail: "TF-Agents is broken").
_TF_AGENTS_IMPORTS = {
    "gym": "gym>=0.17.0,<=0.23.0",
    "gin": "gin-config>=0.4.0",
    "cloudpickle": "cloudpickle>=1.3",
    "tree": "dm-tree",
    "wrapt": "wrapt>=1.11.1",
    "absl": "absl-py>=0.6.1",
    "PIL": "pillow",
    "six": "six>=1.10.0",
    "tensorflow_probability": "tensorflow-probability==0.23.0",
}


def install_hint(module: str = "tf_agents") -> str:
    """The one command that installs ``module`` (``tf_agents`` or one of its imports) here."""
    if module == "tf_agents":
        if sys.version_info >= (3, 12):
            # tf-agents' own metadata pins pygame==2.1.3 (no 3.12+ wheel): install it without its
            # pins; tfrec declares what it really needs.
            return f"pip install --no-deps {TF_AGENTS_REQUIREMENT}"
        return f"pip install {TF_AGENTS_REQUIREMENT}"
    return f'pip install "{_TF_AGENTS_IMPORTS[module]}"'


def _tf_agents_importing() -> bool:
    """Whether ``tf_agents`` or one of its modules is being imported right now."""
    return any(
        (name == "tf_agents" or name.startswith("tf_agents."))
        and getattr(getattr(module, "__spec__", None), "_initializing", False)
        for name, module in list(sys.modules.items())
    )


class _InstallHintFinder(importlib.abc.MetaPathFinder):
    """Last on ``sys.meta_path``, so it is asked only about modules that no other finder found.

    Turns "No module named 'tf_agents'" (and a TF-Agents import that is missing while TF-Agents
    itself is being imported) into a ``ModuleNotFoundError`` that says what to run.
    """

    def find_spec(self, fullname, path=None, target=None):
        if path is not None:
            return None
        if fullname == "tf_agents":
            what = "tfrec needs TF-Agents"
        elif fullname in _TF_AGENTS_IMPORTS and _tf_agents_importing():
            what = "TF-Agents imports it"
        else:
            return None
        raise ModuleNotFoundError(
            f"No module named {fullname!r} ({what}): run `{install_hint(fullname)}`", name=fullname
        )


def _tf_agents_missing() -> bool:
    try:
        return importlib.util.find_spec("tf_agents") is None
    except ModuleNotFoundError:  # our finder, already installed (a reload of tfrec)
        return True


_TF_AGENTS_MISSING = _tf_agents_missing()
if _TF_AGENTS_MISSING:
    warnings.warn(
        f"TF-Agents is not installed (tfrec's agents, data pipelines and simulators need it): run "
        f"`{install_hint()}`",
        stacklevel=2,
    )
if not any(type(f).__name__ == _InstallHintFinder.__name__ for f in sys.meta_path):
    sys.meta_path.append(_InstallHintFinder())

if _QUIET_START and not _TF_AGENTS_MISSING:
    with _quiet.hidden_stderr():  # TF-Agents imports gym, which prints a deprecation notice
        import tf_agents  # noqa: F401

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
)

__all__ = ["TF_AGENTS_REQUIREMENT", "__version__", "install_hint", *_SUBPACKAGES]


def __getattr__(name: str):
    """Imports subpackages on first access (``tfrec.agents`` ...)."""
    if name in _SUBPACKAGES:
        module = importlib.import_module(f"tfrec.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'tfrec' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
