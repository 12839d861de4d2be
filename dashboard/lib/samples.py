"""Test images by true and predicted class, top-k classes, pages of a gallery, and pixels made big enough to see."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from PIL import Image, ImageOps

from dashboard.lib.runs import computed_once
from trainers.analysis.label_issues import label_issues
from trainers.store.run_store import Predictions, Run

DISPLAY_SIZE = 128  # pixels; CIFAR's 32 px images are upscaled 4x


def top_k(probabilities, class_names: list[str], *, k: int = 3) -> list[tuple[str, float]]:
    """The k most probable classes of one probability vector, most probable first.

    Example:
        >>> top_k([0.1, 0.6, 0.3], ["cat", "dog", "owl"], k=2)
        [('dog', 0.6), ('owl', 0.3)]
    """
    probabilities = np.asarray(probabilities, dtype=float)
    order = np.argsort(-probabilities, kind="stable")[:k]
    return [(class_names[i], float(probabilities[i])) for i in order]


def format_top_k(probabilities, class_names: list[str], *, k: int = 3, decimals: int = 0) -> str:
    """The top-k classes in one line, each with its probability as a percentage.

    Example:
        >>> format_top_k([0.1, 0.6, 0.3], ["cat", "dog", "owl"], k=2)
        'dog 60% · owl 30%'
        >>> format_top_k([0.1, 0.6, 0.3], ["cat", "dog", "owl"], k=1, decimals=1)
        'dog 60.0%'
    """
    return _line(top_k(probabilities, class_names, k=k), decimals)


def _line(classes: list[tuple[str, float]], decimals: int) -> str:
    return " · ".join(f"{name} {p:.{decimals}%}" for name, p in classes)


def image_top_k(predictions: Predictions, position: int, class_names: list[str], *, k: int = 3) -> str:
    """One image's top-k classes in one line, as `format_top_k` writes them: exact from the stored top classes
    where a compact predictions file keeps them (see `Predictions`).

    Example:
        >>> predictions = Predictions(np.array(["a"]), np.array([0]), np.array([[0.1, 0.6, 0.3]]))
        >>> image_top_k(predictions, 0, ["cat", "dog", "owl"], k=2)
        'dog 60% · owl 30%'
    """
    stored = predictions.stored_top_classes
    if stored is None or k > stored.shape[1]:
        return format_top_k(predictions.probabilities[position], class_names, k=k)
    return _line([(class_names[index], float(probability)) for index, probability
                  in zip(stored[position, :k], predictions.stored_top_probabilities[position, :k])], 0)


def samples_by_class(predictions: Predictions, class_names: list[str], *, true_class: int | None = None,
                     predicted_class: int | None = None, mistakes_only: bool = False) -> pd.DataFrame:
    """The test images of a run of a true and/or predicted class, the model's most confident first.

    Args:
        predictions: the run's stored test predictions.
        class_names: names of the class indices.
        true_class, predicted_class: keep only images of this true / predicted class (None = any).
        mistakes_only: keep only the images the run got wrong. A confusion matrix cell off the
            diagonal holds only mistakes anyway; one on it holds only correct images.

    Returns:
        One row per image, indexed by position in `predictions`: id, true, predicted, confidence
        (the probability given to the predicted class); ties keep the order of `predictions`.
    """
    predicted = predictions.predicted
    kept = np.ones(len(predictions.labels), dtype=bool)
    if mistakes_only:
        kept &= predicted != predictions.labels
    if true_class is not None:
        kept &= predictions.labels == true_class
    if predicted_class is not None:
        kept &= predicted == predicted_class
    positions = np.flatnonzero(kept)
    names = np.asarray(class_names)
    table = pd.DataFrame(
        {"id": predictions.ids[positions], "true": names[predictions.labels[positions]],
         "predicted": names[predicted[positions]],
         "confidence": predictions.confidence[positions].astype(float)},
        index=pd.Index(positions, name="position"),
    )
    return table.sort_values("confidence", ascending=False, kind="stable")


@computed_once
def suspect_labels(predictions: Predictions) -> pd.DataFrame:
    """Every test image whose label confident learning doubts (`label_issues`), once per predictions: a page
    filters them by confidence on each rerun, and 50,000 images of 1,000 classes take seconds to weigh."""
    return label_issues(predictions.labels, predictions.probabilities)


def page_count(total: int, page_size: int) -> int:
    """Pages needed for `total` items, at least one."""
    return max(1, math.ceil(total / page_size))


def page_slice(page: int, page_size: int) -> slice:
    """The items of a page counted from 1."""
    if page < 1 or page_size < 1:
        raise ValueError(f"Page and page size start at 1, got page {page}, size {page_size}")
    return slice((page - 1) * page_size, page * page_size)


def upscale(pixels: np.ndarray, size: int = DISPLAY_SIZE) -> Image.Image:
    """The image enlarged by a whole factor to about `size` pixels, keeping pixels square and sharp."""
    image = Image.fromarray(np.asarray(pixels, dtype=np.uint8))
    factor = max(1, size // max(image.size))
    return ImageOps.scale(image, factor, resample=Image.Resampling.NEAREST)


def predictions_for_image(runs: list[Run], image_id: str, *, k: int = 3) -> pd.DataFrame:
    """What each run predicted for one test image, from its stored predictions."""
    rows = []
    for run in runs:
        predictions = run.predictions
        matches = np.flatnonzero(predictions.ids == image_id)
        if not len(matches):
            continue
        position = matches[0]
        predicted = int(predictions.predicted[position])
        rows.append({
            "run": run.label,
            "predicted": run.class_names[predicted],
            "confidence": float(predictions.confidence[position]),
            "correct": predicted == int(predictions.labels[position]),
            f"top {k}": image_top_k(predictions, position, run.class_names, k=k),
        })
    return pd.DataFrame(rows, columns=["run", "predicted", "confidence", "correct", f"top {k}"])
