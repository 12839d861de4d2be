"""Test images whose given label a run doubts: confident learning's label issues, from stored probabilities.

Confident learning (Northcutt, Jiang and Chuang, "Confident Learning: Estimating Uncertainty in Dataset Labels",
JAIR 2021) counts an image as a label issue when the model is confident, by a per-class threshold, that it
belongs to another class. It needs out-of-sample probabilities: a model's probabilities on the images it was
trained on say little about their labels. A run's stored test predictions are out-of-sample, for no run trains
on its test images. The rule is written here rather than taken from cleanlab, which is not a dependency: it is
cleanlab's `find_label_issues(..., filter_by="confident_learning")`, the off-diagonal of the confident joint,
without cleanlab's pruning by estimated noise rates.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from trainers.analysis.metrics import checked_predictions

# As cleanlab: a probability equal to the mean it is part of can come out a rounding error below that mean; and
# a stored float32 probability of 0.9 is 0.8999999762, which a minimum confidence of 0.9 should keep.
TOLERANCE = 1e-6
COLUMNS = ("given", "suspected", "suspected_probability", "given_probability")


def class_thresholds(labels, probabilities) -> np.ndarray:
    """Per class j, the mean probability of class j over the images labelled j (NaN for a class none is labelled).

    Example:
        >>> class_thresholds([0, 0, 1], [[0.9, 0.1], [0.5, 0.5], [0.4, 0.6]])
        array([0.7, 0.6])
    """
    labels, probabilities = checked_predictions(labels, probabilities)
    classes = probabilities.shape[1]
    given = probabilities[np.arange(len(labels)), labels]
    with np.errstate(invalid="ignore", divide="ignore"):  # a class no image is labelled with: 0 / 0 is NaN
        return np.bincount(labels, weights=given, minlength=classes) / np.bincount(labels, minlength=classes)


def label_issues(labels, probabilities, *, min_confidence: float = 0.0) -> pd.DataFrame:
    """The images whose given label confident learning doubts, the most confident doubt first.

    Each class j has a threshold t_j, the mean probability of j over the images labelled j. Of the classes
    whose probability reaches their threshold (p_j >= t_j), an image is counted for the most probable; when
    that class is not its given label, the image is a label issue (off the diagonal of the confident joint).
    An image whose given label is the most probable of those classes, or for which no class reaches its
    threshold, is not: a mistake of low confidence is no evidence against the label.

    Args:
        labels: given class index per image, shape (N,).
        probabilities: out-of-sample probabilities, shape (N, C), such as a run's stored test predictions.
        min_confidence: keep only issues whose suspected class has at least this probability, within
            `TOLERANCE` (default 0.0: every issue).

    Returns:
        One row per issue, indexed by position in `labels`: given (class index), suspected (class index),
        suspected_probability, given_probability; sorted by suspected_probability, highest first (ties keep
        the order of `labels`).

    Raises:
        ValueError: labels and probabilities of mismatched shapes, no images, or labels that are not class
            indices.

    Example:
        >>> # thresholds (0.9 + 0.2) / 2 = 0.55 and (0.7 + 0.9) / 2 = 0.8: image 1, labelled 0, has p_1 = 0.8
        >>> label_issues([0, 0, 1, 1], [[0.9, 0.1], [0.2, 0.8], [0.3, 0.7], [0.1, 0.9]]).to_dict("index")
        {1: {'given': 0, 'suspected': 1, 'suspected_probability': 0.8, 'given_probability': 0.2}}
    """
    labels, probabilities = checked_predictions(labels, probabilities)
    thresholds = class_thresholds(labels, probabilities)
    confident = probabilities >= np.nan_to_num(thresholds, nan=np.inf) - TOLERANCE
    counted_as = np.where(confident, probabilities, -np.inf).argmax(axis=1)
    issues = confident.any(axis=1) & (counted_as != labels)
    positions = np.flatnonzero(issues)
    suspected = counted_as[positions]
    table = pd.DataFrame(
        {"given": labels[positions], "suspected": suspected,
         "suspected_probability": probabilities[positions, suspected],
         "given_probability": probabilities[positions, labels[positions]]},
        index=pd.Index(positions, name="position"), columns=list(COLUMNS),
    )
    return at_confidence(table.sort_values("suspected_probability", ascending=False, kind="stable"), min_confidence)


def at_confidence(issues: pd.DataFrame, min_confidence: float) -> pd.DataFrame:
    """The issues (a `label_issues` table) whose suspected class has at least `min_confidence`, within TOLERANCE."""
    return issues[issues["suspected_probability"] >= min_confidence - TOLERANCE]
