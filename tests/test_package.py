"""Package-level behaviour: Keras 2 is enforced, specs follow the index convention."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

import tfrec
from tfrec import specs


@pytest.mark.smoke
def test_import_sets_legacy_keras():
    assert os.environ["TF_USE_LEGACY_KERAS"] == "1"
    assert tf.keras.layers.Layer.__module__.startswith("tf_keras")
    assert tfrec.__version__


@pytest.mark.parametrize(
    "env_line",
    ["os.environ['TF_USE_LEGACY_KERAS']='0'", "os.environ.pop('TF_USE_LEGACY_KERAS', None)"],
)
def test_import_after_keras3_tensorflow_fails_clearly(env_line):
    code = (
        f"import os; {env_line}\n"
        "import tensorflow as tf\n"
        "try:\n"
        "    import tfrec\n"
        "except ImportError as e:\n"
        "    print('ERR', e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "ERR" in out.stdout and "TF_USE_LEGACY_KERAS" in out.stdout, out.stdout + out.stderr


@pytest.mark.smoke
def test_subpackages_are_lazy():
    code = "import sys, tfrec; print('tfrec.agents' in sys.modules, 'tf_agents' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.split() == ["False", "False"], out.stdout + out.stderr


@pytest.mark.smoke
def test_specs_follow_index_convention():
    hist = specs.history_spec(max_len=5, vocab_size=12)
    assert hist.shape == (5,) and hist.dtype == np.int32 and hist.maximum == 11
    slate = specs.slate_action_spec(k=3, vocab_size=12)
    assert slate.minimum == specs.FIRST_ITEM_INDEX and slate.maximum == 11
    item = specs.item_action_spec(vocab_size=12)
    assert item.shape == ()


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: specs.history_spec(0, 10), "max_len"),
        (lambda: specs.history_spec(5, 2), "vocab_size"),
        (lambda: specs.slate_action_spec(11, 12), "slate size"),
    ],
)
def test_specs_reject_bad_sizes(call, message):
    with pytest.raises(ValueError, match=message):
        call()
