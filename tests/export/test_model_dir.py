"""The model folder (tfrec.export.model_dir): save/load round trip and the one-line error."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from tfrec.data import ItemVocabulary
from tfrec.encoders import SequenceEncoder
from tfrec.export import load_model_dir, save_model_dir


@pytest.fixture(scope="module")
def small_encoder():
    tf.keras.utils.set_random_seed(1)
    model = SequenceEncoder(vocab_size=7, max_len=3, dim=8, num_layers=1, num_heads=2, dropout=0.0)
    model(tf.zeros([1, 3], tf.int32))
    return model


def test_model_folder_round_trip_and_errors(small_encoder, tmp_path):
    encoder = small_encoder
    vocab = ItemVocabulary(np.array(["a", "b", "c", "d", "e"]))
    folder = save_model_dir(tmp_path / "m", encoder, vocab, {"algo": "test"})
    loaded, loaded_vocab, info = load_model_dir(folder)
    ids = tf.constant([[0, 2, 5]])
    np.testing.assert_allclose(loaded.score_items(ids), encoder.score_items(ids), rtol=1e-6)
    assert list(loaded_vocab.ids) == list(vocab.ids) and info == {"algo": "test"}
    with pytest.raises(FileNotFoundError, match="not a tfrec model folder"):
        load_model_dir(tmp_path)
