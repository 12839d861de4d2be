"""None of these: whether an image shows none of a run's classes, by an out-of-distribution score and a threshold
set on the run's own test predictions.

Two scores, both higher for an image more like the run's classes (in-distribution):
- the maximum softmax probability (MSP; Hendrycks and Gimpel, ICLR 2017): the top-1 probability, from stored
  predictions alone, so every run with probabilities has it;
- the energy score (Liu et al., "Energy-based out-of-distribution detection", NeurIPS 2020), T * logsumexp(logits
  / T) (their negative free energy): it needs the logits, which a softmax loses (`softmax(z + c) == softmax(z)`), so
  only a model whose logits can be read again has it (`trainers.inference.predict.logits`).

A run's threshold passes a share (95%) of its own test images; an image scoring below it is one in which the run
finds none of its classes. Only numpy, scipy and scikit-learn: no model is loaded here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

MSP = "maximum softmax probability"
ENERGY = "energy"
PASSING = 0.95  # of the test images that score at or above their run's threshold


def max_softmax(probabilities) -> np.ndarray:
    """The maximum softmax probability of each image: the top-1 probability of each row of (N, C).

    Example:
        >>> max_softmax([[0.7, 0.2, 0.1], [0.4, 0.5, 0.1]])
        array([0.7, 0.5])
    """
    probabilities = np.asarray(probabilities, np.float64)
    if probabilities.ndim != 2 or not probabilities.shape[1]:
        raise ValueError(f"Expected probabilities of shape (images, classes), got {probabilities.shape}.")
    return probabilities.max(axis=1)


def energy_score(logits, temperature: float = 1.0) -> np.ndarray:
    """The energy score of each image (Liu et al., 2020): T * logsumexp(logits / T) over the classes of (N, C); the
    higher, the more the image is like the classes.

    Args:
        logits: the model's scores before its softmax, (N, C).
        temperature: T > 0; Liu et al. use 1.

    Example:
        >>> energy_score([[0.0, 0.0], [2.0, -30.0]])  # log 2, and about 2
        array([0.69314718, 2.        ])
    """
    from scipy.special import logsumexp  # deferred: scipy takes a moment to import

    if not temperature > 0:
        raise ValueError(f"The temperature must be above 0, got {temperature}.")
    logits = np.asarray(logits, np.float64)
    if logits.ndim != 2 or not logits.shape[1]:
        raise ValueError(f"Expected logits of shape (images, classes), got {logits.shape}.")
    return temperature * logsumexp(logits / temperature, axis=1)


def pass_threshold(test_scores, passing: float = PASSING) -> float:
    """The highest score t such that at least `passing` of the test images score at or above t.

    With the n scores sorted from the highest down, s(1) >= s(2) >= ... >= s(n), and k = ceil(passing * n), t is
    s(k): the k images from the top pass, and with them any image tied with s(k), so that ties can let more than
    `passing` pass; any higher threshold passes fewer than k.

    Example:
        >>> pass_threshold([0.9, 0.8, 0.8, 0.5], passing=0.5)  # k = 2: 0.8, passing three images of four
        0.8
    """
    scores = np.asarray(test_scores, np.float64).ravel()
    if not len(scores):
        raise ValueError("A threshold needs test scores: got none.")
    if np.isnan(scores).any():
        raise ValueError(f"The test scores hold {int(np.isnan(scores).sum())} NaN.")
    if not 0 < passing <= 1:
        raise ValueError(f"The share passing must be in (0, 1], got {passing}.")
    # Rounded first: 0.9 * 10 is 9.000000000000002 in floating point, whose ceiling would be 10.
    k = math.ceil(round(passing * len(scores), 6))
    return float(np.sort(scores)[::-1][k - 1])


@dataclass(frozen=True)
class Threshold:
    """A run's none-of-these threshold: images scoring below `value` show none of its classes.

    Attributes:
        score: the score it is of (`MSP` or `ENERGY`).
        value: the threshold (`pass_threshold` of the run's test scores).
        passing: the share of the test images it was set to pass (at least that many pass; more with ties).
        images: the number of test images it was set on.
    """

    score: str
    value: float
    passing: float
    images: int

    @property
    def description(self) -> str:
        """How it was set, in words a page can show.

        Example:
            >>> Threshold(MSP, 0.62, 0.95, 10_000).description
            'set so that 95% of its 10,000 test images pass'
        """
        return f"set so that {self.passing:.0%} of its {self.images:,} test images pass"

    def finds_none(self, score: float) -> bool:
        """Whether an image of this score shows none of the run's classes: it scores below the threshold."""
        return bool(score < self.value)


def threshold_on_test(test_scores, score: str = MSP, passing: float = PASSING) -> Threshold:
    """The threshold of a run's scores on its test images (`pass_threshold`), with how it was set.

    Example:
        >>> threshold_on_test(max_softmax(run.predictions.probabilities)).description
        'set so that 95% of its 10,000 test images pass'
    """
    scores = np.asarray(test_scores, np.float64).ravel()
    return Threshold(score, pass_threshold(scores, passing), passing, len(scores))



class Detection(NamedTuple):
    """How well a score tells images of a class (in-distribution) from images of none of them."""

    auroc: float  # the chance that an image of a class scores above one of none (ties count half)
    fpr_at_95_tpr: float  # the share of images of none that pass the threshold passing 95% of those of a class


def detection(scores, of_a_class) -> Detection:
    """AUROC and the false-positive rate at 95% true positives of a score on a set of images of both kinds.

    Positives are the images of one of the run's classes. The FPR at 95% TPR is the share of the images of none of
    them that score at or above `pass_threshold(scores of the images of a class, 0.95)`, the threshold a run sets on
    its test images.

    Args:
        scores: one per image, higher for an image more like the classes (`max_softmax`, `energy_score`).
        of_a_class: one bool per image: True for an image of one of the classes, False for none of them.

    Raises:
        ValueError: the set lacks images of a class or images of none, or the arrays differ in length.

    Example:
        >>> detection([0.9, 0.8, 0.7, 0.6], [True, True, False, False])
        Detection(auroc=1.0, fpr_at_95_tpr=0.0)
    """
    from sklearn.metrics import roc_auc_score  # deferred: scikit-learn takes a moment to import

    scores = np.asarray(scores, np.float64).ravel()
    of_a_class = np.asarray(of_a_class, bool).ravel()
    if len(scores) != len(of_a_class):
        raise ValueError(f"{len(scores)} scores for {len(of_a_class)} images.")
    if of_a_class.all() or not of_a_class.any():
        raise ValueError(f"Detection needs images of a class and of none of them: got {int(of_a_class.sum())} of a "
                         f"class and {int((~of_a_class).sum())} of none.")
    threshold = pass_threshold(scores[of_a_class], PASSING)
    return Detection(float(roc_auc_score(of_a_class, scores)), float(np.mean(scores[~of_a_class] >= threshold)))
