"""The replica's share of the agent's loss under a ``tf.distribute`` strategy.

Under ``MirroredStrategy`` / ``MultiWorkerMirroredStrategy`` every replica computes its loss on its
part of the global batch and the optimizer *sums* the replicas' gradients (TensorFlow's custom
training-loop convention: each replica's loss is already divided by the global batch,
``tf.nn.compute_average_loss``). The REINFORCE losses are means over the replica's own steps, so
each replica contributes ``loss / num_replicas``: the summed gradient is then the gradient of the
mean of the replicas' losses (the global mean when every replica averages the same number of
steps), and one step on ``n`` replicas is one step on one device with the whole batch. With one
replica nothing changes.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import tensorflow as tf
from tf_agents.agents import tf_agent

__all__ = ["replica_share", "replica_share_of_loss"]


def replica_share(loss_info: tf_agent.LossInfo) -> tf_agent.LossInfo:
    """``loss_info`` with its ``loss`` divided by the number of replicas in sync.

    Args:
      loss_info: a replica's ``LossInfo`` (``loss`` a mean over the replica's batch).

    Returns:
      The same ``LossInfo`` with ``loss`` scaled as ``tf.nn.compute_average_loss`` scales a
      per-example loss (``extra`` is unchanged: its terms stay per-replica means). Summing the
      scaled losses over the replicas (``tf.distribute.ReduceOp.SUM``) gives their mean.
    """
    replicas = tf.distribute.get_strategy().num_replicas_in_sync
    if replicas == 1:
        return loss_info
    return loss_info._replace(loss=loss_info.loss / float(replicas))


def replica_share_of_loss(total_loss: Callable[..., Any]) -> Callable[..., Any]:
    """Decorates an agent's ``total_loss``: the ``LossInfo`` it returns is :func:`replica_share`'s."""

    @functools.wraps(total_loss)
    def scaled(*args: Any, **kwargs: Any) -> tf_agent.LossInfo:
        return replica_share(total_loss(*args, **kwargs))

    return scaled
