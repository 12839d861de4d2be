"""Runs on new images beyond the test set: effective robustness, how far the runs agree, and accuracy estimated
from their disagreement where the images have no labels.

Effective robustness (Recht et al., "Do ImageNet classifiers generalize to ImageNet?", ICML 2019; Taori et al.,
"Measuring robustness to natural distribution shifts in image classification", NeurIPS 2020): across runs, accuracy
on a new set follows a straight line of test accuracy on logit axes; a run's distance above that line, in accuracy,
is robustness its test accuracy does not explain.

Accuracy from disagreement (Jiang, Nagarajan, Baek and Kolter, "Assessing generalization of SGD via disagreement",
ICLR 2022): for runs trained alike whose ensemble is calibrated, two runs' expected disagreement rate on unlabelled
images equals their expected error, so a run's agreement with the others estimates its accuracy.

Picks are each run's top class per image: 1-D arrays over the same images in the same order, by run name.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

# Accuracies are clipped to [LOGIT_EPS, 1 - LOGIT_EPS] before the logit, where 0 and 1 would be infinite: a perfect
# (or null) score lands at logit ±6.9, as 999 of 1000, instead of pulling the whole line.
LOGIT_EPS = 1e-3
# Effective robustness within this of 0 counts as on the line: float rounding of a run exactly on it, no more.
ON_LINE_TOLERANCE = 1e-9
ESTIMATE_CONDITIONS = (
    "The runs were trained independently by one recipe, differing only in their seeds.",
    "The runs' ensemble is calibrated (class-aggregated calibration): check it on labelled images, the test set say.",
    "It estimates the runs' average accuracy: least trustworthy for a run unlike the others, and under a large shift.",
)
CHECK_COLUMNS = ("estimated_accuracy", "accuracy", "difference")


def _logit(accuracy) -> np.ndarray:
    from scipy.special import logit  # deferred, as elsewhere in analysis: scipy adds a fifth of a second to a start

    return logit(np.clip(np.asarray(accuracy, dtype=float), LOGIT_EPS, 1 - LOGIT_EPS))


@dataclass(frozen=True)
class RobustnessLine:
    """The line of set accuracy against test accuracy across runs, fitted on logit axes, and each run's distance
    above it."""

    slope: float
    intercept: float  # logit of the set accuracy at a test accuracy of 0.5 (logit 0)
    effective_robustness: dict[str, float]  # set accuracy minus the line's at the run's test accuracy; largest first

    def accuracy_at(self, test_accuracy):
        """The line's set accuracy at a test accuracy (a float, or an array for an array)."""
        from scipy.special import expit

        accuracy = expit(self.intercept + self.slope * _logit(test_accuracy))
        return float(accuracy) if np.ndim(accuracy) == 0 else accuracy

    def line_points(self, low: float, high: float, count: int = 100) -> tuple[np.ndarray, np.ndarray]:
        """`count` test accuracies evenly from `low` to `high` and the line's set accuracy at each: the curve that
        the line is on linear axes."""
        if not 0 <= low < high <= 1 or count < 2:
            raise ValueError(f"line points need 0 <= low < high <= 1 and 2 points or more, not {low}, {high}, {count}")
        test_accuracy = np.linspace(low, high, count)
        return test_accuracy, self.accuracy_at(test_accuracy)

    @property
    def above(self) -> list[str]:
        """The runs above the line, the most robust first."""
        return [run for run, value in self.effective_robustness.items() if value > ON_LINE_TOLERANCE]

    @property
    def below(self) -> list[str]:
        """The runs below the line, the nearest to it first."""
        return [run for run, value in self.effective_robustness.items() if value < -ON_LINE_TOLERANCE]


def robustness_line(test_accuracy: dict[str, float], set_accuracy: dict[str, float]) -> RobustnessLine:
    """Fits the line of set accuracy against test accuracy over runs (the same runs in both), least squares on
    logit-scaled accuracies; ValueError, in one line, when no line can be told.

    Example:
        >>> line = robustness_line({"a": 0.5, "b": 0.8, "c": 0.9}, {"a": 0.3, "b": 0.7, "c": 0.75})
        >>> round(line.slope, 2), line.above, line.below
        (0.92, ['b'], ['a', 'c'])
    """
    if set(test_accuracy) != set(set_accuracy):
        differing = sorted(set(test_accuracy) ^ set(set_accuracy))
        raise ValueError(f"the line needs each run's test and set accuracies; missing for {', '.join(differing)}")
    runs = list(test_accuracy)
    if len(runs) < 3:
        raise ValueError(f"the line needs three runs or more: through {len(runs)}, every run would lie on it")
    for run in runs:
        if not (0 <= test_accuracy[run] <= 1 and 0 <= set_accuracy[run] <= 1):  # NaN fails too
            raise ValueError(f"run {run!r} has an accuracy outside [0, 1]: {test_accuracy[run]}, {set_accuracy[run]}")
    test_logits = _logit([test_accuracy[run] for run in runs])
    if np.ptp(test_logits) == 0:
        raise ValueError("the line needs runs of different test accuracies: all of these runs have the same")
    slope, intercept = np.polyfit(test_logits, _logit([set_accuracy[run] for run in runs]), 1)
    line = RobustnessLine(float(slope), float(intercept), effective_robustness={})
    robustness = {run: set_accuracy[run] - line.accuracy_at(test_accuracy[run]) for run in runs}
    return replace(line, effective_robustness=dict(sorted(robustness.items(), key=lambda item: -item[1])))


def _stacked(picks: dict[str, np.ndarray]) -> np.ndarray:
    """The picks as one (runs, images) array; ValueError for fewer than two runs, no images or unequal lengths."""
    if len(picks) < 2:
        raise ValueError(f"agreement needs two runs or more, not {len(picks)}")
    lengths = {run: np.shape(run_picks) for run, run_picks in picks.items()}
    if len(set(lengths.values())) > 1 or any(len(shape) != 1 for shape in lengths.values()):
        raise ValueError(f"the runs' picks must be 1-D arrays over the same images; their shapes: {lengths}")
    stacked = np.stack([np.asarray(run_picks) for run_picks in picks.values()])
    if stacked.shape[1] == 0:
        raise ValueError("agreement needs one image or more, not 0")
    return stacked


def _same_pick(picks: dict[str, np.ndarray]) -> np.ndarray:
    """(runs, runs, images): whether run i and run j pick the same class for each image."""
    stacked = _stacked(picks)
    return stacked[:, None, :] == stacked[None, :, :]


def agreement_matrix(picks: dict[str, np.ndarray]) -> pd.DataFrame:
    """Runs by runs: the share of images on which both pick the same class (1.0 on the diagonal)."""
    return pd.DataFrame(_same_pick(picks).mean(axis=2), index=list(picks), columns=list(picks))


def image_agreement(picks: dict[str, np.ndarray]) -> np.ndarray:
    """Per image, the share of runs that pick its most common pick (with a tie, any tied class's share)."""
    same = _same_pick(picks)
    # For run i on an image, the runs that agree with it (itself too); the most agreed-with pick is the mode.
    return same.sum(axis=0).max(axis=0) / len(same)


def most_disagreed(picks: dict[str, np.ndarray], mean_probabilities=None) -> np.ndarray:
    """Image indices, those the runs disagree on most first: by image agreement ascending, then (when the runs' mean
    probabilities, (images, classes), are given) by their entropy descending, then by index."""
    agreement = image_agreement(picks)
    if mean_probabilities is None:
        return np.argsort(agreement, kind="stable")
    mean_probabilities = np.asarray(mean_probabilities, dtype=float)
    if mean_probabilities.ndim != 2 or len(mean_probabilities) != len(agreement):
        raise ValueError(f"mean probabilities must be (images, classes) for {len(agreement)} images, "
                         f"not {mean_probabilities.shape}")
    from scipy.special import entr

    entropy = entr(mean_probabilities).sum(axis=1)
    return np.lexsort((np.arange(len(agreement)), -entropy, agreement))  # the last key sorts first


def estimated_accuracy(picks: dict[str, np.ndarray]) -> dict[str, float]:
    """Per run, 1 minus its mean disagreement rate with each other run: its accuracy as Jiang et al. (2022) estimate
    it, under ESTIMATE_CONDITIONS, on images with or without labels."""
    agreement = agreement_matrix(picks).to_numpy()
    # 1 - mean over others of (1 - agreement) is the mean agreement with the others; the diagonal's 1 left out.
    with_others = (agreement.sum(axis=1) - 1) / (len(agreement) - 1)
    return {run: float(value) for run, value in zip(picks, with_others)}


def estimate_check(picks: dict[str, np.ndarray], labels) -> pd.DataFrame:
    """Per run, the estimated accuracy beside the real one and the difference (estimate minus real), both on the
    images labelled with a class (labels >= 0): how well the estimate held on a labelled set."""
    labels = np.asarray(labels)
    stacked = _stacked(picks)
    if labels.shape != stacked.shape[1:]:
        raise ValueError(f"the labels must be one per image of the {stacked.shape[1]}, not of shape {labels.shape}")
    labelled = labels >= 0
    if not labelled.any():
        raise ValueError("the check needs images labelled with a class; none of these is")
    estimate = estimated_accuracy({run: run_picks[labelled] for run, run_picks in zip(picks, stacked)})
    accuracy = (stacked[:, labelled] == labels[labelled]).mean(axis=1)
    table = pd.DataFrame({"estimated_accuracy": list(estimate.values()), "accuracy": accuracy},
                         index=pd.Index(list(picks), name="run"))
    table["difference"] = table["estimated_accuracy"] - table["accuracy"]
    return table[list(CHECK_COLUMNS)]
