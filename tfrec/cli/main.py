"""The ``tfrec`` parser, its generated Markdown reference and the console-script entry point."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from tfrec._version import __version__
from tfrec.cli import data, demo, evaluate, serve, train
from tfrec.cli.common import EXIT_USER_ERROR, USER_ERRORS, HelpFormatter, Parser
from tfrec.cli.quiet import library_messages

COMMAND_MODULES = (demo, data, train, evaluate, serve)
"""Modules whose ``register(commands)`` add the subcommands, in help order."""


def build_parser() -> argparse.ArgumentParser:
    """The ``tfrec`` argument parser (subcommands set ``func``)."""
    parser = Parser(
        prog="tfrec",
        description="Reinforcement-learning recommendation on TensorFlow.",
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"tfrec {__version__}")
    parser.add_argument(
        "--traceback", action="store_true", help="show the full traceback of an error"
    )
    parser.add_argument(
        "--verbose",  # tfrec._quiet.VERBOSE_FLAG, read before argparse runs (tests/cli/test_quiet)
        action="store_true",
        help="show the log lines and warnings of TensorFlow, absl, TF-Agents and gym (hidden by "
        "default)",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.register(commands)
    return parser


def cli_reference() -> str:
    """The Markdown CLI reference (``docs/cli.md``): every command's ``--help`` text."""
    parser = build_parser()
    subparsers = next(
        a for a in parser._actions if isinstance(a, argparse._SubParsersAction)
    ).choices
    parts = [
        "# `tfrec` command-line reference",
        "",
        "Generated from the `--help` texts by `python -m tfrec.cli --write-docs docs/cli.md`; "
        "`tests/test_cli.py` fails when this file and the parser disagree.",
        "",
        "User mistakes (missing file, bad column, bad value) print one `tfrec: error: ...` line "
        "on stderr and exit with status 2; add `--traceback` before the command to see the "
        "full traceback. Settings files (`--config run.yaml`) are described in "
        "`tfrec/settings.py`.",
        "",
        "The commands print only their own output: TensorFlow's C++ start-up lines, absl and "
        "TensorFlow log records below ERROR, other libraries' warnings and gym's deprecation "
        "notice are hidden; add `--verbose` before the command to see them.",
        "",
        "## tfrec",
        "",
        "```text",
        parser.format_help().rstrip(),
        "```",
    ]
    for name, sub in subparsers.items():
        parts += ["", f"## tfrec {name}", "", "```text", sub.format_help().rstrip(), "```"]
    return "\n".join(parts) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``tfrec`` console script.

    Args:
      argv: arguments without the program name (default ``sys.argv[1:]``).

    Returns:
      Exit status: 0 on success, 2 on a user error (one line on stderr).
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--write-docs"]:
        if len(argv) != 2:
            print("tfrec: error: --write-docs takes one path", file=sys.stderr)
            return EXIT_USER_ERROR
        Path(argv[1]).write_text(cli_reference(), encoding="utf-8")
        return 0
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    func: Callable[[argparse.Namespace], int] | None = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return EXIT_USER_ERROR
    try:
        with library_messages(args.verbose):
            return func(args)
    except USER_ERRORS as err:
        if args.traceback:
            raise
        message = " ".join(str(err).split()) or type(err).__name__
        print(f"tfrec: error: {message}", file=sys.stderr)
        return EXIT_USER_ERROR
