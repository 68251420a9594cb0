"""Training: frozen config dataclasses, ``build_*`` factories, offline (logs) and online
(simulator) loops, checkpoints, tf.distribute strategies, resume and NaN guards."""

from tfrec.training.builders import build_agent, build_encoder, make_optimizer, warm_start_encoder
from tfrec.training.checkpoints import make_checkpoint_manager, restore_latest
from tfrec.training.click_episodes import ClickCollector, EpisodeBuffer
from tfrec.training.config import (
    OPTIMIZERS,
    AgentConfig,
    EncoderConfig,
    OfflineConfig,
    OnlineConfig,
)
from tfrec.training.distribute import make_strategy, read_tf_config, validate_strategy_name
from tfrec.training.fit_controls import TrainingBudget, WarmupCosine
from tfrec.training.guards import NonFiniteLossError, NonFiniteLossGuard, check_finite_loss
from tfrec.training.impressions import ImpressionBuffer, ImpressionCollector, ImpressionEpisode
from tfrec.training.offline import OfflineResult, train_from_log, train_offline
from tfrec.training.online import train_in_simulator
from tfrec.training.optimizers import LazyAdam
from tfrec.training.resume import (
    CorruptCheckpointWarning,
    random_generators,
    restore_newest_valid,
    verify_checkpoint,
)
from tfrec.training.supervised import (
    SUPERVISED_ENCODER,
    RankingCallback,
    SupervisedConfig,
    build_next_item_model,
    full_batches,
    inference_scorer,
    supervised_encoder,
    train_next_item_model,
)
from tfrec.training.supervised_log import (
    EpochProgress,
    SupervisedRun,
    train_supervised,
    training_rows,
)
from tfrec.training.training_history import TrainingHistory

__all__ = [
    "OPTIMIZERS",
    "SUPERVISED_ENCODER",
    "EpochProgress",
    "RankingCallback",
    "SupervisedRun",
    "full_batches",
    "supervised_encoder",
    "train_supervised",
    "training_rows",
    "AgentConfig",
    "ClickCollector",
    "CorruptCheckpointWarning",
    "EncoderConfig",
    "EpisodeBuffer",
    "ImpressionBuffer",
    "ImpressionCollector",
    "ImpressionEpisode",
    "LazyAdam",
    "NonFiniteLossError",
    "NonFiniteLossGuard",
    "OfflineConfig",
    "OfflineResult",
    "OnlineConfig",
    "SupervisedConfig",
    "TrainingBudget",
    "WarmupCosine",
    "TrainingHistory",
    "build_agent",
    "build_encoder",
    "build_next_item_model",
    "inference_scorer",
    "train_next_item_model",
    "check_finite_loss",
    "make_checkpoint_manager",
    "make_optimizer",
    "make_strategy",
    "random_generators",
    "read_tf_config",
    "restore_latest",
    "restore_newest_valid",
    "train_from_log",
    "train_offline",
    "train_in_simulator",
    "validate_strategy_name",
    "warm_start_encoder",
    "verify_checkpoint",
]
