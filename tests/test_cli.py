"""The ``tfrec`` command line: --help of every command, the generated reference, user errors as
one line, and every command end to end on tiny settings (slow)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tfrec import cli

COMMANDS = ("demo", "simulate", "train", "evaluate", "export", "recommend", "explain", "inspect")
DOCS = Path(__file__).resolve().parents[1] / "docs" / "cli.md"
TINY_DEMO = [
    "--items", "30", "--episodes", "60", "--epochs", "1", "--iterations", "2",
    "--eval-episodes", "4", "--env-batch-size", "4", "--dim", "8", "--session-steps", "10",
    "--max-len", "5", "--slate-size", "3", "--quiet",
]  # fmt: skip


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.smoke
def test_every_command_has_help(command, capsys):
    assert cli.main([command, "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: tfrec {command}") and "options:" in out


@pytest.mark.smoke
def test_top_level_help_lists_commands(capsys):
    assert cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    assert all(command in out for command in COMMANDS)
    assert cli.main([]) == 2  # no command: help and a non-zero status


def test_cli_reference_is_in_sync_with_the_parser(tmp_path):
    assert DOCS.read_text(encoding="utf-8") == cli.cli_reference(), (
        "docs/cli.md is stale: run `python -m tfrec.cli --write-docs docs/cli.md`"
    )
    assert cli.main(["--write-docs", str(tmp_path / "cli.md")]) == 0
    assert (tmp_path / "cli.md").read_text(encoding="utf-8") == cli.cli_reference()


def test_quickstart_settings_example_is_valid(tmp_path):
    from tfrec.settings import SECTIONS, load_settings, make_config

    text = (DOCS.parent / "quickstart.md").read_text(encoding="utf-8")
    example = text.split("```yaml\n", 1)[1].split("```", 1)[0]
    (tmp_path / "run.yaml").write_text(example)
    settings = load_settings(tmp_path / "run.yaml")
    assert set(settings) == set(SECTIONS)
    for section, cls in SECTIONS.items():
        make_config(cls, settings, section)


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert err and "\n" not in err and "Traceback" not in err, err
    return err


@pytest.fixture
def events(tmp_path) -> Path:
    path = tmp_path / "events.csv"
    rows = [f"u{u},i{(u + k) % 5},{k}" for u in range(4) for k in range(4)]
    path.write_text("uid,item,timestamp\n" + "\n".join(rows) + "\n")
    return path


@pytest.mark.parametrize(
    "argv, message",
    [
        (
            ["simulate", "--output", "x.csv", "--episodes", "zero"],
            "expected a positive integer, got .zero.",
        ),
        (["simulate", "--output", "x.csv", "--episodes", "0"], "must be >= 1"),
        (["simulate", "--output", "x.txt"], "must end in .csv or .parquet"),
        (["train", "--algo", "sarsa"], "invalid choice: 'sarsa'"),
        (["train", "--algo", "supervised"], "trains on a log"),
        (["train", "--algo", "reinforce"], "give exactly one"),
        (["train", "--algo", "reinforce", "--online", "--repeat-bias"], "supervised-model option"),
        (["train", "--algo", "supervised", "--log", "missing.csv"], "not found"),
        (["evaluate", "--model", "nowhere"], "nothing to evaluate on"),
        (["evaluate", "--model", "nowhere", "--simulator"], "model folder nowhere not found"),
        (["recommend", "--model", "nowhere", "--history", "a"], "not found"),
        (["explain", "--model", "."], "not a tfrec model folder|holds no SavedModel"),
        (["export", "--model", "nowhere"], "not found"),
        (["demo", "--items", "-3"], "must be >= 1"),
        (["inspect", "--log", "missing.csv"], "interaction log file not found"),
    ],
)
def test_user_errors_are_one_line(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert cli.main(argv) == 2
    err = _one_line_error(capsys)
    assert err.startswith("tfrec") and "error:" in err
    assert __import__("re").search(message, err), err


def test_bad_column_and_bad_config_are_one_line(events, tmp_path, capsys):
    assert cli.main(["train", "--algo", "supervised", "--log", str(events)]) == 2
    assert "'user' is missing" in _one_line_error(capsys)
    config = tmp_path / "run.yaml"
    config.write_text("supervised: {epoks: 3}\n")
    argv = ["train", "--algo", "supervised", "--log", str(events), "--user-col", "uid"]
    assert cli.main([*argv, "--config", str(config)]) == 2
    assert "unknown field 'epoks'" in _one_line_error(capsys)
    assert cli.main(["recommend", "--model", str(tmp_path)]) == 2
    assert "holds no SavedModel" in _one_line_error(capsys)


def test_traceback_flag_reraises(tmp_path):
    with pytest.raises(FileNotFoundError):
        cli.main(["--traceback", "inspect", "--log", str(tmp_path / "missing.csv")])


@pytest.mark.smoke
def test_inspect_summarises_a_log(events, capsys):
    assert (
        cli.main(["inspect", "--log", str(events), "--user-col", "uid", "--batch-size", "4"]) == 0
    )
    out = capsys.readouterr().out
    assert "interactions 16" in out and "test         4 users" in out


# ------------------------------------------------------------------------ end to end (slow)
@pytest.fixture(scope="module")
def demo_dirs(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo")
    runs, models = root / "runs", root / "saved_models"
    status = cli.main(["demo", *TINY_DEMO, "--output-dir", str(runs), "--export-dir", str(models)])
    assert status == 0
    return runs, models


@pytest.mark.slow
def test_demo_writes_everything(demo_dirs):
    runs, models = demo_dirs
    results = json.loads((runs / "results.json").read_text())
    policies = [row["policy"] for row in results["simulator"]]
    assert policies == [
        "random", "most-popular", "supervised", "reinforce", "history-myopic",
        "history-far-sighted", "oracle-myopic", "far-sighted",
    ]  # fmt: skip
    assert len(results["recommendation"]) == 3
    assert (models / "1" / "saved_model.pb").is_file()
    for name in ("learning_curve.png", "returns.png", "log.csv"):
        assert (runs / name).stat().st_size > 0
    for name in ("supervised", "reinforce"):  # TensorBoard event files
        assert list((runs / "logs" / name).rglob("events.out.tfevents.*"))
    assert (runs / "reinforce" / "encoder.keras").is_file()


@pytest.mark.slow
def test_recommend_and_explain_from_the_export(demo_dirs, capsys, tmp_path):
    runs, models = demo_dirs
    log = runs / "log.csv"
    argv = ["--model", str(models), "--log", str(log), "--user", "episode_0", "--json"]
    assert cli.main(["recommend", *argv]) == 0
    out = json.loads(capsys.readouterr().out)
    assert len(out["recommendations"]) == 3 and out["model"].endswith("1")
    recommended = [row["item_id"] for row in out["recommendations"]]
    plot = tmp_path / "why.png"
    assert cli.main(["explain", *argv, "--k", "3", "--plot", str(plot)]) == 0
    explanation = json.loads(capsys.readouterr().out)
    assert [r["item_id"] for r in explanation["recommendations"]] == recommended
    assert sum(h["weight"] for h in explanation["history"]) == pytest.approx(1.0)
    assert plot.stat().st_size > 0
    assert cli.main(["recommend", "--model", str(models), "--history", "item_1,nope"]) == 0
    assert "item_" in capsys.readouterr().out


@pytest.mark.slow
def test_evaluate_export_and_train(demo_dirs, capsys, tmp_path):
    runs, _ = demo_dirs
    log, supervised = str(runs / "log.csv"), str(runs / "supervised")
    argv = ["evaluate", "--model", supervised, "--log", log, "--simulator", "--episodes", "4"]
    assert cli.main([*argv, "--env-batch-size", "4", "--slate-size", "3", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert [r["model"] for r in result["ranking"]] == [
        "model",
        "random",
        "most-popular",
        "item-knn",
    ]
    assert {"hr@10", "ndcg@20", "coverage@10"} <= set(result["ranking"][0])
    # model, random, most-popular, history-myopic, history-far-sighted, oracle-myopic, far-sighted
    assert result["simulator"][0]["policy"] == "model" and len(result["simulator"]) == 7

    export = tmp_path / "serving" / "mine"
    assert cli.main(["export", "--model", supervised, "--output", str(export), "--k", "2"]) == 0
    assert (export / "1" / "saved_model.pb").is_file()
    assert (tmp_path / "serving" / "models.config").is_file()

    out = tmp_path / "sup"
    train = ["train", "--log", log, "--quiet", "--batch-size", "16"]
    small = ["--max-len", "5", "--dim", "8", "--layers", "1", "--heads", "1"]
    assert (
        cli.main([*train, "--algo", "supervised", "--output", str(out), "--epochs", "1", *small])
        == 0
    )
    assert (out / "encoder.keras").is_file() and (out / "learning_curve.png").is_file()
    assert list((out / "logs").rglob("events.out.tfevents.*"))

    offline = tmp_path / "offline"
    argv = [*train, "--algo", "reinforce", "--warm-start", str(out), "--steps", "2"]
    assert cli.main([*argv, "--output", str(offline), "--json"]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["algo"] == "reinforce"
    assert list((offline / "checkpoints").glob("ckpt-*"))

    config = tmp_path / "online.yaml"
    config.write_text(
        "simulator: {session_steps_unused: 1}\n".replace("session_steps_unused: 1", "max_steps: 8")
        + "online: {collect_steps_per_iteration: 2, eval_episodes: 4, batch_size: 4}\n"
    )
    online = tmp_path / "online"
    argv = ["train", "--algo", "reinforce", "--online", "--items", "30", "--steps", "2"]
    argv += ["--env-batch-size", "4", "--slate-size", "3", *small, "--config", str(config)]
    assert cli.main([*argv, "--output", str(online), "--quiet", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert len(summary["eval_returns"]) >= 2
    assert list((online / "logs").rglob("events.out.tfevents.*"))
