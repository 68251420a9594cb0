"""Validation of :class:`tfrec.agents.TopKOffPolicyReinforceAgent`'s constructor arguments:
one clear error per bad argument, before anything is built."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tfrec.agents.corrections import CORRECTION_KINDS as CORRECTIONS
from tfrec.layers.sampled_softmax import DRAWN_SAMPLERS, check_sampler
from tfrec.policies.slate_distribution import SLATE_MODELS
from tfrec.specs import NUM_RESERVED

__all__ = ["EXPERIENCES", "check_agent_arguments"]

EXPERIENCES = ("impressions", "clicks")


def check_agent_arguments(
    actor_network: Any,
    *,
    experience: str,
    correction: str | None,
    slate_model: str,
    sampler: str,
    weight_cap: float | None,
    loss_weights: Mapping[str, float],
    sampled_softmax_threshold: int | None,
    num_sampled: int,
    item_frequencies: Any,
) -> tuple[str, bool]:
    """Checks the agent's arguments (see the agent for their meaning).

    Returns:
      ``(correction, use_sampled_softmax)``: the correction with its default resolved
      (``"importance"`` on impressions, ``"topk"`` on clicks) and whether the loss uses the
      sampled softmax (``vocab_size > sampled_softmax_threshold``).

    Raises:
      ValueError: naming the first bad argument.
    """
    if experience not in EXPERIENCES:
        raise ValueError(f"experience must be one of {EXPERIENCES}, got {experience!r}.")
    if correction is None:
        correction = "importance" if experience == "impressions" else "topk"
    if correction not in CORRECTIONS:
        raise ValueError(f"correction must be one of {CORRECTIONS}, got {correction!r}.")
    if slate_model not in SLATE_MODELS:
        raise ValueError(f"slate_model must be one of {SLATE_MODELS}, got {slate_model!r}.")
    if getattr(actor_network.encoder, "repeat_weight", None) is not None:
        raise ValueError(
            "the actor's encoder has a learned repeat bias (repeat_bias=True), which the "
            "REINFORCE losses do not model; build the agent's encoder with repeat_bias=False "
            "(warm_start_encoder copies every other weight of a repeat-bias encoder)."
        )
    if experience == "clicks" and correction != "none" and actor_network.behavior_head is None:
        raise ValueError(
            f"correction={correction!r} needs β: build the ActorNetwork with "
            "behavior_head=True (β̂ is used wherever the log has no propensity)."
        )
    sampler = check_sampler(sampler, DRAWN_SAMPLERS, aliases=True)
    if weight_cap is not None and not weight_cap > 0:
        raise ValueError(f"weight_cap must be > 0 or None, got {weight_cap}.")
    for arg, value in loss_weights.items():
        if value < 0:
            raise ValueError(f"{arg} must be >= 0, got {value}.")
    vocab_size = actor_network.vocab_size
    num_items = vocab_size - NUM_RESERVED
    use_sampled_softmax = (
        sampled_softmax_threshold is not None and vocab_size > sampled_softmax_threshold
    )
    if use_sampled_softmax and not 1 <= num_sampled < num_items:
        raise ValueError(
            f"num_sampled={num_sampled} must be in [1, {num_items - 1}] (number of items - 1)."
        )
    if experience == "impressions" and use_sampled_softmax:
        raise ValueError(
            f"experience='impressions' scores the whole catalog (vocab_size={vocab_size} > "
            f"sampled_softmax_threshold={sampled_softmax_threshold}); raise "
            "sampled_softmax_threshold or use experience='clicks' for sampled softmax."
        )
    if sampler == "popularity" and use_sampled_softmax and item_frequencies is None:
        raise ValueError("sampler='popularity' needs item_frequencies ([vocab_size] counts).")
    return correction, use_sampled_softmax
