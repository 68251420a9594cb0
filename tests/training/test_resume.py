"""Resume after SIGKILL, and fallback from a damaged newest checkpoint (tfrec.training.resume)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from tfrec.data import generate_log
from tfrec.training.builders import build_agent, build_encoder
from tfrec.training.checkpoints import make_checkpoint_manager, restore_latest
from tfrec.training.config import AgentConfig, EncoderConfig, OfflineConfig
from tfrec.training.offline import train_from_log
from tfrec.training.resume import (
    CorruptCheckpointWarning,
    random_generators,
    restore_newest_valid,
    verify_checkpoint,
)

# Dropout > 0 and sampled softmax (30 items > threshold 10, 8 negatives): the resumed run must
# also restore the dropout generators and the agent's sampling generator to match.
ENCODER = EncoderConfig(max_len=5, dim=8, num_layers=1, num_heads=1, dropout=0.3)
AGENT = AgentConfig(
    slate_size=3,
    learning_rate=1e-2,
    sampled_softmax_threshold=10,
    num_sampled=8,
    experience="clicks",  # these tests train on click logs (session_dataset)
)
NUM_STEPS = 300
OFFLINE = OfflineConfig(
    max_steps=4, batch_size=8, num_train_steps=NUM_STEPS, checkpoint_every=10, progress=False
)

# The training command: the same one is run, killed, and run again.
SCRIPT = textwrap.dedent(
    f"""
    import json, sys
    import numpy as np
    import tfrec
    from tfrec.data import generate_log
    from tfrec.training.config import AgentConfig, EncoderConfig, OfflineConfig
    from tfrec.training.offline import train_from_log

    log = generate_log(num_users=24, num_items=30, interactions_per_user=8, seed=0)
    result = train_from_log(
        log, {AGENT!r}, {ENCODER!r}, {OFFLINE!r}, checkpoint_dir=sys.argv[1]
    )
    np.save(sys.argv[2] + ".npy", result.agent.actor_network.item_embeddings.numpy())
    with open(sys.argv[2], "w") as f:
        json.dump({{"steps": result.history.steps, "loss": result.history.losses["loss"]}}, f)
    """
)


def _reference():
    log = generate_log(num_users=24, num_items=30, interactions_per_user=8, seed=0)
    return train_from_log(log, AGENT, ENCODER, OFFLINE)


def _steps(directory: Path) -> list[int]:
    return sorted(int(p.name[5:].split(".")[0]) for p in directory.glob("ckpt-*.index"))


@pytest.mark.slow
def test_sigkill_then_same_command_resumes_to_the_uninterrupted_result(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    ckpt, out = tmp_path / "ckpt", tmp_path / "out.json"
    command = [sys.executable, str(script), str(ckpt), str(out)]
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while not (ckpt / "checkpoint").exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"no checkpoint before exit/timeout:\n{process.stdout.read().decode()}")
        time.sleep(0.01)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL
    assert not out.exists(), "training finished before the kill: raise NUM_STEPS"
    killed_at = max(_steps(ckpt))
    assert 0 < killed_at < NUM_STEPS

    resumed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    record = json.loads(out.read_text())
    # The resumed run only ran the remaining steps, logged at the same global step numbers.
    assert record["steps"][0] > killed_at and record["steps"][-1] == NUM_STEPS

    reference = _reference()
    assert reference.history.steps[-1] == NUM_STEPS
    # Stated tolerance: same float32 arithmetic, only the thread scheduling of CPU kernels may
    # differ between processes.
    np.testing.assert_allclose(record["loss"][-1], reference.history.losses["loss"][-1], rtol=1e-4)
    np.testing.assert_allclose(
        np.load(str(out) + ".npy"),
        reference.agent.actor_network.item_embeddings.numpy(),
        rtol=1e-4,
        atol=1e-5,
    )


def _agent():
    return build_agent(AGENT, build_encoder(ENCODER, 12), ENCODER.max_len)


def test_damaged_newest_checkpoint_falls_back_to_the_previous_one(tmp_path):
    agent = _agent()
    manager = make_checkpoint_manager(tmp_path, agent)
    for step in (1, 2):
        agent.train_step_counter.assign(step)
        agent.actor_network.item_embeddings.assign(tf.fill([12, 8], float(step)))
        manager.save(checkpoint_number=step)
    assert verify_checkpoint(tmp_path / "ckpt-2") is None
    data = next(tmp_path.glob("ckpt-2.data-*"))
    data.write_bytes(data.read_bytes()[: data.stat().st_size // 2])  # a copy cut short
    assert "less bytes" in verify_checkpoint(tmp_path / "ckpt-2")

    fresh = _agent()
    with pytest.warns(CorruptCheckpointWarning, match="ckpt-2"):
        step = restore_latest(make_checkpoint_manager(tmp_path, fresh))
    assert step == 1
    np.testing.assert_array_equal(fresh.actor_network.item_embeddings.numpy(), np.ones([12, 8]))


def test_flipped_bytes_are_caught_by_the_checksums(tmp_path):
    agent = _agent()
    manager = make_checkpoint_manager(tmp_path, agent)
    manager.save(checkpoint_number=1)
    data = next(tmp_path.glob("ckpt-1.data-*"))
    raw = bytearray(data.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    data.write_bytes(bytes(raw))
    assert verify_checkpoint(tmp_path / "ckpt-1") is not None
    with pytest.warns(CorruptCheckpointWarning), pytest.raises(ValueError, match="no usable"):
        restore_newest_valid(make_checkpoint_manager(tmp_path, _agent()))


def test_missing_index_is_reported(tmp_path):
    agent = _agent()
    make_checkpoint_manager(tmp_path, agent).save(checkpoint_number=3)
    (tmp_path / "ckpt-3.index").unlink()
    assert "index is missing" in verify_checkpoint(tmp_path / "ckpt-3")


def test_checkpoint_restores_dropout_and_sampling_rng(tmp_path):
    """A resumed run continues the random streams of an uninterrupted one, exactly."""
    log = generate_log(num_users=24, num_items=30, interactions_per_user=8, seed=0)

    def config(steps: int) -> OfflineConfig:
        return OfflineConfig(
            max_steps=4, batch_size=8, num_train_steps=steps, checkpoint_every=3, progress=False
        )

    reference = train_from_log(log, AGENT, ENCODER, config(6))
    assert reference.agent.uses_sampled_softmax
    train_from_log(log, AGENT, ENCODER, config(3), checkpoint_dir=tmp_path)
    saved = [name for name, _ in tf.train.list_variables(str(tmp_path / "ckpt-3"))]
    assert "agent/_sampling_generator/_state_var/.ATTRIBUTES/VARIABLE_VALUE" in saved
    # One generator per Dropout: embedding, attention probabilities, attention and FFN branches.
    dropout_states = [name for name in saved if name.startswith("rng/layer_")]
    assert len(dropout_states) == len(random_generators(reference.agent)) == 4
    resumed = train_from_log(log, AGENT, ENCODER, config(6), checkpoint_dir=tmp_path)
    assert resumed.history.steps[0] > 3
    np.testing.assert_array_equal(
        resumed.agent.actor_network.item_embeddings.numpy(),
        reference.agent.actor_network.item_embeddings.numpy(),
    )


def test_generator_negatives_follow_the_generator_state():
    """The same generator state gives the same negatives; the logQ correction is num_sampled·Q."""
    from tfrec.layers import sampled_logits

    embeddings = tf.zeros([12, 2])  # zero logits: every corrected logit is -log(expected count)
    states, items = tf.zeros([1, 2]), tf.constant([2])

    def draw(generator):
        return sampled_logits(embeddings, states, items, 4, generator=generator).numpy()

    first = tf.random.Generator.from_seed(7)
    copy = tf.random.Generator.from_seed(0)
    copy.reset(first.state)
    np.testing.assert_array_equal(draw(first), draw(copy))
    # Target index 2 is item 0 of 10: Q = log(2/1) / log(11), expected count 4 Q.
    expected_logit = -np.log(4 * np.log(2.0) / np.log(11.0))
    np.testing.assert_allclose(draw(first)[0, 0], expected_logit, rtol=1e-5)


def test_generator_unigram_negatives_use_the_counts():
    from tfrec.layers import sampled_logits

    frequencies = np.zeros(12)
    frequencies[3] = 99.0  # add-one smoothing: Q(3) = 100 / 109, every other item 1 / 109
    logits = sampled_logits(
        tf.zeros([12, 2]),
        tf.zeros([1, 2]),
        tf.constant([5]),
        6,
        "unigram",
        frequencies,
        generator=tf.random.Generator.from_seed(1),
    ).numpy()
    # Target 5: logit -log(6 / 109). Draws of item 3 carry -log(6 * 100 / 109).
    np.testing.assert_allclose(logits[0, 0], -np.log(6 / 109), rtol=1e-5)
    negatives = logits[0, 1:]
    assert np.isclose(negatives, -np.log(600 / 109), rtol=1e-5).sum() >= 3
