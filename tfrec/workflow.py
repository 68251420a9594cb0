"""End-to-end steps shared by the ``tfrec`` command line and the notebooks.

Its former contents moved to the layer each belongs to:

* ``greedy_policy`` -> :meth:`tfrec.policies.GreedyTopKPolicy.from_encoder`;
* ``reference_policies``, ``compare_policies``, ``ranking_baselines``, ``ranking_table`` ->
  :mod:`tfrec.evaluation.compare`;
* ``save_model_dir``, ``load_model_dir``, ``ENCODER_FILE``, ``VOCABULARY_FILE``, ``RUN_FILE`` ->
  :mod:`tfrec.export.model_dir`;
* ``encoder_config`` -> ``tfrec.training.EncoderConfig.from_encoder(encoder, repeat_bias=False)``;
* ``train_supervised``, ``training_rows``, ``SupervisedRun``, ``EpochProgress`` ->
  :mod:`tfrec.training.supervised_log`; ``item_counts`` -> ``Sequences.item_counts``.
"""

from __future__ import annotations

__all__: list[str] = []
