"""A 1,000,000-item catalog trains offline REINFORCE with sampled softmax in bounded memory."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import textwrap

import pytest

NUM_ITEMS = 1_000_000
DIM = 8
# Bound on the resident-memory growth of the training call. The parameters and Adagrad slots are
# 4 tables of [1,000,002, 8] float32 (actor and behaviour-head embeddings, their accumulators:
# 4 x 32 MB) plus biases; a single full-softmax step on the same batch (8 rows x 5 steps = 40
# states) would add 40 x 1,000,002 float32 logits (160 MB) three times over (logits, softmax,
# their gradient). Sampled softmax (256 negatives) needs [40, 257] logits instead.
MAX_GROWTH_MB = 400

SCRIPT = textwrap.dedent(
    f"""
    import json, threading, time
    import numpy as np
    import psutil
    import tfrec
    from tfrec.data import ItemVocabulary, generate_log
    from tfrec.training.config import AgentConfig, EncoderConfig, OfflineConfig
    from tfrec.training.offline import train_from_log

    log = generate_log(num_users=16, num_items=50, interactions_per_user=6, seed=0)
    ids = np.array([f"item_{{j}}" for j in range({NUM_ITEMS})], dtype=object)
    vocabulary = ItemVocabulary.from_items(ids)
    del ids
    process = psutil.Process()
    before = process.memory_info().rss
    peak, done = [before], threading.Event()

    def watch():
        while not done.is_set():
            peak[0] = max(peak[0], process.memory_info().rss)
            time.sleep(0.005)

    watcher = threading.Thread(target=watch)
    watcher.start()
    result = train_from_log(
        log,
        AgentConfig(slate_size=3, optimizer="adagrad", learning_rate=0.05, num_sampled=256),
        EncoderConfig(max_len=5, dim={DIM}, num_layers=1, num_heads=1, dropout=0.1),
        OfflineConfig(max_steps=4, batch_size=8, num_train_steps=3, log_every=1, progress=False),
        vocabulary=vocabulary,
    )
    done.set()
    watcher.join()
    peak[0] = max(peak[0], process.memory_info().rss)
    print(json.dumps({{
        "vocab_size": vocabulary.size,
        "table_shape": result.agent.actor_network.item_embeddings.shape.as_list(),
        "sampled": result.agent.uses_sampled_softmax,
        "growth_mb": (peak[0] - before) / 2**20,
        "loss": result.history.losses["loss"],
    }}))
    """
)


@pytest.mark.slow
def test_million_item_catalog_trains_with_sampled_softmax_in_bounded_memory():
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
    run = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    record = json.loads(run.stdout.strip().splitlines()[-1])
    assert record["vocab_size"] == NUM_ITEMS + 2
    assert record["table_shape"] == [NUM_ITEMS + 2, DIM]
    assert record["sampled"]
    assert len(record["loss"]) == 3 and all(map(math.isfinite, record["loss"]))
    assert record["growth_mb"] < MAX_GROWTH_MB, record
