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
exit with status 2, without a traceback (``tfrec --traceback ...`` shows it).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import io
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import numpy as np

from tfrec._version import __version__

if TYPE_CHECKING:
    import pandas as pd

    from tfrec.data import InteractionLog

EXIT_USER_ERROR = 2
HELP_WIDTH = 100
USER_ERRORS = (ValueError, TypeError, OSError)


class _Formatter(argparse.ArgumentDefaultsHelpFormatter):
    """Help with defaults, at a fixed width (so ``docs/cli.md`` does not depend on the terminal)."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog, width=HELP_WIDTH, max_help_position=32)

    def _get_help_string(self, action: argparse.Action) -> str:
        if action.default is None or action.default is False or action.default is argparse.SUPPRESS:
            return action.help or ""
        return super()._get_help_string(action)


class _Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose usage errors are one line on stderr (exit status 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USER_ERROR, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


# ------------------------------------------------------------------------------------- helpers
def _quiet_imports() -> None:
    """Imports TF-Agents with its ``gym`` dependency's unrelated upgrade notice silenced, so that
    stderr holds only tfrec's own messages (tfrec does not use gym)."""
    with contextlib.redirect_stderr(io.StringIO()):
        with contextlib.suppress(ImportError):
            import gym  # noqa: F401
        import tf_agents  # noqa: F401


def _say(args: argparse.Namespace, *lines: str) -> None:
    if not getattr(args, "json", False):
        print(*lines, sep="\n", flush=True)


def _section(args: argparse.Namespace, title: str) -> None:
    _say(args, "", f"== {title} " + "=" * max(3, 70 - len(title)))


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _add_log_source(parser: argparse.ArgumentParser, synthetic: bool = False) -> None:
    """``--log`` / ``--movielens`` (+ column names); with ``synthetic``, a generated default."""
    title = "data source" + (" (default: a generated synthetic log)" if synthetic else "")
    source = parser.add_argument_group(title)
    source.add_argument("--log", help="interaction log file (.csv, .tsv or .parquet)")
    source.add_argument("--movielens", metavar="PATH", help="local ml-100k folder")
    for column in ("user", "item", "timestamp"):
        source.add_argument(f"--{column}-col", default=column, help=f"{column} column of --log")
    source.add_argument("--reward-col", help="reward column of --log (default: 'reward' if any)")
    if synthetic:
        source.add_argument("--users", type=_positive_int, default=2000, help="synthetic users")
        source.add_argument("--items", type=_positive_int, default=1000, help="synthetic items")
        source.add_argument(
            "--interactions-per-user", type=float, default=20.0, help="synthetic mean per user"
        )


def has_log_source(args: argparse.Namespace) -> bool:
    """Whether ``--log`` or ``--movielens`` was given."""
    return bool(getattr(args, "log", None) or getattr(args, "movielens", None))


def load_log(args: argparse.Namespace) -> InteractionLog:
    """The ``InteractionLog`` selected by the data-source flags (``--log``, ``--movielens``, or a
    generated synthetic log where the command offers one)."""
    from tfrec.data import InteractionLog, generate_log, load_movielens_100k

    if args.log and args.movielens:
        raise ValueError("give either --log or --movielens, not both.")
    if args.log:
        return InteractionLog.from_file(
            args.log,
            user_col=args.user_col,
            item_col=args.item_col,
            timestamp_col=args.timestamp_col,
            reward_col=args.reward_col,
        )
    if args.movielens:
        return load_movielens_100k(args.movielens)
    if not hasattr(args, "users"):
        raise ValueError("give an interaction log: --log FILE or --movielens PATH.")
    return generate_log(
        args.users, args.items, args.interactions_per_user, seed=args.seed, with_propensity=True
    )


def _titles(log: InteractionLog | None, column: str = "title") -> dict[str, str]:
    """Item id -> title from a log's title column (empty when it has none)."""
    if log is None or column not in log.df.columns:
        return {}
    frame = log.df[["item", column]].drop_duplicates("item")
    return dict(zip(frame["item"].astype(str), frame[column].astype(str)))


def _simulator_config(args: argparse.Namespace, settings: dict) -> Any:
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


def _make_env(config: Any, batch_size: int, seed: int) -> Any:
    from tfrec.environments import InterestEvolutionEnv

    return InterestEvolutionEnv(config, batch_size=batch_size, seed=seed)


def _format_frame(frame: pd.DataFrame, columns: Sequence[str] | None = None) -> str:
    frame = frame[list(columns)] if columns else frame
    return frame.to_string(index=False, float_format=lambda v: f"{v:.4f}")


def _returns_table(frame: pd.DataFrame) -> str:
    shown = frame.assign(ci95=(frame["return_upper"] - frame["return_lower"]) / 2)
    return _format_frame(
        shown, ["policy", "mean_return", "ci95", "ctr", "mean_length", "coverage", "diversity"]
    )


def _write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, default=_json_default) + "\n", encoding="utf-8")


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if dataclasses.is_dataclass(value):
        return dataclasses.asdict(value)
    return str(value)


def _latest_version(path: str | os.PathLike) -> Path:
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


def _model_folder(path: str | os.PathLike) -> Path:
    """A model folder of ``tfrec train``, or the latest export version under an export base."""
    folder = Path(path)
    if not folder.exists():
        raise FileNotFoundError(f"model folder {folder} not found.")
    from tfrec.workflow import ENCODER_FILE

    if (folder / ENCODER_FILE).is_file():
        return folder
    return _latest_version(folder)


def _history_ids(args: argparse.Namespace) -> tuple[list[str], InteractionLog | None]:
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


# ------------------------------------------------------------------------------------ commands
def run_inspect(args: argparse.Namespace) -> int:
    """``tfrec inspect``: builds the data layer on a log and prints a summary."""
    from tfrec.data import ItemVocabulary, build_sequences, leave_last_out, next_item_dataset
    from tfrec.data.pipeline import session_dataset

    log = load_log(args)
    log, report = log.filter(args.min_user_interactions, args.min_item_interactions, k_core=True)
    vocab = ItemVocabulary.from_items(log.df["item"])
    seqs = build_sequences(log, vocab)
    train, valid, test = leave_last_out(seqs)
    batch = next(iter(next_item_dataset(train, args.max_len, args.batch_size, seed=args.seed)))
    sessions = next(iter(session_dataset(train, args.max_len, 10, args.batch_size, seed=args.seed)))
    lengths = seqs.lengths
    stats = (
        f"min {lengths.min()}, median {np.median(lengths):g}, mean {lengths.mean():.1f}, "
        f"max {lengths.max()}"
    )
    lines = [
        f"log          {log.source}",
        f"filter       {report}",
        f"users        {log.num_users}",
        f"items        {log.num_items} (vocabulary size {vocab.size} incl. padding and OOV)",
        f"interactions {log.num_interactions} (propensity logged: {log.has_propensity})",
        f"seq lengths  {stats}",
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


def run_simulate(args: argparse.Namespace) -> int:
    """``tfrec simulate``: a behaviour policy's log on the simulator, with true propensities."""
    from tfrec.environments import generate_logged_data
    from tfrec.settings import load_settings

    output = Path(args.output)
    if output.suffix.lower() not in (".csv", ".parquet"):
        raise ValueError(f"--output {output} must end in .csv or .parquet.")
    config = _simulator_config(args, load_settings(args.config))
    env = _make_env(config, args.env_batch_size, args.seed)
    logged = generate_logged_data(
        env,
        args.episodes,
        temperature=args.temperature,
        impressions=args.impressions,
        seed=args.seed,
    )
    output.parent.mkdir(parents=True, exist_ok=True)
    (logged.log.to_csv if output.suffix.lower() == ".csv" else logged.log.to_parquet)(output)
    summary = {
        "output": str(output),
        "episodes": args.episodes,
        "rows": logged.log.num_interactions,
        "items": env.num_items,
        "slates_shown": logged.num_slates,
        "behavior_true_value": logged.true_value,
        "behavior_true_value_stderr": logged.true_value_stderr,
    }
    if args.json:
        print(json.dumps(summary))
    else:
        print(
            f"wrote {summary['rows']} rows ({args.episodes} episodes, {logged.num_slates} slates, "
            f"catalog {env.num_items}) to {output}\n"
            f"behaviour policy (popularity softmax, temperature {args.temperature}): true value "
            f"{logged.true_value:.3f} ± {1.96 * logged.true_value_stderr:.3f} per episode"
        )
    return 0


def _encoder_overrides(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "max_len": args.max_len,
        "dim": args.dim,
        "num_layers": args.layers,
        "num_heads": args.heads,
        "dropout": args.dropout,
    }


def _train_supervised(args: argparse.Namespace, settings: dict, output: Path) -> dict:
    from tfrec.agents.supervised import SupervisedConfig
    from tfrec.plots import plot_learning_curve
    from tfrec.settings import make_config
    from tfrec.workflow import save_model_dir, train_supervised

    if not has_log_source(args):
        raise ValueError("--algo supervised trains on a log: give --log FILE or --movielens PATH.")
    config = make_config(
        SupervisedConfig,
        settings,
        "supervised",
        **_encoder_overrides(args),
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        seed=args.seed,
    )
    log = load_log(args)
    vocabulary = None
    if args.catalog_items:
        from tfrec.environments import catalog_vocabulary

        vocabulary = catalog_vocabulary(args.catalog_items)
    run = train_supervised(
        log,
        config,
        vocabulary=vocabulary,
        logdir=output / "logs",
        checkpoint_dir=output / "checkpoints",
        progress=not args.quiet,
    )
    info = {
        "algo": "supervised",
        "config": dataclasses.asdict(config),
        "test_metrics": run.test_metrics,
        "history": run.history,
    }
    save_model_dir(output, run.encoder, run.vocabulary, info)
    plot_learning_curve(run.history, output / "learning_curve.png", title="supervised SASRec")
    return info


def _train_reinforce(args: argparse.Namespace, settings: dict, output: Path) -> dict:
    import tensorflow as tf

    from tfrec.plots import plot_learning_curve
    from tfrec.settings import make_config
    from tfrec.training.builders import build_agent, build_encoder, warm_start_encoder
    from tfrec.training.checkpoints import make_checkpoint_manager
    from tfrec.training.config import AgentConfig, EncoderConfig, OfflineConfig, OnlineConfig
    from tfrec.training.offline import train_from_log
    from tfrec.training.online import train_online
    from tfrec.workflow import encoder_config, load_model_dir, save_model_dir

    if args.online == has_log_source(args):
        raise ValueError(
            "--algo reinforce trains either offline on a log (--log FILE / --movielens PATH) or "
            "--online in the simulator: give exactly one."
        )
    warm, vocabulary = None, None
    if args.warm_start:
        warm, vocabulary, _ = load_model_dir(args.warm_start)
        encoder_cfg = encoder_config(warm)
    else:
        encoder_cfg = make_config(EncoderConfig, settings, "encoder", **_encoder_overrides(args))
    agent_cfg = make_config(
        AgentConfig,
        settings,
        "agent",
        slate_size=args.slate_size,
        correction=args.correction,
        learning_rate=args.learning_rate,
    )
    progress = not args.quiet
    if args.online:
        sim_cfg = _simulator_config(args, settings)
        if sim_cfg.max_len != encoder_cfg.max_len or sim_cfg.slate_size != agent_cfg.slate_size:
            sim_cfg = dataclasses.replace(
                sim_cfg, max_len=encoder_cfg.max_len, slate_size=agent_cfg.slate_size
            )
        online_cfg = make_config(
            OnlineConfig,
            settings,
            "online",
            num_iterations=args.steps,
            batch_size=args.batch_size,
            seed=args.seed,
            progress=progress,
        )
        env = _make_env(sim_cfg, args.env_batch_size, args.seed)
        if vocabulary is not None and not np.array_equal(vocabulary.ids, env.vocabulary.ids):
            raise ValueError(
                f"--warm-start {args.warm_start} does not index items as the simulator catalog "
                f"item_0..item_{env.num_items - 1}: train it with `tfrec train --algo supervised "
                f"--catalog-items {env.num_items}` (and use the same --items here)."
            )
        vocabulary = env.vocabulary
        tf.keras.utils.set_random_seed(args.seed)
        encoder = build_encoder(encoder_cfg, env.vocab_size)
        if warm is not None:
            warm_start_encoder(encoder, warm)
        agent = build_agent(agent_cfg, encoder, encoder_cfg.max_len)
        manager = make_checkpoint_manager(output / "checkpoints", agent)
        history = train_online(
            agent,
            env,
            online_cfg,
            eval_env=_make_env(sim_cfg, args.env_batch_size, args.seed + 1),
            logdir=output / "logs",
            checkpoint_manager=manager,
        )
        loop = {"online": dataclasses.asdict(online_cfg), "simulator": dataclasses.asdict(sim_cfg)}
    else:
        offline_cfg = make_config(
            OfflineConfig,
            settings,
            "offline",
            num_train_steps=args.steps,
            batch_size=args.batch_size,
            seed=args.seed,
            progress=progress,
        )
        result = train_from_log(
            load_log(args),
            agent_cfg,
            encoder_cfg,
            offline_cfg,
            warm_start=warm,
            vocabulary=vocabulary,
            logdir=output / "logs",
            checkpoint_dir=output / "checkpoints",
        )
        agent, vocabulary, history = result.agent, result.vocabulary, result.history
        loop = {"offline": dataclasses.asdict(offline_cfg)}
    info = {
        "algo": "reinforce",
        "encoder": dataclasses.asdict(encoder_cfg),
        "agent": dataclasses.asdict(agent_cfg),
        **loop,
        "history": history.to_dict(),
    }
    save_model_dir(output, agent.encoder, vocabulary, info)
    plot_learning_curve(history, output / "learning_curve.png", title="top-K REINFORCE")
    return info


def run_train(args: argparse.Namespace) -> int:
    """``tfrec train``: a supervised or REINFORCE model folder, TensorBoard logs, checkpoints."""
    from tfrec.settings import load_settings

    settings = load_settings(args.config)
    output = Path(args.output or f"runs/{args.algo}")
    start = time.perf_counter()
    train = _train_supervised if args.algo == "supervised" else _train_reinforce
    info = train(args, settings, output)
    seconds = time.perf_counter() - start
    summary = {"algo": args.algo, "model_dir": str(output), "seconds": round(seconds, 1)}
    if "test_metrics" in info:
        summary["test_metrics"] = info["test_metrics"]
    returns = info["history"].get("eval_returns") if "eval_returns" in info["history"] else None
    if returns:
        summary["eval_returns"] = returns
    if args.json:
        print(json.dumps(summary, default=_json_default))
    else:
        print(f"trained {args.algo} in {seconds:.0f} s -> model folder {output}")
        if "test_metrics" in summary:
            metrics = summary["test_metrics"]
            print("test " + ", ".join(f"{k} {v:.4f}" for k, v in metrics.items() if "@" in k))
        if returns:
            print("greedy return during training: " + " -> ".join(f"{r:.2f}" for r in returns))
        print(f"TensorBoard: tensorboard --logdir {output / 'logs'}")
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    """``tfrec evaluate``: ranking metrics on a log and/or simulator returns, vs baselines."""
    from tfrec.agents.supervised import inference_scorer
    from tfrec.data import build_sequences, leave_last_out
    from tfrec.settings import load_settings
    from tfrec.workflow import (
        compare_policies,
        greedy_policy,
        load_model_dir,
        ranking_baselines,
        ranking_table,
        reference_policies,
    )

    if not (has_log_source(args) or args.simulator):
        raise ValueError(
            "nothing to evaluate on: give --log FILE / --movielens PATH and/or --simulator."
        )
    encoder, vocabulary, _ = load_model_dir(_model_folder(args.model))
    result: dict[str, Any] = {"model": str(args.model)}
    if has_log_source(args):
        train, _, test = leave_last_out(build_sequences(load_log(args), vocabulary))
        scorers = {"model": inference_scorer(encoder), **ranking_baselines(train, vocabulary.size)}
        table = ranking_table(scorers, test, encoder.max_len, tuple(args.k), args.exclude_history)
        result["ranking"] = table.to_dict("records")
        _section(args, f"full-catalog ranking, leave-last-out test ({len(test)} users)")
        _say(args, _format_frame(table))
    if args.simulator:
        settings = load_settings(args.config)
        args.items = args.items or vocabulary.num_items
        args.max_len = encoder.max_len
        sim_cfg = _simulator_config(args, settings)
        env = _make_env(sim_cfg, args.env_batch_size, args.seed)
        if not np.array_equal(vocabulary.ids, env.vocabulary.ids):
            raise ValueError(
                f"the model's vocabulary ({vocabulary.num_items} items) is not the simulator "
                f"catalog item_0..item_{env.num_items - 1}: --simulator evaluates models trained "
                "on simulated data (tfrec train --online, or --algo supervised with "
                "--catalog-items N)."
            )
        policies = {
            "model": greedy_policy(encoder, sim_cfg.slate_size, args.exclude_history),
            **reference_policies(env, oracles=not args.no_oracles, seed=args.seed),
        }
        frame = compare_policies(env, policies, args.episodes, seed=args.seed, progress=True)
        result["simulator"] = frame.to_dict("records")
        _section(args, f"simulator return over {args.episodes} episodes (95% CI half-width)")
        _say(args, _returns_table(frame))
    if args.json:
        print(json.dumps(result, default=_json_default))
    return 0


def run_export(args: argparse.Namespace) -> int:
    """``tfrec export``: a model folder -> ``<output>/<version>`` for TF Serving."""
    from tfrec.export import export_for_serving, write_models_config
    from tfrec.workflow import load_model_dir

    encoder, vocabulary, _ = load_model_dir(_model_folder(args.model))
    base = Path(args.output or f"saved_models/{args.name}")
    path = export_for_serving(
        encoder,
        vocabulary,
        base_dir=base,
        version=args.version,
        k=args.k,
        exclude_history=args.exclude_history,
        item_table_dtype=args.table_dtype,
        name=args.name,
    )
    config = write_models_config({args.name: base.resolve()}, base.parent / "models.config")
    if args.json:
        print(json.dumps({"export_dir": str(path), "models_config": str(config)}))
    else:
        print(f"exported {args.name} version {path.name} -> {path}")
        print(
            f"serve: tensorflow_model_server --rest_api_port=8501 --model_name={args.name} "
            f"--model_base_path={base.resolve()}"
        )
    return 0


def run_recommend(args: argparse.Namespace) -> int:
    """``tfrec recommend``: loads a SavedModel with plain TensorFlow and prints the top-K."""
    import tensorflow as tf

    folder = _latest_version(args.model)
    history, log = _history_ids(args)
    titles = _titles(log, args.title_col)
    model = tf.saved_model.load(str(folder))
    outputs = model.signatures["serving_default"](history=tf.constant([history]))
    items = [i.decode() for i in outputs["item_ids"].numpy()[0]]
    scores = outputs["scores"].numpy()[0]
    rows = [
        {
            "rank": r,
            "item_id": i,
            "score": float(s),
            **({"title": titles[i]} if i in titles else {}),
        }
        for r, (i, s) in enumerate(zip(items, scores), start=1)
        if i
    ]
    if args.json:
        print(json.dumps({"model": str(folder), "history": history, "recommendations": rows}))
        return 0
    print(f"model {folder}, history of {len(history)} items (most recent: {history[-1]})")
    for row in rows:
        line = f"{row['rank']:>3}  {row['score']:>9.3f}  {row['item_id']}  {row.get('title', '')}"
        print(line.rstrip())
    return 0


def run_explain(args: argparse.Namespace) -> int:
    """``tfrec explain``: recommended items and the attention weight of each history item."""
    from tfrec.explain import explain_history
    from tfrec.plots import plot_attention
    from tfrec.specs import OOV_INDEX
    from tfrec.workflow import load_model_dir

    encoder, vocabulary, _ = load_model_dir(_model_folder(args.model))
    history, log = _history_ids(args)
    indices = vocabulary.lookup(history)
    unknown = [item for item, index in zip(history, indices) if index == OOV_INDEX]
    if len(unknown) == len(history):
        raise ValueError(f"no history item is in the model's vocabulary (e.g. {history[0]!r}).")
    explanation = explain_history(
        encoder,
        indices[indices != OOV_INDEX],
        k=args.k,
        vocabulary=vocabulary,
        method=args.method,
        exclude_history=args.exclude_history,
    )
    titles = _titles(log, args.title_col)
    if args.plot:
        plot_attention(explanation, args.plot, labels=titles)
    if args.json:
        print(json.dumps({**explanation.to_dict(), "unknown_history_items": unknown}))
        return 0
    if unknown:
        print(f"ignored {len(unknown)} history items unknown to the model: {unknown[:5]}")
    print(explanation.format(titles))
    if args.plot:
        print(f"attention heatmap -> {args.plot}")
    return 0


def run_demo(args: argparse.Namespace) -> int:
    """``tfrec demo``: the whole job on the built-in simulator, no download."""
    import tensorflow as tf

    from tfrec.agents.supervised import SupervisedConfig
    from tfrec.environments import CatalogConfig, InterestEvolutionConfig, generate_logged_data
    from tfrec.explain import explain_history
    from tfrec.export import export_for_serving
    from tfrec.plots import plot_learning_curve, plot_policy_returns
    from tfrec.training.builders import build_agent, build_encoder, warm_start_encoder
    from tfrec.training.checkpoints import make_checkpoint_manager
    from tfrec.training.config import AgentConfig, OnlineConfig
    from tfrec.training.online import train_online
    from tfrec.workflow import (
        compare_policies,
        encoder_config,
        greedy_policy,
        item_counts,
        reference_policies,
        save_model_dir,
        train_supervised,
    )

    start = time.perf_counter()
    out = Path(args.output_dir)
    k = args.slate_size
    sim_cfg = InterestEvolutionConfig(
        catalog=CatalogConfig(num_items=args.items),
        slate_size=k,
        max_len=args.max_len,
        max_steps=args.session_steps,
    )
    env = _make_env(sim_cfg, args.env_batch_size, args.seed)

    _section(args, "1/6 simulate a logged dataset")
    logged = generate_logged_data(env, args.episodes, seed=args.seed)
    out.mkdir(parents=True, exist_ok=True)
    logged.log.to_csv(out / "log.csv")
    _say(
        args,
        f"{logged.log.num_interactions} clicks from {args.episodes} sessions of a popularity "
        f"behaviour policy on {args.items} items -> {out / 'log.csv'}",
        f"behaviour policy true value {logged.true_value:.2f} per session",
    )

    _section(args, "2/6 supervised SASRec encoder (next-item, full softmax)")
    supervised_cfg = SupervisedConfig(
        max_len=args.max_len,
        dim=args.dim,
        num_layers=args.layers,
        num_heads=args.heads,
        dropout=0.1,
        epochs=args.epochs,
        patience=2,
        batch_size=64,
        seed=args.seed,
    )
    supervised = train_supervised(
        logged.log,
        supervised_cfg,
        vocabulary=env.vocabulary,
        logdir=out / "logs" / "supervised",
        progress=not args.quiet,
    )
    save_model_dir(out / "supervised", supervised.encoder, env.vocabulary, {"algo": "supervised"})
    _say(
        args,
        f"{len(supervised.history['loss'])} epochs; test "
        + ", ".join(f"{m} {v:.3f}" for m, v in supervised.test_metrics.items() if "@" in m),
    )

    _section(args, "3/6 top-K off-policy REINFORCE, warm-started from the encoder, online")
    tf.keras.utils.set_random_seed(args.seed)
    encoder = build_encoder(encoder_config(supervised.encoder), env.vocab_size)
    warm_start_encoder(encoder, supervised.encoder)
    agent = build_agent(AgentConfig(slate_size=k, learning_rate=1e-3), encoder, args.max_len)
    history = train_online(
        agent,
        env,
        OnlineConfig(
            num_iterations=args.iterations,
            collect_steps_per_iteration=10,
            batch_size=32,
            max_steps=20,
            eval_every=max(1, args.iterations // 4),
            eval_episodes=64,
            seed=args.seed,
            progress=not args.quiet,
        ),
        eval_env=_make_env(sim_cfg, args.env_batch_size, args.seed + 1),
        logdir=out / "logs" / "reinforce",
        checkpoint_manager=make_checkpoint_manager(out / "reinforce" / "checkpoints", agent),
    )
    save_model_dir(out / "reinforce", agent.encoder, env.vocabulary, {"algo": "reinforce"})
    _say(args, "greedy return: " + " -> ".join(f"{r:.2f}" for r in history.eval_returns))

    _section(args, f"4/6 evaluate in the simulator ({args.eval_episodes} sessions per policy)")
    eval_env = _make_env(sim_cfg, args.env_batch_size, args.seed + 2)
    references = reference_policies(
        eval_env, item_counts(supervised.train, env.vocab_size), seed=args.seed
    )
    policies = {
        "random": references["random"],
        "most-popular": references["most-popular"],
        "supervised": greedy_policy(supervised.encoder, k),
        "reinforce": agent.policy,
        "oracle-myopic": references["oracle-myopic"],
        "far-sighted": references["far-sighted"],
    }
    frame = compare_policies(
        eval_env, policies, args.eval_episodes, seed=args.seed + 2, progress=not args.quiet
    )
    _say(args, _returns_table(frame), "(oracles read the true user state: reference ceilings)")
    returns = {row["policy"]: row["mean_return"] for row in frame.to_dict("records")}
    plot_learning_curve(
        history,
        out / "learning_curve.png",
        references={n: returns[n] for n in ("random", "most-popular", "supervised")},
        title="top-K REINFORCE in the simulator",
    )
    plot_policy_returns(frame, out / "returns.png")

    _section(args, "5/6 export for TF Serving")
    export_dir = export_for_serving(
        agent.policy, env.vocabulary, base_dir=args.export_dir, k=k, name="demo"
    )
    _say(args, f"SavedModel -> {export_dir}")

    _section(args, "6/6 a sample recommendation and why")
    model = tf.saved_model.load(str(export_dir))
    sample = supervised.test.histories.user_items(0)[-args.max_len :]
    history_ids = [str(i) for i in env.vocabulary.to_ids(sample)]
    served = model.signatures["serving_default"](history=tf.constant([history_ids]))
    explanation = explain_history(agent.encoder, sample, k=k, vocabulary=env.vocabulary)
    served_ids = [i.decode() for i in served["item_ids"].numpy()[0]]
    _say(
        args,
        f"served by the SavedModel: {served_ids}",
        explanation.format(),
    )
    seconds = time.perf_counter() - start
    summary = {
        "seconds": round(seconds, 1),
        "log_rows": logged.log.num_interactions,
        "behavior_true_value": logged.true_value,
        "supervised_test_metrics": supervised.test_metrics,
        "reinforce_eval_returns": history.eval_returns,
        "simulator": frame.to_dict("records"),
        "export_dir": str(export_dir),
        "recommendation": served_ids,
        "explanation": explanation.to_dict(),
        "loadavg": os.getloadavg(),
    }
    _write_json(out / "results.json", summary)
    if args.json:
        print(json.dumps(summary, default=_json_default))
    else:
        _section(args, "done")
        print(
            f"{seconds:.0f} s. Files: {out}/learning_curve.png, {out}/returns.png, "
            f"{out}/results.json; TensorBoard: tensorboard --logdir {out / 'logs'}"
        )
    return 0


# ------------------------------------------------------------------------------------- parsers
def _add_common(parser: argparse.ArgumentParser, json_help: str = "print JSON only") -> None:
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    parser.add_argument("--json", action="store_true", help=json_help)


def _add_model_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("encoder (default: the --config file, else built-in)")
    group.add_argument("--max-len", type=_positive_int, help="history window length")
    group.add_argument("--dim", type=_positive_int, help="model width")
    group.add_argument("--layers", type=_positive_int, help="Transformer blocks")
    group.add_argument("--heads", type=_positive_int, help="attention heads")
    group.add_argument("--dropout", type=float, help="dropout rate")


def _add_simulator_flags(parser: argparse.ArgumentParser, items: int | None = 200) -> None:
    group = parser.add_argument_group("simulator (interest evolution, RecSim style)")
    group.add_argument("--items", type=_positive_int, default=items, help="catalog size")
    group.add_argument("--session-steps", type=_positive_int, help="step cap of a session")
    group.add_argument(
        "--env-batch-size", type=_positive_int, default=32, help="users simulated in parallel"
    )


def _add_history_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help="model folder or SavedModel folder")
    parser.add_argument("--history", help="item ids, oldest first, comma separated")
    parser.add_argument("--user", help="take this user's history from --log")
    parser.add_argument("--title-col", default="title", help="title column of --log")
    _add_log_source(parser)


def build_parser() -> argparse.ArgumentParser:
    """The ``tfrec`` argument parser (subcommands set ``func``)."""
    parser = _Parser(
        prog="tfrec",
        description="Reinforcement-learning recommendation on TensorFlow.",
        formatter_class=_Formatter,
    )
    parser.add_argument("--version", action="version", version=f"tfrec {__version__}")
    parser.add_argument(
        "--traceback", action="store_true", help="show the full traceback of an error"
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(name: str, help_text: str, func: Callable[[argparse.Namespace], int]) -> Any:
        sub = commands.add_parser(
            name, help=help_text, description=help_text, formatter_class=_Formatter
        )
        sub.set_defaults(func=func)
        return sub

    demo = command(
        "demo",
        "the whole job on the built-in simulator: simulate a log, train the supervised encoder "
        "and top-K REINFORCE, evaluate against baselines, export, explain",
        run_demo,
    )
    demo.add_argument("--output-dir", default="runs/demo", help="logs, plots, results.json")
    demo.add_argument("--export-dir", default="saved_models/demo", help="SavedModel base folder")
    demo.add_argument("--items", type=_positive_int, default=200, help="catalog size")
    demo.add_argument("--slate-size", type=_positive_int, default=5, help="K")
    demo.add_argument("--max-len", type=_positive_int, default=10, help="history window")
    demo.add_argument("--session-steps", type=_positive_int, default=30, help="session step cap")
    demo.add_argument(
        "--env-batch-size", type=_positive_int, default=32, help="users simulated in parallel"
    )
    demo.add_argument("--episodes", type=_positive_int, default=600, help="logged sessions")
    demo.add_argument("--dim", type=_positive_int, default=32, help="encoder width")
    demo.add_argument("--layers", type=_positive_int, default=1, help="Transformer blocks")
    demo.add_argument("--heads", type=_positive_int, default=2, help="attention heads")
    demo.add_argument("--epochs", type=_positive_int, default=10, help="supervised epochs")
    demo.add_argument("--iterations", type=_positive_int, default=60, help="online iterations")
    demo.add_argument(
        "--eval-episodes", type=_positive_int, default=256, help="sessions per policy"
    )
    demo.add_argument("--quiet", action="store_true", help="no progress bars")
    _add_common(demo, "print the results as JSON only")

    simulate = command(
        "simulate",
        "write a logged dataset from the simulator (popularity-softmax behaviour policy, true "
        "propensities)",
        run_simulate,
    )
    simulate.add_argument("--output", required=True, help="log file to write (.csv or .parquet)")
    simulate.add_argument("--episodes", type=_positive_int, default=1000, help="logged sessions")
    simulate.add_argument(
        "--temperature", type=float, default=1.0, help="behaviour softmax temperature"
    )
    simulate.add_argument("--slate-size", type=_positive_int, help="slate size K")
    simulate.add_argument("--max-len", type=_positive_int, help="observed history window")
    simulate.add_argument(
        "--impressions", action="store_true", help="one row per shown item (position, clicked)"
    )
    simulate.add_argument("--config", help="YAML settings file (section 'simulator')")
    _add_simulator_flags(simulate)
    _add_common(simulate)

    train = command(
        "train",
        "train a supervised next-item model or the top-K REINFORCE agent; writes a model folder, "
        "checkpoints, TensorBoard logs and a learning-curve plot",
        run_train,
    )
    train.add_argument(
        "--algo", required=True, choices=("supervised", "reinforce"), help="what to train"
    )
    train.add_argument("--output", help="model folder (default: runs/<algo>)")
    train.add_argument("--config", help="YAML settings file (see docs/cli.md)")
    train.add_argument("--online", action="store_true", help="reinforce: train in the simulator")
    train.add_argument("--warm-start", metavar="DIR", help="reinforce: start from this encoder")
    train.add_argument("--epochs", type=_positive_int, help="supervised: maximum epochs")
    train.add_argument(
        "--catalog-items",
        type=_positive_int,
        metavar="N",
        help="supervised: index items as the simulator catalog item_0..item_<N-1> (to warm-start "
        "--online training or evaluate --simulator)",
    )
    train.add_argument(
        "--steps", type=_positive_int, help="reinforce: gradient steps (offline) or iterations"
    )
    train.add_argument("--batch-size", type=_positive_int, help="training batch size")
    train.add_argument("--learning-rate", type=float, help="optimizer learning rate")
    train.add_argument("--slate-size", type=_positive_int, help="reinforce: K")
    train.add_argument(
        "--correction", choices=("none", "importance", "topk"), help="reinforce: off-policy fix"
    )
    train.add_argument("--quiet", action="store_true", help="no progress bars")
    _add_model_flags(train)
    _add_log_source(train)
    _add_simulator_flags(train, items=None)
    _add_common(train, "print a JSON summary only")

    evaluate = command(
        "evaluate",
        "full-catalog ranking metrics on a log and/or simulator returns, against baselines",
        run_evaluate,
    )
    evaluate.add_argument("--model", required=True, help="model folder or export folder")
    evaluate.add_argument("--simulator", action="store_true", help="evaluate in the simulator")
    evaluate.add_argument(
        "--k", type=_positive_int, nargs="+", default=[10, 20], help="ranking cut-offs"
    )
    evaluate.add_argument("--exclude-history", action="store_true", help="skip seen items")
    evaluate.add_argument("--episodes", type=_positive_int, default=256, help="sessions/policy")
    evaluate.add_argument("--slate-size", type=_positive_int, help="simulator slate size")
    evaluate.add_argument("--no-oracles", action="store_true", help="skip the oracle references")
    evaluate.add_argument("--config", help="YAML settings file (section 'simulator')")
    _add_log_source(evaluate)
    _add_simulator_flags(evaluate, items=None)
    _add_common(evaluate)

    export = command(
        "export", "export a model folder as a TF Serving SavedModel version", run_export
    )
    export.add_argument("--model", required=True, help="model folder written by tfrec train")
    export.add_argument("--output", help="base folder (default: saved_models/<name>)")
    export.add_argument("--name", default="tfrec", help="model name")
    export.add_argument("--version", type=_positive_int, help="version (default: next free)")
    export.add_argument("--k", type=_positive_int, default=10, help="recommendations per request")
    export.add_argument("--exclude-history", action="store_true", help="never recommend seen items")
    export.add_argument(
        "--table-dtype",
        choices=("float32", "float16", "int8"),
        default="float32",
        help="storage of the item table",
    )
    _add_common(export)

    recommend = command(
        "recommend", "top-K items for a history from a SavedModel (plain TensorFlow)", run_recommend
    )
    _add_history_flags(recommend)
    _add_common(recommend)

    explain = command(
        "explain",
        "recommended items and the attention weight of each history item",
        run_explain,
    )
    _add_history_flags(explain)
    explain.add_argument("--k", type=_positive_int, default=10, help="recommendations")
    explain.add_argument(
        "--method",
        choices=("rollout", "last"),
        default="rollout",
        help="attention rollout over blocks, or the last block's attention",
    )
    explain.add_argument("--exclude-history", action="store_true", help="skip seen items")
    explain.add_argument("--plot", metavar="PNG", help="write an attention heatmap")
    _add_common(explain)

    inspect = command("inspect", "build the data layer on a log and print a summary", run_inspect)
    _add_log_source(inspect, synthetic=True)
    inspect.add_argument("--max-len", type=_positive_int, default=20, help="history window")
    inspect.add_argument("--batch-size", type=_positive_int, default=256, help="batch size")
    inspect.add_argument(
        "--min-user-interactions", type=int, default=3, help="k-core filter on users"
    )
    inspect.add_argument(
        "--min-item-interactions", type=int, default=1, help="k-core filter on items"
    )
    inspect.add_argument("--seed", type=int, default=0, help="random seed")
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
    _quiet_imports()
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
        return func(args)
    except USER_ERRORS as err:
        if args.traceback:
            raise
        message = " ".join(str(err).split()) or type(err).__name__
        print(f"tfrec: error: {message}", file=sys.stderr)
        return EXIT_USER_ERROR


if __name__ == "__main__":
    sys.exit(main())
