"""``tfrec`` command line: thin wrappers around library calls, one small function per subcommand.

Usage::

    tfrec demo                      # synthetic log -> vocabulary, sequences, splits, a batch
    tfrec demo --log events.csv     # the same on your own log (CSV / TSV / Parquet)
    tfrec demo --movielens PATH     # the same on a local MovieLens-100k folder

User mistakes (missing file, bad column, invalid value) print one ``tfrec: error: ...`` line and
exit with status 2, without a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from tfrec._version import __version__

if TYPE_CHECKING:
    from tfrec.data import InteractionLog

EXIT_USER_ERROR = 2


def _add_data_source(parser: argparse.ArgumentParser) -> None:
    source = parser.add_argument_group("data source (default: a generated synthetic log)")
    source.add_argument("--log", help="interaction log file (.csv, .tsv or .parquet)")
    source.add_argument("--movielens", metavar="PATH", help="local ml-100k folder")
    source.add_argument("--users", type=int, default=2000, help="synthetic users")
    source.add_argument("--items", type=int, default=1000, help="synthetic catalog size")
    source.add_argument(
        "--interactions-per-user", type=float, default=20.0, help="synthetic mean per user"
    )
    source.add_argument("--seed", type=int, default=0, help="random seed")
    for column in ("user", "item", "timestamp"):
        source.add_argument(
            f"--{column}-col", default=column, help=f"{column} column of --log (default {column})"
        )


def load_log(args: argparse.Namespace) -> InteractionLog:
    """The `InteractionLog` selected by the data-source flags (`--log`, `--movielens`, or a
    generated synthetic log)."""
    from tfrec.data import InteractionLog, generate_log, load_movielens_100k

    if args.log and args.movielens:
        raise ValueError("give either --log or --movielens, not both.")
    if args.log:
        return InteractionLog.from_file(
            args.log,
            user_col=args.user_col,
            item_col=args.item_col,
            timestamp_col=args.timestamp_col,
        )
    if args.movielens:
        return load_movielens_100k(args.movielens)
    return generate_log(
        args.users, args.items, args.interactions_per_user, seed=args.seed, with_propensity=True
    )


def _stats(values: np.ndarray) -> str:
    if len(values) == 0:
        return "none"
    return (
        f"min {values.min()}, median {np.median(values):g}, mean {values.mean():.1f}, "
        f"max {values.max()}"
    )


def run_demo(args: argparse.Namespace) -> int:
    """``tfrec demo``: builds the data layer on a log and prints a summary."""
    from tfrec.data import ItemVocabulary, build_sequences, leave_last_out, next_item_dataset
    from tfrec.data.pipeline import session_dataset

    log = load_log(args)
    log, report = log.filter(args.min_user_interactions, args.min_item_interactions, k_core=True)
    vocab = ItemVocabulary.from_items(log.df["item"])
    seqs = build_sequences(log, vocab)
    train, valid, test = leave_last_out(seqs)
    batch = next(iter(next_item_dataset(train, args.max_len, args.batch_size, seed=args.seed)))
    sessions = next(iter(session_dataset(train, args.max_len, 10, args.batch_size, seed=args.seed)))
    lines = [
        f"log          {log.source}",
        f"filter       {report}",
        f"users        {log.num_users}",
        f"items        {log.num_items} (vocabulary size {vocab.size} incl. padding and OOV)",
        f"interactions {log.num_interactions} (propensity logged: {log.has_propensity})",
        f"seq lengths  {_stats(seqs.lengths)}",
        f"train        {len(train)} users, {train.num_interactions} interactions",
        f"valid        {len(valid)} users ({valid.num_skipped_users} too short, train only)",
        f"test         {len(test)} users",
        "next-item batch  "
        + ", ".join(f"{k} {list(v.shape)} {v.dtype.name}" for k, v in batch.items()),
        f"session batch    observation {list(sessions.observation.shape)}, "
        f"action {list(sessions.action.shape)}",
    ]
    print("\n".join(lines))
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The ``tfrec`` argument parser (subcommands set ``func``)."""
    parser = argparse.ArgumentParser(
        prog="tfrec", description="Reinforcement-learning recommendation on TensorFlow."
    )
    parser.add_argument("--version", action="version", version=f"tfrec {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = commands.add_parser("demo", help="build the data layer on a log and print a summary")
    _add_data_source(demo)
    demo.add_argument("--max-len", type=int, default=20, help="history window length")
    demo.add_argument("--batch-size", type=int, default=256)
    demo.add_argument("--min-user-interactions", type=int, default=3)
    demo.add_argument("--min-item-interactions", type=int, default=1)
    demo.set_defaults(func=run_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``tfrec`` console script.

    Args:
      argv: arguments without the program name (default ``sys.argv[1:]``).

    Returns:
      Exit status: 0 on success, 2 on a user error (one line on stderr).
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    func: Callable[[argparse.Namespace], int] | None = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return EXIT_USER_ERROR
    try:
        return func(args)
    except (ValueError, OSError) as err:
        print(f"tfrec: error: {err}", file=sys.stderr)
        return EXIT_USER_ERROR


if __name__ == "__main__":
    sys.exit(main())
