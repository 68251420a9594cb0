"""Flag tables -> config fields (``tfrec.cli.flags``): renames, None = not given, file below flags."""

from __future__ import annotations

import argparse

import pytest

from tfrec.cli.flags import config_from_flags, flag_values
from tfrec.cli.train import ENCODER_FLAGS, OFFLINE_FLAGS
from tfrec.training.config import EncoderConfig, OfflineConfig


def test_flag_values_renames_and_keeps_none():
    args = argparse.Namespace(max_len=7, layers=3, heads=None, dim=None, dropout=0.5)
    assert flag_values(args, "max_len num_layers=layers num_heads=heads dropout") == {
        "max_len": 7,
        "num_layers": 3,
        "num_heads": None,
        "dropout": 0.5,
    }
    with pytest.raises(AttributeError, match="dim2"):
        flag_values(args, "dim2")


def test_config_from_flags_puts_flags_over_the_file_and_the_file_over_defaults():
    args = argparse.Namespace(
        max_len=None, dim=16, layers=None, heads=None, dropout=None, repeat_bias=None
    )
    settings = {"encoder": {"dim": 32, "num_layers": 1, "max_len": 12}}
    config = config_from_flags(EncoderConfig, settings, "encoder", args, ENCODER_FLAGS)
    assert config == EncoderConfig(dim=16, num_layers=1, max_len=12)
    assert config_from_flags(EncoderConfig, None, "encoder", args, ENCODER_FLAGS) == EncoderConfig(
        dim=16
    )


def test_config_from_flags_extra_values_and_the_configs_own_checks():
    args = argparse.Namespace(steps=5, batch_size=None, seed=3, strategy=None)
    config = config_from_flags(OfflineConfig, {}, "offline", args, OFFLINE_FLAGS, progress=False)
    assert (config.num_train_steps, config.seed, config.progress) == (5, 3, False)
    with pytest.raises(ValueError, match="batch_size"):
        bad = argparse.Namespace(steps=5, batch_size=0, seed=3, strategy=None)
        config_from_flags(OfflineConfig, {}, "offline", bad, OFFLINE_FLAGS)
