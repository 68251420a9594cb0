"""Large catalogs: a 1,000,000-item catalog trains offline REINFORCE with sampled softmax in
bounded memory; an item table sharded over 2 parameter servers (ParameterServerStrategy) trains."""

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


# An in-process cluster (1 worker, 2 parameter servers on 127.0.0.1) in a subprocess: the servers
# cannot be shut down, so they must not outlive the job. Only variables of at least
# min_shard_bytes are split: the [1002, 8] item table (32 KB) in 2 shards, the rest whole.
SHARDED_SCRIPT = textwrap.dedent(
    """
    import json, socket
    import numpy as np
    import tfrec
    import tensorflow as tf
    from tfrec.encoders import SequenceEncoder

    sockets = [socket.socket() for _ in range(3)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    cluster = tf.train.ClusterSpec(
        {"worker": [f"127.0.0.1:{ports[0]}"], "ps": [f"127.0.0.1:{p}" for p in ports[1:]]}
    )
    servers = [tf.distribute.Server(cluster, job_name="worker", task_index=0, start=True)]
    servers += [tf.distribute.Server(cluster, job_name="ps", task_index=i) for i in range(2)]
    strategy = tf.distribute.ParameterServerStrategy(
        tf.distribute.cluster_resolver.SimpleClusterResolver(cluster, rpc_layer="grpc"),
        variable_partitioner=tf.distribute.experimental.partitioners.MinSizePartitioner(
            min_shard_bytes=16 * 1024, max_shards=2
        ),
    )
    vocab_size, max_len = 1002, 5
    with strategy.scope():
        encoder = SequenceEncoder(vocab_size, max_len, 8, 1, 1, 0.0)
        encoder(tf.zeros([1, max_len], tf.int32))
        optimizer = tf.keras.optimizers.Adagrad(0.5)
    shards = encoder.item_embedding.embeddings.variables
    initial = [shard.numpy() for shard in shards]
    coordinator = tf.distribute.coordinator.ClusterCoordinator(strategy)
    # 16 windows whose next item is a fixed function of the last one: learnable in a few steps.
    rng = np.random.default_rng(0)
    history = rng.integers(2, vocab_size, size=(16, max_len)).astype(np.int32)
    target = (history[:, -1] * 7) % (vocab_size - 2) + 2

    def dataset_fn(_):
        return tf.data.Dataset.from_tensor_slices((history, target)).batch(16).repeat()

    iterator = iter(
        coordinator.create_per_worker_dataset(
            lambda: strategy.distribute_datasets_from_function(dataset_fn)
        )
    )

    @tf.function
    def train_step(iterator):
        def replica_step(batch):
            ids, labels = batch
            with tf.GradientTape() as tape:
                logits = encoder.score_items(ids)
                loss = tf.reduce_mean(
                    tf.nn.sparse_softmax_cross_entropy_with_logits(labels, logits)
                )
            variables = encoder.trainable_variables
            optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
            return loss

        return strategy.run(replica_step, args=(next(iterator),))

    losses = [coordinator.schedule(train_step, args=(iterator,)) for _ in range(8)]
    coordinator.join()
    print(json.dumps({
        "shard_devices": sorted(shard.device for shard in shards),
        "shard_rows": [int(shard.shape[0]) for shard in shards],
        "shards_changed": [
            bool(np.any(shard.numpy() != start)) for shard, start in zip(shards, initial)
        ],
        "position_shards": len(getattr(encoder.position_embedding.position_embeddings,
                                       "variables", [None])),
        "losses": [float(loss.fetch()) for loss in losses],
    }))
    """
)


@pytest.mark.slow
def test_item_table_sharded_over_two_parameter_servers_trains():
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "TF_CONFIG": ""}
    run = subprocess.run(
        [sys.executable, "-c", SHARDED_SCRIPT], env=env, capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    record = json.loads(run.stdout.strip().splitlines()[-1])
    assert record["shard_devices"] == [
        "/job:ps/replica:0/task:0/device:CPU:0",
        "/job:ps/replica:0/task:1/device:CPU:0",
    ]
    assert record["shard_rows"] == [501, 501]  # 1002 rows split evenly
    assert record["shards_changed"] == [True, True]  # both servers received updates
    assert record["position_shards"] == 1  # small variables stay whole
    losses = record["losses"]
    assert all(map(math.isfinite, losses))
    assert losses[-1] < losses[0] - 0.1, losses
