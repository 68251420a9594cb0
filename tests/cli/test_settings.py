"""YAML settings -> frozen config dataclasses, with flags on top."""

from __future__ import annotations

import pytest

from tfrec.environments import InterestEvolutionConfig
from tfrec.settings import from_mapping, load_settings, make_config
from tfrec.training.config import AgentConfig, EncoderConfig


def test_yaml_sections_map_onto_configs(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text(
        "encoder: {dim: 32, num_layers: 1}\n"
        "agent:\n  learning_rate: 1e-3\n  weight_cap: null\n  correction: importance\n"
        "simulator:\n  slate_size: 3\n  catalog: {num_items: 40}\n"
    )
    settings = load_settings(path)
    assert make_config(EncoderConfig, settings, "encoder") == EncoderConfig(dim=32, num_layers=1)
    agent = make_config(AgentConfig, settings, "agent", correction=None)
    assert agent.learning_rate == 0.001  # YAML 1.1 reads 1e-3 as a string; it is converted
    assert agent.weight_cap is None and agent.correction == "importance"
    sim = make_config(InterestEvolutionConfig, settings, "simulator")
    assert sim.slate_size == 3 and sim.catalog.num_items == 40
    # Flags override the file; None means "flag not given".
    assert make_config(EncoderConfig, settings, "encoder", dim=16, max_len=None).dim == 16
    assert load_settings(None) == {}


@pytest.mark.parametrize(
    "text, message",
    [
        ("agent: {learning_rat: 0.1}", "unknown field 'learning_rat'"),
        ("trainer: {}", "unknown section 'trainer'"),
        ("encoder: {dim: wide}", "encoder.dim must be int"),
        ("encoder: {dim: 1.5}", "encoder.dim must be int"),
        ("agent: {normalize_weights: 3}", "normalize_weights must be bool"),
        ("encoder: {dim: null}", "may not be null"),
        ("- a list", "top level must be a mapping"),
        ("encoder: [1, 2]", "must be a mapping"),
        ("encoder: {dim: 5, num_heads: 2}", "divisible"),
        ("agent: {correction: magic}", "correction must be one of"),
        ("encoder: {dim: [", "not valid YAML"),
    ],
)
def test_bad_settings_name_the_problem(tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        settings = load_settings(path)
        for section, cls in (("encoder", EncoderConfig), ("agent", AgentConfig)):
            make_config(cls, settings, section)


def test_missing_file_and_nested_type():
    with pytest.raises(FileNotFoundError, match="nowhere.yaml"):
        load_settings("nowhere.yaml")
    with pytest.raises(ValueError, match="catalog must be a mapping"):
        from_mapping(InterestEvolutionConfig, {"catalog": 3})


def test_a_nested_override_merges_onto_the_files_section():
    from tfrec.training.supervised import SupervisedConfig

    settings = {"supervised": {"encoder": {"max_len": 7}, "epochs": 3}}
    config = make_config(
        SupervisedConfig, settings, "supervised", encoder={"dim": 32, "dropout": None}
    )
    assert (config.encoder.max_len, config.encoder.dim, config.epochs) == (7, 32, 3)
    assert config.encoder.dropout == 0.3  # the supervised default, not EncoderConfig's 0.1
    assert (
        make_config(SupervisedConfig, {}, "supervised", encoder={"dim": None}).encoder.max_len == 50
    )
    with pytest.raises(ValueError, match="supervised.encoder must be a mapping"):
        make_config(
            SupervisedConfig, {"supervised": {"encoder": 5}}, "supervised", encoder={"dim": 32}
        )
