"""Install metadata and the one-line hints when TF-Agents is missing or broken (README "Install").

The hints are checked in a subprocess in which a path finder hides some installed modules, so
that they look uninstalled.
"""

from __future__ import annotations

import configparser
import subprocess
import sys
from pathlib import Path

import pytest

import tfrec

ROOT = Path(__file__).resolve().parents[1]

HIDE = """
import sys
from importlib.machinery import PathFinder

HIDDEN = {hidden!r}

class HidingFinder(PathFinder):
    @classmethod
    def find_spec(cls, name, path=None, target=None):
        if name.partition(".")[0] in HIDDEN:
            return None
        return super().find_spec(name, path, target)

sys.meta_path[:] = [HidingFinder if f is PathFinder else f for f in sys.meta_path]
"""


def _run(hidden: set[str], body: str) -> subprocess.CompletedProcess:
    code = HIDE.format(hidden=hidden) + body
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=180, cwd=ROOT
    )


@pytest.mark.smoke
def test_missing_tf_agents_import_tfrec_warns_and_data_parts_fail_with_the_command():
    out = _run(
        {"tf_agents"},
        "import warnings\n"
        "with warnings.catch_warnings(record=True) as caught:\n"
        "    warnings.simplefilter('always')\n"
        "    import tfrec\n"
        "print('WARN', *[str(w.message) for w in caught if 'TF-Agents' in str(w.message)])\n"
        "try:\n"
        "    import tfrec.agents\n"
        "except ModuleNotFoundError as e:\n"
        "    print('ERR', e)\n",
    )
    hint = tfrec.install_hint("tf_agents")
    if sys.version_info >= (3, 12):
        assert hint == "pip install --no-deps tf-agents==0.19.0"
    else:
        assert hint == "pip install tf-agents==0.19.0"
    lines = out.stdout.splitlines()
    warn = [line for line in lines if line.startswith("WARN ")]
    err = [line for line in lines if line.startswith("ERR ")]
    assert len(warn) == 1 and hint in warn[0], out.stdout + out.stderr
    assert len(err) == 1 and hint in err[0] and "tf_agents" in err[0], out.stdout + out.stderr


def test_broken_tf_agents_names_the_missing_import_and_its_requirement():
    out = _run(
        {"gym"},
        "import tfrec\n"
        "try:\n"
        "    import tf_agents.environments.parallel_py_environment\n"
        "except ModuleNotFoundError as e:\n"
        "    print('ERR', e)\n",
    )
    err = [line for line in out.stdout.splitlines() if line.startswith("ERR ")]
    assert err == [
        "ERR No module named 'gym' (TF-Agents imports it): run "
        '`pip install "gym>=0.17.0,<=0.23.0"`'
    ], out.stdout + out.stderr


def test_an_unrelated_missing_module_keeps_the_plain_error():
    out = _run(
        {"gym"},
        "import tfrec\n"
        "try:\n"
        "    import gym\n"
        "except ModuleNotFoundError as e:\n"
        "    print('ERR', e)\n",
    )
    assert "ERR No module named 'gym'" in out.stdout and "run `" not in out.stdout, (
        out.stdout + out.stderr
    )


def _metadata() -> configparser.ConfigParser:
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    return cfg


def test_setup_cfg_declares_tf_agents_runtime_imports_and_python_range():
    """Every requirement the hints name is declared, tf-agents only where its pins install."""
    if not (ROOT / "setup.cfg").is_file():
        pytest.skip("no checkout (installed package)")
    cfg = _metadata()
    requires = [
        line.strip()
        for line in cfg["options"]["install_requires"].splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]
    assert 'tf-agents==0.19.0; python_version < "3.12"' in requires
    for requirement in tfrec._TF_AGENTS_IMPORTS.values():
        name = requirement.split(">")[0].split("=")[0].split("<")[0]
        assert any(r.split(";")[0].startswith(name) for r in requires), requirement
    assert cfg["options"]["python_requires"] == ">=3.11,<3.14"
    classifiers = cfg["metadata"]["classifiers"]
    for version in ("3.11", "3.12", "3.13"):
        assert f"Python :: {version}" in classifiers


def test_find_python_picks_a_supported_interpreter_and_refuses_others():
    script = ROOT / ".ci" / "find-python"
    if not script.is_file():
        pytest.skip("no checkout (installed package)")
    out = subprocess.run(["bash", str(script)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    version = subprocess.run(
        [out.stdout.strip(), "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout.strip()
    assert version in {"3.11", "3.12", "3.13"}
    mine = f"{sys.version_info[0]}.{sys.version_info[1]}"
    same = subprocess.run(["bash", str(script), mine], capture_output=True, text=True, timeout=60)
    assert same.returncode == 0 and same.stdout.strip(), same.stderr
    assert version >= mine  # the newest found first
    refused = subprocess.run(["bash", str(script), "3.10"], capture_output=True, text=True)
    assert refused.returncode == 1 and "not supported" in refused.stderr
