"""Sizes of one run of the off-policy benchmark, and its default simulator."""

from __future__ import annotations

import dataclasses

from tfrec.environments import InterestEvolutionConfig, InterestEvolutionEnv
from tfrec.training.config import EncoderConfig, OfflineConfig

BATCH = 256
METHODS = {
    "(b) REINFORCE, no correction": "none",
    "(c) REINFORCE, pi/beta": "importance",
    "(d) REINFORCE, top-K": "topk",
}


@dataclasses.dataclass(frozen=True)
class Settings:
    """Sizes of one run (``--quick`` shrinks them)."""

    seeds: int
    ope_episodes: int
    truth_episodes: int
    log_episodes: int
    heldout_episodes: int
    eval_episodes: int
    offline_steps: int
    supervised_epochs: int
    online_iterations: int
    timing_steps: int
    first_seed: int = 0
    encoder: EncoderConfig = EncoderConfig(max_len=20, dim=32, num_layers=1, num_heads=2)


SIZES = {  # field: (full run, --quick)
    "seeds": (5, 2),
    "ope_episodes": (10_000, 3_000),
    "truth_episodes": (5_000, 2_000),
    "log_episodes": (3_000, 1_000),
    "heldout_episodes": (500, 300),
    "eval_episodes": (512, 256),
    "offline_steps": (300, 60),
    "supervised_epochs": (8, 2),
    "online_iterations": (150, 20),
    "timing_steps": (5, 2),
}
FULL = Settings(**{name: full for name, (full, _) in SIZES.items()})
QUICK = Settings(**{name: quick for name, (_, quick) in SIZES.items()})


def default_env(seed: int) -> InterestEvolutionEnv:
    """The default simulator with a batch of ``BATCH`` users."""
    return InterestEvolutionEnv(InterestEvolutionConfig(), batch_size=BATCH, seed=seed)


def offline_config(settings: Settings, seed: int) -> OfflineConfig:
    """The offline-training configuration every REINFORCE learner of the benchmark uses."""
    return OfflineConfig(
        max_steps=20,
        batch_size=32,
        num_train_steps=settings.offline_steps,
        seed=seed,
        progress=False,
    )
