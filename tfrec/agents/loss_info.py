"""The loss record of :class:`~tfrec.agents.reinforce.TopKOffPolicyReinforceAgent` (all modes)."""

from __future__ import annotations

import collections

import tensorflow as tf

__all__ = ["TopKReinforceLossInfo", "masked_mean"]


class TopKReinforceLossInfo(
    collections.namedtuple(
        "TopKReinforceLossInfo",
        (
            "policy_gradient_loss",
            "behavior_loss",
            "value_estimation_loss",
            "entropy_regularization_loss",
            "regularization_loss",
            "mean_weight",
            "mean_log_pi",
        ),
    )
):
    """``LossInfo.extra`` of :class:`TopKOffPolicyReinforceAgent` (all scalars).

    The five ``*_loss`` fields sum to ``LossInfo.loss``. ``mean_weight`` is the mean corrected
    weight ``λ_K · min(π/β, c)`` over real steps and ``mean_log_pi`` the mean ``log π(a_t|s_t)``
    (diagnostics, not losses).
    """


def masked_mean(values: tf.Tensor, mask: tf.Tensor) -> tf.Tensor:
    """Mean of ``values`` over the entries where ``mask`` is 1 (0 for an empty mask)."""
    return tf.math.divide_no_nan(tf.reduce_sum(values * mask), tf.reduce_sum(mask))
