"""How sure a ranking of runs is: intervals over the test images, and over the seeds of a recipe.

A run's test accuracy has a 95% Wilson score interval (the test images a sample of the images the classes could
have). The best run's lead over the next, on the same images, has a paired bootstrap interval over those images,
beside the exact McNemar test (`trainers.analysis.pairs`). A recipe trained with several seeds has an interval of
its mean accuracy, and the probability that one recipe beats another (a run of one against a run of the other,
P(X > Y) + P(X = Y) / 2) with a stratified bootstrap interval: each recipe's runs resampled on their own, as
Agarwal et al. (NeurIPS 2021, rliable) recommend for few runs. The bootstraps are scipy's (`scipy.stats.bootstrap`),
seeded, so a page shows the same interval on every visit.

scipy.stats is imported on first use: it takes most of a second, which the dashboard's first page should not pay.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CONFIDENCE = 0.95
RESAMPLES = 2000  # bootstrap resamples: the interval's ends move by about 0.1 point of accuracy between seeds
SEED = 0  # the bootstraps' seed: the same data give the same interval
# Resampled images per batch of resamples: 2,000 resamples of 50,000 images at once would take 800 MB of indices,
# and batches of a few MB are the fastest.
BATCH_IMAGES = 5_000_000
ACCURACY_METHOD = "Wilson score interval over the test images"
LEAD_METHOD = f"paired bootstrap over the test images ({RESAMPLES:,} resamples, percentile)"
SEEDS_METHOD = f"bootstrap over the runs ({RESAMPLES:,} resamples, percentile; stratified by recipe)"
NOISE_LEVEL = 0.05  # a lead whose McNemar p-value is at least this is within noise


def accuracy_interval(correct: int, total: int, *, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """The Wilson score interval of an accuracy of `correct` images right out of `total`.

    Example:
        >>> [round(end, 4) for end in accuracy_interval(8, 10)]
        [0.4902, 0.9433]
    """
    if not 0 <= correct <= total or total < 1:
        raise ValueError(f"An accuracy needs 0 <= correct <= total and total >= 1, got {correct} of {total}")
    from scipy import stats

    interval = stats.binomtest(int(correct), int(total)).proportion_ci(confidence_level=confidence, method="wilson")
    return float(interval.low), float(interval.high)


def _percentile_bootstrap(data: tuple, statistic, *, vectorized: bool, confidence: float, resamples: int,
                          seed: int, batch: int | None = None) -> tuple[float, float]:
    from scipy import stats

    result = stats.bootstrap(data, statistic, vectorized=vectorized, method="percentile", n_resamples=resamples,
                             confidence_level=confidence, batch=batch, rng=np.random.default_rng(seed))
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


def lead_interval(first_correct, second_correct, *, confidence: float = CONFIDENCE, resamples: int = RESAMPLES,
                  seed: int = SEED) -> tuple[float, float]:
    """The interval of the first run's accuracy minus the second's on the same images (boolean arrays, aligned):
    the images resampled with their pair of outcomes (a paired bootstrap), the percentile interval."""
    difference = np.asarray(first_correct, np.int8) - np.asarray(second_correct, np.int8)
    if difference.size < 2:
        raise ValueError(f"A lead's interval needs two images or more, got {difference.size}")
    return _percentile_bootstrap((difference,), lambda sample, axis: sample.mean(axis=axis), vectorized=True,
                                 confidence=confidence, resamples=resamples, seed=seed,
                                 batch=max(1, BATCH_IMAGES // difference.size))


@dataclass(frozen=True)
class Lead:
    """How far a run is ahead of another on the same test images, and whether that can be chance."""

    difference: float  # accuracy of the first minus the second's, as a fraction
    low: float  # the difference's interval (`lead_interval`)
    high: float
    only_first: int  # images only the first gets right
    only_second: int  # images only the second gets right
    p_value: float  # exact McNemar test, two-sided

    @property
    def within_noise(self) -> bool:
        """Whether a split of the disagreements at least this uneven is common (p >= NOISE_LEVEL) when both runs
        are equally good."""
        return self.p_value >= NOISE_LEVEL


def lead(first_correct, second_correct) -> Lead:
    """The first run's lead over the second on the same images (boolean arrays, aligned): the difference, its
    interval and McNemar's test."""
    from trainers.analysis.pairs import disagreement

    first, second = np.asarray(first_correct, bool), np.asarray(second_correct, bool)
    split = disagreement(first, second)
    low, high = lead_interval(first, second)
    return Lead(float(first.mean() - second.mean()), low, high, split.only_first, split.only_second, split.p_value)


def mean_interval(values, *, confidence: float = CONFIDENCE, resamples: int = RESAMPLES,
                  seed: int = SEED) -> tuple[float, float]:
    """The interval of the mean of `values` (one per run: a recipe's seeds), the runs resampled."""
    values = np.asarray(values, float)
    if values.size < 2:
        raise ValueError(f"A mean's interval needs two runs or more, got {values.size}")
    return _percentile_bootstrap((values,), lambda sample, axis: sample.mean(axis=axis), vectorized=True,
                                 confidence=confidence, resamples=resamples, seed=seed)


def probability_of_improvement(first, second) -> float:
    """The probability that a run of the first recipe scores higher than a run of the second, ties counted half:
    the Mann-Whitney U statistic over every pair of runs, divided by the number of pairs.

    Example:
        >>> probability_of_improvement([0.80, 0.82, 0.84], [0.81, 0.79])
        0.8333333333333334
    """
    first, second = np.asarray(first, float)[:, None], np.asarray(second, float)[None, :]
    return float(np.mean((first > second) + 0.5 * (first == second)))


def improvement_interval(first, second, *, confidence: float = CONFIDENCE, resamples: int = RESAMPLES,
                         seed: int = SEED) -> tuple[float, float]:
    """The interval of `probability_of_improvement(first, second)`: each recipe's runs resampled on their own
    (a stratified bootstrap)."""
    first, second = np.asarray(first, float), np.asarray(second, float)
    if first.size < 2 or second.size < 2:
        raise ValueError(f"An interval of the probability of improvement needs two runs or more of each recipe, "
                         f"got {first.size} and {second.size}")
    return _percentile_bootstrap((first, second), probability_of_improvement, vectorized=False,
                                 confidence=confidence, resamples=resamples, seed=seed)
