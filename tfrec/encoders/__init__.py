"""Sequence encoders: item-index histories ``[batch, seq_len]`` -> user states ``[batch, dim]``."""

from tfrec.encoders.sequence_encoder import SequenceEncoder

__all__ = ["SequenceEncoder"]
