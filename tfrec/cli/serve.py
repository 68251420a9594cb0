"""``tfrec export``, ``tfrec recommend`` and ``tfrec explain``: from a trained model to answers."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from tfrec.cli.common import (
    add_command,
    add_common_flags,
    add_history_flags,
    history_ids,
    item_titles,
    latest_version,
    model_folder,
    positive_int,
)


def run_export(args: argparse.Namespace) -> int:
    """``tfrec export``: a model folder -> ``<output>/<version>`` for TF Serving."""
    from tfrec.export import export_for_serving, load_model_dir, write_models_config

    encoder, vocabulary, _ = load_model_dir(model_folder(args.model))
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

    folder = latest_version(args.model)
    history, log = history_ids(args)
    titles = item_titles(log, args.title_col)
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
    from tfrec.export import load_model_dir
    from tfrec.plots import plot_attention
    from tfrec.specs import OOV_INDEX

    encoder, vocabulary, _ = load_model_dir(model_folder(args.model))
    history, log = history_ids(args)
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
    titles = item_titles(log, args.title_col)
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


def register(commands: Any) -> None:
    """Adds the subcommand(s) of this module to the ``tfrec`` parser."""
    export = add_command(
        commands, "export", "export a model folder as a TF Serving SavedModel version", run_export
    )
    export.add_argument("--model", required=True, help="model folder written by tfrec train")
    export.add_argument("--output", help="base folder (default: saved_models/<name>)")
    export.add_argument("--name", default="tfrec", help="model name")
    export.add_argument("--version", type=positive_int, help="version (default: next free)")
    export.add_argument("--k", type=positive_int, default=10, help="recommendations per request")
    export.add_argument("--exclude-history", action="store_true", help="never recommend seen items")
    export.add_argument(
        "--table-dtype",
        choices=("float32", "float16", "int8"),
        default="float32",
        help="storage of the item table",
    )
    add_common_flags(export)
    recommend = add_command(
        commands,
        "recommend",
        "top-K items for a history from a SavedModel (plain TensorFlow)",
        run_recommend,
    )
    add_history_flags(recommend)
    add_common_flags(recommend)
    explain = add_command(
        commands,
        "explain",
        "recommended items and the attention weight of each history item",
        run_explain,
    )
    add_history_flags(explain)
    explain.add_argument("--k", type=positive_int, default=10, help="recommendations")
    explain.add_argument(
        "--method",
        choices=("rollout", "last"),
        default="rollout",
        help="attention rollout over blocks, or the last block's attention",
    )
    explain.add_argument("--exclude-history", action="store_true", help="skip seen items")
    explain.add_argument("--plot", metavar="PNG", help="write an attention heatmap")
    add_common_flags(explain)
