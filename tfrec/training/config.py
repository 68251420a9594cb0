"""Configuration of tfrec training runs: frozen dataclasses with defaults and validation.

* :class:`EncoderConfig`: the Transformer state encoder (``tfrec.encoders.SequenceEncoder``).
* :class:`AgentConfig`: :class:`~tfrec.agents.reinforce.TopKOffPolicyReinforceAgent` and its
  policies.
* :class:`OfflineConfig`: training on logged sessions.
* :class:`OnlineConfig`: training in a simulator.

Every field is checked in ``__post_init__``; checks that need the catalog size (``K`` larger than
the catalog ...) are in :meth:`AgentConfig.check_catalog`. Errors name the field and the fix.
"""

from __future__ import annotations

import dataclasses
import math

from tfrec.agents.corrections import DEFAULT_WEIGHT_CAP
from tfrec.agents.reinforce import CORRECTIONS
from tfrec.networks.sampled import SAMPLERS
from tfrec.specs import NUM_RESERVED
from tfrec.training.distribute import validate_strategy_name

__all__ = ["OPTIMIZERS", "AgentConfig", "EncoderConfig", "OfflineConfig", "OnlineConfig"]

OPTIMIZERS = ("adam", "adagrad", "lazy_adam")


def _positive(owner: str, **values: float | int | None) -> None:
    for name, value in values.items():
        if value is not None and not value > 0:
            raise ValueError(f"{owner}.{name} must be > 0, got {value}.")


@dataclasses.dataclass(frozen=True)
class EncoderConfig:
    """Sequence encoder hyper-parameters.

    Attributes:
      max_len: history window length (``>= 1``).
      dim: state / item-embedding size.
      num_layers: Transformer blocks.
      num_heads: attention heads (``dim`` must be divisible by it).
      dropout: dropout rate in ``[0, 1)``.
      repeat_bias: learned scalar added to the scores of the history's items
        (``SequenceEncoder(repeat_bias=True)``, RepeatNet-style).
    """

    max_len: int = 20
    dim: int = 64
    num_layers: int = 2
    num_heads: int = 2
    dropout: float = 0.1
    repeat_bias: bool = False

    def __post_init__(self) -> None:
        if self.max_len < 1:
            raise ValueError(f"EncoderConfig.max_len must be >= 1, got {self.max_len}.")
        _positive(
            "EncoderConfig", dim=self.dim, num_layers=self.num_layers, num_heads=self.num_heads
        )
        if self.dim % self.num_heads:
            raise ValueError(
                f"EncoderConfig.dim={self.dim} must be divisible by num_heads={self.num_heads}."
            )
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"EncoderConfig.dropout must be in [0, 1), got {self.dropout}.")


@dataclasses.dataclass(frozen=True)
class AgentConfig:
    """REINFORCE agent and policy hyper-parameters (see ``TopKOffPolicyReinforceAgent``).

    Attributes:
      slate_size: ``K`` of the policies and of the top-K correction.
      correction: ``"none"`` (plain REINFORCE), ``"importance"`` (capped π/β) or ``"topk"``.
      weight_cap: ``c`` of ``min(π/β, c)`` (default ``e^3``); None disables capping.
      normalize_weights: normalised importance sampling.
      gamma: discount factor in ``[0, 1]``.
      normalize_returns: standardise advantages over the batch.
      optimizer: ``"lazy_adam"`` (default, :class:`~tfrec.training.optimizers.LazyAdam`),
        ``"adam"`` or ``"adagrad"``. Keras' Adam updates its moment slots densely, so its cost
        grows with the catalog; LazyAdam and Adagrad apply the sparse gradients of the item
        tables (sampled softmax) row by row. With the full softmax every gradient is dense and
        LazyAdam is Adam (bit-identical losses and weights, checked on 6 agent steps). One step
        at 1M items with sampled softmax took 1.09 s with Adam, 0.18 s with LazyAdam or Adagrad
        (2-core machine, ``benchmarks/off_policy_correction.py`` part 4).
      learning_rate: optimizer learning rate.
      behavior_loss_weight: weight of β̂'s cross-entropy.
      value_baseline: attach a value head used as baseline (off by default: a baseline biases
        the gradient on click-only logs, see ``tfrec.agents.reinforce``).
      value_loss_weight: weight of the value head's squared error.
      entropy_regularization: weight of the entropy bonus (0 disables it).
      gradient_clipping: global gradient-norm clip (None disables it).
      temperature: softmax temperature of π.
      num_candidates: ``M`` of the Boltzmann collect policy (None: ``min(10 K, #items)``).
      num_greedy: ``K'`` greedy slots of the Boltzmann collect policy.
      exclude_history: the policies never recommend items of the history window.
      sampled_softmax_threshold: sampled softmax above this vocabulary size (None: never).
      num_sampled: sampled negatives per batch.
      sampler: ``"log_uniform"`` or ``"unigram"``.
    """

    slate_size: int = 5
    correction: str = "topk"
    weight_cap: float | None = DEFAULT_WEIGHT_CAP
    normalize_weights: bool = False
    gamma: float = 0.9
    normalize_returns: bool = True
    optimizer: str = "lazy_adam"
    learning_rate: float = 1e-3
    behavior_loss_weight: float = 1.0
    value_baseline: bool = False
    value_loss_weight: float = 0.5
    entropy_regularization: float = 0.0
    gradient_clipping: float | None = None
    temperature: float = 1.0
    num_candidates: int | None = None
    num_greedy: int = 0
    exclude_history: bool = False
    sampled_softmax_threshold: int | None = 100_000
    num_sampled: int = 1024
    sampler: str = "log_uniform"

    def __post_init__(self) -> None:
        if self.slate_size < 1:
            raise ValueError(f"AgentConfig.slate_size must be >= 1, got {self.slate_size}.")
        if self.correction not in CORRECTIONS:
            raise ValueError(
                f"AgentConfig.correction must be one of {CORRECTIONS}, got {self.correction!r}."
            )
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(
                f"AgentConfig.optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}."
            )
        if self.sampler not in SAMPLERS:
            raise ValueError(
                f"AgentConfig.sampler must be one of {SAMPLERS}, got {self.sampler!r}."
            )
        if not 0.0 <= self.gamma <= 1.0:
            raise ValueError(f"AgentConfig.gamma must be in [0, 1], got {self.gamma}.")
        _positive(
            "AgentConfig",
            weight_cap=self.weight_cap,
            learning_rate=self.learning_rate,
            gradient_clipping=self.gradient_clipping,
            temperature=self.temperature,
            num_sampled=self.num_sampled,
            sampled_softmax_threshold=self.sampled_softmax_threshold,
        )
        for name in ("behavior_loss_weight", "value_loss_weight", "entropy_regularization"):
            if getattr(self, name) < 0 or not math.isfinite(getattr(self, name)):
                raise ValueError(f"AgentConfig.{name} must be finite and >= 0.")
        if not 0 <= self.num_greedy <= self.slate_size:
            raise ValueError(
                f"AgentConfig.num_greedy={self.num_greedy} must be in [0, slate_size="
                f"{self.slate_size}]."
            )
        if self.num_candidates is not None and self.num_candidates < self.slate_size:
            raise ValueError(
                f"AgentConfig.num_candidates={self.num_candidates} must be >= slate_size="
                f"{self.slate_size} (the slate is drawn from the top num_candidates items)."
            )

    def check_catalog(self, vocab_size: int) -> None:
        """Checks the fields that depend on the catalog.

        Args:
          vocab_size: number of item indices including the 2 reserved ones.

        Raises:
          ValueError: if ``slate_size``/``num_candidates`` exceed the number of items, or
            sampled softmax would draw at least as many negatives as there are items.
        """
        num_items = vocab_size - NUM_RESERVED
        if self.slate_size > num_items:
            raise ValueError(
                f"AgentConfig.slate_size={self.slate_size} exceeds the catalog ({num_items} "
                "items): lower slate_size."
            )
        if self.num_candidates is not None and self.num_candidates > num_items:
            raise ValueError(
                f"AgentConfig.num_candidates={self.num_candidates} exceeds the catalog "
                f"({num_items} items)."
            )
        sampled = (
            self.sampled_softmax_threshold is not None
            and vocab_size > self.sampled_softmax_threshold
        )
        if sampled and self.num_sampled >= num_items:
            raise ValueError(
                f"AgentConfig.num_sampled={self.num_sampled} must be < the number of items "
                f"({num_items}) when sampled softmax is on (vocab_size > "
                f"sampled_softmax_threshold={self.sampled_softmax_threshold})."
            )


@dataclasses.dataclass(frozen=True)
class OfflineConfig:
    """Training on logged sessions (``tfrec.data.session_dataset``).

    Attributes:
      max_steps: real steps per trajectory row (``T = max_steps + 1``).
      batch_size: rows per batch.
      num_train_steps: gradient steps.
      session_gap: inactivity (log time units) that ends a session; None: one session per user.
      seed: shuffle / initialisation seed.
      log_every: record losses (history and TensorBoard) every that many steps.
      checkpoint_every: save a checkpoint every that many steps (None: only at the end, when a
        checkpoint directory is given).
      progress: show a tqdm progress bar.
      strategy: ``tf.distribute`` strategy, one of ``tfrec.training.distribute.STRATEGIES``
        (``"default"``, ``"mirrored"``, ``"multi_worker_mirrored"``; the last reads the cluster
        from ``TF_CONFIG``). ``batch_size`` is the global batch, split over the replicas.
      resume: continue from the newest intact checkpoint of the checkpoint directory, if any
        (``num_train_steps`` counts from the start of the whole run).
    """

    max_steps: int = 20
    batch_size: int = 64
    num_train_steps: int = 1000
    session_gap: float | None = None
    seed: int = 0
    log_every: int = 10
    checkpoint_every: int | None = None
    progress: bool = True
    strategy: str = "default"
    resume: bool = True

    def __post_init__(self) -> None:
        validate_strategy_name(self.strategy, "OfflineConfig.strategy")
        _positive(
            "OfflineConfig",
            max_steps=self.max_steps,
            batch_size=self.batch_size,
            num_train_steps=self.num_train_steps,
            session_gap=self.session_gap,
            log_every=self.log_every,
            checkpoint_every=self.checkpoint_every,
        )


@dataclasses.dataclass(frozen=True)
class OnlineConfig:
    """Training in a simulator with the Boltzmann collect policy.

    Attributes:
      num_iterations: collect-then-train iterations.
      collect_steps_per_iteration: environment steps (per batch of users) collected per iteration.
      train_steps_per_iteration: gradient steps per iteration.
      batch_size: episodes per training batch.
      max_steps: real steps per training row (longer episodes are cut into chunks).
      buffer_capacity: episodes kept in the replay buffer (oldest dropped first).
      eval_every: evaluate the greedy policy's return every that many iterations (and at the end).
      eval_episodes: episodes per evaluation.
      seed: seed of the collect policy's sampling and of the buffer sampling.
      checkpoint_every: iterations between checkpoints (None: only at the end).
      progress: show a tqdm progress bar.
    """

    num_iterations: int = 100
    collect_steps_per_iteration: int = 10
    train_steps_per_iteration: int = 1
    batch_size: int = 32
    max_steps: int = 50
    buffer_capacity: int = 1000
    eval_every: int = 10
    eval_episodes: int = 20
    seed: int = 0
    checkpoint_every: int | None = None
    progress: bool = True

    def __post_init__(self) -> None:
        _positive(
            "OnlineConfig",
            num_iterations=self.num_iterations,
            collect_steps_per_iteration=self.collect_steps_per_iteration,
            train_steps_per_iteration=self.train_steps_per_iteration,
            batch_size=self.batch_size,
            max_steps=self.max_steps,
            buffer_capacity=self.buffer_capacity,
            eval_every=self.eval_every,
            eval_episodes=self.eval_episodes,
            checkpoint_every=self.checkpoint_every,
        )
