"""A quiet ``tfrec`` command: no TensorFlow / absl / gym log line unless ``--verbose``.

The end-to-end checks run the command in a fresh process (the start-up lines are printed while
TensorFlow is imported, so only a new interpreter shows them); a few seconds each.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from tfrec import _quiet
from tfrec.cli.quiet import library_messages

# What TensorFlow's C++ logging, absl, TF-Agents' gym import and the Python loggers print.
LIBRARY_LINE = re.compile(
    r"^[IWEF]\d{4} |I0000|W0000|E0000|oneDNN|cuda|cpu_feature_guard|absl::InitializeLog"
    r"|WARNING:absl|WARNING:tensorflow|gym|Gym|migration_guide|DeprecationWarning",
    re.MULTILINE,
)


def _tfrec(*argv: str, cwd: Path) -> subprocess.CompletedProcess:
    """``python -m tfrec.cli ARGV`` in a fresh interpreter, with the user's default log level."""
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    return subprocess.run(
        [sys.executable, "-m", "tfrec.cli", *argv],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_help_prints_no_library_line(tmp_path):
    run = _tfrec("--help", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("usage: tfrec")
    assert not LIBRARY_LINE.search(run.stderr), run.stderr


def test_simulate_prints_only_its_own_output(tmp_path):
    tiny = ["--episodes", "3", "--items", "12", "--env-batch-size", "2", "--session-steps", "4"]
    run = _tfrec("simulate", "--output", "log.csv", *tiny, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stderr == "", run.stderr
    assert "wrote" in run.stdout and (tmp_path / "log.csv").is_file()


@pytest.mark.slow
def test_tiny_demo_prints_no_library_line(tmp_path):
    """The demo exports with PolicySaver (absl warnings) and writes SavedModels (TF warnings)."""
    tiny = ["--items", "30", "--episodes", "40", "--epochs", "1", "--iterations", "1"]
    tiny += ["--eval-episodes", "2", "--env-batch-size", "4", "--dim", "8", "--session-steps"]
    tiny += ["6", "--max-len", "5", "--slate-size", "3", "--quiet"]
    run = _tfrec("demo", *tiny, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert not LIBRARY_LINE.search(run.stderr), run.stderr
    assert (tmp_path / "saved_models" / "demo").is_dir()


def test_verbose_shows_the_library_lines(tmp_path):
    run = _tfrec("--verbose", "--help", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert LIBRARY_LINE.search(run.stderr), run.stderr


def test_user_error_stays_one_line_in_a_fresh_process(tmp_path):
    run = _tfrec("simulate", "--output", "log.txt", cwd=tmp_path)
    assert run.returncode == 2
    assert run.stderr.strip().splitlines() == [
        "tfrec: error: --output log.txt must end in .csv or .parquet."
    ]


@pytest.mark.parametrize(
    "argv, orig_argv, expected",
    [
        (["/venv/bin/tfrec", "demo"], ["/venv/bin/python", "/venv/bin/tfrec", "demo"], True),
        (["C:\\venv\\Scripts\\tfrec.exe"], [], True),
        (["-m", "--help"], ["python", "-m", "tfrec.cli", "--help"], True),
        (["-m"], ["python", "-X", "importtime", "-m", "tfrec.cli"], True),
        (["train.py"], ["python", "train.py"], False),
        (["-m", "pytest"], ["python", "-m", "pytest"], False),
        ([""], ["python"], False),
    ],
)
def test_cli_process(argv, orig_argv, expected):
    assert _quiet.cli_process(argv, orig_argv) is expected


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["tfrec", "--verbose", "demo"], True),
        (["tfrec", "--traceback", "--verbose", "train"], True),
        (["tfrec", "demo", "--verbose"], False),  # a command's own options: not the global flag
        (["tfrec", "demo"], False),
        (["tfrec"], False),
    ],
)
def test_verbose_requested(argv, expected):
    assert _quiet.verbose_requested(argv) is expected


def test_hidden_stderr_drops_output_unless_the_block_fails(capfd):
    with _quiet.hidden_stderr():
        os.write(2, b"C++ start-up line\n")
        print("python notice", file=sys.stderr)
    assert capfd.readouterr().err == ""
    with pytest.raises(ImportError, match="broken"):
        with _quiet.hidden_stderr():
            os.write(2, b"why it broke\n")
            raise ImportError("broken")
    assert capfd.readouterr().err == "why it broke\n"
    with _quiet.hidden_stderr(enabled=False):
        os.write(2, b"shown\n")
    assert capfd.readouterr().err == "shown\n"


def test_library_messages_hides_foreign_warnings_and_logs_then_restores(caplog):
    from absl import logging as absl_logging

    absl = logging.getLogger("absl")
    absl.setLevel(logging.INFO)
    verbosity = absl_logging.get_verbosity()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with caplog.at_level(logging.INFO), library_messages(verbose=False):
            # What TensorFlow does around SavedModel writing: the flag's level comes back.
            absl_logging.set_verbosity(absl_logging.get_verbosity())
            absl_logging.warning("Could not serialize policy.distribution()")
            absl.error("a real error")
            warnings.warn_explicit("old API", DeprecationWarning, "gym.py", 1, module="gym")
            warnings.warn_explicit("tfrec says", UserWarning, "x.py", 1, module="tfrec.data.x")
    assert [r.getMessage() for r in caplog.records] == ["a real error"]
    assert [str(w.message) for w in caught] == ["tfrec says"]
    assert absl.level == logging.INFO and absl_logging.get_verbosity() == verbosity
    with caplog.at_level(logging.INFO), library_messages(verbose=True):
        absl.warning("shown")
    assert "shown" in caplog.text


def test_the_quiet_start_reads_the_parsers_verbose_flag():
    from tfrec.cli.main import build_parser

    flags = {flag for action in build_parser()._actions for flag in action.option_strings}
    assert _quiet.VERBOSE_FLAG in flags
