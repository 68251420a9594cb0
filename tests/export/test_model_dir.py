"""The model folder (tfrec.export.model_dir): save/load round trip and the one-line error."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from tfrec.export import load_model_dir, save_model_dir


def test_model_folder_round_trip_and_errors(encoder, vocab, tmp_path):
    folder = save_model_dir(tmp_path / "m", encoder, vocab, {"algo": "test"})
    loaded, loaded_vocab, info = load_model_dir(folder)
    ids = tf.constant([[0, 2, 5]])
    np.testing.assert_allclose(loaded.score_items(ids), encoder.score_items(ids), rtol=1e-6)
    assert list(loaded_vocab.ids) == list(vocab.ids) and info == {"algo": "test"}
    with pytest.raises(FileNotFoundError, match="not a tfrec model folder"):
        load_model_dir(tmp_path)
