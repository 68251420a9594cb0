"""Keras task models on the encoder: the supervised next-item model (SASRec)."""

from tfrec.models.next_item import LOSSES, REPEAT_BIAS_NEEDS_FULL, NextItemModel

__all__ = ["LOSSES", "REPEAT_BIAS_NEEDS_FULL", "NextItemModel"]
