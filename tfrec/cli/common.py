"""Shared pieces of the ``tfrec`` subcommands: parser classes, flags, data loading, output."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

    from tfrec.data import InteractionLog

EXIT_USER_ERROR = 2
HELP_WIDTH = 100
USER_ERRORS = (ValueError, TypeError, OSError)


def add_command(commands: Any, name: str, help_text: str, func: Any) -> argparse.ArgumentParser:
    """Adds subcommand ``name`` (help = description = ``help_text``) that runs ``func(args)``."""
    sub = commands.add_parser(
        name, help=help_text, description=help_text, formatter_class=HelpFormatter
    )
    sub.set_defaults(func=func)
    return sub


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Help with defaults, at a fixed width (so ``docs/cli.md`` does not depend on the terminal)."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog, width=HELP_WIDTH, max_help_position=32)

    def _get_help_string(self, action: argparse.Action) -> str:
        if action.default is None or action.default is False or action.default is argparse.SUPPRESS:
            return action.help or ""
        return super()._get_help_string(action)


class Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose usage errors are one line on stderr (exit status 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USER_ERROR, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def say(args: argparse.Namespace, *lines: str) -> None:
    """Prints ``lines`` unless ``--json`` asked for machine output only."""
    if not getattr(args, "json", False):
        print(*lines, sep="\n", flush=True)


def section(args: argparse.Namespace, title: str) -> None:
    """Prints a section header (human output only)."""
    say(args, "", f"== {title} " + "=" * max(3, 70 - len(title)))


def positive_int(text: str) -> int:
    """argparse type: an int >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def add_log_source(parser: argparse.ArgumentParser, synthetic: bool = False) -> None:
    """``--log`` / ``--movielens`` (+ column names); with ``synthetic``, a generated default."""
    title = "data source" + (" (default: a generated synthetic log)" if synthetic else "")
    source = parser.add_argument_group(title)
    source.add_argument("--log", help="interaction log file (.csv, .tsv or .parquet)")
    source.add_argument("--movielens", metavar="PATH", help="local ml-100k folder")
    for column in ("user", "item", "timestamp"):
        source.add_argument(f"--{column}-col", default=column, help=f"{column} column of --log")
    source.add_argument("--reward-col", help="reward column of --log (default: 'reward' if any)")
    if synthetic:
        source.add_argument("--users", type=positive_int, default=2000, help="synthetic users")
        source.add_argument("--items", type=positive_int, default=1000, help="synthetic items")
        source.add_argument(
            "--interactions-per-user", type=float, default=20.0, help="synthetic mean per user"
        )


def has_log_source(args: argparse.Namespace) -> bool:
    """Whether ``--log`` or ``--movielens`` was given."""
    return bool(getattr(args, "log", None) or getattr(args, "movielens", None))


def load_log(args: argparse.Namespace) -> InteractionLog:
    """The ``InteractionLog`` selected by the data-source flags (``--log``, ``--movielens``, or a
    generated synthetic log where the command offers one); a ``--log`` with the impression
    columns (``slate``, ``position``, ``clicked``) is read as an ``ImpressionLog``."""
    from tfrec.data import InteractionLog, generate_log, load_movielens_100k

    if args.log and args.movielens:
        raise ValueError("give either --log or --movielens, not both.")
    if args.log:
        log = InteractionLog.from_file(
            args.log,
            user_col=args.user_col,
            item_col=args.item_col,
            timestamp_col=args.timestamp_col,
            reward_col=args.reward_col,
        )
        if {"slate", "position", "clicked"} <= set(log.df.columns):  # every shown slate
            from tfrec.data.impressions import ImpressionLog

            return ImpressionLog.from_dataframe(log.df)
        return log
    if args.movielens:
        return load_movielens_100k(args.movielens)
    if not hasattr(args, "users"):
        raise ValueError("give an interaction log: --log FILE or --movielens PATH.")
    return generate_log(
        args.users, args.items, args.interactions_per_user, seed=args.seed, with_propensity=True
    )


def item_titles(log: InteractionLog | None, column: str = "title") -> dict[str, str]:
    """Item id -> title from a log's title column (empty when it has none)."""
    if log is None or column not in log.df.columns:
        return {}
    frame = log.df[["item", column]].drop_duplicates("item")
    return dict(zip(frame["item"].astype(str), frame[column].astype(str)))


def simulator_config(args: argparse.Namespace, settings: dict) -> Any:
    """``InterestEvolutionConfig`` from the settings file's ``simulator`` section and the flags
    (``--items``, ``--slate-size``, ``--max-len``, ``--session-steps``) on top."""
    from tfrec.settings import make_config

    values = dict(settings.get("simulator", {}))
    catalog = dict(values.pop("catalog", {}) or {})
    if getattr(args, "items", None) is not None:
        catalog["num_items"] = args.items
    from tfrec.environments import InterestEvolutionConfig

    return make_config(
        InterestEvolutionConfig,
        {"simulator": {**values, "catalog": catalog}},
        "simulator",
        slate_size=getattr(args, "slate_size", None),
        max_len=getattr(args, "max_len", None),
        max_steps=getattr(args, "session_steps", None),
    )


def make_env(config: Any, batch_size: int, seed: int) -> Any:
    """An ``InterestEvolutionEnv`` of ``batch_size`` users."""
    from tfrec.environments import InterestEvolutionEnv

    return InterestEvolutionEnv(config, batch_size=batch_size, seed=seed)


def format_frame(frame: pd.DataFrame, columns: Sequence[str] | None = None) -> str:
    """A DataFrame as an aligned text table (4 decimals), optionally a subset of columns."""
    frame = frame[list(columns)] if columns else frame
    return frame.to_string(index=False, float_format=lambda v: f"{v:.4f}")


def returns_table(frame: pd.DataFrame) -> str:
    """The simulator comparison as a text table with the 95% CI half width."""
    shown = frame.assign(ci95=(frame["return_upper"] - frame["return_lower"]) / 2)
    return format_frame(
        shown, ["policy", "mean_return", "ci95", "ctr", "mean_length", "coverage", "diversity"]
    )


def write_json(path: Path, data: Any) -> None:
    """Writes ``data`` as indented JSON (numpy values converted), creating folders."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, default=json_default) + "\n", encoding="utf-8")


def json_default(value: Any) -> Any:
    """``json.dumps`` fallback for numpy scalars/arrays and dataclasses."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if dataclasses.is_dataclass(value):
        return dataclasses.asdict(value)
    return str(value)


def latest_version(path: str | os.PathLike) -> Path:
    """A SavedModel folder: ``path`` itself, or its highest numeric version subfolder."""
    folder = Path(path)
    if not folder.exists():
        raise FileNotFoundError(f"model folder {folder} not found.")
    if (folder / "saved_model.pb").is_file():
        return folder
    versions = [
        p for p in folder.iterdir() if p.name.isdigit() and (p / "saved_model.pb").is_file()
    ]
    if not versions:
        raise FileNotFoundError(
            f"{folder} holds no SavedModel (saved_model.pb) nor numeric version folders: export "
            "a model first (tfrec export --model DIR --output BASE)."
        )
    return max(versions, key=lambda p: int(p.name))


def model_folder(path: str | os.PathLike) -> Path:
    """A model folder of ``tfrec train``, or the latest export version under an export base."""
    folder = Path(path)
    if not folder.exists():
        raise FileNotFoundError(f"model folder {folder} not found.")
    from tfrec.export import ENCODER_FILE

    if (folder / ENCODER_FILE).is_file():
        return folder
    return latest_version(folder)


def history_ids(args: argparse.Namespace) -> tuple[list[str], InteractionLog | None]:
    """The history item ids from ``--history a,b,c`` or ``--user U`` (with ``--log``)."""
    log = load_log(args) if has_log_source(args) else None
    if args.history is not None and args.user is not None:
        raise ValueError("give either --history or --user, not both.")
    if args.history is not None:
        ids = [item.strip() for item in args.history.split(",") if item.strip()]
        if not ids:
            raise ValueError("--history is empty: give item ids separated by commas.")
        return ids, log
    if args.user is None:
        raise ValueError("give a history: --history ID,ID,... or --user USER with --log.")
    if log is None:
        raise ValueError("--user needs the log that holds the user's history (--log FILE).")
    rows = log.df[log.df["user"] == args.user]
    if rows.empty:
        raise ValueError(f"user {args.user!r} is not in the log {log.source}.")
    return [str(item) for item in rows["item"]], log


def add_common_flags(parser: argparse.ArgumentParser, json_help: str = "print JSON only") -> None:
    """``--seed`` and ``--json``."""
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    parser.add_argument("--json", action="store_true", help=json_help)


def add_model_flags(parser: argparse.ArgumentParser) -> None:
    """Encoder flags (``--max-len``, ``--dim``, ``--layers``, ``--heads``, ``--dropout``)."""
    group = parser.add_argument_group("encoder (default: the --config file, else built-in)")
    group.add_argument("--max-len", type=positive_int, help="history window length")
    group.add_argument("--dim", type=positive_int, help="model width")
    group.add_argument("--layers", type=positive_int, help="Transformer blocks")
    group.add_argument("--heads", type=positive_int, help="attention heads")
    group.add_argument("--dropout", type=float, help="dropout rate")


def add_simulator_flags(parser: argparse.ArgumentParser, items: int | None = 200) -> None:
    """Simulator flags (``--items``, ``--session-steps``, ``--env-batch-size``)."""
    group = parser.add_argument_group("simulator (interest evolution, RecSim style)")
    group.add_argument("--items", type=positive_int, default=items, help="catalog size")
    group.add_argument("--session-steps", type=positive_int, help="step cap of a session")
    group.add_argument(
        "--env-batch-size", type=positive_int, default=32, help="users simulated in parallel"
    )


def add_history_flags(parser: argparse.ArgumentParser) -> None:
    """``--model`` and a history (``--history`` or ``--user`` with a log)."""
    parser.add_argument("--model", required=True, help="model folder or SavedModel folder")
    parser.add_argument("--history", help="item ids, oldest first, comma separated")
    parser.add_argument("--user", help="take this user's history from --log")
    parser.add_argument("--title-col", default="title", help="title column of --log")
    add_log_source(parser)
