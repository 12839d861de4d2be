"""Runs ranked on a metric scored per test image (right or wrong: accuracy, top-5 accuracy, accuracy on the
reviewed labels), each with its interval, and the best run's lead over each of the next with McNemar's test.

A run is anything with `.label`, `.class_names`, `.test_key` and `.predictions` (runs and ensembles alike).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from trainers.analysis import pairs, uncertainty
from trainers.analysis.label_review import CorrectedLabels
from trainers.analysis.uncertainty import Lead
from trainers.store.run_store import Predictions

ACCURACY, TOP_5, REVIEWED = "test accuracy", "top-5 accuracy", "reviewed test accuracy"
METRICS = (ACCURACY, TOP_5, REVIEWED)
# The best run is compared with this many runs after it, each costing a bootstrap of a fraction of a second the
# first time: a store of hundreds of runs does not wait for hundreds.
COMPARED_WITH_BEST = 20


def right_images(predictions: Predictions, metric: str = ACCURACY,
                 corrected: CorrectedLabels | None = None) -> np.ndarray:
    """Per test image, whether the run gets it right on `metric`: its pick is the label (ACCURACY), the label is
    among its five most probable classes (TOP_5), or its pick is the reviewed label, ambiguous images left out
    (REVIEWED: `corrected`, in the predictions' order)."""
    if metric == ACCURACY:
        return predictions.predicted == predictions.labels
    if metric == TOP_5:
        return (predictions.top_classes(5) == predictions.labels[:, None]).any(axis=1)
    if metric == REVIEWED:
        if corrected is None:
            raise ValueError("The reviewed test accuracy needs the corrected labels")
        kept = corrected.kept
        return predictions.predicted[kept] == corrected.labels[kept]
    raise ValueError(f"Unknown metric '{metric}'. Known: {', '.join(METRICS)}")


@dataclass(frozen=True)
class Standing:
    """One run's place in a ranking: its score and interval, and the best run's lead over it (None for the best
    itself and for runs past COMPARED_WITH_BEST)."""

    label: str
    score: float
    right: int
    images: int
    low: float
    high: float
    lead: Lead | None = None

    @property
    def within_noise(self) -> bool:
        """Whether this run cannot be told apart from the best on these images (McNemar p >= NOISE_LEVEL)."""
        return self.lead is not None and self.lead.within_noise


@dataclass(frozen=True)
class Ranking:
    """Runs best first on `metric`; `standings[0]` is the best."""

    metric: str
    standings: tuple[Standing, ...]

    @property
    def best(self) -> Standing:
        return self.standings[0]

    @property
    def runner_up(self) -> Standing | None:
        return self.standings[1] if len(self.standings) > 1 else None

    def of(self, label: str) -> Standing | None:
        return next((standing for standing in self.standings if standing.label == label), None)


@functools.lru_cache(maxsize=256)
def _lead(best: bytes, other: bytes, images: int) -> Lead:
    # Keyed by the two runs' outcomes per image, packed: what the lead depends on, and nothing else.
    def unpack(packed: bytes) -> np.ndarray:
        return np.unpackbits(np.frombuffer(packed, np.uint8), count=images).astype(bool)
    return uncertainty.lead(unpack(best), unpack(other))


def rank(runs: list, metric: str = ACCURACY, corrected: CorrectedLabels | None = None) -> Ranking:
    """The runs best first on `metric` (ties in the order given), each with its Wilson interval, and the best
    run's lead over each of the next COMPARED_WITH_BEST runs on the same images.

    Args:
        runs: runs of one test set (ValueError unless they were tested on the same images with the same classes).
        corrected: the reviewed labels, in the first run's image order, for REVIEWED.
    """
    if not runs:
        raise ValueError("A ranking needs at least one run")
    aligned = pairs.aligned_predictions(runs)
    right = [right_images(predictions, metric, corrected) for predictions in aligned]
    order = sorted(range(len(runs)), key=lambda index: -right[index].mean())
    best = right[order[0]]
    standings = []
    for place, index in enumerate(order):
        images, count = len(right[index]), int(right[index].sum())
        low, high = uncertainty.accuracy_interval(count, images)
        lead = (_lead(np.packbits(best).tobytes(), np.packbits(right[index]).tobytes(), images)
                if 0 < place <= COMPARED_WITH_BEST else None)
        standings.append(Standing(runs[index].label, count / images, count, images, low, high, lead))
    return Ranking(metric, tuple(standings))
