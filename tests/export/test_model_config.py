"""models.config: text proto written, parsed back, with each version policy."""

from __future__ import annotations

from pathlib import Path

import pytest
from google.protobuf import text_format
from tensorflow_serving.config import model_server_config_pb2

from tfrec.export.model_config import write_models_config


def _parse(path: Path) -> model_server_config_pb2.ModelServerConfig:
    return text_format.Parse(path.read_text(), model_server_config_pb2.ModelServerConfig())


def test_two_models_latest(tmp_path: Path) -> None:
    path = write_models_config(
        {"sasrec": "/models/sasrec", "reinforce": "/models/reinforce"}, tmp_path / "models.config"
    )
    expected = """model_config_list {
  config {
    name: "sasrec"
    base_path: "/models/sasrec"
    model_platform: "tensorflow"
    model_version_policy {
      latest {
        num_versions: 1
      }
    }
  }
  config {
    name: "reinforce"
    base_path: "/models/reinforce"
    model_platform: "tensorflow"
    model_version_policy {
      latest {
        num_versions: 1
      }
    }
  }
}
"""
    assert path.read_text() == expected
    assert [c.name for c in _parse(path).model_config_list.config] == ["sasrec", "reinforce"]


def test_version_policies_and_list_of_paths(tmp_path: Path) -> None:
    paths = [tmp_path / "a", tmp_path / "b"]
    config = _parse(write_models_config(paths, tmp_path / "m.config", version_policy=[1, 3]))
    entries = config.model_config_list.config
    assert [e.name for e in entries] == ["a", "b"]
    assert entries[0].base_path == str(tmp_path / "a")
    assert list(entries[0].model_version_policy.specific.versions) == [1, 3]
    config = _parse(write_models_config({"m": "/m"}, tmp_path / "n.config", version_policy=2))
    assert config.model_config_list.config[0].model_version_policy.latest.num_versions == 2
    config = _parse(write_models_config({"m": "/m"}, tmp_path / "o.config", version_policy="all"))
    assert config.model_config_list.config[0].model_version_policy.HasField("all")


@pytest.mark.parametrize(
    "models, policy, error, match",
    [
        ({}, "latest", ValueError, "models is empty"),
        ({"m": "/m"}, "newest", ValueError, "not 'latest'"),
        ({"m": "/m"}, 0, ValueError, ">= 1"),
        ({"m": "/m"}, ["1"], TypeError, "integer versions"),
        (["/x/m", "/y/m"], "latest", ValueError, "appears twice"),
    ],
)
def test_bad_arguments(tmp_path: Path, models, policy, error, match) -> None:
    with pytest.raises(error, match=match):
        write_models_config(models, tmp_path / "models.config", version_policy=policy)
    assert not (tmp_path / "models.config").exists()
