"""Matplotlib figures of tfrec runs: learning curves, policy comparisons, attention heatmaps.

Every function builds a ``matplotlib.figure.Figure`` without pyplot (no GUI backend, no global
state), returns it (Jupyter displays it) and writes it when ``path`` is given (PNG, 120 dpi).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

__all__ = ["plot_attention", "plot_learning_curve", "plot_policy_returns", "plot_return_curve"]


def _save(figure: Figure, path: str | os.PathLike | None) -> Figure:
    if path is not None:
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(target, dpi=120, bbox_inches="tight")
    return figure


def _as_history(history: Any) -> dict[str, Any]:
    if hasattr(history, "to_dict"):
        history = history.to_dict()
    if not isinstance(history, Mapping):
        raise TypeError(
            "history must be a tfrec.training.TrainingHistory or its to_dict(), got "
            f"{type(history).__name__}."
        )
    return dict(history)


_REFERENCE_STYLES = ("--", "-.", ":", (0, (5, 1, 1, 1)))


def _reference_lines(
    axis: Any, references: Mapping[str, float] | None, styles: tuple = ("--",), **line: Any
) -> None:
    """One horizontal line per reference return (colours C1, C2, ...; styles cycled)."""
    for index, (name, value) in enumerate((references or {}).items()):
        style = styles[index % len(styles)]
        axis.axhline(value, color=f"C{index + 1}", linestyle=style, label=name, **line)


def plot_learning_curve(
    history: Any,
    path: str | os.PathLike | None = None,
    references: Mapping[str, float] | None = None,
    title: str = "Learning curve",
) -> Figure:
    """Evaluated return (top) and every loss term (bottom) against training steps.

    Args:
      history: a ``TrainingHistory`` (``steps``, ``losses``, ``eval_steps``, ``eval_returns``) or
        its ``to_dict()``; a supervised Keras ``History.history`` dict (``loss``, ``val_*``
        per epoch) also works: its epochs are the x axis.
      path: PNG file to write (folders created), or None.
      references: horizontal reference lines on the return panel, e.g. ``{"random": 3.1}``.
      title: figure title.

    Returns:
      The figure.

    Raises:
      TypeError: ``history`` is neither form.
      ValueError: the history holds nothing to plot.
    """
    data = _as_history(history)
    figure = Figure(figsize=(7, 6))
    top, bottom = figure.subplots(2, 1, sharex=True)
    if "eval_returns" in data or "losses" in data:  # TrainingHistory
        returns, eval_steps = data.get("eval_returns", []), data.get("eval_steps", [])
        losses, steps, xlabel = data.get("losses", {}), data.get("steps", []), "training step"
        top.set_ylabel("mean episode return")
    else:  # Keras History.history: per-epoch lists
        losses = {k: v for k, v in data.items() if not k.startswith("val_")}
        metric = next((k for k in data if k.startswith("val_ndcg")), None)
        returns = data.get(metric, []) if metric else []
        steps = list(range(1, len(next(iter(losses.values()), [])) + 1))
        eval_steps, xlabel = list(range(1, len(returns) + 1)), "epoch"
        top.set_ylabel(metric or "validation metric")
    if not returns and not any(len(v) for v in losses.values()):
        raise ValueError("the history is empty: nothing to plot (train for at least one step).")
    if returns:
        top.plot(eval_steps, returns, marker="o", label="policy")
    _reference_lines(top, references, linewidth=1)
    if returns or references:
        top.legend(loc="best", fontsize="small")
    top.grid(alpha=0.3)
    for name, values in losses.items():
        if len(values):
            bottom.plot(steps[: len(values)], values, label=name)
    bottom.set_xlabel(xlabel)
    bottom.set_yscale("symlog", linthresh=1.0)  # terms differ by orders of magnitude
    bottom.set_ylabel("loss terms (symlog)")
    bottom.grid(alpha=0.3)
    if losses:
        bottom.legend(loc="best", fontsize="small")
    figure.suptitle(title)
    return _save(figure, path)


def plot_return_curve(
    steps: Any,
    returns: Any,
    path: str | os.PathLike | None = None,
    references: Mapping[str, float] | None = None,
    title: str = "Online training",
    label: str = "policy",
    ylabel: str = "mean episode return",
) -> Figure:
    """An evaluated return against training steps, with horizontal reference lines.

    Args:
      steps: int ``[n]`` training steps of the evaluations (``TrainingHistory.eval_steps``).
      returns: float ``[n]`` the evaluated mean returns (``TrainingHistory.eval_returns``).
      path: PNG file to write (folders created), or None.
      references: name -> return of reference policies, e.g. ``{"random slates": 3.1}``, each
        a dashed line of its own style.
      title: axes title.
      label: legend label of the curve.
      ylabel: y-axis label.

    Returns:
      The figure.

    Raises:
      ValueError: if ``steps`` and ``returns`` are empty or differ in length.
    """
    steps, returns = list(steps), list(returns)
    if not returns or len(steps) != len(returns):
        raise ValueError(
            f"need one return per step and at least one, got {len(steps)} steps and "
            f"{len(returns)} returns."
        )
    figure = Figure(figsize=(6.4, 4.0))
    axis = figure.subplots()
    axis.plot(steps, returns, marker="o", label=label)
    _reference_lines(axis, references, _REFERENCE_STYLES)
    axis.set_xlabel("training steps")
    axis.set_ylabel(ylabel)
    axis.set_title(title, fontsize=10)
    axis.legend(loc="center right")
    axis.grid(alpha=0.3)
    return _save(figure, path)


def plot_policy_returns(
    table: Any, path: str | os.PathLike | None = None, title: str = "Return in the simulator"
) -> Figure:
    """Horizontal bars of mean return with confidence intervals, one per policy.

    Args:
      table: a DataFrame (``RolloutResult.to_frame``) or list of ``RolloutResult`` with
        ``policy``, ``mean_return``, ``return_lower``, ``return_upper``.
      path: PNG file to write, or None.
      title: figure title.

    Returns:
      The figure.
    """
    rows = table.to_dict("records") if hasattr(table, "to_dict") else [r.as_row() for r in table]
    if not rows:
        raise ValueError("no policy to plot.")
    names = [r["policy"] for r in rows]
    means = np.array([r["mean_return"] for r in rows])
    errors = np.array(
        [
            [m - r["return_lower"] for m, r in zip(means, rows)],
            [r["return_upper"] - m for m, r in zip(means, rows)],
        ]
    )
    figure = Figure(figsize=(6, 0.5 * len(rows) + 1.2))
    axis = figure.subplots()
    axis.barh(names, means, xerr=errors, capsize=3)
    axis.invert_yaxis()
    axis.set_xlabel("mean episode return (95% CI)")
    axis.grid(axis="x", alpha=0.3)
    axis.set_title(title)
    return _save(figure, path)


def plot_attention(
    explanation: Any,
    path: str | os.PathLike | None = None,
    labels: Mapping[str, str] | None = None,
) -> Figure:
    """Heatmap of the attention matrix over a history, and the latest position's weights.

    Args:
      explanation: a :class:`tfrec.explain.Explanation`.
      path: PNG file to write, or None.
      labels: optional item id -> display name (e.g. movie titles).

    Returns:
      The figure (left: ``[n, n]`` matrix, row = query position; right: the weights that
      explain the recommendation).
    """
    labels = labels or {}
    names = [labels.get(item, item)[:28] for item in explanation.history_ids]
    n = len(names)
    figure = Figure(figsize=(4 + 0.45 * n, 0.35 * n + 2.5))
    heat, bars = figure.subplots(1, 2, gridspec_kw={"width_ratios": [3, 1]})
    image = heat.imshow(explanation.attention, cmap="viridis", vmin=0.0)
    heat.set_xticks(range(n), names, rotation=90, fontsize="small")
    heat.set_yticks(range(n), names, fontsize="small")
    heat.set_xlabel("attended history item (key)")
    heat.set_ylabel("position (query)")
    heat.set_title(f"{explanation.method} attention")
    figure.colorbar(image, ax=heat, fraction=0.046)
    bars.barh(range(n), explanation.history_weights)
    bars.set_yticks(range(n), [""] * n)
    bars.set_ylim(n - 0.5, -0.5)
    bars.set_xlabel("weight in the state")
    bars.set_title("why")
    return _save(figure, path)
