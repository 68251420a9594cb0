"""A tiny distributed training job run by tests/training/test_distribute.py in subprocesses.

Usage: ``python distributed_job.py {mirrored,worker} OUT.json``. ``mirrored`` splits the CPU into
two logical devices (before TensorFlow initialises them) and trains with one device and with
``MirroredStrategy``; ``worker`` trains with ``MultiWorkerMirroredStrategy`` from ``TF_CONFIG``.
The losses of REINFORCE and of the supervised model go to ``OUT.json``.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import numpy as np

import tfrec  # noqa: F401  (Keras 2 before TensorFlow loads)

ITEMS_PER_USER = 4  # every session has the same length, so replica means = global mean


def equal_sessions_log() -> Any:
    """48 synthetic users x exactly 4 interactions over 30 items."""
    from tfrec.data import InteractionLog, generate_log

    df = generate_log(num_users=80, num_items=30, interactions_per_user=8, seed=0).df
    df = df[df.groupby("user")["item"].transform("size") >= ITEMS_PER_USER]
    df = df.groupby("user").head(ITEMS_PER_USER)
    users = df["user"].drop_duplicates().iloc[:48]
    return InteractionLog.from_dataframe(df[df["user"].isin(users)].reset_index(drop=True))


def configs(strategy: str) -> tuple[Any, Any, Any, Any]:
    """REINFORCE agent/encoder/loop configs and the supervised config for ``strategy``."""
    from tfrec.training.config import AgentConfig, EncoderConfig, OfflineConfig
    from tfrec.training.supervised import SupervisedConfig, supervised_encoder

    encoder = EncoderConfig(max_len=5, dim=8, num_layers=1, num_heads=1, dropout=0.0)
    agent = AgentConfig(slate_size=3, learning_rate=1e-2, normalize_returns=False)
    offline = OfflineConfig(
        max_steps=ITEMS_PER_USER,
        batch_size=16,
        num_train_steps=2,  # step 2's loss already depends on step 1's all-reduced update
        log_every=1,
        progress=False,
        strategy=strategy,
    )
    supervised = SupervisedConfig(
        encoder=supervised_encoder(
            max_len=ITEMS_PER_USER - 1, dim=8, num_layers=1, num_heads=1, dropout=0.0
        ),
        batch_size=16,
        epochs=1,  # 3 batches: the epoch's mean loss includes 2 post-update batches
        learning_rate=1e-2,
        strategy=strategy,
    )
    return agent, encoder, offline, supervised


def train(strategy: str) -> dict[str, Any]:
    """Trains both models under ``strategy``; returns their losses and replica count."""
    from tfrec.data import ItemVocabulary, build_sequences, leave_last_out
    from tfrec.training.distribute import make_strategy
    from tfrec.training.offline import train_from_log
    from tfrec.training.supervised import train_next_item_model

    log = equal_sessions_log()
    agent, encoder, offline, supervised = configs(strategy)
    distribution = make_strategy(strategy)
    result = train_from_log(log, agent, encoder, offline, strategy=distribution)
    vocabulary = ItemVocabulary.from_items(log.df["item"])
    train_seqs, valid, _ = leave_last_out(build_sequences(log, vocabulary))
    _, history = train_next_item_model(
        train_seqs, valid, supervised, vocabulary.size, strategy=distribution
    )
    return {
        "replicas": distribution.num_replicas_in_sync,
        "reinforce_loss": result.history.losses["loss"],
        "embedding_sum": float(np.sum(result.agent.actor_network.item_embeddings.numpy())),
        "supervised_loss": history.history["loss"],
    }


def main(mode: str, out: str) -> None:
    import tensorflow as tf

    if mode == "mirrored":
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * 2
        )
        record = {"mirrored": train("mirrored"), "default": train("default")}
    else:
        record = {"worker": train("multi_worker_mirrored")}
    with open(out, "w") as f:
        json.dump(record, f)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
