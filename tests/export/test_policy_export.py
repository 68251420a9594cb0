"""Exporting the REINFORCE serving policy: same slates as the policy, plus a PolicySaver export."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from tf_agents.specs import tensor_spec
from tf_agents.trajectories import time_step as ts

from tfrec.export import export_for_serving
from tfrec.specs import history_spec, time_step_spec

actor = pytest.importorskip("tfrec.networks.actor")
topk = pytest.importorskip("tfrec.policies.topk")


@pytest.mark.parametrize("exclude_history", [False, True])
def test_policy_export_matches_policy_actions(
    encoder, vocab, tmp_path: Path, exclude_history
) -> None:
    max_len, k = encoder.max_len, 3
    network = actor.ActorNetwork(
        history_spec(max_len, vocab.size), encoder, temperature=0.5, mask_consumed=exclude_history
    )
    policy = topk.GreedyTopKPolicy(
        tensor_spec.from_spec(time_step_spec(max_len, vocab.size)),
        network,
        k=k,
        exclude_history=exclude_history,
    )
    path = export_for_serving(
        policy,
        vocab,
        base_dir=tmp_path / "reinforce",
        k=k,
        exclude_history=exclude_history,
        warmup=False,
        save_keras=False,
        save_policy=not exclude_history,  # PolicySaver is slow: check it once
    )
    histories = np.array([[0, 0, 5, 6, 7], [0, 0, 0, 0, 0], [9, 9, 3, 2, 11]], np.int32)
    expected = policy.action(ts.restart(tf.constant(histories), batch_size=3)).action.numpy()

    model = tf.saved_model.load(str(path))
    by_index = model.signatures["serving_indices"](history=tf.constant(histories))
    np.testing.assert_array_equal(by_index["item_indices"].numpy(), expected)
    rows = vocab.to_ids(histories).astype(str)  # padding -> ""
    by_id = model.signatures["serving_default"](history=tf.constant(rows))
    np.testing.assert_array_equal(by_id["item_ids"].numpy().astype(str), vocab.to_ids(expected))

    # TF-Agents consumers get the policy itself through PolicySaver's `action` signature.
    if exclude_history:
        assert not (path / "extras").exists()
        return
    saved_policy = tf.saved_model.load(str(path / "extras" / "policy"))
    assert "action" in saved_policy.signatures
    step = ts.restart(tf.constant(histories), batch_size=3)
    np.testing.assert_array_equal(saved_policy.action(step).action.numpy(), expected)
