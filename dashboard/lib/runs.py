"""Readable runs of a store, grouped by the test set they were scored on, and the test sets' labels.

Reading a store reads each run's JSON files only (run.json, metrics.json, architecture.json): all that the sidebar
and the Home table need of most runs. A run's arrays (predictions, history) are read, and checked, when a page
first asks for them (`split_readable`): a run whose arrays are broken stays listed, and each page that would show
them names it with the reason instead.
"""

from __future__ import annotations

import functools
import os
import weakref
from collections.abc import Callable
from typing import TypeVar

import numpy as np

from trainers.store import run_store
from trainers.store.run_store import Run, RunError

Key = TypeVar("Key")
Value = TypeVar("Value")


def computed_once(function: Callable[[Key], Value]) -> Callable[[Key], Value]:
    """`function(key)` computed once per object (a Run, an Ensemble, a Predictions) and kept as long as it lives.

    A store's runs are read once and shared, read-only, by every page and session (until a run folder changes):
    what is computed from one stays true while the object lives, and goes with it. A call that raises is not
    kept, nor the result for an object that cannot be referenced weakly (a SimpleNamespace standing for a run).
    What is returned is shared: never change it.
    """
    results: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    @functools.wraps(function)
    def once(key: Key) -> Value:
        try:
            return results[key]
        except KeyError:
            result = results[key] = function(key)
            return result
        except TypeError:  # not weakly referenceable
            return function(key)

    return once


def checked_once(check: Callable[[Run], None]) -> Callable[[Run], None]:
    """`check(run)` run once per run object: its verdict, a pass or the RunError it raised, is kept while the run
    lives, so a run with a broken file is not read again on every page and rerun (its folder's run being read
    again when it changes, see `computed_once`)."""
    @computed_once
    def fault(run: Run) -> str | None:
        try:
            check(run)
        except RunError as error:
            return str(error)
        return None

    @functools.wraps(check)
    def checked(run: Run) -> None:
        reason = fault(run)
        if reason is not None:
            raise RunError(reason)

    return checked


# What every empty page suggests: the study's first model, at the study's epochs.
TRAIN_COMMAND = "python -m trainers.train cnn_v3 --epochs 15"

# The keys of metrics.json and architecture.json that the pages read.
SHOWN_KEYS = {
    run_store.METRICS_FILE: ("accuracy", "log_loss", "macro_recall", "macro_f1", "num_images", "per_class"),
    run_store.ARCHITECTURE_FILE: ("layers", "summary"),
}
# The keys of run.json's config that the pages read.
SHOWN_CONFIG_KEYS = ("image_size", "flip_tta", "shift_tta")


def _as_run_error(check: Callable[[Run], None]) -> Callable[[Run], None]:
    """`check`, with a run whose content is of an unexpected shape reported as a RunError like any other fault."""
    @functools.wraps(check)
    def checked(run: Run) -> None:
        try:
            check(run)
        except KeyError as error:
            raise RunError(f"{run_store.RUN_FILE} lacks {error}") from None
        except (TypeError, ValueError) as error:
            raise RunError(f"unexpected content: {error}") from None

    return checked


@_as_run_error
def check_summary(run: Run) -> None:
    """Reads what the store's listing shows of a run (run.json, metrics.json, architecture.json); raises RunError
    saying what is wrong. `list_runs` only checks that the files exist."""
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


@checked_once
@_as_run_error
def check_predictions(run: Run) -> None:
    """Reads a run's test predictions and checks them, once per run object (it keeps them); raises RunError saying
    what is wrong."""
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


@checked_once
@_as_run_error
def check_history(run: Run) -> None:
    """Reads a run's training history and checks it, once per run object (it keeps it); raises RunError saying what
    is wrong."""
    missing = [column for column in run_store.HISTORY_COLUMNS if column not in run.history.columns]
    if missing:
        raise RunError(f"{run_store.HISTORY_FILE} lacks {', '.join(missing)}")


# The parts of a run that are read when a page asks for them, and how each is checked.
ARRAY_CHECKS = {"predictions": check_predictions, "history": check_history}


def check_run(run: Run) -> None:
    """Reads every part of a run the dashboard shows; raises RunError saying what is wrong with the first bad one."""
    check_summary(run)
    for check in ARRAY_CHECKS.values():
        check(run)


def readable_runs(store: str | os.PathLike) -> tuple[list[Run], list[tuple[str, str]]]:
    """Like `run_store.list_runs`, but a run whose JSON files cannot be read joins the broken ones.

    Its arrays are not read here: see `split_readable`.
    """
    listed, broken = run_store.list_runs(store)
    runs = []
    for run in listed:
        try:
            check_summary(run)
        except RunError as error:
            broken.append((run.run_id, str(error)))
        else:
            runs.append(run)
    return runs, broken


def split_readable(runs: list, *parts: str) -> tuple[list, list[tuple[str, str]]]:
    """The runs whose `parts` (keys of ARRAY_CHECKS: "predictions", "history") can be read, read now; and the
    others, as (label, reason) pairs.

    Example:
        >>> readable, unreadable = split_readable(runs, "predictions")
        >>> unreadable
        [('cnn_v3 / copy', 'unreadable predictions.npz: File is not a zip file')]
    """
    readable, unreadable = [], []
    for run in runs:
        try:
            for part in parts:
                ARRAY_CHECKS[part](run)
        except RunError as error:
            unreadable.append((run.label, str(error)))
        else:
            readable.append(run)
    return readable, unreadable


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
        test_size = runs[0].metrics["num_images"]  # not the predictions: the sidebar reads no run's arrays
        labels[test_key] = f"{dataset.get('name', test_key)} ({runs[0].image_size} px, {test_size} test images)"
    counts = list(labels.values())
    return {key: label if counts.count(label) == 1 else key for key, label in labels.items()}

