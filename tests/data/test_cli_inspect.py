"""`tfrec inspect` prints a data summary; user mistakes give one error line and exit status 2."""

from __future__ import annotations

from tfrec import cli


def test_inspect_prints_summary(capsys):
    status = cli.main(
        [
            "inspect",
            "--users",
            "40",
            "--items",
            "30",
            "--interactions-per-user",
            "6",
            "--max-len",
            "5",
            "--batch-size",
            "8",
        ]
    )
    out = capsys.readouterr().out
    assert status == 0
    assert "users        40" in out
    assert "next-item batch  history [8, 5] int32" in out
    assert "session batch    observation [8, 11, 5]" in out


def test_inspect_on_a_csv_log(tmp_path, capsys):
    path = tmp_path / "events.csv"
    rows = [f"u{u},i{(u + k) % 5},{k}" for u in range(4) for k in range(4)]
    path.write_text("uid,item,timestamp\n" + "\n".join(rows) + "\n")
    status = cli.main(["inspect", "--log", str(path), "--user-col", "uid", "--batch-size", "4"])
    out = capsys.readouterr().out
    assert status == 0 and "interactions 16" in out and "test         4 users" in out


def test_user_errors_are_one_line(tmp_path, capsys):
    assert cli.main(["inspect", "--log", str(tmp_path / "missing.csv")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("tfrec: error: interaction log file not found")
    assert "\n" not in err and "Traceback" not in err
    path = tmp_path / "events.csv"
    path.write_text("user,item,timestamp\nu,i,1\n")
    assert cli.main(["inspect", "--log", str(path), "--user-col", "uid"]) == 2
    assert "'uid' is missing" in capsys.readouterr().err
