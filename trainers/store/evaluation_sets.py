"""Evaluation sets: images beyond a run's test set (new photos, another source), and each run's predictions on them.

    <store>/datasets/<test_key>/sets/<name>/set.json     what the set is: its source folder, whether it is labelled,
                                                         the folders of a labelled one, the source's fingerprint
    <store>/datasets/<test_key>/sets/<name>/images.npz   its images, once for every run (ids, labels, WebP sheets)
    <run>/evaluations/<name>.npz                         the run's predictions on it: ids, labels, probabilities
    <run>/evaluations/<name>.json                        the fingerprint of the set it predicted, and when

A set belongs to the test set its runs were tested on: they share their classes and image size, so one copy of its
images serves every run. A label is the index of one of those classes, NONE_OF_THESE for an image of a folder that
is no class of the runs ("not one of the classes"), or UNLABELLED for an image of a flat folder.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from trainers.store import run_store
from trainers.store.run_store import Predictions, RunError

NONE_OF_THESE = -1  # an image of a folder that is no class of the runs
UNLABELLED = -2  # an image of a set without labels (a flat folder)
SETS_DIR = "sets"
SET_FILE = "set.json"
IMAGES_FILE = "images.npz"
EVALUATIONS_DIR = "evaluations"  # in a run folder


@dataclass(frozen=True)
class EvaluationSet:
    """A stored evaluation set: what it is, and its images with their labels (NONE_OF_THESE, UNLABELLED or a class)."""

    name: str
    source: str  # the folder it was read from ("folder:PATH")
    labelled: bool
    folders: list[str]  # a labelled set's folders, classes of the runs or not; [] for a flat one
    fingerprint: str  # of the source folder's files when it was read: a changed folder reads as another
    ids: np.ndarray
    labels: np.ndarray
    images: np.ndarray  # (N, S, S, 3) uint8

    @property
    def of_a_class(self) -> np.ndarray:
        """Which images show one of the runs' classes."""
        return self.labels >= 0


def set_folder(store: str | Path, test_key: str, name: str) -> Path:
    """Where the set `name` of a test set is kept; RunError for a name that is not one folder name."""
    return run_store.test_images_path(store, test_key).parent / SETS_DIR / _checked_name(name)


def _checked_name(name: str) -> str:
    """`name` if a set can have it (one folder name, not starting with '.'); RunError otherwise."""
    return run_store.folder_name(name, "an evaluation set's name", portable=True)


def save_set(store: str | Path, test_key: str, evaluation_set: EvaluationSet) -> Path:
    """Stores a set's images and description for the runs of `test_key`, in place of a set of that name read from
    the folder before it changed; returns its folder."""
    folder = set_folder(store, test_key, evaluation_set.name)
    run_store.save_image_sheets(folder / IMAGES_FILE, evaluation_set.ids, evaluation_set.labels,
                                evaluation_set.images)
    run_store.write_json(folder / SET_FILE, {
        "name": evaluation_set.name, "source": evaluation_set.source, "labelled": evaluation_set.labelled,
        "folders": list(evaluation_set.folders), "fingerprint": evaluation_set.fingerprint,
        "images": int(len(evaluation_set.ids))})
    return folder


def set_description(store: str | Path, test_key: str, name: str) -> dict | None:
    """A stored set's set.json, or None when the test set has no set of that name."""
    path = set_folder(store, test_key, name) / SET_FILE
    return run_store.read_json(path) if path.is_file() else None


def load_set(store: str | Path, test_key: str, name: str) -> EvaluationSet:
    """A stored set with its images; RunError saying what cannot be read."""
    described = set_description(store, test_key, name)
    if described is None:
        raise RunError(f"no evaluation set named '{name}' for the test set {test_key}")
    try:
        stored = run_store.load_image_sheets(set_folder(store, test_key, name) / IMAGES_FILE)
    except RunError as error:
        raise RunError(f"the set '{name}': {error}") from None
    return EvaluationSet(name, described["source"], bool(described["labelled"]), list(described["folders"]),
                         described["fingerprint"], stored.ids, stored.labels, stored.images)


def set_names(store: str | Path, test_key: str) -> list[str]:
    """The evaluation sets of a test set, by name."""
    folder = run_store.test_images_path(store, test_key).parent / SETS_DIR
    return sorted(path.name for path in folder.iterdir() if (path / SET_FILE).is_file()) if folder.is_dir() else []


def write_evaluation(run_path: str | Path, evaluation_set: EvaluationSet, probabilities, *, evaluated_at: str) -> Path:
    """Writes a run's predictions on a set (N, C), in the set's order, beside the fingerprint of the set it predicted,
    in place of any it had on a set of that name; returns the file. Whole or not at all: the old predictions stay
    until both files are written."""
    probabilities = np.asarray(probabilities)
    if probabilities.ndim != 2 or len(probabilities) != len(evaluation_set.ids):
        raise ValueError(f"{probabilities.shape} probabilities for the {len(evaluation_set.ids)} images of the set "
                         f"'{evaluation_set.name}'")
    folder = Path(run_path) / EVALUATIONS_DIR
    folder.mkdir(exist_ok=True)
    name = _checked_name(evaluation_set.name)
    # The predictions are moved into place last, once their record is: a failure before leaves the old pair.
    with run_store.written_aside(folder / f"{name}.npz") as predictions:
        run_store.write_predictions(folder, evaluation_set.ids, evaluation_set.labels, probabilities,
                                    file_name=predictions.name)
        run_store.write_json(folder / f"{name}.json", {"set": name, "fingerprint": evaluation_set.fingerprint,
                                                        "evaluated_at": evaluated_at})
    return folder / f"{name}.npz"


def evaluation_names(run_path: str | Path) -> list[str]:
    """The sets a run has predictions on, by name."""
    folder = Path(run_path) / EVALUATIONS_DIR
    return sorted(path.stem for path in folder.glob("*.json")) if folder.is_dir() else []


def read_evaluation(run_path: str | Path, name: str) -> tuple[Predictions, dict]:
    """A run's predictions on the set `name` (labels as the set's), and when and on which fingerprint they were made;
    RunError when they cannot be read."""
    folder = Path(run_path) / EVALUATIONS_DIR
    name = _checked_name(name)
    return run_store.read_predictions(folder / f"{name}.npz"), run_store.read_json(folder / f"{name}.json")


def set_accuracy(predictions: Predictions) -> float | None:
    """The share of a set's images of a class that the run gets right; None when the set has none."""
    of_a_class = predictions.labels >= 0
    if not of_a_class.any():
        return None
    return float((predictions.predicted[of_a_class] == predictions.labels[of_a_class]).mean())


def evaluation_summary(evaluation_set: EvaluationSet, predictions: Predictions, class_names: list[str], *,
                       read_again: bool = False) -> str:
    """What a run got right on a set, in one line, as the commands that store its predictions say it.

    Example:
        'photos: accuracy 0.6667 on the 3 images of its classes (cat, dog); 1 of none of them (folders: zebra)'
    """
    again = " (its folder changed since it was last read: read again)" if read_again else ""
    if not evaluation_set.labelled:
        return f"{evaluation_set.name}: {len(predictions.ids)} unlabelled images predicted{again}"
    classes = [folder for folder in evaluation_set.folders if folder in class_names]
    others = [folder for folder in evaluation_set.folders if folder not in class_names]
    of_a_class = int(evaluation_set.of_a_class.sum())
    accuracy = set_accuracy(predictions)
    said = (f"accuracy {accuracy:.4f} on the {of_a_class} images of its classes ({', '.join(classes)})"
            if accuracy is not None else "no image of its classes")
    none_of_these = len(predictions.ids) - of_a_class
    if none_of_these:
        said += f"; {none_of_these} of none of them (folders: {', '.join(others)})"
    return f"{evaluation_set.name}: {said}{again}"
