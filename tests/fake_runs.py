"""Hand-made runs written through the run store, with exactly the numbers a test expects."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from trainers.analysis import metrics
from trainers.store import run_store

CLASSES = ["cat", "dog", "owl"]
CAT, DOG, OWL = range(len(CLASSES))


def answer_probabilities(answers) -> np.ndarray:
    """Rows whose top class is each answer, with the given confidence and the rest shared by the other classes."""
    rows = np.array([[(1 - confidence) / 2] * 3 for _, confidence in answers])
    for row, (answer, confidence) in zip(rows, answers):
        row[answer] = confidence
    return rows


def write_fake_run(store: Path, run_id: str, *, probabilities=None, labels=None, ids=None, metrics: dict | None = None,
                   summary: dict | None = None, history: dict | None = None, info: dict | None = None,
                   test_key: str = "pets-8px-0000", class_names=CLASSES) -> run_store.Run:
    """A complete run folder of known values (the model file is empty: `write_one_class_model` makes it one that
    loads)."""
    labels = np.array([0, 1, 2] if labels is None else labels)
    probabilities = np.eye(len(class_names))[labels] if probabilities is None else np.asarray(probabilities)
    writer = run_store.RunWriter(store, run_id)
    info = {
        "preset": run_id.split("-")[0], "author": "ada", "comment": f"{run_id} comment",
        "config": {"image_size": 8, "flip_tta": False, "shift_tta": 0},
        "dataset": {"name": test_key.split("-")[0], "test_key": test_key, "class_names": list(class_names),
                    "image_size": 8},
        "epochs_run": 2, "training_seconds": 10.0, "images_per_second": 100.0, "model_file": run_store.MODEL_FILE,
        **(info or {}),
    }
    # A trained run unless the config given says otherwise.
    writer.create({**info, "config": {"kind": run_store.KIND_TRAINED, **info["config"]}})
    run_store.write_metrics(writer.path, {
        "accuracy": 1.0, "log_loss": 0.1, "macro_precision": 1.0, "macro_recall": 1.0, "macro_f1": 1.0,
        "num_images": len(labels),
        "per_class": [{"class": name, "precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 1}
                      for name in class_names],
        "confusion_matrix": np.eye(len(class_names), dtype=int).tolist(),
        **(metrics or {}),
    })
    writer.write_architecture({
        "layers": [
            {"name": "pixels", "type": "InputLayer", "output_shape": "(None, 8, 8, 3)", "params": 0, "trainable": True},
            {"name": "logits", "type": "Dense", "output_shape": f"(None, {len(class_names)})", "params": 579,
             "trainable": True},
        ],
        "summary": {"total_layers": 2, "conv_layers": 0, "dense_layers": 1, "total_params": 579,
                    "trainable_params": 579, "augmentation": False, "batch_norm": False, "dropout": 0.0,
                    "optimizer": "adam", "loss": "categorical_crossentropy", "epochs": 2, **(summary or {})},
    })
    ids = [f"test/{i:03d}.png" for i in range(len(labels))] if ids is None else ids
    run_store.write_predictions(writer.path, ids, labels, probabilities)
    pd.DataFrame(history or {
        "epoch": [0, 1], "accuracy": [0.5, 0.9], "epoch_time": [5.0, 5.0], "learning_rate": [1e-3, 1e-3],
        "loss": [1.0, 0.3], "val_accuracy": [0.4, 0.7], "val_loss": [1.1, 0.5],
    }).to_csv(writer.history_path, index=False)
    if info["model_file"]:
        (writer.path / info["model_file"]).touch()
    # One finishing time for every constructed run, unless given: the store lists runs by it, then by name, and a
    # clock's second would order runs made in a row by chance.
    writer.finish(epochs_run=info["epochs_run"], training_seconds=info["training_seconds"],
                  test_accuracy=(metrics or {}).get("accuracy", 1.0),
                  finished_at=info.get("finished_at", "2026-01-01T00:00:00+00:00"))
    return run_store.load_run(writer.commit())


def write_scored_run(store: Path, run_id: str, labels, probabilities, **kwargs) -> run_store.Run:
    """A run whose stored metrics (accuracy, per-class scores, confusion matrix) are the ones the trainers compute
    from its predictions, as a trained run's are."""
    class_names = list(kwargs.get("class_names", CLASSES))
    scores = metrics.classification_metrics(np.asarray(labels), np.asarray(probabilities), class_names)
    return write_fake_run(store, run_id, labels=labels, probabilities=probabilities, metrics=scores, **kwargs)


def write_outcome_run(store: Path, run_id: str, labels, wrong, **kwargs) -> run_store.Run:
    """A run right on every image but those at the positions `wrong`, where it picks the next class (at 0.8, the
    other classes sharing the rest); its metrics say the same accuracy."""
    labels = np.asarray(labels)
    classes = len(kwargs.get("class_names", CLASSES))
    picks = labels.copy()
    picks[list(wrong)] = (labels[list(wrong)] + 1) % classes
    probabilities = np.full((len(labels), classes), 0.2 / (classes - 1))
    probabilities[np.arange(len(labels)), picks] = 0.8
    return write_fake_run(store, run_id, labels=labels, probabilities=probabilities,
                          metrics={"accuracy": float((picks == labels).mean()), "num_images": len(labels),
                                   **kwargs.pop("metrics", {})}, **kwargs)


# Forty images of three classes, and the images each of three runs gets wrong: "close" cannot be told from "best"
# by McNemar's test, "weak" can. In store order "weak" comes first, so a page that started on the first run shows it.
OUTCOME_LABELS = np.arange(40) % 3
OUTCOME_WRONG = {"weak": range(20, 40), "best": range(0, 4), "close": range(4, 9)}


def write_outcome_store(store: Path) -> Path:
    """The three runs of OUTCOME_WRONG, finished in that order, and their test images (8 px of noise)."""
    for second, (run_id, wrong) in enumerate(OUTCOME_WRONG.items()):
        run = write_outcome_run(store, run_id, OUTCOME_LABELS, wrong,
                                info={"finished_at": f"2026-01-01T00:00:0{second}+00:00"})
    run_store.save_test_images(store, run.test_key, run.predictions.ids, run.predictions.labels,
                               np.random.default_rng(0).integers(0, 256, (len(OUTCOME_LABELS), 8, 8, 3), np.uint8))
    return store


def write_one_class_model(run: run_store.Run, class_index: int) -> None:
    """Replaces the run's empty model file with a real Keras model that picks `class_index` for every image (at
    e**5 / (e**5 + 2) = 0.987 with three classes): a convolution for Grad-CAM to map, pooled, then logits of zero
    weights and a bias for that class."""
    import keras

    inputs = keras.Input((run.image_size, run.image_size, 3))
    pooled = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(2, 3, padding="same")(inputs))
    bias = 5 * np.eye(len(run.class_names), dtype="float32")[class_index]
    logits = keras.layers.Dense(len(run.class_names), kernel_initializer="zeros",
                                bias_initializer=keras.initializers.Constant(bias), name="logits")(pooled)
    keras.Model(inputs, keras.layers.Activation("softmax")(logits)).save(run.model_path)


def write_constant_model(run: run_store.Run, probabilities) -> None:
    """Replaces the run's empty model file with a real Keras model that answers `probabilities` for every image:
    logits of zero weights and their logarithms as the bias, so that its softmax gives them back."""
    import keras

    inputs = keras.Input((run.image_size, run.image_size, 3))
    logits = keras.layers.Dense(len(run.class_names), kernel_initializer="zeros",
                                bias_initializer=keras.initializers.Constant(np.log(probabilities)),
                                name="logits")(keras.layers.GlobalAveragePooling2D()(inputs))
    keras.Model(inputs, keras.layers.Activation("softmax")(logits)).save(run.model_path)


# The files of a run that `varied_copy` writes anew; the others are shared with the run copied.
VARIED_FILES = (run_store.RUN_FILE, run_store.PREDICTIONS_FILE, run_store.METRICS_FILE, run_store.CONFUSION_MATRIX_FILE,
                run_store.HISTORY_FILE)


def link_or_copy(source: str, target: str) -> None:
    """A file of a copied run: a hard link where the file system allows, else a copy (`shutil.copytree`'s
    copy_function)."""
    try:
        os.link(source, target)
    except OSError:  # another file system, or one without hard links
        shutil.copy2(source, target)


def varied_copy(source: Path, target: Path, rng: np.random.Generator, test_key: str | None = None) -> None:
    """A copy of a run with its own predictions (mixed with noise), metrics and history, on `test_key` if given.

    The files it does not vary (the model, the test map, ...) are hard links where the file system allows,
    so that a store of hundreds of copies of a trained run costs little disk and no training.
    """
    run = run_store.load_run(source)
    shutil.copytree(source, target, copy_function=link_or_copy,
                    ignore=lambda folder, names: [name for name in names
                                                  if Path(folder) == Path(source) and name in VARIED_FILES])
    predictions = run.predictions
    noise = rng.dirichlet(np.ones(predictions.probabilities.shape[1]), size=len(predictions.labels))
    weight = rng.uniform(0.1, 0.6)
    probabilities = (1 - weight) * predictions.probabilities + weight * noise
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    run_store.write_predictions(target, predictions.ids, predictions.labels, probabilities)
    run_store.write_metrics(target, metrics.classification_metrics(predictions.labels, probabilities, run.class_names))
    history = run.history.copy()
    for column in ("accuracy", "val_accuracy"):
        history[column] = np.clip(history[column] * rng.uniform(0.8, 1.0), 0, 1)
    history.to_csv(target / run_store.HISTORY_FILE, index=False)
    dataset = {**run.dataset, "test_key": test_key or run.test_key}
    run_store.write_info(target, {**run.info, "dataset": dataset, "comment": f"copy of {Path(source).name}"})


def new_run(store: Path, run_id: str, config, data, preset: str = "cnn_v3"):
    """A RunWriter whose run.json is created for `config` on `data`, as `trainers.train` creates it."""
    writer = run_store.RunWriter(store, run_id)
    writer.create(run_store.new_run_info(config.to_dict(), {**data.summary(), "limit": None},
                                         kind=run_store.KIND_TRAINED, preset=preset, author="tester", command=""))
    return writer


# Two evaluation sets of the outcome store's runs. "photos": nine images of its classes and three of none of them
# (PHOTO_LABELS), on which each run picks PHOTO_ANSWERS (confident, 0.8, on images of a class; unsure, 0.4, on the
# others); "unsorted": five images without labels.
PHOTO_LABELS = [0, 1, 2, 0, 1, 2, 0, 1, 2, -1, -1, -1]
PHOTO_PICKS = {"weak": [0, 2, 0, 1, 1, 0, 2, 0, 2, 0, 1, 2],  # right on 0, 4, 8: 3 of 9
               "best": [1, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2],  # wrong on 0 only: 8 of 9
               "close": [1, 1, 2, 0, 0, 2, 0, 1, 2, 0, 1, 2]}  # wrong on 0 and 4: 7 of 9
UNSORTED_PICKS = {"weak": [0, 2, 2, 2, 0], "best": [0, 1, 2, 0, 1], "close": [0, 1, 2, 1, 1]}


def write_evaluation_set(store: Path, test_key: str, name: str, labels, picks: dict[str, list[int]],
                         confidence=None) -> None:
    """An evaluation set of 8 px noise images stored for `test_key`, and each run's picks on it as predictions
    (`confidence`: per image, the probability of the pick; 0.8 by default)."""
    from trainers.store import evaluation_sets

    labels = np.asarray(labels)
    labelled = bool((labels >= -1).all())
    names = [CLASSES[label] if label >= 0 else "zebra" for label in labels] if labelled else [""] * len(labels)
    ids = [f"{folder}/{number:02d}.png" if folder else f"{number:02d}.png" for number, folder in enumerate(names)]
    evaluation_set = evaluation_sets.EvaluationSet(
        name, f"folder:/photos/{name}", labelled, sorted(set(names) - {""}), f"fingerprint-{name}", np.array(ids),
        labels, np.random.default_rng(1).integers(0, 256, (len(labels), 8, 8, 3), np.uint8))
    evaluation_sets.save_set(store, test_key, evaluation_set)
    confidence = [0.8] * len(labels) if confidence is None else confidence
    for run_id, answers in picks.items():
        evaluation_sets.write_evaluation(store / run_id, evaluation_set,
                                         answer_probabilities(list(zip(answers, confidence))),
                                         evaluated_at="2026-01-02T00:00:00+00:00")


def write_store_with_sets(store: Path) -> Path:
    """The outcome store, with its runs evaluated on "photos" and "unsorted"."""
    write_outcome_store(store)
    test_key = run_store.load_run(store / "best").test_key
    write_evaluation_set(store, test_key, "photos", PHOTO_LABELS, PHOTO_PICKS, [0.8] * 9 + [0.4] * 3)
    write_evaluation_set(store, test_key, "unsorted", [-2] * 5, UNSORTED_PICKS)
    return store


def fake_cost(processor: str | None = None, **fields):
    """A `trainers.store.costs.Cost` of round numbers, measured on `processor` (default: this machine's), with
    `fields` replacing any of them."""
    from trainers.inference.machine import processor_name
    from trainers.store import costs

    machine = costs.Machine(processor=processor or processor_name(), device="CPU", threads=2, precision="float32",
                            runtime="TensorFlow", runtime_version="2.21.0")
    return costs.Cost(**{"latency_median_ms": 2.0, "latency_p90_ms": 3.0, "latency_calls": 100,
                         "images_per_second": 1000.0, "batch_size": 64, "file_bytes": 4000, "parameters": 1000,
                         "macs": 50_000, "macs_not_counted": [], "measured_at": "2026-01-03T00:00:00+00:00",
                         "machine": machine, **fields})


def write_corruption_results(run: run_store.Run, accuracy_by_unit: dict[tuple[str, int], float]) -> None:
    """Units of the run on its whole test set (the subset of a set under 1,000 images), one per (corruption,
    severity) given: right on the first round(accuracy x N) images, the next class (at 0.8) on the others."""
    from trainers.analysis.robustness import subset_digest
    from trainers.store import corruption_results

    ids, labels = run.predictions.ids, run.predictions.labels
    classes = len(run.class_names)
    for (corruption, severity), accuracy in accuracy_by_unit.items():
        picks = labels.copy()
        wrong = slice(round(accuracy * len(labels)), None)
        picks[wrong] = (labels[wrong] + 1) % classes
        probabilities = np.full((len(labels), classes), 0.2 / (classes - 1))
        probabilities[np.arange(len(labels)), picks] = 0.8
        corruption_results.write_unit(run.path, corruption, severity, run_store.Predictions(ids, labels, probabilities), {
            "parameters": 0, "profile": "cifar", "images": len(ids), "subset": subset_digest(ids), "pixels": "0" * 16,
            "libraries": {}, "evaluated_at": "2026-01-03T00:00:00+00:00", "evaluated_by": "test:1"})


def every_unit(accuracy: float, **by_corruption: float) -> dict[tuple[str, int], float]:
    """Each of the 75 corruption units at `accuracy`, those of the corruptions named at theirs."""
    from trainers.store.corruption_results import CORRUPTIONS, SEVERITIES

    return {(name, severity): by_corruption.get(name, accuracy) for name in CORRUPTIONS for severity in SEVERITIES}


# Ten images; each run's clean mistakes (their positions) and its accuracy per corruption unit. "base" is the least
# accurate clean, the Robustness page's first baseline; "partial" has two units, "bare" none.
CORRUPTION_LABELS = np.arange(10) % 3
CORRUPTION_RUNS = {
    "sharp": ([], every_unit(0.5)),
    "steady": ([0, 1], every_unit(0.7, gaussian_noise=0.4)),
    "base": ([0, 1, 2, 3], every_unit(0.2)),
    "partial": ([], {("gaussian_noise", 1): 0.9, ("gaussian_noise", 2): 0.9}),
    "bare": ([], {}),
}


def write_corruption_store(store: Path) -> Path:
    """The runs of CORRUPTION_RUNS, finished in that order, their corruption units, and their test images (8 px of
    noise)."""
    for second, (run_id, (wrong, units)) in enumerate(CORRUPTION_RUNS.items()):
        run = write_outcome_run(store, run_id, CORRUPTION_LABELS, wrong,
                                info={"finished_at": f"2026-01-01T00:00:0{second}+00:00"})
        write_corruption_results(run, units)
    run_store.save_test_images(store, run.test_key, run.predictions.ids, CORRUPTION_LABELS,
                               np.random.default_rng(0).integers(0, 256, (len(CORRUPTION_LABELS), 8, 8, 3), np.uint8))
    return store
