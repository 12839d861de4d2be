"""What every writer of a run records from predictions: arrays checked against the contract, predictions.npz
and metrics.json, and a training history in the contract's columns.

Our trainer, `trainers.evaluate`, the `RecordRun` callback, `record_run` (arrays from any framework) and
`--import-predictions` all write a run's results through here, so each is checked and stored one way.
Every check raises ValueError in one line naming what does not fit.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from trainers.analysis import calibration, metrics
from trainers.store import run_store

# A row of probabilities sums to 1 within float32 rounding (and a CSV's printed digits).
SUM_TOLERANCE = 1e-3


@dataclass(frozen=True, eq=False)
class SplitPredictions:
    """One split's checked predictions: string ids, class indices, float32 probabilities (N, C)."""

    ids: np.ndarray
    labels: np.ndarray
    probabilities: np.ndarray


def as_probabilities(scores, what: str = "probabilities") -> np.ndarray:
    """`scores` (N, C) as probabilities: kept when every row is one, softmaxed when they are logits.

    Rows count as probabilities when all are non-negative and sum to 1, as logits when any value lies outside
    [0, 1]. Scores all within [0, 1] whose rows do not sum to 1 (per-class sigmoids, say) are neither.

    Example:
        >>> as_probabilities([[2.0, 0.0]]).round(3)
        array([[0.881, 0.119]], dtype=float32)
    """
    try:
        scores = np.asarray(scores, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"the {what} are not numbers") from None
    if scores.ndim != 2 or scores.shape[1] < 2:
        raise ValueError(f"the {what} have shape {scores.shape}, not (images, classes) with 2 classes or more")
    bad = np.flatnonzero(~np.isfinite(scores).all(axis=1))
    if len(bad):
        raise ValueError(f"the {what} hold NaN or infinite values in {len(bad)} rows (the first: row {bad[0]})")
    sums = scores.sum(axis=1)
    if (scores >= 0).all() and np.allclose(sums, 1, atol=SUM_TOLERANCE):
        return scores.astype(np.float32)
    if ((scores < 0) | (scores > 1)).any():  # logits: softmax, shifted by each row's maximum against overflow
        exponentials = np.exp(scores - scores.max(axis=1, keepdims=True))
        return (exponentials / exponentials.sum(axis=1, keepdims=True)).astype(np.float32)
    row = int(np.flatnonzero(~np.isclose(sums, 1, atol=SUM_TOLERANCE))[0])
    raise ValueError(f"the {what} are neither probabilities (row {row} sums to {sums[row]:.4g}, not 1) nor logits "
                     "(every value lies in [0, 1]): normalise each row, or give the logits")


def picks_as_probabilities(predicted, class_names: list[str], what: str = "predicted labels") -> np.ndarray:
    """Predicted labels alone (class names, or indices in `class_names`' order) as one-hot rows (N, C), float32: what
    a run that published only its picks stores, so that every page reading picks reads them (see `LABELS_ONLY`).

    Example:
        >>> picks_as_probabilities(["dog", 0], ["cat", "dog"]).tolist()
        [[0.0, 1.0], [1.0, 0.0]]
    """
    given = pd.Series(np.asarray(predicted, dtype=object).reshape(-1))
    if np.asarray(predicted, dtype=object).ndim != 1 or not len(given):
        raise ValueError(f"the {what} are not one class per image")
    index = {name: position for position, name in enumerate(class_names)}
    numbers = pd.to_numeric(given, errors="coerce")

    def position(value, number) -> int:
        if str(value) in index:
            return index[str(value)]
        if not np.isnan(number) and number == round(number) and 0 <= number < len(class_names):
            return int(number)
        return -1

    picks = np.array([position(value, number) for value, number in zip(given, numbers)])
    if (picks < 0).any():
        first = given[int(np.flatnonzero(picks < 0)[0])]
        raise ValueError(f"{int((picks < 0).sum())} {what} are no class ('{first}'): give class names "
                         f"({', '.join(class_names[:12])}) or indices 0 to {len(class_names) - 1} in that order")
    return np.eye(len(class_names), dtype=np.float32)[picks]


def as_labels(labels, count: int, classes: int) -> np.ndarray:
    """True labels as class indices: given as indices (N,) or one-hot rows (N, C)."""
    labels = np.asarray(labels)
    if labels.ndim == 2 and labels.shape[1] == classes and len(labels) == count:
        if not np.isin(labels, (0, 1)).all() or not (labels.sum(axis=1) == 1).all():
            raise ValueError("the labels have one column per class but are not one-hot (a single 1 per row)")
        labels = labels.argmax(axis=1)
    if labels.ndim != 1 or len(labels) != count:
        raise ValueError(f"{labels.shape} labels for {count} images: give one class index (or one-hot row) per image")
    if not np.issubdtype(labels.dtype, np.integer):
        if not np.issubdtype(labels.dtype, np.floating) or not np.array_equal(labels, np.round(labels)):
            raise ValueError("the labels are not class indices (whole numbers)")
    labels = labels.astype(np.int64)
    if len(labels) and (labels.min() < 0 or labels.max() >= classes):
        raise ValueError(f"a label is {labels.min() if labels.min() < 0 else labels.max()}, outside the "
                         f"{classes} classes (0 to {classes - 1})")
    return labels


def default_ids(count: int, split: str = "test") -> np.ndarray:
    """Ids for images given without any: the split and their position, zero-padded so that they sort in order
    (the test and validation ids never meet)."""
    return np.array([f"{split}/{i:06d}" for i in range(count)])


def checked_split(labels, probabilities, class_names: list[str], ids=None, *,
                  what: str = "test") -> SplitPredictions:
    """A split's predictions checked against each other and the class names; ValueError naming what does not fit."""
    probabilities = as_probabilities(probabilities, f"{what} probabilities")
    if probabilities.shape[1] != len(class_names):
        raise ValueError(f"the {what} probabilities have {probabilities.shape[1]} columns, but {len(class_names)} "
                         f"classes are named ({', '.join(map(str, class_names[:12]))})")
    labels = as_labels(labels, len(probabilities), len(class_names))
    ids = default_ids(len(labels), what) if ids is None else np.asarray(ids).astype(str)
    if ids.shape != labels.shape:
        raise ValueError(f"{len(ids)} {what} ids for {len(labels)} images")
    if len(set(ids.tolist())) != len(ids):
        duplicate = pd.Series(ids).loc[pd.Series(ids).duplicated()].iloc[0]
        raise ValueError(f"the {what} ids are not unique ('{duplicate}' appears twice or more)")
    return SplitPredictions(ids, labels, probabilities)


def checked_class_names(class_names) -> list[str]:
    names = [str(name) for name in class_names]
    if len(names) < 2:
        raise ValueError("name at least two classes")
    if len(set(names)) != len(names):
        raise ValueError(f"the class names repeat: {', '.join(names)}")
    return names


def write_results(run_path: Path, test: SplitPredictions, class_names: list[str],
                  validation: SplitPredictions | None = None, *, labels_only: bool = False) -> dict:
    """Writes a split's predictions (and the validation split's, which temperature scaling is fitted on) and the
    test metrics into a run folder; returns the metrics. `labels_only`: the probabilities are one-hot picks."""
    if validation is not None:
        run_store.write_predictions(run_path, validation.ids, validation.labels, validation.probabilities,
                                    file_name=run_store.VALIDATION_PREDICTIONS_FILE)
    run_store.write_predictions(run_path, test.ids, test.labels, test.probabilities)
    scores = test_metrics(test.labels, test.probabilities, class_names, labels_only=labels_only)
    run_store.write_metrics(run_path, scores)
    return scores


# The scores that need probabilities, not only picks: None for a run of predicted labels alone.
PROBABILITY_SCORES = ("log_loss", "top_5_accuracy", "ece", "mce", "brier")


def test_metrics(labels, probabilities, class_names: list[str], *, labels_only: bool = False) -> dict:
    """What a run's metrics.json records of its test predictions: scikit-learn's metrics and the calibration
    scores with the bins and the minimum bin size they were computed with (`calibration.calibration_scores`), so
    that a page listing runs (Home) reads no run's predictions while the dashboard computes them the same way.
    `labels_only`: the probabilities are one-hot picks, and PROBABILITY_SCORES are None."""
    scores = {**metrics.classification_metrics(labels, probabilities, class_names),
              **calibration.calibration_scores(labels, probabilities)}
    if labels_only:
        scores.update({name: None for name in PROBABILITY_SCORES if name in scores})
    return scores


# What Keras, PyTorch Lightning or a hand-written loop may call the contract's history columns.
HISTORY_ALIASES = {"lr": "learning_rate", "acc": "accuracy", "val_acc": "val_accuracy", "train_loss": "loss",
                   "train_accuracy": "accuracy", "train_acc": "accuracy", "time": "epoch_time"}


def history_table(history) -> pd.DataFrame:
    """A training history in the contract's columns (`run_store.HISTORY_COLUMNS`, 0-based epochs), the user's
    other metrics kept after them; what was not logged is left empty.

    Args:
        history: a DataFrame, a dict of per-epoch lists (Keras' `History.history`), a list of per-epoch dicts,
            a Keras `History` object, a CSV file's path, or None for none.
    """
    if history is None:
        return pd.DataFrame(columns=list(run_store.HISTORY_COLUMNS))
    if hasattr(history, "history") and isinstance(history.history, dict):  # what model.fit returns
        history = history.history
    if isinstance(history, (str, Path)):
        try:
            history = pd.read_csv(history)
        except (OSError, ValueError) as error:
            raise ValueError(f"the history '{history}' is not a readable CSV file: {error}") from None
    try:
        table = pd.DataFrame(history)
    except (TypeError, ValueError) as error:
        raise ValueError(f"the history is not a table of per-epoch values: {error}") from None
    table = table.rename(columns={name: HISTORY_ALIASES.get(str(name), str(name)) for name in table.columns})
    if table.columns.duplicated().any():
        raise ValueError(f"the history names a column twice: {', '.join(table.columns[table.columns.duplicated()])}")
    if "epoch" not in table:
        table.insert(0, "epoch", range(len(table)))
    for column in run_store.HISTORY_COLUMNS:
        if column not in table:
            table[column] = np.nan
    numeric = table.apply(pd.to_numeric, errors="coerce")
    unreadable = [name for name in table.columns if numeric[name].isna().sum() > table[name].isna().sum()]
    if unreadable:
        raise ValueError(f"the history's column {unreadable[0]!r} holds values that are not numbers")
    extra = [name for name in numeric.columns if name not in run_store.HISTORY_COLUMNS]
    return numeric[list(run_store.HISTORY_COLUMNS) + extra]
