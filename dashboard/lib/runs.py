"""Readable runs of a store, grouped by the test set they were scored on, and the test sets' labels."""

from __future__ import annotations

import os

import numpy as np

from trainers import run_store
from trainers.run_store import Run, RunError

# What every empty page suggests: the study's first model, at the study's epochs.
TRAIN_COMMAND = "python -m trainers.train cnn_v3 --epochs 15"

# The keys of metrics.json and architecture.json that the pages read.
SHOWN_KEYS = {
    run_store.METRICS_FILE: ("accuracy", "log_loss", "macro_recall", "macro_f1", "per_class"),
    run_store.ARCHITECTURE_FILE: ("layers", "summary"),
}
# The keys of run.json's config that the pages read.
SHOWN_CONFIG_KEYS = ("image_size", "flip_tta", "shift_tta")


def check_run(run: Run) -> None:
    """Reads every part of a run the dashboard shows; raises RunError saying what is wrong.

    `list_runs` only checks that the files exist; reading them here keeps one
    malformed run from breaking a page for the others.
    """
    try:
        if len(run.class_names) < 2 or run.image_size < 1 or not run.test_key:
            raise RunError(f"{run_store.RUN_FILE} has no usable class names, image size or test key")
        missing = [key for key in SHOWN_CONFIG_KEYS if key not in run.config]
        if missing:
            raise RunError(f"{run_store.RUN_FILE}'s config lacks {', '.join(missing)}")
        parts = {run_store.METRICS_FILE: run.metrics, run_store.ARCHITECTURE_FILE: run.architecture}
        for file_name, values in parts.items():
            missing = [key for key in SHOWN_KEYS[file_name] if key not in values]
            if missing:
                raise RunError(f"{file_name} lacks {', '.join(missing)}")
        missing = [column for column in run_store.HISTORY_COLUMNS if column not in run.history.columns]
        if missing:
            raise RunError(f"{run_store.HISTORY_FILE} lacks {', '.join(missing)}")
        predictions = run.predictions
        expected = (len(predictions.labels), len(run.class_names))
        if predictions.probabilities.shape != expected:
            raise RunError(f"{run_store.PREDICTIONS_FILE} holds probabilities of shape "
                           f"{predictions.probabilities.shape}, not {expected}")
        # A NaN would win every argmax: the run's mistakes and scores would be garbage, not a model's.
        unusable = int((~np.isfinite(predictions.probabilities)).any(axis=1).sum())
        if unusable:
            raise RunError(f"{run_store.PREDICTIONS_FILE} holds NaN or infinite probabilities for {unusable} of "
                           f"{len(predictions.labels)} test images")
    except KeyError as error:
        raise RunError(f"{run_store.RUN_FILE} lacks {error}") from None
    except (TypeError, ValueError) as error:
        raise RunError(f"unexpected content: {error}") from None


def readable_runs(store: str | os.PathLike) -> tuple[list[Run], list[tuple[str, str]]]:
    """Like `run_store.list_runs`, but a run whose files cannot be read joins the broken ones."""
    listed, broken = run_store.list_runs(store)
    runs = []
    for run in listed:
        try:
            check_run(run)
        except RunError as error:
            broken.append((run.run_id, str(error)))
        else:
            runs.append(run)
    return runs, broken


def group_by_dataset(runs: list[Run]) -> dict[str, list[Run]]:
    """Runs by test set key, in order of first appearance: only runs of one test set are ranked together."""
    groups: dict[str, list[Run]] = {}
    for run in runs:
        groups.setdefault(run.test_key, []).append(run)
    return groups


def dataset_labels(groups: dict[str, list[Run]]) -> dict[str, str]:
    """A readable name per test set key; the key itself where two test sets would read the same."""
    labels = {}
    for test_key, runs in groups.items():
        dataset = runs[0].dataset
        test_size = len(runs[0].predictions.labels)
        labels[test_key] = f"{dataset.get('name', test_key)} ({runs[0].image_size} px, {test_size} test images)"
    counts = list(labels.values())
    return {key: label if counts.count(label) == 1 else key for key, label in labels.items()}

