"""Impression-level online experience and train_in_simulator (collector, buffer, resume)."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
from tf_agents.trajectories import time_step as ts
from tf_agents.trajectories import trajectory

from tfrec.environments.catalog import CatalogConfig
from tfrec.environments.simulator import InterestEvolutionConfig, InterestEvolutionEnv
from tfrec.evaluation.rollouts import evaluate_policy
from tfrec.specs import CLICK_POSITION, INCLUSION_PROPENSITY, SLATE_LOG_PROPENSITY
from tfrec.training.builders import build_agent, build_encoder
from tfrec.training.config import AgentConfig, EncoderConfig, OnlineConfig
from tfrec.training.impressions import ImpressionBuffer, ImpressionCollector
from tfrec.training.online import train_in_simulator

FIRST, MID, LAST = int(ts.StepType.FIRST), int(ts.StepType.MID), int(ts.StepType.LAST)


def _step(collector, step_type, next_step_type, reward, position, discount=(1.0, 1.0)):
    traj = trajectory.Trajectory(
        step_type=np.array(step_type, np.int32),
        observation=np.array([[0, 4], [0, 5]], np.int32),
        action=np.array([[3, 4], [5, 6]], np.int32),
        policy_info={
            SLATE_LOG_PROPENSITY: np.log([0.1, 0.2]).astype(np.float32),
            INCLUSION_PROPENSITY: np.full((2, 2), 0.3, np.float32),
        },
        next_step_type=np.array(next_step_type, np.int32),
        reward=np.array(reward, np.float32),
        discount=np.array(discount, np.float32),
    )
    collector.observe_trajectory(traj)
    collector.observe_info({"click_position": np.array(position, np.int32)})


def test_every_step_is_kept_clicked_or_not():
    buffer = ImpressionBuffer(capacity=10, max_steps=4)
    collector = ImpressionCollector(buffer, batch_size=2)
    # user 0: click (2.0), no click, click (1.0) then the session terminates;
    # user 1: never clicks, truncated after 3 steps (discount stays 1).
    _step(collector, [FIRST, FIRST], [MID, MID], [2.0, 0.0], [1, -1])
    _step(collector, [MID, MID], [MID, MID], [0.0, 0.0], [-1, -1])
    _step(collector, [MID, MID], [LAST, LAST], [1.0, 0.0], [0, -1], discount=(0.0, 1.0))
    assert len(buffer) == 2 and collector.num_steps == 6 and collector.num_episodes == 2
    batch = buffer.as_trajectory(buffer.episodes)
    np.testing.assert_allclose(batch.reward.numpy()[0], [2.0, 0.0, 1.0, 0.0, 0.0])
    np.testing.assert_array_equal(batch.policy_info[CLICK_POSITION].numpy()[0], [1, -1, 0, -1, -1])
    np.testing.assert_array_equal(batch.step_type.numpy()[0], [FIRST, MID, MID, LAST, LAST])
    np.testing.assert_array_equal(batch.next_step_type.numpy()[0], [MID, MID, LAST, FIRST, FIRST])
    np.testing.assert_allclose(batch.discount.numpy()[0], [1, 1, 0, 1, 1])
    np.testing.assert_allclose(batch.discount.numpy()[1], [1, 1, 1, 1, 1])  # truncated
    np.testing.assert_array_equal(batch.action.numpy()[1, :3], [[5, 6]] * 3)
    np.testing.assert_allclose(
        batch.policy_info[SLATE_LOG_PROPENSITY].numpy()[1, :3], np.log([0.2] * 3), rtol=1e-6
    )


def test_collector_refuses_a_policy_without_slate_propensity():
    collector = ImpressionCollector(ImpressionBuffer(4, 4), batch_size=1)
    collector.observe_trajectory(
        trajectory.Trajectory(
            step_type=np.array([FIRST]),
            observation=np.zeros((1, 2), np.int32),
            action=np.array([[2, 3]]),
            policy_info={"log_probability": np.zeros((1, 2))},
            next_step_type=np.array([MID]),
            reward=np.zeros(1),
            discount=np.ones(1),
        )
    )
    with pytest.raises(ValueError, match="slate_log_propensity"):
        collector.observe_info({"click_position": np.array([-1])})


CONFIG = InterestEvolutionConfig(
    catalog=CatalogConfig(num_items=40), slate_size=3, max_len=5, max_steps=12
)


def _run(tmp_path, iterations, critic=None, dropout=0.0, keep_best=False):
    env = InterestEvolutionEnv(CONFIG, batch_size=8, seed=0)
    tf.keras.utils.set_random_seed(0)
    encoder = build_encoder(
        EncoderConfig(max_len=5, dim=8, num_layers=1, num_heads=1, dropout=dropout),
        env.vocab_size,
    )
    agent = build_agent(AgentConfig(slate_size=3, learning_rate=1e-2, critic=critic), encoder, 5)
    history = train_in_simulator(
        agent,
        env,
        OnlineConfig(
            num_iterations=iterations,
            collect_steps_per_iteration=12,
            train_steps_per_iteration=2,
            batch_size=8,
            buffer_capacity=32,
            eval_every=2,
            eval_episodes=8,
            progress=False,
            checkpoint_every=1,
            keep_best=keep_best,
        ),
        eval_env=InterestEvolutionEnv(CONFIG, batch_size=8, seed=1),
        checkpoint_dir=tmp_path,
    )
    return agent, history


def test_keep_best_restores_the_weights_of_the_best_evaluation(tmp_path):
    agent, history = _run(tmp_path, 4, keep_best=True)
    best = int(np.argmax(history.eval_returns))
    assert history.best_step == history.eval_steps[best]
    eval_env = InterestEvolutionEnv(CONFIG, batch_size=8, seed=1)
    again = evaluate_policy(eval_env, agent.policy, 8, seed=12345).mean_return
    assert again == pytest.approx(history.eval_returns[best], rel=1e-6)


@pytest.mark.parametrize("critic", [None, "slateq"])
def test_train_in_simulator_records_evaluations_and_every_loss(tmp_path, critic):
    agent, history = _run(tmp_path, 2, critic)
    assert agent.experience == "impressions"
    assert [e["step"] for e in history.evaluations] == [0, 4]
    assert {"return_lower", "return_upper", "ctr"} <= set(history.evaluations[0])
    assert len(history.steps) == 4 and history.seconds > 0
    assert {"policy_gradient_loss", "value_estimation_loss", "loss"} <= set(history.losses)
    assert all(np.isfinite(v).all() for v in history.losses.values())


@pytest.mark.parametrize("critic", [None, "slateq"])
def test_a_killed_run_resumes_to_the_uninterrupted_result(tmp_path, critic):
    whole, whole_history = _run(tmp_path / "whole", 4, critic, dropout=0.2)
    _run(tmp_path / "cut", 2, critic, dropout=0.2)  # "dies" after iteration 2: no memory kept
    # A crash after the loop file of iteration 3 was written but before its checkpoint:
    (tmp_path / "cut" / "loop-3.pkl").write_bytes((tmp_path / "cut" / "loop-2.pkl").read_bytes())
    resumed, resumed_history = _run(tmp_path / "cut", 4, critic, dropout=0.2)
    for a, b in zip(whole.actor_network.trainable_weights, resumed.actor_network.trainable_weights):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6)
    assert resumed_history.eval_returns == pytest.approx(whole_history.eval_returns)
    assert resumed_history.losses["loss"] == pytest.approx(whole_history.losses["loss"], rel=1e-4)
    kept = sorted(p.name for p in (tmp_path / "cut").glob("loop-*.pkl"))
    assert kept == ["loop-2.pkl", "loop-3.pkl", "loop-4.pkl"]  # pruned with ckpts (keep 3)


# The online command: the same one is run, SIGKILLed after its first checkpoint, and run again.
ONLINE_SCRIPT = """
import json, sys
import numpy as np
import tfrec
import tensorflow as tf
from tfrec.environments.catalog import CatalogConfig
from tfrec.environments.simulator import InterestEvolutionConfig, InterestEvolutionEnv
from tfrec.training.builders import build_agent, build_encoder
from tfrec.training.config import AgentConfig, EncoderConfig, OnlineConfig
from tfrec.evaluation.rollouts import evaluate_policy
from tfrec.training.online import train_in_simulator

config = InterestEvolutionConfig(
    catalog=CatalogConfig(num_items=40), slate_size=3, max_len=5, max_steps=12
)
env = InterestEvolutionEnv(config, batch_size=8, seed=0)
tf.keras.utils.set_random_seed(0)
encoder = build_encoder(
    EncoderConfig(max_len=5, dim=8, num_layers=1, num_heads=1, dropout=0.2), env.vocab_size
)
agent = build_agent(AgentConfig(slate_size=3, learning_rate=1e-2, critic="slateq"), encoder, 5)
history = train_in_simulator(
    agent, env,
    OnlineConfig(num_iterations=int(sys.argv[3]), collect_steps_per_iteration=12,
                 train_steps_per_iteration=2, batch_size=8, buffer_capacity=32, eval_every=5,
                 eval_episodes=8, progress=False, checkpoint_every=1),
    eval_env=InterestEvolutionEnv(config, batch_size=8, seed=1),
    checkpoint_dir=sys.argv[1],
)
np.save(sys.argv[2] + ".npy", agent.actor_network.item_embeddings.numpy())
with open(sys.argv[2], "w") as f:
    json.dump({"returns": history.eval_returns, "loss": history.losses["loss"]}, f)
"""


@pytest.mark.slow
def test_sigkill_then_same_online_command_resumes_to_the_uninterrupted_result(tmp_path):
    import json
    import os
    import signal
    import subprocess
    import sys
    import time

    script = tmp_path / "online.py"
    script.write_text(ONLINE_SCRIPT)
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
    iterations = "12"
    reference = tmp_path / "reference.json"
    subprocess.run(
        [sys.executable, str(script), str(tmp_path / "ref_ckpt"), str(reference), iterations],
        env=env,
        check=True,
        capture_output=True,
        timeout=600,
    )
    ckpt, out = tmp_path / "ckpt", tmp_path / "out.json"
    command = [sys.executable, str(script), str(ckpt), str(out), iterations]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 300
    while not list(ckpt.glob("ckpt-2.index")):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"no checkpoint before exit/timeout:\n{process.stdout.read().decode()}")
        time.sleep(0.01)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL
    assert not out.exists(), "training finished before the kill: raise the iterations"
    resumed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    got, want = json.loads(out.read_text()), json.loads(reference.read_text())
    np.testing.assert_allclose(got["returns"], want["returns"], rtol=1e-4)
    np.testing.assert_allclose(got["loss"], want["loss"], rtol=1e-3)
    np.testing.assert_allclose(
        np.load(str(out) + ".npy"), np.load(str(reference) + ".npy"), rtol=1e-4, atol=1e-5
    )
