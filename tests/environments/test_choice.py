"""Logit choice with a no-click option: hand-computed probabilities, duplicates, sampling."""

from __future__ import annotations

import math

import numpy as np

from tfrec.environments.choice import (
    first_occurrence_mask,
    sample_choice,
    slate_choice_probabilities,
)


def test_probabilities_match_hand_computed_values():
    # weights: no click e^0 = 1, items e^0 = 1 and e^ln2 = 2 -> total 4.
    probs = slate_choice_probabilities(np.array([[0.0, math.log(2.0)]]), np.array([[5, 6]]), 0.0)
    np.testing.assert_allclose(probs, [[0.25, 0.25, 0.5]])


def test_per_user_no_click_logit_and_stability():
    logits = np.array([[1000.0, 1000.0], [0.0, 0.0]])
    probs = slate_choice_probabilities(logits, np.array([[2, 3], [2, 3]]), np.array([1000.0, 0.0]))
    np.testing.assert_allclose(probs, [[1 / 3, 1 / 3, 1 / 3], [1 / 3, 1 / 3, 1 / 3]])


def test_duplicates_count_once():
    slate = np.array([[5, 5, 7]])
    np.testing.assert_array_equal(first_occurrence_mask(slate), [[True, False, True]])
    # weights: no click 1, item 5 once (1), duplicate 0, item 7 e^ln3 = 3 -> total 5.
    probs = slate_choice_probabilities(np.array([[0.0, 0.0, math.log(3.0)]]), slate, 0.0)
    np.testing.assert_allclose(probs, [[0.2, 0.2, 0.0, 0.6]])


def test_sampling_follows_probabilities_and_never_picks_duplicates():
    probs = np.tile([[0.2, 0.2, 0.0, 0.6]], (20000, 1))
    position = sample_choice(probs, np.random.default_rng(0))
    assert position.dtype == np.int32
    assert not np.any(position == 1)  # the duplicate position
    freq = np.bincount(position + 1, minlength=4) / position.size
    np.testing.assert_allclose(freq, [0.2, 0.2, 0.0, 0.6], atol=0.015)
