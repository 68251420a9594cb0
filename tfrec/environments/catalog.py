"""The item catalog of the interest-evolution simulator (RecSim's "document model").

Each item ``j`` has a topic (one of ``T``), a feature vector (the topic's one-hot direction plus
small Gaussian noise), an *appeal* (how tempting its title/thumbnail is), a *quality* (how much
the user gets out of it) and a *length* (consumption time, in minutes). Some topics are
"clickbait": their items have high appeal but low quality, so they win clicks now and cost the
user's time budget later (Ie et al. 2019, "RecSim", arXiv 1909.04847, §4 interest evolution).

Catalog item ``j`` has the vocabulary index ``j + FIRST_ITEM_INDEX`` and the id ``item_<j>``.
"""

from __future__ import annotations

import dataclasses

import numpy as np


@dataclasses.dataclass(frozen=True)
class CatalogConfig:
    """How items are generated.

    Attributes:
      num_items: catalog size ``N``.
      num_topics: number of topics ``T``.
      num_clickbait_topics: how many of the topics (the last ones) are clickbait.
      feature_noise: standard deviation of the Gaussian noise added to an item's one-hot topic
        feature vector.
      appeal_mean: mean appeal of regular items.
      clickbait_appeal_mean: mean appeal of clickbait items (higher than ``appeal_mean``).
      appeal_std: standard deviation of the appeal around its topic mean.
      quality_mean: mean quality of regular items.
      clickbait_quality_mean: mean quality of clickbait items (lower, typically negative).
      quality_std: standard deviation of the quality around its topic mean.
      min_length: shortest item (minutes); lengths are uniform in ``[min_length, max_length]``.
      max_length: longest item (minutes).
    """

    num_items: int = 1000
    num_topics: int = 10
    num_clickbait_topics: int = 3
    feature_noise: float = 0.1
    appeal_mean: float = -1.0
    clickbait_appeal_mean: float = 1.5
    appeal_std: float = 0.3
    quality_mean: float = 0.6
    clickbait_quality_mean: float = -0.6
    quality_std: float = 0.2
    min_length: float = 2.0
    max_length: float = 6.0

    def __post_init__(self) -> None:
        if self.num_items < 1:
            raise ValueError(f"CatalogConfig.num_items must be >= 1, got {self.num_items}.")
        if self.num_topics < 1:
            raise ValueError(f"CatalogConfig.num_topics must be >= 1, got {self.num_topics}.")
        if not 0 <= self.num_clickbait_topics <= self.num_topics:
            raise ValueError(
                f"CatalogConfig.num_clickbait_topics={self.num_clickbait_topics} must be in "
                f"[0, num_topics={self.num_topics}]."
            )
        if not 0 < self.min_length <= self.max_length:
            raise ValueError(
                f"CatalogConfig lengths must satisfy 0 < min_length <= max_length, got "
                f"min_length={self.min_length}, max_length={self.max_length}."
            )
        for name in ("feature_noise", "appeal_std", "quality_std"):
            if getattr(self, name) < 0:
                raise ValueError(f"CatalogConfig.{name} must be >= 0, got {getattr(self, name)}.")


@dataclasses.dataclass(frozen=True, eq=False)
class Catalog:
    """Item attributes, one row per catalog item (row ``j`` = vocabulary index ``j + 2``).

    Attributes:
      topics: int32 ``[N]`` topic of each item.
      features: float32 ``[N, T]`` feature vectors.
      appeal: float32 ``[N]``.
      quality: float32 ``[N]``.
      length: float32 ``[N]`` consumption time in minutes.
      clickbait_topics: bool ``[T]``, True for clickbait topics.
    """

    topics: np.ndarray
    features: np.ndarray
    appeal: np.ndarray
    quality: np.ndarray
    length: np.ndarray
    clickbait_topics: np.ndarray

    @property
    def num_items(self) -> int:
        """Catalog size ``N``."""
        return int(self.topics.shape[0])

    @property
    def num_topics(self) -> int:
        """Number of topics ``T``."""
        return int(self.clickbait_topics.shape[0])

    @property
    def is_clickbait(self) -> np.ndarray:
        """bool ``[N]``: whether each item belongs to a clickbait topic."""
        return self.clickbait_topics[self.topics]

    @property
    def item_ids(self) -> list[str]:
        """The string ids ``item_<j>`` of the catalog, index-aligned with the rows."""
        return [f"item_{j}" for j in range(self.num_items)]

    @classmethod
    def generate(cls, config: CatalogConfig, rng: np.random.Generator) -> Catalog:
        """Samples a catalog.

        Topics are assigned round-robin then shuffled, so every topic has ``N // T`` or
        ``N // T + 1`` items. The last ``num_clickbait_topics`` topics are clickbait.

        Args:
          config: the catalog configuration.
          rng: numpy random generator (seeded by the caller).

        Returns:
          A new :class:`Catalog`.
        """
        n, t = config.num_items, config.num_topics
        topics = rng.permutation(np.arange(n) % t).astype(np.int32)
        clickbait_topics = np.zeros(t, dtype=bool)
        clickbait_topics[t - config.num_clickbait_topics :] = True
        bait = clickbait_topics[topics]
        features = np.eye(t, dtype=np.float32)[topics]
        features += config.feature_noise * rng.standard_normal((n, t)).astype(np.float32)
        appeal = np.where(bait, config.clickbait_appeal_mean, config.appeal_mean)
        appeal = appeal + config.appeal_std * rng.standard_normal(n)
        quality = np.where(bait, config.clickbait_quality_mean, config.quality_mean)
        quality = quality + config.quality_std * rng.standard_normal(n)
        length = rng.uniform(config.min_length, config.max_length, size=n)
        return cls(
            topics=topics,
            features=features,
            appeal=appeal.astype(np.float32),
            quality=quality.astype(np.float32),
            length=length.astype(np.float32),
            clickbait_topics=clickbait_topics,
        )
