"""How far a run's confidence can be trusted, from its stored predictions: reliability bins, calibration errors,
Brier score, and temperature scaling fitted on validation predictions.

Confidence is the top-1 probability. The bins split (0, 1] into equal widths, each bin (lower, upper], as Guo et
al. ("On calibration of modern neural networks", 2017) bin it. scikit-learn's `calibration_curve` is binary,
drops empty bins and gives no counts, so the bins are counted here. Only numpy and scipy (imported when a
temperature is fitted): no model is loaded. `temperature_fit` is the one fit of a run that the dashboard
shows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from trainers.analysis.metrics import checked_predictions
from trainers.store import run_store
from trainers.store.run_store import Predictions, RunError

BINS = 15  # equal-width confidence bins of the reliability table and the calibration errors
# The fewest images a bin needs for its gap to count in the MCE. A bin's accuracy from n images has a standard error
# of sqrt(a (1 - a) / n), at most 0.5 / sqrt(n): at 100 images its 95% interval is within ±0.1 (1.96 x 0.05), the
# size of the gaps between CIFAR-10 runs (0.1 to 0.2); at 10 images it is ±0.31, and one image's bin is 0 or 100%
# whatever the run's calibration. A largest gap is the largest noise first, so small bins are left out of the MCE,
# not the ECE, which weighs each bin by its images.
MIN_BIN_IMAGES = 100
TEMPERATURE_BOUNDS = (0.05, 20.0)  # where fit_temperature searches: from sharpening 20 times to flattening 20 times
# Stored float32 probabilities can underflow to 0; as a logit, 0 becomes the most negative float32 logit.
_SMALLEST_PROBABILITY = float(np.finfo(np.float32).tiny)


@dataclass(frozen=True)
class ReliabilityTable:
    """Per confidence bin (lower, upper]: its images' count, mean top-1 confidence and accuracy (NaN when empty)."""

    lower: np.ndarray
    upper: np.ndarray
    count: np.ndarray
    confidence: np.ndarray
    accuracy: np.ndarray

    @property
    def gap(self) -> np.ndarray:
        """|accuracy - confidence| of each bin; NaN for an empty bin."""
        return np.abs(self.accuracy - self.confidence)


def _checked(labels, probabilities) -> tuple[np.ndarray, np.ndarray]:
    """Integer labels (N,) and probabilities (N, C) as float64 rows that sum to 1; ValueError saying what is wrong."""
    labels, probabilities = checked_predictions(labels, probabilities)
    # float32 softmax outputs sum to 1 only within rounding.
    return labels, probabilities / probabilities.sum(axis=1, keepdims=True)


def top1_confidence(labels, probabilities) -> tuple[np.ndarray, np.ndarray]:
    """Per image: the top-1 probability, and whether the top-1 class is the true one.

    Example:
        >>> top1_confidence([0, 1], [[0.7, 0.3], [0.6, 0.4]])
        (array([0.7, 0.6]), array([ True, False]))
    """
    labels, probabilities = _checked(labels, probabilities)
    return _top1(labels, probabilities)


def _top1(labels: np.ndarray, probabilities: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    predicted = probabilities.argmax(axis=1)
    return probabilities[np.arange(len(labels)), predicted], predicted == labels


def reliability_table(labels, probabilities, *, bins: int = BINS) -> ReliabilityTable:
    """Top-1 confidence against accuracy in `bins` equal-width bins over (0, 1]; empty bins kept with count 0.

    Args:
        labels: true class indices, shape (N,).
        probabilities: predicted class probabilities, shape (N, C).
        bins: the number of bins (15 by default).

    Example:
        >>> table = reliability_table([0, 0], [[0.75, 0.25], [0.125, 0.875]], bins=2)
        >>> table.count.tolist(), table.confidence.tolist(), table.accuracy.tolist()
        ([0, 2], [nan, 0.8125], [nan, 0.5])
    """
    return confidence_reliability(*top1_confidence(labels, probabilities), bins)


def confidence_reliability(confidence: np.ndarray, correct: np.ndarray, bins: int = BINS) -> ReliabilityTable:
    """`reliability_table` from each image's top-1 confidence and whether its top-1 class is right."""
    if not isinstance(bins, (int, np.integer)) or bins < 1:
        raise ValueError(f"bins must be a positive integer, got {bins!r}")
    edges = np.linspace(0.0, 1.0, bins + 1)
    # Bin i holds (edges[i], edges[i + 1]]; a confidence a rounding above 1 stays in the last bin.
    index = np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, bins - 1)
    count = np.bincount(index, minlength=bins)
    with np.errstate(invalid="ignore", divide="ignore"):  # empty bins: 0 / 0 is NaN, as documented
        mean_confidence = np.bincount(index, weights=confidence, minlength=bins) / count
        accuracy = np.bincount(index, weights=correct, minlength=bins) / count
    return ReliabilityTable(edges[:-1], edges[1:], count, mean_confidence, accuracy)


def expected_calibration_error(labels, probabilities, *, bins: int = BINS) -> float:
    """The sum over confidence bins of (images in the bin / all images) x |accuracy - mean confidence|.

    0 for a perfectly calibrated run; at most 1. See `reliability_table` for the bins.

    Example:
        >>> expected_calibration_error([0, 0], [[0.75, 0.25], [0.125, 0.875]], bins=2)  # |0.5 - 0.8125|
        0.3125
    """
    return _expected_error(reliability_table(labels, probabilities, bins=bins))


def _expected_error(table: ReliabilityTable) -> float:
    return float(np.nansum(table.count / table.count.sum() * table.gap))


def maximum_calibration_error(labels, probabilities, *, bins: int = BINS,
                              min_bin_images: int = MIN_BIN_IMAGES) -> float:
    """The largest |accuracy - mean confidence| of a confidence bin of at least `min_bin_images` images (see
    `reliability_table` for the bins, `MIN_BIN_IMAGES` for why small bins are left out).

    Returns:
        NaN when no bin holds that many images.

    Example:
        >>> maximum_calibration_error([1, 0], [[0.4, 0.3, 0.3], [0.9, 0.1, 0.0]], bins=2, min_bin_images=1)
        0.4
    """
    return _maximum_error(reliability_table(labels, probabilities, bins=bins), min_bin_images)


def _maximum_error(table: ReliabilityTable, min_bin_images: int) -> float:
    if not isinstance(min_bin_images, (int, np.integer)) or min_bin_images < 1:
        raise ValueError(f"min_bin_images must be a positive integer, got {min_bin_images!r}")
    gaps = table.gap[table.count >= min_bin_images]
    return float(gaps.max()) if len(gaps) else float("nan")


def brier_score_loss(labels, probabilities) -> float:
    """The multi-class Brier score: the mean over images of the sum over classes of (p_k - y_k)^2, y one-hot.

    This is the convention of Brier (1950) and of scikit-learn's multi-class `brier_score_loss`: 0 for certain
    and right, 2 for certain and wrong (binary tasks often halve it; not here). Lower is better, hence the name.

    Example:
        >>> brier_score_loss([0, 1], [[1.0, 0.0], [0.5, 0.5]])  # (0 + (0.25 + 0.25)) / 2
        0.25
    """
    return _brier(*_checked(labels, probabilities))


def _brier(labels: np.ndarray, probabilities: np.ndarray) -> float:
    # scikit-learn's brier_score_loss(..., scale_by_half=False) gives the same (a test holds them equal); its import
    # would cost the dashboard's first page, which shows this score, most of a second. Summed as
    # sum(p²) - 2 p_true + 1, so that no (N, C) one-hot array is made: 400 MB at 50,000 images of 1,000 classes.
    squares = np.einsum("ij,ij->i", probabilities, probabilities)
    return float((squares - 2 * probabilities[np.arange(len(labels)), labels] + 1).mean())


def calibration_scores(labels, probabilities, *, bins: int = BINS,
                       min_bin_images: int = MIN_BIN_IMAGES) -> dict[str, float | int | None]:
    """ECE, MCE (of `bins` bins, those of `min_bin_images` images or more) and Brier score at once, as a run's
    metrics.json records them: "ece", "mce" (None when no bin holds that many images), "brier", and the
    "calibration_bins" and "calibration_min_bin_images" they were computed with, so that a reader can tell
    scores of other bins. The probabilities are checked and copied once, not once per score (50,000 images of
    1,000 classes are 400 MB as float64)."""
    labels, probabilities = _checked(labels, probabilities)
    table = confidence_reliability(*_top1(labels, probabilities), bins)
    mce = _maximum_error(table, min_bin_images)
    return {"ece": _expected_error(table), "mce": None if np.isnan(mce) else mce,
            "brier": _brier(labels, probabilities), "calibration_bins": bins,
            "calibration_min_bin_images": min_bin_images}


def _logits(probabilities: np.ndarray) -> np.ndarray:
    """Log-probabilities: logits up to a constant per image, which softmax ignores."""
    return np.log(np.clip(probabilities, _SMALLEST_PROBABILITY, None))


def with_temperature(probabilities, temperature: float) -> np.ndarray:
    """The probabilities softmax(log p / temperature): above 1 flatter, below 1 sharper; the top-1 class is kept.

    Example:
        >>> with_temperature([[0.8, 0.2]], 2.0).round(4).tolist()  # sqrt(0.8) : sqrt(0.2) = 2 : 1
        [[0.6667, 0.3333]]
    """
    from scipy.special import softmax  # deferred, as scipy.optimize below: only the Calibration page needs them

    if not temperature > 0:
        raise ValueError(f"The temperature must be positive, got {temperature!r}")
    probabilities = np.asarray(probabilities, dtype=np.float64)
    return softmax(_logits(probabilities) / temperature, axis=1)


def fit_temperature(labels, probabilities, *, bounds: tuple[float, float] = TEMPERATURE_BOUNDS) -> float:
    """The temperature T that minimises the log loss of `with_temperature(probabilities, T)` on these labels.

    Fit it on validation predictions, never on the test predictions it is then judged on. The search is
    scipy's bounded scalar minimisation within `bounds` (0.05 to 20 by default).

    Example:
        >>> round(fit_temperature([0, 0, 0, 1], [[0.9, 0.1]] * 4), 2)  # 0.75 right: T makes p = 0.75
        2.0
    """
    from scipy.optimize import minimize_scalar
    from scipy.special import log_softmax

    labels, probabilities = _checked(labels, probabilities)
    logits = _logits(probabilities)
    rows = np.arange(len(labels))

    def log_loss(temperature: float) -> float:
        return float(-log_softmax(logits / temperature, axis=1)[rows, labels].mean())

    return float(minimize_scalar(log_loss, bounds=bounds, method="bounded").x)


@dataclass(frozen=True)
class TemperatureFit:
    """A temperature fitted on a run's validation predictions, and its test predictions as stored and at it."""

    temperature: float
    validation_images: int
    stored: Predictions
    scaled: Predictions


def _checked_validation(run, validation: Predictions) -> None:
    """RunError unless the validation predictions can be fitted on: the run's classes, finite, no test image."""
    name = run_store.VALIDATION_PREDICTIONS_FILE
    expected = (len(validation.labels), len(run.class_names))
    if not len(validation.labels) or validation.probabilities.shape != expected:
        raise RunError(f"{name} holds probabilities of shape {validation.probabilities.shape}, not {expected}")
    if not np.isfinite(validation.probabilities).all() or not np.isin(validation.labels, range(expected[1])).all():
        raise RunError(f"{name} holds NaN or infinite probabilities, or labels that are not class indices")
    shared = np.isin(validation.ids, run.predictions.ids).sum()
    if shared:
        raise RunError(f"{name} holds {shared} test images: a temperature is never fitted on them")


def temperature_fit(run) -> TemperatureFit | None:
    """The temperature fitted on the run's validation predictions, and its test predictions at it.

    Returns:
        None when the run stores no validation predictions.

    Raises:
        RunError: when they cannot be used, saying why.
    """
    validation = getattr(run, "validation_predictions", None)
    if validation is None:
        return None
    _checked_validation(run, validation)
    temperature = fit_temperature(validation.labels, validation.probabilities)
    stored = run.predictions
    scaled = Predictions(stored.ids, stored.labels, with_temperature(stored.probabilities, temperature))
    return TemperatureFit(temperature, len(validation.labels), stored, scaled)
