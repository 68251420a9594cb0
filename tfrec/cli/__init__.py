"""``tfrec`` command line: thin wrappers around library calls, one small function per subcommand.

Commands (``tfrec COMMAND --help`` for each; reference in ``docs/cli.md``)::

    tfrec demo        simulate -> supervised -> REINFORCE -> evaluate -> export -> explain
    tfrec simulate    write a logged dataset (CSV / Parquet) with true propensities
    tfrec train       --algo supervised|reinforce, offline on a log or --online in the simulator
    tfrec evaluate    ranking metrics on a log and/or simulator returns against baselines
    tfrec export      a model folder -> TF Serving SavedModel version
    tfrec recommend   top-K item ids (and titles) from a SavedModel, plain TensorFlow
    tfrec explain     recommendations with the attention weight of each history item
    tfrec inspect     build the data layer on a log and print a summary

User mistakes (missing file, bad column, invalid value) print one ``tfrec: error: ...`` line and
exit with status 2, without a traceback (``tfrec --traceback ...`` shows it). The commands print
only their own output: TensorFlow's C++ start-up lines, gym's notice (``tfrec/_quiet.py``), absl
and TensorFlow log records below ERROR and other libraries' warnings (``tfrec/cli/quiet.py``) are
hidden unless ``tfrec --verbose ...``.
"""

from tfrec.cli.main import build_parser, cli_reference, main

__all__ = ["build_parser", "cli_reference", "main"]
