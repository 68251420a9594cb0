"""tf.distribute training: strategy selection, MirroredStrategy on 2 logical CPUs, and
MultiWorkerMirroredStrategy with 2 worker processes (tfrec.training.distribute)."""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from tfrec.training.config import OfflineConfig
from tfrec.training.distribute import (
    STRATEGIES,
    add_strategy_argument,
    check_global_batch,
    is_chief,
    make_strategy,
    read_tf_config,
    validate_strategy_name,
    worker_directory,
)
from tfrec.training.supervised import SupervisedConfig

JOB = Path(__file__).with_name("distributed_job.py")
# Stated tolerance: the replicas' gradients are summed in another order than one device's, and
# REINFORCE's loss amplifies float32 rounding over steps (sessions of equal length make the mean
# of the replicas' losses the global mean, see distributed_job.py).
RTOL = 1e-4


def test_strategy_names_are_validated():
    assert STRATEGIES == ("default", "mirrored", "multi_worker_mirrored")
    assert validate_strategy_name("mirrored") == "mirrored"
    with pytest.raises(ValueError, match="OfflineConfig.strategy='tpu'.*multi_worker_mirrored"):
        OfflineConfig(strategy="tpu")
    with pytest.raises(ValueError, match="SupervisedConfig.strategy='mirror'"):
        SupervisedConfig(strategy="mirror")
    with pytest.raises(ValueError, match="devices"):
        make_strategy("default", devices=["/cpu:0"])


def test_default_strategy_and_cli_flag(tmp_path):
    strategy = make_strategy("default")
    assert strategy is tf.distribute.get_strategy()
    assert strategy.num_replicas_in_sync == 1
    assert is_chief(strategy) and worker_directory(tmp_path, strategy) == tmp_path
    parser = argparse.ArgumentParser()
    add_strategy_argument(parser)
    assert parser.parse_args([]).strategy == "default"
    assert parser.parse_args(["--strategy", "mirrored"]).strategy == "mirrored"
    with pytest.raises(SystemExit):
        parser.parse_args(["--strategy", "ps"])


def test_tf_config_is_parsed_and_checked():
    cluster = {"worker": ["127.0.0.1:1", "127.0.0.1:2"]}
    config = {"cluster": cluster, "task": {"type": "worker", "index": 1}}
    assert read_tf_config({"TF_CONFIG": json.dumps(config)}) == config
    assert read_tf_config({}) is None
    with pytest.raises(ValueError, match="not valid JSON"):
        read_tf_config({"TF_CONFIG": "{worker: 1"})
    with pytest.raises(ValueError, match='"task"'):
        read_tf_config({"TF_CONFIG": json.dumps({"cluster": cluster})})
    with pytest.raises(ValueError, match="not in its cluster"):
        bad = {"cluster": cluster, "task": {"type": "worker", "index": 2}}
        read_tf_config({"TF_CONFIG": json.dumps(bad)})


def test_global_batch_must_cover_the_replicas():
    class TwoReplicas:
        num_replicas_in_sync = 2

    check_global_batch(2, TwoReplicas())
    with pytest.raises(ValueError, match="batch_size=1 .* 2 replicas"):
        check_global_batch(1, TwoReplicas())


def test_replica_share_keeps_single_device_losses():
    from tf_agents.agents import tf_agent

    from tfrec.agents.replicas import replica_share

    loss_info = tf_agent.LossInfo(tf.constant(2.0), ())
    assert replica_share(loss_info) is loss_info  # 1 replica: the loss itself


def test_replica_share_divides_the_loss_by_the_replicas_in_sync(monkeypatch):
    from types import SimpleNamespace

    from tf_agents.agents import tf_agent

    from tfrec.agents.replicas import replica_share

    monkeypatch.setattr(
        tf.distribute, "get_strategy", lambda: SimpleNamespace(num_replicas_in_sync=4)
    )
    extra = {"policy_loss": tf.constant(3.0)}
    shared = replica_share(tf_agent.LossInfo(tf.constant(2.0), extra))
    # 4 replicas each contribute 2/4: their SUM is the mean loss; extra terms stay per replica.
    assert float(shared.loss) == 0.5 and shared.extra is extra


def _run_job(mode: str, out: Path, tf_config: dict | None = None) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k != "TF_CONFIG"}
    if tf_config is not None:
        env["TF_CONFIG"] = json.dumps(tf_config)
    return subprocess.Popen(
        [sys.executable, str(JOB), mode, str(out)],
        env={**env, "CUDA_VISIBLE_DEVICES": ""},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _finish(process: subprocess.Popen, out: Path) -> dict:
    try:
        output, _ = process.communicate(timeout=420)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
        pytest.fail(f"distributed job timed out:\n{output[-3000:]}")
    assert process.returncode == 0, output[-3000:]
    return json.loads(out.read_text())


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


@pytest.mark.slow
def test_mirrored_and_multi_worker_match_single_device(tmp_path):
    # Both jobs at once: the mirrored job also trains the single-device reference.
    mirrored_out = tmp_path / "mirrored.json"
    mirrored = _run_job("mirrored", mirrored_out)
    workers_list = [f"127.0.0.1:{port}" for port in _free_ports(2)]
    outs = [tmp_path / f"worker{i}.json" for i in range(2)]
    workers = [
        _run_job(
            "worker",
            outs[i],
            {"cluster": {"worker": workers_list}, "task": {"type": "worker", "index": i}},
        )
        for i in range(2)
    ]
    record = _finish(mirrored, mirrored_out)
    worker_records = [_finish(w, o)["worker"] for w, o in zip(workers, outs)]

    single, two = record["default"], record["mirrored"]
    assert (single["replicas"], two["replicas"]) == (1, 2)
    for run in [two, *worker_records]:
        np.testing.assert_allclose(run["reinforce_loss"], single["reinforce_loss"], rtol=RTOL)
        np.testing.assert_allclose(run["embedding_sum"], single["embedding_sum"], rtol=RTOL)
        np.testing.assert_allclose(run["supervised_loss"], single["supervised_loss"], rtol=RTOL)
    assert [w["replicas"] for w in worker_records] == [2, 2]
    # Both workers hold the same (all-reduced) weights.
    assert worker_records[0]["embedding_sum"] == pytest.approx(worker_records[1]["embedding_sum"])
