"""Keras task models on the encoder: the supervised next-item model (SASRec)."""

from tfrec.models.next_item import (
    LOSSES,
    NEGATIVE_SAMPLERS,
    NextItemModel,
    sampling_distribution,
)

__all__ = ["LOSSES", "NEGATIVE_SAMPLERS", "NextItemModel", "sampling_distribution"]
