"""Intervals and tests of a ranking, against values worked out by hand and against scipy's own bootstrap."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from trainers.analysis import uncertainty

Z = 1.959963984540054  # the normal's 97.5% quantile


def test_the_wilson_interval_of_8_right_of_10_is_the_formula_by_hand():
    # p = 0.8, n = 10: centre (p + z²/2n) / (1 + z²/n) = 0.99207 / 1.38415 = 0.71674,
    # half-width z / (1 + z²/n) * sqrt(p(1-p)/n + z²/4n²) = 1.95996 / 1.38415 * 0.16001 = 0.22658.
    centre = (0.8 + Z ** 2 / 20) / (1 + Z ** 2 / 10)
    half = Z / (1 + Z ** 2 / 10) * math.sqrt(0.8 * 0.2 / 10 + Z ** 2 / 400)
    assert uncertainty.accuracy_interval(8, 10) == pytest.approx((centre - half, centre + half), abs=1e-12)
    assert uncertainty.accuracy_interval(8, 10) == pytest.approx((0.4902, 0.9433), abs=1e-4)


def test_the_wilson_interval_of_all_right_stays_inside_zero_to_one():
    low, high = uncertainty.accuracy_interval(10, 10)
    # p = 1: the ends are (1 + z²/2n ± z²/2n) / (1 + z²/n), so 1 and n / (n + z²).
    assert high == pytest.approx(1.0)
    assert low == pytest.approx(1 / (1 + Z ** 2 / 10), abs=1e-12)  # 10 / (10 + z²) = 0.7225


@pytest.mark.parametrize("correct, total", [(11, 10), (-1, 10), (0, 0)])
def test_an_impossible_accuracy_is_refused(correct, total):
    with pytest.raises(ValueError, match="correct <= total"):
        uncertainty.accuracy_interval(correct, total)


def two_runs(only_first: int, only_second: int, both: int, neither: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-image outcomes of two runs with the given counts of images only one, both or neither gets right."""
    first = np.array([True] * only_first + [False] * only_second + [True] * both + [False] * neither)
    second = np.array([False] * only_first + [True] * only_second + [True] * both + [False] * neither)
    return first, second


def test_the_leads_interval_is_scipys_paired_bootstrap_with_the_same_seed():
    first, second = two_runs(30, 10, 150, 10)
    expected = stats.bootstrap((first.astype(int) - second.astype(int),), np.mean, method="percentile",
                               n_resamples=uncertainty.RESAMPLES, rng=np.random.default_rng(uncertainty.SEED))
    low, high = uncertainty.lead_interval(first, second)
    assert (low, high) == pytest.approx((expected.confidence_interval.low, expected.confidence_interval.high),
                                        abs=1e-12)
    # By hand: the per-image difference has mean 20/200 = 0.1 and variance 40/200 - 0.1² = 0.19, so the
    # normal approximation is 0.1 ± 1.96 * sqrt(0.19 / 200) = 0.1 ± 0.0604; the bootstrap lies close to it.
    assert (low, high) == pytest.approx((0.1 - Z * math.sqrt(0.19 / 200), 0.1 + Z * math.sqrt(0.19 / 200)), abs=0.01)
    assert uncertainty.lead_interval(first, second) == (low, high)  # seeded: the same every time


def test_a_lead_has_mcnemars_exact_p_value_by_hand():
    first, second = two_runs(30, 10, 150, 10)
    lead = uncertainty.lead(first, second)
    assert lead.difference == pytest.approx(0.1)
    assert (lead.only_first, lead.only_second) == (30, 10)
    # Two-sided exact binomial test of 10 of 40 at 1/2: twice the lower tail.
    by_hand = 2 * sum(math.comb(40, k) for k in range(11)) / 2 ** 40
    assert lead.p_value == pytest.approx(by_hand)
    assert not lead.within_noise
    assert uncertainty.lead(*two_runs(12, 10, 150, 10)).within_noise  # 12 against 10: p = 0.83


def test_the_probability_of_improvement_counts_pairs_of_runs_by_hand():
    # 0.80 beats 0.79; 0.82 and 0.84 beat both: 5 of 6 pairs.
    assert uncertainty.probability_of_improvement([0.80, 0.82, 0.84], [0.81, 0.79]) == pytest.approx(5 / 6)
    # A tie counts half: (0.5 + 1) / 2.
    assert uncertainty.probability_of_improvement([0.8, 0.9], [0.8]) == pytest.approx(0.75)


def test_the_improvement_interval_is_a_stratified_bootstrap_scipys_with_the_same_seed():
    first, second = [0.80, 0.82, 0.84, 0.83], [0.81, 0.79, 0.80]
    expected = stats.bootstrap((first, second), uncertainty.probability_of_improvement, vectorized=False,
                               method="percentile", n_resamples=uncertainty.RESAMPLES,
                               rng=np.random.default_rng(uncertainty.SEED))
    assert uncertainty.improvement_interval(first, second) == pytest.approx(
        (expected.confidence_interval.low, expected.confidence_interval.high))
    # Every run of one recipe above every run of the other: whatever is resampled, the probability is 1.
    assert uncertainty.improvement_interval([0.90, 0.91], [0.80, 0.81]) == (1.0, 1.0)


def test_the_mean_interval_over_seeds_is_scipys_and_inside_the_runs():
    values = [0.80, 0.82, 0.84]
    expected = stats.bootstrap((values,), np.mean, method="percentile", n_resamples=uncertainty.RESAMPLES,
                               rng=np.random.default_rng(uncertainty.SEED))
    low, high = uncertainty.mean_interval(values)
    assert (low, high) == pytest.approx((expected.confidence_interval.low, expected.confidence_interval.high))
    assert 0.80 <= low < 0.82 < high <= 0.84
    with pytest.raises(ValueError, match="two runs or more"):
        uncertainty.mean_interval([0.8])
