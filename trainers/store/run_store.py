"""The run store: the one contract between the trainers (writers) and the dashboard (reader).

Layout of a store (`artifacts/` by default)::

    artifacts/
      <run_id>/                   one complete run; appears only when complete (or failed: see RunWriter.fail)
        run.json                  config, data set, author, comment, timing, versions, schema, status,
                                  which model file the run has ("model_file"), or why it has none ("no_model")
        model.keras | model.onnx  takes raw RGB pixels, returns probabilities (a run recorded from
                                  predictions alone has neither)
        history.csv               one row per epoch (HISTORY_COLUMNS)
        predictions.npz           ids, labels, probabilities on the test split (float16 beside the exact top
                                  classes when large: see `write_predictions`)
        validation_predictions.npz   the same on the validation split (runs written before it lack it)
        test_map.npz              each test image's penultimate features in 2-D, and how they were reduced
                                  (optional: `python -m trainers.evaluate RUN --test-map` adds it)
        metrics.json              scikit-learn metrics (top-5 accuracy too beyond 10 classes)
        confusion_matrix.npz      the test split's confusion matrix, exact counts (in metrics.json before schema 5)
        architecture.json         per-layer table and the study's summary row
        tensorboard/              epoch scalars for `tensorboard --logdir artifacts`
      datasets/<test_key>/test_images.npz    the test images, once per test set (ids, labels,
                                             lossless WebP sheets: see image_sheets)
      datasets/<test_key>/class_groups.json  optional: each class's group (superclass), {class: group}
      .partial/<run_id>/          runs being written (or interrupted, resumable)

Nothing here imports TensorFlow, so the dashboard starts fast; a run's model
is loaded by `trainers.inference.predict.load_model`, in Keras' safe mode (an
ONNX model by ONNX Runtime, preprocessed as run.json's config records).
Arrays are read with `allow_pickle=False`: reading a store never runs code
from it.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import datetime, timezone
from dataclasses import dataclass, field
from functools import cached_property
from typing import TypedDict
from pathlib import Path

import numpy as np
import pandas as pd

from trainers.store import image_sheets

# Version 2 names the metrics for what they are (log_loss, macro_f1, ...); version 3 records in run.json's
# config which kind of run it is; version 4 names the run's model file, or says why it has none; version 5 keeps
# the confusion matrix out of metrics.json (a 1,000-class matrix is megabytes of JSON that every listing of the
# store would parse); version 6 may hold the run's predictions on evaluation sets (`evaluations/`, see
# `trainers.store.evaluation_sets`), which a reader of version 5 would not know to be there. Older runs are read
# through `upgrade` and rewritten in this version by `upgrade_run`.
SCHEMA_VERSION = 6
# A run being written in .partial/ (`trainers.store.progress` watches these), then complete, or failed.
STATUS_TRAINING = "training"
STATUS_COMPLETE = "complete"
# A run whose training failed (the loss became NaN...): run.json's "failure" holds the reason and the 0-based
# epoch, and the store lists the run as one it cannot read, with that reason.
STATUS_FAILED = "failed"

# What made a run, as run.json's config["kind"] says: a preset trained by `trainers.train`, a user's model
# imported by `trainers.evaluate --import`, the mean of several runs saved by the dashboard, or a user's own
# training code (the `RecordRun` callback, `record_run` from arrays, `trainers.evaluate --import-predictions`).
# Only a trained run's config is a whole `TrainConfig`.
KIND_TRAINED = "trained"
KIND_IMPORTED = "imported"
KIND_ENSEMBLE = "ensemble"
KIND_RECORDED = "recorded"
RUN_KINDS = (KIND_TRAINED, KIND_IMPORTED, KIND_ENSEMBLE, KIND_RECORDED)

RUN_FILE = "run.json"
MODEL_FILE = "model.keras"
ONNX_MODEL_FILE = "model.onnx"
MODEL_FILES = (MODEL_FILE, ONNX_MODEL_FILE)
HISTORY_FILE = "history.csv"
PREDICTIONS_FILE = "predictions.npz"
# Optional: what temperature scaling is fitted on. `python -m trainers.evaluate RUN` adds it to older runs.
VALIDATION_PREDICTIONS_FILE = "validation_predictions.npz"
# Optional: the test set's map (see trainers.inference.projection). Runs written before it lack it.
TEST_MAP_FILE = "test_map.npz"
METRICS_FILE = "metrics.json"
CONFUSION_MATRIX_FILE = "confusion_matrix.npz"
ARCHITECTURE_FILE = "architecture.json"
TENSORBOARD_DIR = "tensorboard"
DATASETS_DIR = "datasets"
TEST_IMAGES_FILE = "test_images.npz"
CLASS_GROUPS_FILE = "class_groups.json"
PARTIAL_DIR = ".partial"
# In a partial run only: which process writes it, and when it last said so (`trainers.store.progress.beat`).
HEARTBEAT_FILE = "heartbeat.json"
# Test images: lossless WebP sheets (image_sheets), or raw "images" in stores written before them.
_SHEET_KEYS = ("image_shape", "sheets", "sheet_ends")

# Every run has these, and the model file its run.json names (if any). A run with no training history has a
# history.csv of the header alone.
REQUIRED_FILES = (RUN_FILE, HISTORY_FILE, PREDICTIONS_FILE, METRICS_FILE, ARCHITECTURE_FILE)
HISTORY_COLUMNS = ("epoch", "loss", "accuracy", "val_loss", "val_accuracy", "learning_rate", "epoch_time")
RESERVED_NAMES = (DATASETS_DIR, PARTIAL_DIR)
# run.json's flag for a run that published its predicted labels alone: its predictions hold one-hot rows, which
# every page reading picks reads; the pages that need probabilities say it has none (`Run.no_probabilities`).
LABELS_ONLY = "labels_only"


class RunError(Exception):
    """A run folder that cannot be read; the message says why."""


def _upgrade_from_1(file_name: str, values: dict) -> dict:
    if file_name == METRICS_FILE:
        renamed = {"loss": "log_loss", "precision": "macro_precision", "recall": "macro_recall", "f1": "macro_f1"}
        return {renamed.get(key, key): value for key, value in values.items()}
    if file_name == RUN_FILE and isinstance(values.get("config"), dict) \
            and "shift_interpolation" not in values["config"]:
        # Written before the field existed, when only airbench_cnn's builder shifted by whole pixels.
        whole_pixels = values["config"].get("architecture") == "airbench_cnn"
        values = {**values, "config": {**values["config"],
                                       "shift_interpolation": "nearest" if whole_pixels else "bilinear"}}
    return values


def _upgrade_from_2(file_name: str, values: dict) -> dict:
    if file_name == RUN_FILE and isinstance(values.get("config"), dict) and "kind" not in values["config"]:
        # Written before the kind was recorded, when the preset named the two kinds that are not trained.
        kind = {KIND_IMPORTED: KIND_IMPORTED, KIND_ENSEMBLE: KIND_ENSEMBLE}.get(values.get("preset"), KIND_TRAINED)
        values = {**values, "config": {**values["config"], "kind": kind}}
    return values


def _upgrade_from_3(file_name: str, values: dict) -> dict:
    if file_name == RUN_FILE and "model_file" not in values:
        values = {**values, "model_file": MODEL_FILE}  # every run had a Keras model then
    return values


def _upgrade_from_4(file_name: str, values: dict) -> dict:
    if file_name == METRICS_FILE:  # the matrix is read from the file itself (`Run.confusion_matrix`)
        return {key: value for key, value in values.items() if key != "confusion_matrix"}
    return values


def _upgrade_from_5(file_name: str, values: dict) -> dict:
    return values  # version 6 adds a folder (evaluations/), which a run of version 5 has none of


# Schema version -> how a file of that version becomes one of the next.
_UPGRADES = {1: _upgrade_from_1, 2: _upgrade_from_2, 3: _upgrade_from_3, 4: _upgrade_from_4, 5: _upgrade_from_5}


def upgrade(file_name: str, values: dict, version: int) -> dict:
    """The content of a run's JSON file `file_name` written in schema `version`, as this version writes it.

    Example:
        >>> upgrade(METRICS_FILE, {"accuracy": 0.9, "f1": 0.8, "confusion_matrix": [[1]]}, version=1)
        {'accuracy': 0.9, 'macro_f1': 0.8}
    """
    if version not in _UPGRADES and version != SCHEMA_VERSION:
        raise RunError(f"schema version {version!r} is unknown to this version (it reads 1 to {SCHEMA_VERSION})")
    for step in range(version, SCHEMA_VERSION):
        values = _UPGRADES[step](file_name, values)
    return values


def resolve_store(path: str | os.PathLike | None = None) -> Path:
    """The store folder: `path`, else $ARTIFACTS_DIR, else `artifacts/`.

    Raises:
        RunError: it is a URL (s3://, gs://): buckets are read and written through a local mirror
            (`trainers.store.remote_store`), by the trainer and the dashboard only; Path would take it for a folder.
    """
    store = str(path or os.environ.get("ARTIFACTS_DIR") or "artifacts")
    if "://" in store:
        raise RunError(f"'{store}' is a bucket: only trainers.train and the dashboard use one (through a local "
                       "mirror); give this command a folder, such as that mirror's")
    return Path(store)


@dataclass(frozen=True, eq=False)
class Predictions:
    """Per image of a split (test: PREDICTIONS_FILE, validation: VALIDATION_PREDICTIONS_FILE): stable id, true
    label, full probability vector.

    A large split's vectors are stored as float16 (see `write_predictions`), with each image's first
    STORED_TOP_K classes and their probabilities exact: `predicted`, `confidence` and `top_classes` are exact
    either way; what reads the whole vector (ensembles, temperature scaling, suspect labels) gets it to
    float16's precision there.

    Compared (and hashed) by identity, as arrays cannot be compared as one value: what is computed from them
    can be cached under the object.
    """

    ids: np.ndarray
    labels: np.ndarray
    probabilities: np.ndarray
    stored_top_classes: np.ndarray | None = field(default=None, repr=False)  # (N, k), most probable first
    stored_top_probabilities: np.ndarray | None = field(default=None, repr=False)  # (N, k) float32

    @cached_property
    def predicted(self) -> np.ndarray:
        if self.stored_top_classes is not None:
            return self.stored_top_classes[:, 0]
        return self.probabilities.argmax(axis=1)

    @cached_property
    def confidence(self) -> np.ndarray:
        """The probability of each image's predicted class, float32."""
        if self.stored_top_probabilities is not None:
            return self.stored_top_probabilities[:, 0]
        return self.probabilities[np.arange(len(self.labels)), self.predicted].astype(np.float32)

    def top_classes(self, k: int) -> np.ndarray:
        """Each image's `k` most probable classes (N, k), the most probable first; ties go to the lower class.

        Example:
            >>> Predictions(np.array(["a"]), np.array([0]), np.array([[0.2, 0.5, 0.3]])).top_classes(2)
            array([[1, 2]])
        """
        k = min(k, self.probabilities.shape[1])
        if self.stored_top_classes is not None and k <= self.stored_top_classes.shape[1]:
            return self.stored_top_classes[:, :k]
        return top_classes(self.probabilities, k)

    def in_order(self, ids) -> Predictions:
        """The predictions of the images `ids` (this split's, in another order, or some of them); itself when
        they are its own, in its order (a copy of 50,000 x 1,000 probabilities is 100 MB and more)."""
        ids = np.asarray(ids)
        if np.array_equal(ids, self.ids):
            return self
        position = {image_id: index for index, image_id in enumerate(self.ids.tolist())}
        at = np.array([position[image_id] for image_id in ids.tolist()], dtype=np.int64)
        top = [None if part is None else part[at] for part in (self.stored_top_classes, self.stored_top_probabilities)]
        return Predictions(self.ids[at], self.labels[at], self.probabilities[at], *top)


def top_classes(probabilities: np.ndarray, k: int) -> np.ndarray:
    """The `k` most probable classes of each row, the most probable first (ties to the lower class), found with
    argpartition: a full sort of 1,000 classes per image would cost ten times as much."""
    probabilities = np.asarray(probabilities)
    k = min(k, probabilities.shape[1])
    if k < probabilities.shape[1]:
        candidates = np.argpartition(-probabilities, k - 1, axis=1)[:, :k]
        candidates.sort(axis=1)  # ties to the lower class, as argmax breaks them
    else:
        candidates = np.broadcast_to(np.arange(k), probabilities.shape).copy()
    order = np.argsort(-np.take_along_axis(probabilities, candidates, axis=1), axis=1, kind="stable")
    return np.take_along_axis(candidates, order, axis=1)


@dataclass(frozen=True)
class TestMap:
    """Each test image's place on a 2-D map of the run's penultimate-layer features (TEST_MAP_FILE).

    Attributes:
        ids: the test images' ids, as in the run's predictions.
        coordinates: (N, 2) float16; only distances between points mean anything.
        method: how the map was made: the reduction, its parameters, the features it started from.
    """

    ids: np.ndarray
    coordinates: np.ndarray
    method: dict


@dataclass(frozen=True)
class TestImages:
    """Stored images (a test set's, or an evaluation set's: `load_image_sheets`) with their ids and labels."""

    ids: np.ndarray
    labels: np.ndarray
    images: np.ndarray  # (N, H, W, 3) uint8

    def by_id(self) -> dict[str, int]:
        return {image_id: i for i, image_id in enumerate(self.ids.tolist())}

    def missing(self, ids) -> int:
        """How many of `ids` have no stored image."""
        return len(set(np.asarray(ids).tolist()) - set(self.ids.tolist()))

    def select(self, ids) -> np.ndarray:
        """The images of `ids`, in that order; RunError saying how many are not stored."""
        missing = self.missing(ids)
        if missing:
            raise RunError(f"the stored test images lack {missing} of {len(ids)} images")
        index_of = self.by_id()
        return self.images[[index_of[image_id] for image_id in ids]]


def read_json(path: Path) -> dict:
    """A JSON file of the store; RunError naming the file when it is missing or unreadable."""
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise RunError(f"missing {path.name}") from None
    except (OSError, ValueError) as error:
        raise RunError(f"unreadable {path.name}: {error}") from None


@contextmanager
def written_aside(path: Path) -> Iterator[Path]:
    """Yields a name beside `path` to write to, then moves it onto `path`; on an error nothing is left behind."""
    partial = path.with_name("partial-" + path.name)  # keeps the suffix, which numpy and Keras go by
    try:
        yield partial
        os.replace(partial, path)
    except BaseException:
        with suppress(OSError):  # on a full disk, the half-written file is the space to give back
            partial.unlink(missing_ok=True)
        raise


def write_json(path: Path, values: dict) -> None:
    """Writes `values` (numpy values and paths too) as a JSON file of the store, whole or not at all."""
    with written_aside(path) as partial:
        partial.write_text(json.dumps(values, indent=2, default=_json_default))


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"Cannot store {type(value).__name__} in JSON")


def _load_npz(path: Path, keys: tuple[str, ...], *alternatives: tuple[str, ...]) -> dict[str, np.ndarray]:
    """The arrays `keys`, plus the first of `alternatives` whose arrays are all present."""
    try:
        with np.load(path, allow_pickle=False) as arrays:
            missing = [k for k in keys if k not in arrays]
            extra = next((a for a in alternatives if all(k in arrays for k in a)), None)
            if alternatives and extra is None:
                missing.append(" or ".join("+".join(a) for a in alternatives))
            if missing:
                raise RunError(f"{path.name} lacks {', '.join(missing)}")
            return {k: arrays[k] for k in keys + (extra or ())}
    except FileNotFoundError:
        raise RunError(f"missing {path.name}") from None
    except (OSError, ValueError) as error:
        raise RunError(f"unreadable {path.name}: {error}") from None


@dataclass(frozen=True, eq=False)
class Run:
    """A complete run folder. `info` is run.json; the rest is read on first use.

    Files of an older schema are handed over upgraded (see `upgrade`); `written_version`
    says which schema the folder's files are in. Compared (and hashed) by identity: one object per reading of
    the folder, which keeps what was read of it and what is computed from it.
    """

    path: Path
    info: dict = field(repr=False)
    written_version: int = SCHEMA_VERSION
    # The images its predictions are of: "" for its test set, or the name of an evaluation set
    # (`trainers.analysis.on_set.run_on_set` hands over a run whose predictions are of that set).
    evaluation = ""

    @property
    def run_id(self) -> str:
        return self.path.name

    @property
    def store(self) -> Path:
        """The store the run is in, where its test images are (`load_test_images(run.store, run.test_key)`)."""
        return self.path.parent

    @property
    def preset(self) -> str:
        return self.info.get("preset", "")

    @property
    def author(self) -> str:
        """Who trained the run (the study's "Dev" column); "" when it does not say."""
        return str(self.info.get("author") or "")

    @property
    def label(self) -> str:
        """How a run is named wherever one string names it: its preset and its folder, or the folder alone
        when they agree (or it has no preset)."""
        return self.run_id if self.preset in ("", self.run_id) else f"{self.preset} / {self.run_id}"

    @property
    def config(self) -> dict:
        return self.info["config"]

    @property
    def kind(self) -> str:
        """What made the run: one of RUN_KINDS."""
        return self.info["config"]["kind"]

    @property
    def dataset(self) -> dict:
        return self.info["dataset"]

    @property
    def class_names(self) -> list[str]:
        return self.info["dataset"]["class_names"]

    @property
    def test_key(self) -> str:
        return self.info["dataset"]["test_key"]

    @property
    def image_size(self) -> int:
        return int(self.info["config"]["image_size"])

    @property
    def model_path(self) -> Path | None:
        """The run's model file (MODEL_FILE or ONNX_MODEL_FILE), or None for a run that has none (`no_model`)."""
        name = self.info.get("model_file")
        return self.path / name if name else None

    @property
    def no_model(self) -> str | None:
        """Why the run has no model, as a page says it in one line; None when it has one."""
        if self.model_path is not None:
            return None
        return f"{self.label} has no model: {self.info.get('no_model') or 'none was recorded'}"

    @property
    def no_probabilities(self) -> str | None:
        """Why the run has no probabilities (it published its predicted labels alone), as a page says it in one
        line; None when it has them."""
        if not self.info.get(LABELS_ONLY):
            return None
        return f"{self.label} has no probabilities: it was recorded from its predicted labels alone"

    @cached_property
    def history(self) -> pd.DataFrame:
        try:
            return pd.read_csv(self.path / HISTORY_FILE)
        except (OSError, ValueError) as error:
            raise RunError(f"unreadable {HISTORY_FILE}: {error}") from None

    @cached_property
    def predictions(self) -> Predictions:
        return read_predictions(self.path / PREDICTIONS_FILE)

    @cached_property
    def validation_predictions(self) -> Predictions | None:
        """The predictions on the validation images, or None for a run written before they were stored."""
        path = self.path / VALIDATION_PREDICTIONS_FILE
        return read_predictions(path) if path.is_file() else None

    @cached_property
    def test_map(self) -> TestMap | None:
        """The map of the test set, or None for a run that has none yet."""
        path = self.path / TEST_MAP_FILE
        return read_test_map(path) if path.is_file() else None

    @cached_property
    def metrics(self) -> dict:
        """metrics.json, upgraded: summary figures and per-class ones, without the confusion matrix."""
        return upgrade(METRICS_FILE, read_json(self.path / METRICS_FILE), self.written_version)

    @cached_property
    def confusion_matrix(self) -> np.ndarray:
        """The test split's confusion matrix as recorded (`[i, j]` counts true class i predicted as j)."""
        if self.written_version < 5:  # metrics.json held it
            recorded = read_json(self.path / METRICS_FILE)
            if "confusion_matrix" not in recorded:
                raise RunError(f"{METRICS_FILE} lacks confusion_matrix")
            return np.asarray(recorded["confusion_matrix"], dtype=np.int64)
        return _load_npz(self.path / CONFUSION_MATRIX_FILE, ("confusion_matrix",))["confusion_matrix"]

    @cached_property
    def architecture(self) -> dict:
        return read_json(self.path / ARCHITECTURE_FILE)


def folder_name(name, what: str, *, portable: bool = False) -> str:
    """`name` if it names one folder inside another; RunError naming it, as `what`, otherwise. `portable`: one folder
    on Windows too (no '\\') and not hidden (no leading '.'), as a name a user chooses must be.

    Stored text becomes part of a path only through this check, so no run.json can point a reader
    outside the store ('../../somewhere', '/etc').
    """
    # Path(name).name drops whatever this system reads as folders or a drive ('a/b', '/etc', 'C:x' on Windows).
    if not isinstance(name, str) or name in ("", ".", "..") or "\0" in name or Path(name).name != name \
            or portable and (name.startswith(".") or "\\" in name):
        raise RunError(f"{what} {name!r} is not a folder name inside the store"
                       + (" (one folder, its name not starting with '.')" if portable else ""))
    return name


def failure_message(reason: str | None, epoch: int | None) -> str:
    """How a failed run is described wherever it shows: its 0-based `epoch` counted from 1, as Keras and the
    dashboard count.

    Example:
        >>> failure_message("the loss became NaN or infinite", 2)
        'training failed in epoch 3: the loss became NaN or infinite'
    """
    where = f" in epoch {epoch + 1}" if isinstance(epoch, int) else ""
    return f"training failed{where}: {reason or 'no reason recorded'}"


def load_run(path: str | os.PathLike, required: tuple[str, ...] = REQUIRED_FILES) -> Run:
    """Reads and checks one run folder (its JSON files: `check_summary`; its arrays are read and checked when asked
    for: `check_run`); raises RunError saying what is wrong.

    `required` names the files that must be there (all of them by default).
    """
    path = Path(path)
    if not path.is_dir():
        raise RunError(f"'{path}' is not a folder")
    info = read_json(path / RUN_FILE)
    if not isinstance(info, dict):
        raise RunError(f"{RUN_FILE} is not an object")
    version = info.get("schema_version")
    if isinstance(version, int) and version > SCHEMA_VERSION:
        raise RunError(f"schema version {version} was written by a newer version of this tool "
                       f"(this one reads up to {SCHEMA_VERSION}): update it to read this run")
    info = upgrade(RUN_FILE, info, version)
    if info.get("status") == STATUS_FAILED:
        failure = info.get("failure") if isinstance(info.get("failure"), dict) else {}
        raise RunError(failure_message(failure.get("reason"), failure.get("epoch")))
    if info.get("status") != STATUS_COMPLETE:
        raise RunError(f"status {info.get('status')!r}, not {STATUS_COMPLETE!r}")
    for key in ("config", "dataset"):
        if not isinstance(info.get(key), dict):
            raise RunError(f"{RUN_FILE} has no '{key}'")
    if info["config"].get("kind") not in RUN_KINDS:
        raise RunError(f"{RUN_FILE}'s config has kind {info['config'].get('kind')!r}, not one of {', '.join(RUN_KINDS)}")
    folder_name(info["dataset"].get("test_key"), f"{RUN_FILE}'s test key")
    missing = _missing_files(path, info, required)
    if missing:
        raise RunError(f"missing {', '.join(missing)}")
    run = Run(path, info, written_version=version)
    check_summary(run, required)
    return run


# What every reader may read of a run's JSON files (pages, command lines, the report): `load_run` checks they are
# there, so a run that lacks one is listed as broken, with the reason, by every reader alike.
READ_KEYS = {
    METRICS_FILE: ("accuracy", "log_loss", "macro_recall", "macro_f1", "num_images", "per_class"),
    ARCHITECTURE_FILE: ("layers", "summary"),
}
READ_CONFIG_KEYS = ("image_size", "flip_tta", "shift_tta")


def _as_run_error(check):
    """`check(run)`, with content of an unexpected shape reported as a RunError like any other fault."""
    @functools.wraps(check)
    def checked(run, *args) -> None:
        try:
            check(run, *args)
        except KeyError as error:
            raise RunError(f"{RUN_FILE} lacks {error}") from None
        except (TypeError, ValueError) as error:
            raise RunError(f"unexpected content: {error}") from None

    return checked


@_as_run_error
def check_summary(run: Run, files: tuple[str, ...] = REQUIRED_FILES) -> None:
    """Checks what a listing of the store reads of a run: run.json's classes, image size, test key and config, and
    the READ_KEYS of those of its JSON files among `files`; RunError saying what is wrong."""
    if len(run.class_names) < 2 or run.image_size < 1 or not run.test_key:
        raise RunError(f"{RUN_FILE} has no usable class names, image size or test key")
    missing = [key for key in READ_CONFIG_KEYS if key not in run.config]
    if missing:
        raise RunError(f"{RUN_FILE}'s config lacks {', '.join(missing)}")
    parts = {METRICS_FILE: lambda: run.metrics, ARCHITECTURE_FILE: lambda: run.architecture}
    for file_name, read in parts.items():
        if file_name in files:
            values = read()
            missing = [key for key in READ_KEYS[file_name] if key not in values]
            if missing:
                raise RunError(f"{file_name} lacks {', '.join(missing)}")


@_as_run_error
def check_predictions(run) -> None:
    """Reads a run's test predictions (a Run keeps them) and checks them; RunError saying what is wrong."""
    predictions = run.predictions
    expected = (len(predictions.labels), len(run.class_names))
    if predictions.probabilities.shape != expected:
        raise RunError(f"{PREDICTIONS_FILE} holds probabilities of shape {predictions.probabilities.shape}, not "
                       f"{expected}")
    # A NaN would win every argmax: the run's mistakes and scores would be garbage, not a model's.
    unusable = int((~np.isfinite(predictions.probabilities)).any(axis=1).sum())
    if unusable:
        raise RunError(f"{PREDICTIONS_FILE} holds NaN or infinite probabilities for {unusable} of "
                       f"{len(predictions.labels)} test images")


@_as_run_error
def check_history(run) -> None:
    """Reads a run's training history (a Run keeps it) and checks its columns; RunError saying what is wrong."""
    missing = [column for column in HISTORY_COLUMNS if column not in run.history.columns]
    if missing:
        raise RunError(f"{HISTORY_FILE} lacks {', '.join(missing)}")


# The parts of a run read only when asked for (a page that shows them, a command that uses them), and their checks.
PART_CHECKS = {"predictions": check_predictions, "history": check_history}


def check_run(run: Run, parts: tuple[str, ...] = tuple(PART_CHECKS)) -> None:
    """Reads and checks the `parts` of a run (`load_run` checked its JSON files); RunError naming the first fault."""
    for part in parts:
        PART_CHECKS[part](run)


def run_files(info: dict, required: tuple[str, ...] = REQUIRED_FILES) -> tuple[str, ...]:
    """The files a run of this run.json has: `required`, then the model file it names (if any)."""
    model_file = info.get("model_file")
    if model_file is not None and model_file not in MODEL_FILES:
        raise RunError(f"{RUN_FILE}'s model file {model_file!r} is not one of {', '.join(MODEL_FILES)}")
    return (*required, *([model_file] if model_file else []))


def _missing_files(path: Path, info: dict, required: tuple[str, ...]) -> list[str]:
    """Which of `required`, and of the model file run.json names, are not in the run folder `path`."""
    return [name for name in run_files(info, required) if not (path / name).is_file()]


def upgrade_run(path: str | os.PathLike) -> bool:
    """Rewrites a run's JSON files in the current schema (nothing is recomputed); False if they already were."""
    run = load_run(path)
    if run.written_version == SCHEMA_VERSION:
        return False
    # First: a run.json of the new version vouches for the metrics, which then no longer hold the matrix.
    write_metrics(run.path, {**run.metrics, "confusion_matrix": run.confusion_matrix})
    write_info(run.path, run.info)
    return True


def check_comparable(run: Run, class_names, test_key: str, *, test_ids=None, image_size: int | None = None) -> None:
    """Raises ValueError unless `run` knows `class_names` and was tested on the test set `test_key`.

    With `test_ids`, its predictions must be of exactly those images; with `image_size`, it must take
    images of that size. Only such runs are compared with one another, or teach a new one.
    """
    if run.class_names != list(class_names):
        raise ValueError(f"'{run.path}' knows the classes {', '.join(run.class_names)}, not {', '.join(class_names)}")
    if image_size is not None and run.image_size != image_size:
        raise ValueError(f"'{run.path}' takes {run.image_size}-px images, not {image_size}-px")
    if run.test_key != test_key:
        raise ValueError(f"'{run.path}' was tested on other images ({run.test_key}, not {test_key})")
    if test_ids is not None and not np.array_equal(np.sort(run.predictions.ids), np.sort(test_ids)):
        raise ValueError(f"'{run.path}' was tested on other images (its predictions are of other image ids)")


def run_path(name_or_path: str | os.PathLike) -> Path:
    """A run's folder, given as a path or by its name in the store in use (`resolve_store()`: $ARTIFACTS_DIR, else
    artifacts/): what a page names a run by works on the command line wherever the store is."""
    path = Path(name_or_path)
    if path.is_dir() or len(path.parts) != 1:
        return path
    try:
        named = resolve_store() / path
    except RunError:  # the store in use is a bucket: only a folder can be named
        return path
    return named if named.is_dir() else path


def load_runs(paths: list[str | Path]) -> list[Run]:
    """The runs at `paths` (folders, or names of runs in the store in use: `run_path`); ValueError naming the first
    that cannot be read (or that none is named)."""
    if not paths:
        raise ValueError("name at least one run folder")
    runs = []
    for path in paths:
        try:
            runs.append(load_run(run_path(path)))
        except RunError as error:
            raise ValueError(f"'{path}' is not a usable run (neither a folder nor a run of the store "
                             f"'{_store_named()}'): {error}") from None
    return runs


def _store_named() -> str:
    try:
        return str(resolve_store())
    except RunError as error:
        return str(error)


def list_runs(store: str | os.PathLike | None = None) -> tuple[list[Run], list[tuple[str, str]]]:
    """All runs of a store, oldest first, and the folders that could not be read.

    Returns:
        (runs, broken) where broken holds (folder name, reason) pairs.
    """
    store = resolve_store(store)
    runs, broken = [], []
    if not store.is_dir():
        return runs, broken
    for path in sorted(store.iterdir()):
        if not path.is_dir() or path.name in RESERVED_NAMES or path.name.startswith("."):
            continue
        try:
            runs.append(load_run(path))
        except RunError as error:
            broken.append((path.name, str(error)))
    runs.sort(key=lambda run: (run.info.get("finished_at", ""), run.run_id))
    return runs, broken


def test_images_path(store: str | os.PathLike, test_key: str) -> Path:
    """Where a test set's images are stored; RunError if `test_key` would lead out of `<store>/datasets/`."""
    return Path(store) / DATASETS_DIR / folder_name(test_key, "test key") / TEST_IMAGES_FILE


def load_test_images(store: str | os.PathLike, test_key: str) -> TestImages:
    """The stored test images of a test set (see `ImageDataset.test_key`)."""
    return load_image_sheets(test_images_path(store, test_key))


def save_test_images(store: str | os.PathLike, test_key: str, ids, labels, images) -> Path:
    """Stores a test set's images once; later runs on the same test set reuse them."""
    path = test_images_path(store, test_key)
    if not path.exists():
        save_image_sheets(path, ids, labels, images)
    return path


def save_image_sheets(path: Path, ids, labels, images) -> Path:
    """Writes images with their ids and labels into one .npz, as lossless WebP sheets (`image_sheets`), whole or not
    at all: the one format of the store's images (a test set's, an evaluation set's)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sheets = image_sheets.encode(np.asarray(images, np.uint8))
    with written_aside(path) as partial:
        np.savez_compressed(partial, ids=np.asarray(ids).astype(str), labels=np.asarray(labels, np.int64), **sheets)
    return path


def load_image_sheets(path: Path) -> TestImages:
    """Images stored by `save_image_sheets` (or as raw pixels, in stores written before the sheets), with their ids
    and labels; RunError naming the file and what in it does not fit."""
    path = Path(path)
    arrays = _load_npz(path, ("ids", "labels"), _SHEET_KEYS, ("images",))
    ids, labels = arrays["ids"], arrays["labels"]
    if "images" in arrays:  # written before the images were stored as WebP sheets
        images = arrays["images"]
    else:
        count = int(arrays["image_shape"].ravel()[0]) if arrays["image_shape"].size else -1
        if count != len(ids):  # checked first: the count sizes the array that decoding fills
            raise RunError(f"{path.name} holds {count} images for {len(ids)} ids")
        try:
            images = image_sheets.decode(arrays["image_shape"], arrays["sheets"], arrays["sheet_ends"])
        except (OSError, ValueError) as error:
            raise RunError(f"unreadable {path.name}: {error}") from None
    if len(images) != len(ids) or labels.shape != ids.shape:
        raise RunError(f"{path.name} holds {len(images)} images and {len(labels)} labels for {len(ids)} ids")
    return TestImages(ids, labels, images)


def class_groups_path(store: str | os.PathLike, test_key: str) -> Path:
    return test_images_path(store, test_key).with_name(CLASS_GROUPS_FILE)


def save_class_groups(store: str | os.PathLike, test_key: str, groups: dict[str, str]) -> Path:
    """Stores each class's group (superclass) for a test set, in place of any it had: {class name: group name},
    in class order (`trainers.analysis.class_groups` reads them from a user's file and checks them)."""
    path = class_groups_path(store, test_key)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json(path, groups)
    return path


def load_class_groups(store: str | os.PathLike, test_key: str) -> dict[str, str] | None:
    """A test set's class groups, or None when it has none; RunError if the file cannot be read."""
    path = class_groups_path(store, test_key)
    if not path.is_file():
        return None
    groups = read_json(path)
    if not isinstance(groups, dict) or not all(isinstance(group, str) for group in groups.values()):
        raise RunError(f"{CLASS_GROUPS_FILE} is not an object of class names to group names")
    return groups


def now() -> str:
    """The time stamps of run.json: UTC, to the second, ISO 8601."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class RunInfo(TypedDict, total=False):
    """run.json: every field a run records, written by `new_run_info` (at the start), `RunWriter.finish` (with
    `finished_fields`) or `evaluated_again`, and the writer's status changes; read as `Run.info`."""

    schema_version: int
    status: str  # STATUS_TRAINING, STATUS_COMPLETE or STATUS_FAILED
    failure: dict  # a failed run's {"reason", "epoch"} (`RunWriter.fail`)
    preset: str
    config: dict  # `TrainConfig.to_dict()` for a trained run, else what the run has; "kind" among it (RUN_KINDS)
    dataset: dict  # the test set: name, spec, test_key, class_names, image_size, sizes, limit
    author: str
    comment: str
    command: str
    teachers: list  # what a distilled run records of each teacher (`distillation.provenance`)
    members: list  # an ensemble's runs, {"run_id", "path"}
    started_at: str
    versions: dict
    hardware: dict
    model_file: str | None  # one of MODEL_FILES, or None with the reason in no_model
    no_model: str
    labels_only: bool  # LABELS_ONLY
    imported_from: str
    speed_trial: dict
    # Finished (`finished_fields`):
    finished_at: str
    epochs_run: int | None
    training_seconds: float | None
    test_accuracy: float | None
    images_per_second: float | None
    best_epoch: int | None
    teacher_seconds: float
    evaluation_seconds: float
    test_map_seconds: float
    distribution: dict
    evaluated_at: str  # `evaluated_again`


# The config of a run whose model averages no extra views of an image (every run but a trained one that asks for
# test-time augmentation): what a page reads of a run's test-time augmentation.
NO_TEST_TIME_AUGMENTATION = {"flip_tta": False, "shift_tta": 0}


def finished_fields(*, epochs_run: int | None, training_seconds: float | None, test_accuracy: float | None,
                    finished_at: str | None = None, **more) -> RunInfo:
    """run.json's fields of a finished run, the only place their keys are written: when it finished (now, unless
    given), its epochs, its training time and its test accuracy, and `more` that only some runs record
    (best_epoch, images_per_second...). `RunWriter.finish` writes them; an ensemble shows its own."""
    return {"finished_at": finished_at or now(), "epochs_run": epochs_run, "training_seconds": training_seconds,
            "test_accuracy": test_accuracy, **more}


def evaluated_again(info: RunInfo, test_accuracy: float) -> RunInfo:
    """run.json of a run whose test predictions were made again (`trainers.evaluate`): its new test accuracy, and
    when it was evaluated; when it finished training stays."""
    finished = finished_fields(epochs_run=info.get("epochs_run"), training_seconds=info.get("training_seconds"),
                               test_accuracy=test_accuracy, finished_at=info.get("finished_at"))
    return {**info, **finished, "evaluated_at": now()}


def without_layers(**summary) -> dict:
    """architecture.json of a run whose model's layers are not recorded (an ONNX graph, a run from arrays, an
    ensemble of models that are not all Keras'), with the study's summary row as far as it is known."""
    return {"layers": [], "summary": summary}


def new_run_info(config: dict, dataset: dict, *, kind: str, preset: str, author: str, command: str,
                 comment: str = "", teachers: list[dict] | None = None, hardware: dict | None = None,
                 versions: dict | None = None, model_file: str | None = MODEL_FILE, no_model: str = "",
                 labels_only: bool = False) -> RunInfo:
    """The run.json of a run about to be trained: all that reproduces it, before any result.

    Args:
        config: the whole configuration (`TrainConfig.to_dict()` for a trained run); `kind` is added to it, and
            NO_TEST_TIME_AUGMENTATION's fields where it has none.
        kind: what makes the run, one of RUN_KINDS.
        dataset: the data set's summary (`ImageDataset.summary()` and the --limit).
        teachers: what the run records of each teacher it is distilled from (`distillation.provenance`).
        hardware, versions: the machine and libraries it trains on (`trainers.inference.machine`).
        model_file: the model file the run will have (one of MODEL_FILES), or None, with the reason in `no_model`.
        labels_only: its predictions are its predicted labels alone (LABELS_ONLY).
    """
    if kind not in RUN_KINDS:
        raise ValueError(f"Unknown kind of run '{kind}'. Known kinds: {', '.join(RUN_KINDS)}")
    if model_file is not None and model_file not in MODEL_FILES:
        raise ValueError(f"Unknown model file '{model_file}'. Known: {', '.join(MODEL_FILES)}")
    return {"status": STATUS_TRAINING, "preset": preset, "dataset": dataset,
            "config": {**NO_TEST_TIME_AUGMENTATION, **config, "kind": kind},
            "author": author, "comment": comment, "command": command, "teachers": teachers or [],
            "started_at": now(), "versions": versions or {}, "hardware": hardware or {},
            "model_file": model_file, **({"no_model": no_model} if model_file is None else {}),
            **({LABELS_ONLY: True} if labels_only else {})}


def without_model(info: dict, reason: str) -> dict:
    """`info` (a run.json) for a run that ships no model, and why, as a page says it."""
    return {**info, "model_file": None, "no_model": reason}


def test_set_key(name: str, image_size: int, ids, labels) -> str:
    """Names one exact test set (its data set's name, image size, ids and labels), so its images are stored once
    and only runs tested on it are compared."""
    digest = hashlib.sha1()
    digest.update("\n".join(np.asarray(ids).astype(str).tolist()).encode())
    digest.update(np.asarray(labels).astype(np.int64).tobytes())
    return f"{name}-{image_size}px-{digest.hexdigest()[:8]}"


def taken(store: str | os.PathLike, name: str) -> bool:
    """Whether a run of that name is in the store, or being written (or was interrupted) in its partial folder."""
    return (Path(store) / name).exists() or (Path(store) / PARTIAL_DIR / name).exists()


def free_name(store: str | os.PathLike, name: str) -> str:
    """`name`, or the first of name-2, name-3, ... that no run of the store takes."""
    return next(candidate for candidate in (name, *(f"{name}-{n}" for n in range(2, 10_000)))
                if not taken(store, candidate))


def claimed_writer(store: str | os.PathLike, name: str, *, overwrite: bool = False,
                   start_over: str = "pass overwrite=True") -> RunWriter:
    """A writer for a new run `name`; FileExistsError naming a free name when it is taken, unless `overwrite`,
    which starts it over (a partial run of that name is dropped; a complete one is replaced on commit).
    `start_over`: how the caller's user asks for that, as the refusal says it (None: they cannot)."""
    writer = RunWriter(store, name, replace=overwrite)
    if taken(store, name):
        if not overwrite:
            instead = f", or {start_over} to start '{name}' over" if start_over else ""
            raise FileExistsError(f"A run named '{name}' is already in '{store}' (or being written there): "
                                  f"name this one '{free_name(store, name)}'{instead}")
        writer.discard()
    return writer


@contextmanager
def written_run(store: str | os.PathLike, name: str, info: dict, *, overwrite: bool = False,
                start_over: str | None = "pass overwrite=True") -> Iterator[RunWriter]:
    """Writes a run at once: claims the name (`claimed_writer`), creates it with `info` (`new_run_info`), lets the
    caller add the parts the run has and `finish` it, then commits it; a failure or Ctrl-C half-way leaves nothing
    in the store, not even in .partial/. After the block, `writer.final_path` is the run.

    Example:
        >>> with written_run(store, "mine", info) as writer:
        ...     recording.write_results(writer.path, test, class_names)
        ...     writer.write_architecture(without_layers(epochs=0))
        ...     writer.history_path.write_text(",".join(HISTORY_COLUMNS) + "\\n")
        ...     writer.finish(epochs_run=0, training_seconds=None, test_accuracy=0.9)
    """
    writer = claimed_writer(store, name, overwrite=overwrite, start_over=start_over)
    writer.create(info)
    try:
        yield writer
        writer.commit()
    except BaseException:
        writer.discard()
        raise


class RunWriter:
    """Writes a run aside in `<store>/.partial/<run_id>/`, then moves it into place.

    Readers never see a half-written run: `commit()` is one rename. A partial
    folder left by an interrupted run (Ctrl-C, a kill, a full disk) keeps its
    training backup, so it can be resumed. A run whose training failed is moved
    into place by `fail()`, marked failed, so the store lists it with the reason.
    """

    def __init__(self, store: str | os.PathLike, run_id: str, *, replace: bool = False):
        """`replace`: the run takes the place of a run of the same name when committed (asked for by the user:
        `overwrite=True`); that run stays in the store until then."""
        self.store = Path(store)
        self.run_id = run_id
        self.replace = replace
        self.path = self.store / PARTIAL_DIR / run_id
        self.final_path = self.store / run_id
        if run_id in RESERVED_NAMES or run_id.startswith(".") or "/" in run_id or not run_id:
            raise ValueError(f"Invalid run name '{run_id}'")

    def create(self, info: dict) -> None:
        """Starts the partial folder with its run.json; if the store cannot be written, leaves nothing behind."""
        if self.final_path.exists() and not self.replace:
            raise FileExistsError(f"A run named '{self.run_id}' already exists in '{self.store}'")
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            self.write_info(info)
        except OSError:
            self.discard()  # a run.json-less folder could not be resumed anyway
            raise

    def discard(self) -> None:
        """Removes the partial folder (and .partial/, once nothing else is in progress): a run given up on."""
        shutil.rmtree(self.path, ignore_errors=True)
        self._remove_empty_partial_dir()

    def read_info(self) -> dict:
        return read_json(self.path / RUN_FILE)

    def write_info(self, info: dict) -> None:
        write_info(self.path, info)

    def write_architecture(self, architecture: dict) -> None:
        write_json(self.path / ARCHITECTURE_FILE, architecture)

    def finish(self, **fields) -> dict:
        """Records that the run finished, with `finished_fields(**fields)`, in its run.json; returns that run.json."""
        info = {**self.read_info(), **finished_fields(**fields)}
        self.write_info(info)
        return info

    @property
    def history_path(self) -> Path:
        return self.path / HISTORY_FILE

    @property
    def model_path(self) -> Path:
        return self.path / MODEL_FILE

    @property
    def tensorboard_path(self) -> Path:
        return self.path / TENSORBOARD_DIR

    def scratch(self, name: str) -> Path:
        """A folder for training state (backups) that is removed on commit."""
        return self.path / "scratch" / name

    def commit(self) -> Path:
        """Marks the run complete and moves it into the store in one rename (in place of the run it replaces)."""
        info = self.read_info()
        missing = _missing_files(self.path, info, REQUIRED_FILES)
        if missing:
            raise RunError(f"run '{self.run_id}' is incomplete: missing {', '.join(missing)}")
        if "finished_at" not in info:
            raise RunError(f"run '{self.run_id}' is incomplete: it was never finished (RunWriter.finish)")
        return self._moved_into_place(STATUS_COMPLETE)

    def reopen(self) -> None:
        """Moves this committed run back into the partial folder, marked training: a second `fit` goes on with it."""
        if self.path.exists():
            raise FileExistsError(f"A run named '{self.run_id}' is being written in '{self.path.parent}'")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self.final_path, self.path)
        self.write_info({**self.read_info(), "status": STATUS_TRAINING})

    def fail(self, reason: str, epoch: int | None) -> Path:
        """Records that training failed (why, and in which 0-based epoch) and moves the run into the store.

        The store then lists it among the runs it cannot read, with `failure_message`; its history
        stays for a look at where training went wrong. Returns the run folder: a run that was to replace
        another takes a free name instead, for the run it would have replaced stays.
        """
        if self.replace and self.final_path.exists():  # nothing a user made is lost to a failed retry
            self.final_path, self.replace = self.store / free_name(self.store, self.run_id), False
        return self._moved_into_place(STATUS_FAILED, failure={"reason": reason, "epoch": epoch})

    def _moved_into_place(self, status: str, **fields) -> Path:
        # The status first, while the backups still allow a resume should the disk be full; a rename needs no space.
        self.write_info({**self.read_info(), "status": status, **fields})
        shutil.rmtree(self.path / "scratch", ignore_errors=True)
        (self.path / HEARTBEAT_FILE).unlink(missing_ok=True)  # the run is no longer being written
        replaced = self.store / PARTIAL_DIR / f"{self.run_id}.replaced"
        if self.replace and self.final_path.exists():
            shutil.rmtree(replaced, ignore_errors=True)
            os.replace(self.final_path, replaced)  # kept until the new run is in place
        try:
            os.replace(self.path, self.final_path)
        except BaseException:
            if replaced.exists() and not self.final_path.exists():  # nothing a user made is lost
                os.replace(replaced, self.final_path)
            raise
        shutil.rmtree(replaced, ignore_errors=True)
        self._remove_empty_partial_dir()
        return self.final_path

    def _remove_empty_partial_dir(self) -> None:
        with suppress(OSError):
            self.path.parent.rmdir()  # .partial/, once nothing else is in progress


# Probability arrays of more values than this (images x classes: ImageNet's 50,000 x 1,000 validation images)
# are stored as float16, halving what every page that reads them holds in memory, with each image's first
# STORED_TOP_K classes and their probabilities kept exact beside them (see `Predictions`).
COMPACT_ABOVE_VALUES = 10_000_000
STORED_TOP_K = 5  # top-5 accuracy, the ImageNet convention, and the top classes a page lists


def read_predictions(path: Path) -> Predictions:
    """A predictions file of a run (PREDICTIONS_FILE or VALIDATION_PREDICTIONS_FILE); RunError if unreadable."""
    arrays = _load_npz(Path(path), ("ids", "labels", "probabilities"), ("top_classes", "top_probabilities"), ())
    predictions = Predictions(arrays["ids"], arrays["labels"], arrays["probabilities"],
                              arrays.get("top_classes"), arrays.get("top_probabilities"))
    if predictions.stored_top_classes is not None:
        count, classes = predictions.probabilities.shape[0], predictions.probabilities.shape[-1]
        top_shape = predictions.stored_top_classes.shape
        if top_shape != predictions.stored_top_probabilities.shape or top_shape[:1] != (count,) \
                or not np.isin(predictions.stored_top_classes, range(classes)).all():
            raise RunError(f"{Path(path).name}'s top classes {top_shape} do not fit its probabilities "
                           f"{predictions.probabilities.shape}")
    return predictions


def write_predictions(run_path: Path, ids, labels, probabilities, *, file_name: str = PREDICTIONS_FILE,
                      compact: bool | None = None) -> None:
    """Writes a split's predictions into a run folder: the test split's by default, the validation split's with
    `file_name=VALIDATION_PREDICTIONS_FILE`.

    Args:
        compact: store float16 probabilities beside the exact top classes (see `Predictions`); by default, when
            they are more than COMPACT_ABOVE_VALUES values.
    """
    probabilities = np.asarray(probabilities, dtype=np.float32)
    arrays = {"ids": np.asarray(ids).astype(str), "labels": np.asarray(labels, dtype=np.int64)}
    if probabilities.size > COMPACT_ABOVE_VALUES if compact is None else compact:
        top = top_classes(probabilities, STORED_TOP_K)
        arrays.update(probabilities=probabilities.astype(np.float16), top_classes=top.astype(np.int32),
                      top_probabilities=np.take_along_axis(probabilities, top, axis=1))
    else:
        arrays["probabilities"] = probabilities
    with written_aside(Path(run_path) / file_name) as partial:
        np.savez_compressed(partial, **arrays)


def read_test_map(path: Path) -> TestMap:
    """A run's TEST_MAP_FILE; RunError if it is unreadable or its arrays do not fit together."""
    arrays = _load_npz(Path(path), ("ids", "coordinates", "method"))
    ids, coordinates = arrays["ids"], arrays["coordinates"]
    if coordinates.shape != (len(ids), 2) or not np.isfinite(coordinates).all():
        raise RunError(f"{Path(path).name} holds {coordinates.shape} coordinates (finite ones wanted) "
                       f"for {len(ids)} images")
    try:
        method = json.loads(str(arrays["method"]))
    except ValueError as error:
        raise RunError(f"{Path(path).name}: unreadable method: {error}") from None
    return TestMap(ids, coordinates, method)


def write_test_map(run_path: Path, ids, coordinates, method: dict) -> None:
    """Writes the test set's map into a run folder, whole or not at all: float16 coordinates (N, 2)."""
    coordinates = np.asarray(coordinates, dtype=np.float16)
    if coordinates.shape != (len(ids), 2):
        raise ValueError(f"Expected ({len(ids)}, 2) coordinates, got {coordinates.shape}")
    with written_aside(Path(run_path) / TEST_MAP_FILE) as partial:
        np.savez_compressed(partial, ids=np.asarray(ids).astype(str), coordinates=coordinates,
                            method=np.asarray(json.dumps(method, default=_json_default)))


def write_info(run_path: Path, info: dict) -> None:
    write_json(Path(run_path) / RUN_FILE, {**info, "schema_version": SCHEMA_VERSION})


def write_metrics(run_path: Path, metrics: dict) -> None:
    """Writes `metrics` (`trainers.analysis.metrics.classification_metrics`): its confusion matrix into
    CONFUSION_MATRIX_FILE, the rest into metrics.json."""
    matrix = np.asarray(metrics["confusion_matrix"], dtype=np.int64)
    with written_aside(Path(run_path) / CONFUSION_MATRIX_FILE) as partial:
        np.savez_compressed(partial, confusion_matrix=matrix)
    write_json(Path(run_path) / METRICS_FILE, {key: value for key, value in metrics.items()
                                                if key != "confusion_matrix"})
