"""TF-Agents networks of tfrec: the actor π over the catalog and its heads (β̂, value baseline)."""

from tfrec.networks.actor import ActorNetwork
from tfrec.networks.behavior import BehaviorHead
from tfrec.networks.masking import mask_consumed_logits, mask_reserved_logits
from tfrec.networks.value import ValueHead

__all__ = [
    "ActorNetwork",
    "BehaviorHead",
    "ValueHead",
    "mask_consumed_logits",
    "mask_reserved_logits",
]
