"""Distillation: teacher runs set the targets of the training images."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from colour_images import make_image_folder
from fake_runs import write_fake_run
from trainers.store import run_store
from trainers.training.data import load_dataset
from trainers.training.distillation import training_targets
from trainers.presets import TrainConfig, get_preset
from trainers.train import main
from trainers.inference.predict import load_model


def test_targets_mix_the_teachers_mean_with_the_one_hot_label():
    rng = np.random.default_rng(0)
    teachers = [rng.dirichlet(np.ones(4), size=6).astype(np.float32) for _ in range(3)]
    labels = np.array([0, 1, 2, 3, 0, 1])
    mean = (teachers[0] + teachers[1] + teachers[2]) / 3
    np.testing.assert_allclose(training_targets(teachers, labels, 4, 1.0), mean, atol=1e-6)
    np.testing.assert_array_equal(training_targets(teachers, labels, 4, 0.0).argmax(axis=1), labels)
    mixed = training_targets(teachers, labels, 4, 0.25)
    np.testing.assert_allclose(mixed.sum(axis=1), 1, atol=1e-6)
    np.testing.assert_allclose(mixed[np.arange(6), labels], 0.25 * mean[np.arange(6), labels] + 0.75, atol=1e-6)


def test_a_distilled_run_trains_on_its_teachers_predictions_and_records_them(tiny_store, image_folder, tmp_path,
                                                                            monkeypatch):
    from trainers.training import fit
    from trainers.training.fit import teacher_targets, tf_dataset

    fed = []  # the targets each pipeline of the run was built with

    def recording_tf_dataset(*args, targets=None, **kwargs):
        fed.append(targets)
        return tf_dataset(*args, targets=targets, **kwargs)

    monkeypatch.setattr(fit, "tf_dataset", recording_tf_dataset)

    teachers = [str(tiny_store / "plain"), str(tiny_store / "fast")]
    args = ["cnn_v3", "--dataset", f"folder:{image_folder}", "--artifacts", str(tmp_path), "--cache-dir", str(tmp_path),
            "--verbose", "0", "--epochs", "1", "--batch-size", "8", "--image-size", "16", "--name", "student",
            "--teacher", teachers[0], "--teacher", teachers[1], "--teacher-weight", "0.5"]
    assert main(args) == 0
    run = run_store.load_run(tmp_path / "student")
    config = TrainConfig.from_dict(run.config)
    assert config.teachers == tuple(teachers) and config.teacher_weight == 0.5
    # The run says who taught it, well enough to retrain them, and what their passes cost.
    assert [(t["run_id"], t["preset"], t["command"], t["test_accuracy"]) for t in run.info["teachers"]] == [
        (teacher.run_id, teacher.preset, teacher.info["command"], teacher.metrics["accuracy"])
        for teacher in map(run_store.load_run, teachers)]
    assert TrainConfig.from_dict(run.info["teachers"][1]["config"]) == TrainConfig.from_dict(
        run_store.load_run(teachers[1]).config)
    assert run.info["teacher_seconds"] > 0
    # The study's table says what the loss was trained on.
    assert run.architecture["summary"]["loss"] == (
        "categorical_crossentropy (targets of 2 teachers at weight 0.5, smoothing 0.1)")

    # The targets: half the mean of what the teachers' saved models predict, half the label.
    dataset = load_dataset(f"folder:{image_folder}", image_size=16, validation_fraction=config.validation_fraction,
                           seed=config.seed, cache_dir=tmp_path)
    # Training was fed them; validation kept its plain labels.
    assert len(fed) == 2 and fed[1] is None
    targets = fed[0]
    predicted = [load_model(run_store.load_run(path)).predict(dataset.train.images.astype("float32"),
                                                                         verbose=0) for path in teachers]
    one_hot = np.eye(3)[dataset.train.labels]
    np.testing.assert_allclose(targets, 0.5 * (predicted[0] + predicted[1]) / 2 + 0.5 * one_hot, atol=1e-5)
    assert not np.allclose(targets, one_hot)
    # Shuffled batches keep each image with its own target.
    batches = list(tf_dataset(dataset.train, 3, 4, shuffle=True, seed=1, targets=targets))
    images = np.concatenate([x.numpy() for x, _ in batches]).astype(np.uint8)
    shuffled_targets = np.concatenate([y.numpy() for _, y in batches])
    order = [int(np.flatnonzero((dataset.train.images == image).all(axis=(1, 2, 3)))[0]) for image in images]
    assert order != sorted(order)
    np.testing.assert_array_equal(shuffled_targets, targets[order])
    assert teacher_targets([], dataset, 1.0) is None


def _two_class_folder(root):
    make_image_folder(root)
    for split in ("train", "test"):
        shutil.rmtree(root / split / "green")


@pytest.fixture
def teachers(image_folder, tmp_path) -> Path:
    """A store of one hand-made run, plain, that fits the colour folder at 16 px as a teacher: its classes and its
    test images."""
    data = load_dataset(f"folder:{image_folder}", image_size=16, cache_dir=tmp_path / "cache")
    write_fake_run(tmp_path / "teachers", "plain", labels=data.test.labels, ids=data.test.ids,
                   class_names=data.class_names, test_key=data.test_key,
                   info={"config": {"image_size": 16, "flip_tta": False, "shift_tta": 0}, "dataset": data.summary()})
    return tmp_path / "teachers"


@pytest.mark.parametrize("teacher, extra, make_folder, message", [
    ("nowhere", [], None, "teacher '{teacher}' is not a usable run: "),
    ("plain", ["--image-size", "24"], None, "takes 16-px images, not 24-px"),
    ("plain", ["--image-size", "16"], _two_class_folder, "knows the classes blue, green, red, not blue, red"),
    ("plain", ["--image-size", "16", "--limit", "2"], None, "was tested on other images"),
])
def test_teachers_that_do_not_fit_the_data_give_one_line_of_error(teacher, extra, make_folder, message, teachers,
                                                                  image_folder, tmp_path, capsys):
    folder = image_folder
    if make_folder:
        folder = tmp_path / "data"
        make_folder(folder)
    teacher = str(teachers / teacher)
    argv = ["cnn_v3", "--dataset", f"folder:{folder}", "--artifacts", str(tmp_path / "store"),
            "--cache-dir", str(tmp_path), "--teacher", teacher, *extra]
    assert main(argv) == 2
    error = capsys.readouterr().err.strip()
    assert message.format(teacher=teacher) in error and error.startswith("error:") and len(error.splitlines()) == 1
    assert not (tmp_path / "store").exists() or run_store.list_runs(tmp_path / "store") == ([], [])


def test_teacher_weight_needs_teachers_and_a_share():
    with pytest.raises(ValueError, match="it needs teachers"):
        get_preset("cnn_air").with_overrides(teacher_weight=0.5)
    with pytest.raises(ValueError, match=r"teacher_weight must be in \[0, 1\], got 1.5"):
        get_preset("cnn_air").with_overrides(teachers=("a",), teacher_weight=1.5)
    config = get_preset("cnn_air").with_overrides(teachers=("a", "b"), teacher_weight=0.5)
    assert TrainConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
