"""Figures are written as PNG files and reject empty inputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tfrec.explain import Explanation
from tfrec.plots import (
    plot_attention,
    plot_learning_curve,
    plot_policy_returns,
    plot_return_curve,
)
from tfrec.training.training_history import TrainingHistory


def _is_png(path) -> bool:
    return path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_learning_curves(tmp_path):
    history = TrainingHistory()
    for step in (1, 2, 3):
        history.record_losses(step, {"loss": 1.0 / step, "behavior_loss": 0.5})
    history.record_return(0, 1.0)
    history.record_return(3, 2.0)
    figure = plot_learning_curve(history, tmp_path / "a" / "curve.png", references={"random": 1.5})
    assert _is_png(tmp_path / "a" / "curve.png")
    top, bottom = figure.axes
    np.testing.assert_allclose(top.lines[0].get_ydata(), [1.0, 2.0])
    assert [line.get_label() for line in bottom.lines] == ["loss", "behavior_loss"]
    keras = {"loss": [3.0, 2.0], "val_ndcg@10": [0.1, 0.2], "val_hr@10": [0.2, 0.3]}
    figure = plot_learning_curve(keras, tmp_path / "keras.png")
    assert figure.axes[0].get_ylabel() == "val_ndcg@10" and _is_png(tmp_path / "keras.png")
    with pytest.raises(ValueError, match="empty"):
        plot_learning_curve(TrainingHistory())
    with pytest.raises(TypeError, match="TrainingHistory"):
        plot_learning_curve([1, 2])


def test_policy_returns_and_attention(tmp_path):
    frame = pd.DataFrame(
        {
            "policy": ["random", "model"],
            "mean_return": [1.0, 2.0],
            "return_lower": [0.5, 1.8],
            "return_upper": [1.5, 2.2],
        }
    )
    plot_policy_returns(frame, tmp_path / "returns.png")
    assert _is_png(tmp_path / "returns.png")
    explanation = Explanation(
        history=np.array([2, 3]),
        history_ids=["a", "b"],
        history_weights=np.array([0.25, 0.75]),
        attention=np.array([[1.0, 0.0], [0.25, 0.75]]),
        items=np.array([4]),
        item_ids=["c"],
        scores=np.array([1.0]),
        method="rollout",
    )
    figure = plot_attention(explanation, tmp_path / "attention.png", labels={"a": "Alpha"})
    assert _is_png(tmp_path / "attention.png")
    assert [t.get_text() for t in figure.axes[0].get_yticklabels()] == ["Alpha", "b"]


def test_return_curve_with_reference_lines(tmp_path):
    references = {"far-sighted": 30.0, "random": 5.0}
    figure = plot_return_curve(
        [0, 10, 20], [4.0, 8.0, 9.5], tmp_path / "b" / "online.png", references, label="agent"
    )
    assert _is_png(tmp_path / "b" / "online.png")
    (axis,) = figure.axes
    np.testing.assert_allclose(axis.lines[0].get_ydata(), [4.0, 8.0, 9.5])
    assert [line.get_label() for line in axis.lines] == ["agent", "far-sighted", "random"]
    assert axis.lines[1].get_ydata()[0] == 30.0
    assert axis.lines[1].get_linestyle() != axis.lines[2].get_linestyle()
    with pytest.raises(ValueError, match="one return per step"):
        plot_return_curve([0, 1], [1.0])
    with pytest.raises(ValueError, match="at least one"):
        plot_return_curve([], [])
