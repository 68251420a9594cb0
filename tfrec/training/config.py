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
from typing import Any

from tfrec.agents.corrections import DEFAULT_WEIGHT_CAP
from tfrec.agents.reinforce import CORRECTIONS, CRITICS, EXPERIENCES
from tfrec.layers.sampled_softmax import DRAWN_SAMPLERS, check_sampler
from tfrec.policies.slate_distribution import SLATE_MODELS
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
      use_output_bias: a learned per-item bias in the item scores (``SequenceEncoder``'s
        ``use_output_bias``): a policy can then learn an item's global worth (e.g. "clickbait
        costs the session") without moving its embedding.
    """

    max_len: int = 20
    dim: int = 64
    num_layers: int = 2
    num_heads: int = 2
    dropout: float = 0.1
    repeat_bias: bool = False
    use_output_bias: bool = False

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

    @classmethod
    def from_encoder(cls, encoder: Any, **overrides: Any) -> EncoderConfig:
        """The configuration of an existing ``SequenceEncoder`` (its public attributes).

        Args:
          encoder: a ``tfrec.encoders.SequenceEncoder``.
          **overrides: fields to replace, e.g. ``repeat_bias=False`` for the warm-startable twin
            the REINFORCE agent needs (it refuses a repeat bias; ``warm_start_encoder`` copies
            every other weight).

        Returns:
          An ``EncoderConfig`` that ``build_encoder`` turns into the same architecture.
        """
        fields = {f.name: getattr(encoder, f.name) for f in dataclasses.fields(cls)}
        return cls(**{**fields, **overrides})


@dataclasses.dataclass(frozen=True)
class AgentConfig:
    """REINFORCE agent and policy hyper-parameters (see ``TopKOffPolicyReinforceAgent``).

    Attributes:
      experience: ``"impressions"`` (every environment step with its whole slate, clicked or
        not; the slate policy gradient of :mod:`tfrec.agents.slate_terms`) or ``"clicks"``
        (click-only logs: the paper's reward-weighted softmax on clicked items, biased toward
        clicks, see docs/concepts.md). None: what the data holds — impressions in a simulator
        (``train_in_simulator``) and on impression logs, clicks on a click log
        (``train_from_log``); see :meth:`with_experience`.
      slate_model: how the collect policy draws slates in impressions mode:
        ``"plackett_luce"`` (without replacement) or ``"independent"`` (K draws).
      exploration_epsilon: uniform share ``ε`` of the impressions-mode collect policy
        ``(1 - ε)·π + ε·uniform`` over the whole catalog.
      inclusion_samples: Monte-Carlo draws for the logged Plackett-Luce inclusion
        probabilities (0: not logged, NaN).
      advantage_lambda: impressions mode with a value baseline: None (default) uses the
        Monte-Carlo advantage ``R_t - V(s_t)``; ``λ`` in ``[0, 1]`` uses GAE(λ)
        (:func:`tfrec.agents.slate_terms.generalized_advantages`).
      critic: None (REINFORCE on the shown slates) or ``"slateq"``: actor-critic with SlateQ's
        decomposition ``Q(s, A) = Σ P(i|s, A) Q̄(s, i)`` (learned click model and item values,
        :class:`tfrec.networks.slate_critic.SlateCritic`) scoring ``critic_samples`` slates
        sampled from the policy per step (impressions only).
      critic_samples: slates scored per step by the critic (>= 2, leave-one-out baseline).
      click_loss_weight: weight of the critic's click-model cross-entropy.
      slate_size: ``K`` of the policies and of the top-K correction.
      correction: ``"none"`` (plain REINFORCE), ``"importance"`` (capped π/β; per slate with
        impressions) or ``"topk"`` (λ_K·π/β; per shown item with impressions). None:
        ``"importance"`` with impressions, ``"topk"`` with clicks.
      weight_cap: ``c`` of ``min(π/β, c)`` (default ``e^3``); None disables capping.
      normalize_weights: normalised importance sampling.
      gamma: discount factor in ``[0, 1]``; None: 0.9 with clicks, else 1.0 (impressions:
        sessions end; the return is the sum over environment steps).
      normalize_returns: impressions: centre and scale the advantages over the batch's real
        steps; clicks: scale only (no centring, see ``tfrec.agents.reinforce``).
      optimizer: ``"lazy_adam"`` (default, :class:`~tfrec.training.optimizers.LazyAdam`),
        ``"adam"`` or ``"adagrad"``. Keras' Adam updates its moment slots densely, so its cost
        grows with the catalog; LazyAdam and Adagrad apply the sparse gradients of the item
        tables (sampled softmax) row by row. With the full softmax every gradient is dense and
        LazyAdam is Adam (bit-identical losses and weights, checked on 6 agent steps). One step
        at 1M items with sampled softmax took 1.09 s with Adam, 0.18 s with LazyAdam or Adagrad
        (2-core machine, ``benchmarks/off_policy_correction.py`` part 4).
      learning_rate: optimizer learning rate.
      behavior_loss_weight: weight of β̂'s cross-entropy.
      value_baseline: attach a value head used as baseline; None: on with impressions (a
        state baseline is unbiased there), off with clicks (it biases the gradient on
        click-only logs, see ``tfrec.agents.reinforce``).
      value_loss_weight: weight of the value head's squared error.
      entropy_regularization: weight of the entropy bonus (0 disables it).
      gradient_clipping: global gradient-norm clip (None disables it).
      temperature: softmax temperature of π.
      num_candidates: ``M`` of the Boltzmann collect policy (None: ``min(10 K, #items)``).
      num_greedy: ``K'`` greedy slots of the Boltzmann collect policy.
      exclude_history: the policies never recommend items of the history window.
      sampled_softmax_threshold: sampled softmax above this vocabulary size (None: never).
      num_sampled: sampled negatives per batch.
      sampler: negatives of the sampled softmax, one of ``tfrec.layers.DRAWN_SAMPLERS``:
        ``"log_uniform"`` (Zipf over the popularity ranks), ``"popularity"`` (unigram: counts
        + 1; old name ``"unigram"``) or ``"uniform"``.
    """

    experience: str | None = None
    slate_model: str = "plackett_luce"
    exploration_epsilon: float = 0.05
    inclusion_samples: int = 0
    advantage_lambda: float | None = None
    critic: str | None = None
    critic_samples: int = 8
    click_loss_weight: float = 1.0
    slate_size: int = 5
    correction: str | None = None
    weight_cap: float | None = DEFAULT_WEIGHT_CAP
    normalize_weights: bool = False
    gamma: float | None = None
    normalize_returns: bool = True
    optimizer: str = "lazy_adam"
    learning_rate: float = 1e-3
    behavior_loss_weight: float = 1.0
    value_baseline: bool | None = None
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
        if self.correction is not None and self.correction not in CORRECTIONS:
            raise ValueError(
                f"AgentConfig.correction must be one of {CORRECTIONS}, got {self.correction!r}."
            )
        if self.experience is not None and self.experience not in EXPERIENCES:
            raise ValueError(
                f"AgentConfig.experience must be one of {EXPERIENCES}, got {self.experience!r}."
            )
        if self.slate_model not in SLATE_MODELS:
            raise ValueError(
                f"AgentConfig.slate_model must be one of {SLATE_MODELS}, got {self.slate_model!r}."
            )
        if not 0.0 <= self.exploration_epsilon <= 1.0:
            raise ValueError(
                f"AgentConfig.exploration_epsilon must be in [0, 1], got {self.exploration_epsilon}."
            )
        if self.critic is not None and self.critic not in CRITICS:
            raise ValueError(
                f"AgentConfig.critic must be one of {CRITICS} or None, got {self.critic!r}."
            )
        if self.critic is not None and self.value_baseline:
            raise ValueError(
                "AgentConfig.value_baseline=True has no use with critic='slateq' (the critic's "
                "leave-one-out samples are the baseline): leave value_baseline None or False."
            )
        if self.critic is not None and self.experience == "clicks":
            raise ValueError("AgentConfig.critic='slateq' learns from impressions, not clicks.")
        if self.critic_samples < 2:
            raise ValueError(f"AgentConfig.critic_samples must be >= 2, got {self.critic_samples}.")
        if self.advantage_lambda is not None and not 0.0 <= self.advantage_lambda <= 1.0:
            raise ValueError(
                f"AgentConfig.advantage_lambda must be in [0, 1] or None, got "
                f"{self.advantage_lambda}."
            )
        if self.inclusion_samples < 0:
            raise ValueError(
                f"AgentConfig.inclusion_samples must be >= 0, got {self.inclusion_samples}."
            )
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(
                f"AgentConfig.optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}."
            )
        check_sampler(self.sampler, DRAWN_SAMPLERS, "AgentConfig.sampler", aliases=True)
        if self.gamma is not None and not 0.0 <= self.gamma <= 1.0:
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

    def with_experience(self, default: str) -> AgentConfig:
        """This config with ``experience`` set to ``default`` when it is None.

        Args:
          default: ``"impressions"`` or ``"clicks"``, what the training data holds.

        Returns:
          An ``AgentConfig`` whose ``experience`` is not None.
        """
        if self.experience is not None:
            return self
        return dataclasses.replace(self, experience=default)

    @property
    def resolved_gamma(self) -> float:
        """``gamma``, or its default for the experience mode (1.0 impressions, 0.9 clicks)."""
        if self.gamma is not None:
            return float(self.gamma)
        return 0.9 if self.experience == "clicks" else 1.0

    @property
    def resolved_value_baseline(self) -> bool:
        """``value_baseline``, or its default (on with impressions, off with clicks)."""
        if self.value_baseline is not None:
            return bool(self.value_baseline)
        return self.experience != "clicks" and self.critic is None

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
      max_steps: real steps per training row (longer episodes are cut into chunks, which
        truncates their returns); None: the environment's step cap.
      buffer_capacity: episodes kept in the replay buffer (oldest dropped first).
      eval_every: evaluate the greedy policy's return every that many iterations (and at the end).
      eval_episodes: episodes per evaluation.
      seed: seed of the collection environment, the initialisation and the buffer sampling.
      eval_seed: seed of the evaluation environment (the same episodes at every evaluation).
      checkpoint_every: iterations between checkpoints (None: only at the end).
      progress: show a tqdm progress bar.
      resume: continue from the newest intact checkpoint of the checkpoint folder, if any.
      keep_best: at the end, restore the actor network's weights of the evaluation with the
        highest return (model selection on ``eval_env``: judge the result on other users).
    """

    num_iterations: int = 100
    collect_steps_per_iteration: int = 10
    train_steps_per_iteration: int = 1
    batch_size: int = 32
    max_steps: int | None = None
    buffer_capacity: int = 1000
    eval_every: int = 10
    eval_episodes: int = 20
    seed: int = 0
    eval_seed: int = 12345
    checkpoint_every: int | None = None
    progress: bool = True
    resume: bool = True
    keep_best: bool = False

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
