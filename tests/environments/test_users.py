"""User model: logits, transition, reward and budget against hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest

from tfrec.environments.catalog import Catalog, CatalogConfig
from tfrec.environments.users import UserConfig, UserModel, UserState


def tiny_catalog() -> Catalog:
    """Two topics (topic 1 is clickbait), three items with one-hot features."""
    return Catalog(
        topics=np.array([0, 1, 0], np.int32),
        features=np.array([[1, 0], [0, 1], [1, 0]], np.float32),
        appeal=np.array([0.5, 2.0, -1.0], np.float32),
        quality=np.array([1.0, -1.0, 0.5], np.float32),
        length=np.array([4.0, 2.0, 3.0], np.float32),
        clickbait_topics=np.array([False, True]),
    )


CONFIG = UserConfig(
    budget=10.0,
    appeal_weight=1.0,
    interest_weight=2.0,
    satiation_weight=1.0,
    satiation_decay=0.5,
    no_click_logit=0.0,
    drift_rate=0.5,
    refund_rate=0.5,
    no_click_cost=1.0,
)


def state() -> UserState:
    return UserState(
        interest=np.array([[0.5, -0.5]], np.float32),
        satiation=np.array([[1.0, 0.0]], np.float32),
        budget=np.array([10.0], np.float32),
    )


def test_logits_hand_computed():
    model = UserModel(CONFIG, tiny_catalog())
    # item 0: 0.5 + 2*0.5 - 1*1 = 0.5; item 1: 2 + 2*(-0.5) - 0 = 1; item 2: -1 + 1 - 1 = -1
    np.testing.assert_allclose(model.item_logits(state()), [[0.5, 1.0, -1.0]])
    np.testing.assert_allclose(model.item_logits(state(), np.array([[2, 0]])), [[-1.0, 0.5]])


def test_transition_after_click_and_no_click():
    model = UserModel(CONFIG, tiny_catalog(), reward_type="engagement")
    s = UserState(
        interest=np.array([[0.5, -0.5], [0.0, 0.0]], np.float32),
        satiation=np.array([[1.0, 0.0], [2.0, 2.0]], np.float32),
        budget=np.array([10.0, 10.0], np.float32),
    )
    reward = model.step(s, np.array([0, 1]), np.array([1, -1]))
    # user 0 clicked item 1 (topic 1, length 2, quality -1): interest -0.5 + 0.5*(1.5) = 0.25,
    # satiation decays to [0.5, 0] then +1 on topic 1, budget 10 - 2 + 0.5*(-1)*2 = 7.
    np.testing.assert_allclose(s.interest[0], [0.5, 0.25])
    np.testing.assert_allclose(s.satiation[0], [0.5, 1.0])
    # user 1 did not click: satiation decays, budget pays the no-click cost, interest unchanged.
    np.testing.assert_allclose(s.interest[1], [0.0, 0.0])
    np.testing.assert_allclose(s.satiation[1], [1.0, 1.0])
    np.testing.assert_allclose(s.budget, [7.0, 9.0])
    np.testing.assert_allclose(reward, [2.0, 0.0])  # engagement = length


def test_click_reward_and_budget_effects():
    model = UserModel(CONFIG, tiny_catalog(), reward_type="click")
    np.testing.assert_allclose(model.click_reward(), [1.0, 1.0, 1.0])
    # -length + 0.5 * quality * length
    np.testing.assert_allclose(model.click_budget_effect(), [-2.0, -3.0, -2.25])
    assert model.no_click_budget_effect == -1.0


def test_initial_history_follows_interest():
    cat = Catalog.generate(CatalogConfig(num_items=40, num_topics=4), np.random.default_rng(0))
    model = UserModel(UserConfig(initial_history_len=50, initial_history_temperature=0.05), cat)
    interest = np.array([[-1.0, 1.0, -1.0, -1.0]], np.float32)
    rows = model.initial_history(interest, np.random.default_rng(0))
    assert rows.shape == (1, 50)
    assert np.all(cat.topics[rows] == 1)


def test_catalog_generation_has_clickbait_trade_off():
    cfg = CatalogConfig(num_items=300, num_topics=6, num_clickbait_topics=2)
    cat = Catalog.generate(cfg, np.random.default_rng(1))
    assert cat.features.shape == (300, 6) and cat.is_clickbait.sum() == 100
    assert cat.appeal[cat.is_clickbait].mean() > cat.appeal[~cat.is_clickbait].mean()
    assert cat.quality[cat.is_clickbait].mean() < cat.quality[~cat.is_clickbait].mean()
    assert np.all((cat.length >= cfg.min_length) & (cat.length <= cfg.max_length))


@pytest.mark.parametrize(
    "kwargs",
    [dict(budget=0.0), dict(drift_rate=1.5), dict(no_click_cost=0.0), dict(interest_low=2.0)],
)
def test_bad_user_config_raises(kwargs):
    with pytest.raises(ValueError, match="UserConfig"):
        UserConfig(**kwargs)


def test_bad_reward_type_raises():
    with pytest.raises(ValueError, match="reward_type"):
        UserModel(CONFIG, tiny_catalog(), reward_type="likes")
