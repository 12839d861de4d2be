"""Test images a run got wrong, top-k classes, pages of a gallery, and pixels made big enough to see."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from PIL import Image, ImageOps

from dashboard.lib.runs import run_label
from trainers.run_store import Predictions, Run

DISPLAY_SIZE = 128  # pixels; CIFAR's 32 px images are upscaled 4x


def top_k(probabilities, class_names: list[str], k: int = 3) -> list[tuple[str, float]]:
    """The k most probable classes of one probability vector, most probable first.

    Example:
        >>> top_k([0.1, 0.6, 0.3], ["cat", "dog", "owl"], k=2)
        [('dog', 0.6), ('owl', 0.3)]
    """
    probabilities = np.asarray(probabilities, dtype=float)
    order = np.argsort(-probabilities, kind="stable")[:k]
    return [(class_names[i], float(probabilities[i])) for i in order]


def format_top_k(probabilities, class_names: list[str], k: int = 3) -> str:
    """The top-k classes in one line, such as "dog 60% · owl 30%"."""
    return " · ".join(f"{name} {p:.0%}" for name, p in top_k(probabilities, class_names, k))


def misclassified_samples(predictions: Predictions, class_names: list[str], *,
                          true_class: int | None = None, predicted_class: int | None = None) -> pd.DataFrame:
    """The test images a run got wrong, the most confident mistakes first.

    Args:
        predictions: the run's stored test predictions.
        class_names: names of the class indices.
        true_class, predicted_class: keep only mistakes of this true / predicted class (None = any).

    Returns:
        One row per mistake, indexed by position in `predictions`: id, true, predicted, confidence
        (the probability given to the predicted class).
    """
    predicted = predictions.predicted
    wrong = predicted != predictions.labels
    if true_class is not None:
        wrong &= predictions.labels == true_class
    if predicted_class is not None:
        wrong &= predicted == predicted_class
    positions = np.flatnonzero(wrong)
    confidence = predictions.probabilities[positions, predicted[positions]].astype(float)
    names = np.asarray(class_names)
    table = pd.DataFrame(
        {"id": predictions.ids[positions], "true": names[predictions.labels[positions]],
         "predicted": names[predicted[positions]], "confidence": confidence},
        index=pd.Index(positions, name="position"),
    )
    return table.sort_values("confidence", ascending=False, kind="stable")


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
        probabilities = predictions.probabilities[position]
        predicted = int(probabilities.argmax())
        rows.append({
            "run": run_label(run),
            "predicted": run.class_names[predicted],
            "confidence": float(probabilities[predicted]),
            "correct": predicted == int(predictions.labels[position]),
            f"top {k}": format_top_k(probabilities, run.class_names, k),
        })
    return pd.DataFrame(rows, columns=["run", "predicted", "confidence", "correct", f"top {k}"])
