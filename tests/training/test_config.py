"""Validation of the training config dataclasses (tfrec.training.config)."""

from __future__ import annotations

import dataclasses

import pytest

from tfrec.training.config import AgentConfig, EncoderConfig, OfflineConfig, OnlineConfig


def test_defaults_are_valid_and_frozen():
    config = AgentConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.slate_size = 3
    EncoderConfig()
    OfflineConfig()
    OnlineConfig()


@pytest.mark.parametrize(
    ("factory", "match"),
    [
        (lambda: EncoderConfig(max_len=0), "max_len"),
        (lambda: EncoderConfig(dim=10, num_heads=3), "divisible"),
        (lambda: EncoderConfig(dropout=1.0), "dropout"),
        (lambda: AgentConfig(slate_size=0), "slate_size"),
        (lambda: AgentConfig(correction="ips"), "correction"),
        (lambda: AgentConfig(sampler="zipf"), "sampler"),
        (lambda: AgentConfig(optimizer="rmsprop"), "optimizer"),
        (lambda: AgentConfig(gamma=1.2), "gamma"),
        (lambda: AgentConfig(weight_cap=0.0), "weight_cap"),
        (lambda: AgentConfig(num_greedy=6, slate_size=5), "num_greedy"),
        (lambda: AgentConfig(num_candidates=3, slate_size=5), "num_candidates"),
        (lambda: AgentConfig(entropy_regularization=-1.0), "entropy_regularization"),
        (lambda: OfflineConfig(batch_size=0), "batch_size"),
        (lambda: OnlineConfig(eval_every=0), "eval_every"),
    ],
)
def test_invalid_fields_are_named(factory, match):
    with pytest.raises(ValueError, match=match):
        factory()


def test_catalog_checks():
    AgentConfig(slate_size=5).check_catalog(7)  # 5 items
    with pytest.raises(ValueError, match="exceeds the catalog"):
        AgentConfig(slate_size=6).check_catalog(7)
    with pytest.raises(ValueError, match="num_candidates"):
        AgentConfig(slate_size=2, num_candidates=10).check_catalog(7)
    with pytest.raises(ValueError, match="num_sampled"):
        AgentConfig(sampled_softmax_threshold=5, num_sampled=10).check_catalog(12)


def test_repeat_bias_reaches_the_encoder_from_settings():
    from tfrec.settings import make_config
    from tfrec.training.builders import build_encoder

    assert EncoderConfig().repeat_bias is False
    assert build_encoder(EncoderConfig(dim=8, num_heads=2), 6).repeat_weight is None
    config = make_config(EncoderConfig, {"encoder": {"repeat_bias": True, "dim": 8}}, "encoder")
    encoder = build_encoder(config, 6)
    assert encoder.repeat_bias and float(encoder.repeat_weight) == 0.0
    with pytest.raises(ValueError, match="repeat_bias"):
        make_config(EncoderConfig, {"encoder": {"repeat_bias": "yes"}}, "encoder")
