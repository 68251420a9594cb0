"""Part 4: step time at scale.

One training step of the agent (sampled softmax above 100k items) at a 10k-item and a 1M-item
catalog (median of timed steps after warm-up), with the default Adam optimizer, with Adagrad
(whose sparse update touches only the rows in the batch) and with LazyAdam.
"""

from __future__ import annotations

import time

import numpy as np
import tensorflow as tf
from tf_agents.utils import common

from tfrec.data import ItemVocabulary, build_sequences, generate_log, session_dataset
from tfrec.training.builders import build_agent, build_encoder
from tfrec.training.config import AgentConfig, EncoderConfig

from .settings import Settings

STEP_OPTIMIZERS = ("adam", "adagrad", "lazy_adam")


def step_time(dataset: tf.data.Dataset, vocab_size: int, optimizer: str, steps: int) -> float:
    """Median seconds of one ``agent.train`` step (after 2 warm-up steps)."""
    tf.keras.utils.set_random_seed(0)
    encoder = build_encoder(
        EncoderConfig(max_len=20, dim=32, num_layers=1, num_heads=2), vocab_size
    )
    learning_rate = 0.05 if optimizer == "adagrad" else 1e-3
    agent = build_agent(
        AgentConfig(
            experience="clicks",  # sampled softmax above 100k items: click mode only
            correction="topk",
            optimizer=optimizer,
            learning_rate=learning_rate,
        ),
        encoder,
        20,
    )
    train = common.function(agent.train)
    batches = list(dataset.repeat().take(steps + 2))
    for batch in batches[:2]:  # tracing + creation of the optimizer slots
        train(batch)
    times = []
    for batch in batches[2:]:
        start = time.perf_counter()
        float(train(batch).loss)
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def step_times(settings: Settings) -> dict[str, float]:
    """Part 4: step time at 10k and 1M items: default Adam, sparse-update Adagrad and LazyAdam."""
    out = {}
    for num_items in (10_000, 1_000_000):
        log = generate_log(num_users=256, num_items=num_items, interactions_per_user=20, seed=0)
        vocab = ItemVocabulary.from_items(np.array([f"item_{j}" for j in range(num_items)]))
        dataset = session_dataset(
            build_sequences(log, vocab), max_len=20, max_steps=20, batch_size=32, seed=0
        )
        for optimizer in STEP_OPTIMIZERS:
            out[f"{optimizer}_{num_items}"] = step_time(
                dataset, vocab.size, optimizer, settings.timing_steps
            )
    for optimizer in STEP_OPTIMIZERS:
        out[f"{optimizer}_ratio"] = out[f"{optimizer}_1000000"] / out[f"{optimizer}_10000"]
    return out
