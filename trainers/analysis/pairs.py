"""Pairs of runs on the same test images: their probabilities side by side, and the images only one gets right.

The exact McNemar test on those images says whether one run is really better: the chance of a split at least
that uneven if both models were equally good.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from trainers.store import run_store


@dataclass(frozen=True)
class Disagreement:
    """Two runs' test images that exactly one of them classifies correctly."""
    only_first: int
    only_second: int

    @property
    def p_value(self) -> float:
        """Exact (binomial) McNemar test, two-sided; 1.0 when the runs never disagree."""
        discordant = self.only_first + self.only_second
        if discordant == 0:
            return 1.0
        from scipy import stats  # deferred: scipy.stats takes most of a second to import, the dashboard's start

        return float(stats.binomtest(self.only_first, discordant, 0.5).pvalue)


def disagreement(correct_first: np.ndarray, correct_second: np.ndarray) -> Disagreement:
    """Counts the images only the first, and only the second, gets right (boolean arrays over the same images)."""
    return Disagreement(int(np.sum(correct_first & ~correct_second)), int(np.sum(~correct_first & correct_second)))


def aligned_predictions(runs: list[run_store.Run]) -> list[run_store.Predictions]:
    """Each run's test predictions, in the first run's image order (exact top classes kept).

    Raises ValueError unless every run was tested on the same images with the same classes.
    """
    first = runs[0]
    order = first.predictions.ids
    for run in runs:
        run_store.check_comparable(run, first.class_names, first.test_key, test_ids=order)
    return [run.predictions.in_order(order) for run in runs]


def aligned_probabilities(runs: list[run_store.Run]) -> tuple[np.ndarray, list[np.ndarray]]:
    """The test labels and each run's probabilities, in the first run's image order.

    Raises ValueError unless every run was tested on the same images with the same classes.
    """
    aligned = aligned_predictions(runs)
    return aligned[0].labels, [predictions.probabilities for predictions in aligned]
