"""Record runs from your own training code, into the run store the dashboard reads.

From Keras, one line in `model.fit`::

    from trainers.record import RecordRun
    model.fit(x, y, epochs=10, callbacks=[RecordRun("kk-vgg16", test_data=(x_test, y_test),
                                                    class_names=names, author="KK")])

From any framework (PyTorch, JAX, scikit-learn...), from arrays::

    from trainers.record import record_run
    record_run("torch-resnet", labels=y_test, probabilities=p_test, class_names=names, images=x_test)

Its predictions on an evaluation set (new images: `trainers.store.evaluation_sets`), added to the run::

    record_run("torch-resnet", eval_set="folder:new_photos", probabilities=p_new, ids=new_ids)

A run recorded from arrays has no model: the pages that need one (Live predictions, the maps of where a
model looked) say so. This module imports no TensorFlow; `RecordRun` does, when it is first used.
"""

from __future__ import annotations

import difflib
import getpass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from trainers.analysis import recording
from trainers.inference import machine
from trainers.store import run_store
from trainers.store.evaluable import FOLDER_PREFIX  # a `dataset=` that joins a folder data set's test set

PRESET = "recorded"
FROM_ARRAYS = "it was recorded from predictions alone"


def __getattr__(name: str):
    if name == "RecordRun":  # deferred: the callback needs Keras, which a PyTorch user need not import
        from trainers.training.record_callback import RecordRun

        return RecordRun
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# Folder or tag parts that name the split a TensorBoard scalar was logged on (Keras: train/ and validation/
# folders; PyTorch's SummaryWriter: tags such as "Loss/train", "Accuracy/val").
_VALIDATION_PARTS = {"val", "valid", "validation", "eval"}
_TRAIN_PARTS = {"train", "training", ""}


def tensorboard_history(folder: str | Path) -> pd.DataFrame:
    """Per-epoch metrics from a TensorBoard log folder, read by tbparse (Keras' TensorBoard callback, PyTorch's
    SummaryWriter, tf.summary): one row per step, a column per metric, validation ones prefixed "val_";
    ValueError when it holds no scalars."""
    from tbparse import SummaryReader  # deferred: it imports TensorFlow

    reader = SummaryReader(str(folder), extra_columns={"dir_name"})
    # tf.summary (TF 2, Keras) writes scalars as tensors; PyTorch and TF 1 as scalars.
    frames = [frame for frame in (reader.scalars, reader.tensors) if len(frame)]
    if not frames:
        raise ValueError(f"the TensorBoard folder '{folder}' holds no scalars")
    events = pd.concat(frames, ignore_index=True)

    def column(tag: str, folder_name: str) -> str:
        parts = [part.lower() for part in (*str(folder_name).split("/"), *str(tag).split("/"))]
        validation = any(part in _VALIDATION_PARTS for part in parts)
        name = "_".join(part.removeprefix("epoch_") for part in parts
                        if part not in _VALIDATION_PARTS | _TRAIN_PARTS)
        name = recording.HISTORY_ALIASES.get(name, name)
        return f"val_{name}" if validation else name

    events["column"] = [column(tag, name) for tag, name in zip(events["tag"], events["dir_name"])]
    table = events.pivot_table(index="step", columns="column", values="value", aggfunc="last").sort_index()
    return table.reset_index(drop=True).rename_axis(columns=None)


def as_pixels(images, count: int) -> np.ndarray:
    """Test images as the store keeps them: (N, S, S, 3) uint8, from uint8 or 0-1 floats, channels last or first
    (PyTorch's NCHW); ValueError naming what does not fit."""
    images = np.asarray(images)
    if images.ndim == 4 and images.shape[1] == 3 and images.shape[3] != 3:
        images = images.transpose(0, 2, 3, 1)  # NCHW -> NHWC
    if images.ndim != 4 or images.shape[3] != 3 or images.shape[1] != images.shape[2] or len(images) != count:
        raise ValueError(f"the images have shape {images.shape}; expected {count} square RGB images "
                         f"({count}, S, S, 3) or ({count}, 3, S, S)")
    if images.dtype == np.uint8:
        return images
    if not np.issubdtype(images.dtype, np.number) or not np.isfinite(images).all():
        raise ValueError("the images hold values that are not finite numbers")
    low, high = float(images.min()), float(images.max())
    if low >= 0 and high <= 1:
        return np.round(images * 255).astype(np.uint8)
    if low >= 0 and high <= 255:
        return np.round(images).astype(np.uint8)
    raise ValueError(f"the images range from {low:.3g} to {high:.3g}: give raw pixels, 0-255 or 0-1 (undo any "
                     "normalisation by mean and standard deviation first)")


def _validation_split(validation, class_names: list[str]) -> recording.SplitPredictions | None:
    """`validation` as (labels, probabilities) or (ids, labels, probabilities), checked."""
    if validation is None:
        return None
    if not isinstance(validation, (tuple, list)) or len(validation) not in (2, 3):
        raise ValueError("validation= takes (labels, probabilities) or (ids, labels, probabilities)")
    ids, labels, probabilities = validation if len(validation) == 3 else (None, *validation)
    return recording.checked_split(labels, probabilities, class_names, ids, what="validation")


def record_run(name: str, *, labels=None, probabilities=None, class_names=None, predicted=None, ids=None,
               images=None, history=None, validation=None, config: dict | None = None, author: str | None = None,
               store: str | Path | None = None, dataset: str = "arrays", image_size: int | None = None,
               comment: str = "", overwrite: bool = False, cache_dir: str | Path | None = None,
               command: str | None = None, parameters: int | None = None, eval_set: str | None = None,
               eval_name: str | None = None, _loaded=None) -> Path:
    """Writes a run of the store from a model's test predictions, made by any framework; returns its folder. With
    `eval_set`, adds to the run `name` its predictions on an evaluation set instead.

    Args:
        name: the run's folder name; a name already taken is refused (naming a free one) unless `overwrite`.
        labels: the true class of each test image: indices (N,) or one-hot rows (N, C).
        probabilities: (N, C) probabilities, or logits (turned into probabilities by a softmax).
        class_names: the C classes, in the order of the columns.
        predicted: instead of `probabilities`, the predicted class of each image alone (names, or indices in
            `class_names`' order), as published results often are: the run joins every page that reads picks, and
            the pages that need probabilities (calibration, label review, ensembles) say it has none.
        ids: a stable id per test image (its file path, say); by default its position. Runs are compared only
            with runs of the same test set: the same `dataset` name, image size, ids and labels. With
            `dataset="folder:PATH"`, any form `stored_ids` reads (`cat/001.png`, a path inside the folder...), or
            none when the arrays are in the test set's order.
        images: the test images (uint8 or 0-1, NHWC or NCHW), shown in the galleries; stored once per test set.
        history: per-epoch metrics (a DataFrame, a dict of lists, a list of dicts, a CSV file, a TensorBoard log
            folder); the contract's
            columns (loss, accuracy, val_loss, val_accuracy, learning_rate, epoch_time) and any others.
        validation: (labels, probabilities) or (ids, labels, probabilities) of the validation images, which the
            Calibration page fits its temperature on.
        config: the run's own settings (JSON-ready), shown in run.json and TensorBoard's HParams.
        dataset: the test set's name; with `image_size`, what names it in the store. `"folder:PATH"` joins the test
            set of `trainers.train --dataset folder:PATH` at `image_size`, so the run ranks with those runs: the
            arrays are matched to its test images by id (or taken in its order: class folders by name, each one's
            files in sorted path order, as `load_dataset` lists them), the labels must be its labels, and its
            decoded test images are the ones stored.
        image_size: the side of the images the model took (default: the `images`' side).
        cache_dir: where a `folder:` data set's decoded images are cached (default: `default_cache_dir()`).
        command: what made the run, as run.json records it (default: the notebook, else this process's command).
        parameters: the model's parameter count (PyTorch: `sum(p.numel() for p in model.parameters())`), for Home's
            accuracy against parameters.
        eval_set: adds the predictions (`probabilities=` or `predicted=`, `ids=`) of the run `name`, recorded before,
            on an evaluation set, in place of any it had on it: "folder:PATH", a folder of new images read as
            `trainers.evaluate --eval-set` reads it (stored under `eval_name`, default the folder's name), or the name
            of a set stored for the run's test set. The arrays are matched to the set's images by `ids=` (`cat/a.png`,
            a file name of a flat folder, a path inside the folder, a file name found once), or taken in the set's
            order (folders by name, each one's files by path); every image needs one row. Columns are the run's
            classes in its order, or `class_names=`'s. The set's folders label its images: `labels=` and the options
            of a new run are refused.
        eval_name: the name of a set read from `eval_set="folder:PATH"`.

    Raises:
        ValueError: in one line, what does not fit. FileExistsError: the name is taken.
    """
    if (probabilities is None) == (predicted is None):
        raise ValueError("give probabilities= (or logits), or predicted= (the predicted labels alone), not both")
    if eval_set is not None:
        new_run = {"labels": labels, "images": images, "history": history, "validation": validation,
                   "config": config, "author": author, "dataset": dataset if dataset != "arrays" else None,
                   "image_size": image_size, "comment": comment or None, "overwrite": overwrite or None,
                   "cache_dir": cache_dir, "command": command, "parameters": parameters}
        given = [f"{option}=" for option, value in new_run.items() if value is not None]
        if given:
            raise ValueError(f"{', '.join(given)}: for recording a run; eval_set= adds to the run '{name}' its "
                             "predictions on a set, whose folders label its images")
        run = _existing_run(store, name)
        _record_on_set(run, eval_set, probabilities=probabilities, predicted=predicted, ids=ids,
                       class_names=class_names, eval_name=eval_name)
        return run.path
    if eval_name is not None:
        raise ValueError("eval_name= names the set of eval_set=")
    if labels is None or class_names is None:
        raise ValueError("give labels= (the true class of each test image) and class_names=")
    class_names = recording.checked_class_names(class_names)
    labels_only = predicted is not None
    if labels_only and validation is not None:
        raise ValueError("validation= fits a temperature to probabilities; a run of predicted labels has none")
    if labels_only:
        probabilities = recording.picks_as_probabilities(predicted, class_names)
    test = recording.checked_split(labels, probabilities, class_names, ids)
    validation_split = _validation_split(validation, class_names)
    pixels = as_pixels(images, len(test.labels)) if images is not None else None
    if parameters is not None and (isinstance(parameters, bool) or not isinstance(parameters, (int, np.integer))
                                   or parameters < 0):
        raise ValueError(f"parameters={parameters!r} is not a count of parameters (a whole number, 0 or more)")
    image_size = image_size or (pixels.shape[1] if pixels is not None else None)
    if not image_size or int(image_size) < 1:
        raise ValueError("give image_size= (the side of the images the model took), or the images")
    if pixels is not None and pixels.shape[1] != image_size:
        raise ValueError(f"the images are {pixels.shape[1]} px a side, not image_size={image_size}")
    spec = ""
    if _loaded is not None or dataset.startswith(FOLDER_PREFIX):  # `_loaded`: the data set import_predictions loaded
        data = _loaded or _loaded_dataset(dataset, int(image_size), cache_dir)
        test, class_names = _joined_test_set(data, test, class_names, given_ids=ids is not None)
        dataset, spec, pixels = data.name, data.spec, data.test.images
    if isinstance(history, (str, Path)) and Path(history).is_dir():
        history = tensorboard_history(history)
    table = recording.history_table(history)
    store = run_store.resolve_store(store)
    test_key = run_store.test_set_key(dataset, int(image_size), test.ids, test.labels)
    sizes = {"train": None, "validation": len(validation_split.labels) if validation_split else 0,
             "test": len(test.labels)}
    info = run_store.new_run_info(
        {**(config or {}), "image_size": int(image_size)},
        {"name": dataset, "spec": spec, "test_key": test_key, "class_names": class_names,
         "image_size": int(image_size), "sizes": sizes, "limit": None},
        kind=run_store.KIND_RECORDED, preset=PRESET, author=author or getpass.getuser(),
        command=command or machine.command_line(), comment=comment, hardware=machine.hardware(count_gpus=False),
        versions=machine.loaded_library_versions(), model_file=None, no_model=FROM_ARRAYS, labels_only=labels_only)
    with run_store.written_run(store, name, info, overwrite=overwrite) as writer:
        if pixels is not None:
            run_store.save_test_images(store, test_key, test.ids, test.labels, pixels)
        test_metrics = recording.write_results(writer.path, test, class_names, validation_split,
                                               labels_only=labels_only)
        table.to_csv(writer.history_path, index=False)
        writer.write_architecture(run_store.without_layers(
            epochs=len(table), **({"total_params": int(parameters)} if parameters is not None else {})))
        epoch_times = table["epoch_time"].dropna()
        writer.finish(epochs_run=len(table), training_seconds=float(epoch_times.sum()) if len(epoch_times) else None,
                      test_accuracy=test_metrics["accuracy"])
    return writer.final_path


class PredictionsFile(NamedTuple):
    """A predictions file as read: an id per row, and either scores (N, C) with the classes of their columns, or the
    predicted class alone (a name, or an index in the data set's class order)."""

    ids: np.ndarray
    scores: np.ndarray | None
    classes: list[str] | None
    predicted: np.ndarray | None


PREDICTED_COLUMN = "predicted"  # a file of predicted labels alone: id, predicted


def read_predictions_file(path: str | Path) -> PredictionsFile:
    """A predictions file's ids and scores, or predicted labels; ValueError in one line.

    CSV: an `id` column and one column per class (probabilities or logits), or a `predicted` column (class names,
    or indices in the data set's class order). NPZ: `ids`, with `probabilities` (or `logits`) and `class_names`,
    or `predicted`.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"'{path}' is not a file")
    if path.suffix.lower() == ".csv":
        try:
            table = pd.read_csv(path, dtype={"id": str, PREDICTED_COLUMN: str})
        except (OSError, ValueError, UnicodeDecodeError) as error:
            raise ValueError(f"'{path.name}' is not a readable CSV file: {str(error).splitlines()[0]}") from None
        if "id" not in table:
            raise ValueError(f"'{path.name}' has no 'id' column (its columns: {', '.join(map(str, table.columns[:8]))})")
        ids = table["id"].astype(str).to_numpy()
        if PREDICTED_COLUMN in table:
            if len(table.columns) > 2:
                raise ValueError(f"'{path.name}' has a '{PREDICTED_COLUMN}' column and others: give id and "
                                 f"{PREDICTED_COLUMN} alone, or id and a column per class")
            return PredictionsFile(ids, None, None, table[PREDICTED_COLUMN].to_numpy(dtype=object))
        classes = [str(name) for name in table.columns if name != "id"]
        scores = table[classes].apply(pd.to_numeric, errors="coerce")
        if scores.isna().to_numpy().any() and not table[classes].isna().to_numpy().any():
            raise ValueError(f"'{path.name}' holds values that are not numbers in its class columns")
        return PredictionsFile(ids, scores.to_numpy(np.float64), classes, None)
    if path.suffix.lower() == ".npz":
        try:
            with np.load(path, allow_pickle=False) as arrays:
                found = {key: arrays[key] for key in arrays.files}
        except (OSError, ValueError) as error:
            raise ValueError(f"'{path.name}' is not a readable .npz file: {str(error).splitlines()[0]}") from None
        if "ids" in found and PREDICTED_COLUMN in found:
            return PredictionsFile(found["ids"].astype(str), None, None, found[PREDICTED_COLUMN].astype(object))
        scores_key = next((key for key in ("probabilities", "logits") if key in found), None)
        missing = [key for key in ("ids", "class_names") if key not in found] + ([] if scores_key else ["probabilities"])
        if missing:
            raise ValueError(f"'{path.name}' lacks {', '.join(missing)} (it holds {', '.join(found) or 'nothing'})")
        return PredictionsFile(found["ids"].astype(str), found[scores_key],
                               [str(name) for name in found["class_names"]], None)
    raise ValueError(f"'{path.name}' is neither a .csv nor a .npz file")


ID_FORMS = "Ids may read test/<class>/<file>, <class>/<file>, a path inside the data set, or a file name found once."
SET_ID_FORMS = ("Ids may read <class>/<file> (<file> in a flat folder), a path inside the set's folder, or a file name "
                "found once.")


def stored_ids(ids, test_ids, *, dataset: str, image: str = "test image", forms: str = ID_FORMS) -> np.ndarray:
    """The stored test id each of a predictions file's ids names; ValueError in one line if one names none or many.

    An id names the test image whose stored id (`test/<class>/<file>`) it ends with, so a path inside the data set
    folder, relative or absolute, names it too; or the image whose stored id ends with it (`<class>/<file>`, or a
    bare `<file>` when one test image alone has that name). A path outside `test/` names nothing.

    Args:
        ids: the ids as the file holds them.
        test_ids: the data set's stored test ids (or an evaluation set's ids).
        dataset: the data set's spec (or "the set 'NAME'"), for the messages.
        image: what one of them is, for the messages; forms: the id forms that the messages list.

    Returns:
        The stored ids, one per id, in the file's order.

    Example:
        >>> stored_ids(["airplane/0000.jpg", "/data/cifar/test/cat/0001.jpg", "0002.jpg"],
        ...            ["test/airplane/0000.jpg", "test/cat/0001.jpg", "test/cat/0002.jpg"],
        ...            dataset="folder:/data/cifar").tolist()
        ['test/airplane/0000.jpg', 'test/cat/0001.jpg', 'test/cat/0002.jpg']
    """
    def parts(path: str) -> tuple[str, ...]:  # Windows separators and ./ segments name the same file
        return tuple(part for part in str(path).replace("\\", "/").split("/") if part not in ("", "."))

    test_ids = [str(test_id) for test_id in test_ids]  # plain str, so messages never show np.str_(...)
    whole = {parts(test_id): test_id for test_id in test_ids}
    depth = max(map(len, whole), default=0)
    ending_with: dict[tuple[str, ...], list[str]] = {}  # a proper tail of a stored id -> the stored ids ending so
    for key, test_id in whole.items():
        for start in range(1, len(key)):
            ending_with.setdefault(key[start:], []).append(test_id)

    found, unknown, ambiguous, choices = [], [], [], {}
    for given in map(str, ids):
        key = parts(given)
        named = next((whole[key[-size:]] for size in range(min(len(key), depth), 0, -1) if key[-size:] in whole),
                     None)
        candidates = [named] if named else ending_with.get(key, [])
        if len(candidates) > 1:
            ambiguous.append(given)
            choices[given] = candidates
        elif not candidates:
            unknown.append(given)
        found.append(candidates[0] if len(candidates) == 1 else "")
    if unknown:
        first = sorted(unknown)[0]
        nearest = difflib.get_close_matches("/".join(parts(first)[-depth:]), test_ids, n=1, cutoff=0)
        near = f"; the nearest {image}: '{nearest[0]}'" if nearest else ""
        raise ValueError(f"{len(unknown)} ids are not {image}s of {dataset} (the first: '{first}'{near}). {forms}")
    if ambiguous:
        first = sorted(ambiguous)[0]
        raise ValueError(f"{len(ambiguous)} ids name more than one {image} of {dataset} (the first: '{first}', "
                         f"which is any of {', '.join(repr(name) for name in sorted(choices[first]))}). {forms}")
    return np.array(found, dtype=str)


def _loaded_dataset(spec: str, image_size: int, cache_dir: str | Path | None):
    from trainers.training.data import load_dataset

    return load_dataset(spec, image_size=image_size, cache_dir=Path(cache_dir) if cache_dir else None)


def _data_set_columns(classes: list[str], data_classes: list[str], what: str) -> list[int]:
    """Where each of the data set's classes is among `classes`; ValueError unless they are the same classes."""
    if sorted(classes) != sorted(data_classes):
        raise ValueError(f"{what} ({', '.join(classes[:12])}) are not the data set's "
                         f"({', '.join(data_classes[:12])})")
    return [classes.index(name) for name in data_classes]


def _matched_rows(ids, count: int, stored, *, of: str, what: str, image: str = "test image", forms: str = ID_FORMS,
                  order: str = "its test order") -> np.ndarray:
    """The rows of `count` arrays given with `ids` (any form `stored_ids` reads; None: in the stored order) that put
    them in the order of the `stored` ids of the images of `of`; ValueError in one line when a stored image has no
    row, or a row none or one named twice."""
    stored = np.asarray(stored).astype(str)
    if ids is None:
        if count != len(stored):
            raise ValueError(f"{count} predictions for the {len(stored)} {image}s of {of}: give ids=, or the arrays "
                             f"in {order}")
        return np.arange(count)
    if len(ids) != count:
        raise ValueError(f"{len(ids)} ids for {count} rows of predictions")
    ids = stored_ids(ids, stored, dataset=of, image=image, forms=forms)
    missing = sorted(set(stored.tolist()) - set(ids.tolist()))  # plain str, so messages never show np.str_(...)
    if missing:
        raise ValueError(f"{len(missing)} {image}s have no row (the first: "
                         f"{', '.join(repr(name) for name in missing[:3])})")
    if len(set(ids.tolist())) != len(ids):
        raise ValueError(f"{what} names an id twice or more ('{pd.Series(ids)[pd.Series(ids).duplicated()].iloc[0]}')")
    return pd.Series(np.arange(len(ids)), index=ids)[stored].to_numpy()


def _joined_test_set(data, test: recording.SplitPredictions, class_names: list[str], *,
                     given_ids: bool) -> tuple[recording.SplitPredictions, list[str]]:
    """`test` as predictions of the data set's test set: its ids, order and class order; ValueError in one line
    when the arrays do not fit it or a label is not the data set's."""
    test_ids = data.test.ids.astype(str)
    rows = _matched_rows(test.ids if given_ids else None, len(test.labels), test_ids, of=data.spec, what="ids=")
    columns = _data_set_columns(class_names, data.class_names, "class_names=")
    labels = np.array([data.class_names.index(class_names[label]) for label in test.labels[rows]], dtype=np.int64)
    wrong = np.flatnonzero(labels != data.test.labels)
    if len(wrong):
        first = wrong[0]
        raise ValueError(f"{len(wrong)} labels are not the data set's (the first: '{test_ids[first]}' is labelled "
                         f"{data.class_names[labels[first]]}, but {data.spec} has it as "
                         f"{data.class_names[data.test.labels[first]]})")
    joined = recording.SplitPredictions(test_ids, data.test.labels, test.probabilities[rows][:, columns])
    return joined, list(data.class_names)


def import_predictions(path: str | Path, dataset_spec: str, name: str, *, store=None, history=None,
                       image_size: int = 32, author: str | None = None, cache_dir: Path | None = None,
                       overwrite: bool = False, command: str | None = None) -> Path:
    """A run from predictions saved elsewhere, matched to a data set's test images by id; returns its folder.

    The file's ids name the data set's test images in any form `stored_ids` reads (`test/cat/001.png`, `cat/001.png`,
    a path inside the data set, a file name found once); every test image needs one row, and no row may name an
    image the test set does not have. A file of predicted labels alone (`read_predictions_file`) makes a run without
    probabilities (`record_run(predicted=...)`). `command`: what run.json records it was made by. The run is on the same test set
    as the runs trained on that data set at that image size, so it is compared with them.
    """
    found = read_predictions_file(path)
    data = _loaded_dataset(dataset_spec, image_size, cache_dir)
    rows = _matched_rows(found.ids, len(found.ids), data.test.ids, of=data.spec, what="the file")
    test_ids = data.test.ids.astype(str)
    if found.predicted is not None:
        scores = {"predicted": found.predicted[rows]}
    else:
        columns = _data_set_columns(found.classes, data.class_names, "the file's classes")
        scores = {"probabilities": recording.as_probabilities(found.scores[rows][:, columns],
                                                              f"predictions of '{Path(path).name}'")}
    return record_run(name, labels=data.test.labels, **scores, class_names=data.class_names,
                      ids=test_ids, history=history, author=author, store=store,
                      dataset=data.name, image_size=image_size,
                      overwrite=overwrite, comment=f"predictions imported from {Path(path).name}",
                      config={"imported_from": str(Path(path).resolve())}, command=command, _loaded=data)


def import_predictions_on_set(path: str | Path, eval_set: str, name: str, *, store=None,
                              eval_name: str | None = None) -> str:
    """Adds to the run `name` its predictions on an evaluation set from a predictions file (`read_predictions_file`),
    as `record_run(name, eval_set=...)` adds arrays: `eval_set` is "folder:PATH" (named `eval_name`, default the
    folder's name) or a stored set's name; the file's ids name the set's images. Returns what the run got right on the
    set, in one line; ValueError in one line when the file does not fit the run or the set."""
    found = read_predictions_file(path)
    run = _existing_run(store, name)
    scores = ({"predicted": found.predicted} if found.predicted is not None
              else {"probabilities": found.scores, "class_names": found.classes})
    return _record_on_set(run, eval_set, ids=found.ids, eval_name=eval_name, file=Path(path).name, **scores)


def _existing_run(store, name: str) -> run_store.Run:
    """The run `name` of the store, to add predictions on a set to; ValueError in one line when it is not there."""
    store = run_store.resolve_store(store)
    try:
        path = store / run_store.folder_name(name, "the run name")
    except run_store.RunError as error:
        raise ValueError(str(error)) from None
    if not path.is_dir():
        raise ValueError(f"no run named '{name}' in '{store}': record the run first (record_run(name, labels=..., "
                         "probabilities=..., class_names=...), or --import-predictions with --dataset), then its "
                         "predictions on a set")
    try:
        return run_store.load_run(path)
    except run_store.RunError as error:
        raise ValueError(f"the run '{name}' in '{store}' cannot be read: {error}") from None


def _record_on_set(run: run_store.Run, eval_set: str, *, probabilities=None, predicted=None, ids=None,
                   class_names=None, eval_name: str | None = None, file: str | None = None) -> str:
    """Writes a run's predictions on the set `eval_set` (`stored_evaluation_set`: read from its folder, or stored),
    made elsewhere; returns what it got right on it, in one line (`evaluation_summary`). `file`: the predictions
    file they were read from, for the messages."""
    from trainers.store import evaluation_sets
    from trainers.training.data import stored_evaluation_set

    classes = run.class_names if class_names is None else recording.checked_class_names(class_names)
    columns = _data_set_columns(classes, run.class_names, f"the classes of '{file}'" if file else "class_names=")
    if predicted is not None:
        if not run.info.get(run_store.LABELS_ONLY):  # one-hot picks on the set would be read as its probabilities
            raise ValueError(f"{run.label} has probabilities on its test set: give its probabilities on the set too")
        scores = recording.picks_as_probabilities(predicted, classes)
    else:
        what = f"predictions of '{file}'" if file else "probabilities"
        scores = recording.as_probabilities(probabilities, what)
        if scores.shape[1] != len(classes):
            raise ValueError(f"the {what} have {scores.shape[1]} columns, but {run.label} has {len(classes)} classes "
                             f"({', '.join(classes[:12])})")
    evaluation_set, read_again = stored_evaluation_set(run, eval_set, eval_name)
    rows = _matched_rows(ids, len(scores), evaluation_set.ids, of=f"the set '{evaluation_set.name}'",
                         what=f"'{file}'" if file else "ids=", image="image", forms=SET_ID_FORMS,
                         order="its order (its folders by name, each one's files by path)")
    evaluation_sets.write_evaluation(run.path, evaluation_set, scores[rows][:, columns], evaluated_at=run_store.now())
    predictions, _ = evaluation_sets.read_evaluation(run.path, evaluation_set.name)
    return evaluation_sets.evaluation_summary(evaluation_set, predictions, run.class_names, read_again=read_again)
