"""Readable runs of a store, grouped by the test set they were scored on, and the test sets' labels.

Reading a store reads each run's JSON files only (run.json, metrics.json, architecture.json): all that the sidebar
and the Home table need of most runs. A run's arrays (predictions, history) are read, and checked, when a page
first asks for them (`split_readable`): a run whose arrays are broken stays listed, and each page that would show
them names it with the reason instead. Every check is the store's (`run_store.check_summary`, `check_run`), the same
for a page, a command line and the report.
"""

from __future__ import annotations

import functools
import os
import weakref
from collections.abc import Callable
from typing import TypeVar

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

# The parts of a run read when a page first asks for them, checked by the store (`run_store.PART_CHECKS`) once per
# run object: its verdict is kept while the run lives, so a broken file is not read again on every page and rerun.
ARRAY_CHECKS = {part: checked_once(check) for part, check in run_store.PART_CHECKS.items()}


def readable_runs(store: str | os.PathLike) -> tuple[list[Run], list[tuple[str, str]]]:
    """`run_store.list_runs`: the runs whose JSON files the store's check passes, and the others with the reason.

    Their arrays are not read here: see `split_readable`.
    """
    return run_store.list_runs(store)


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

