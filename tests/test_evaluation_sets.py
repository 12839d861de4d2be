"""Evaluation sets: a folder of new images beside a run's test set, read once for the runs of that test set, each
run's predictions on it stored and read back, its folders matched to the runs' classes."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from fake_runs import CLASSES, write_fake_run, write_one_class_model
from trainers.evaluate import evaluate_on_set, main as evaluate_main
from trainers.store import evaluation_sets, run_store
from trainers.store.evaluation_sets import NONE_OF_THESE, UNLABELLED


def write_images(folder, names):
    """A 12 px grey PNG at each of `names` (paths inside `folder`)."""
    for position, name in enumerate(names):
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (12, 12), (position * 20, 90, 90)).save(folder / name)
    return folder


@pytest.fixture
def two_runs(tmp_path):
    """Two runs of one test set whose models pick a single class each: "cats" always cat, "dogs" always dog."""
    store = tmp_path / "store"
    runs = {}
    for run_id, pick in (("cats", 0), ("dogs", 1)):
        run = write_fake_run(store, run_id)
        write_one_class_model(run, pick)
        runs[run_id] = run_store.load_run(run.path)
    return store, runs


def test_a_labelled_folder_is_matched_to_the_classes_and_a_folder_of_no_class_kept_as_none_of_these(two_runs, tmp_path):
    store, runs = two_runs
    folder = write_images(tmp_path / "photos", ["cat/a.png", "cat/b.png", "dog/c.png", "zebra/d.png"])
    said = evaluate_on_set(runs["cats"].path, f"folder:{folder}")
    assert said == ("photos: accuracy 0.6667 on the 3 images of its classes (cat, dog); 1 of none of them "
                    "(folders: zebra)")
    stored = evaluation_sets.load_set(store, runs["cats"].test_key, "photos")
    assert stored.labelled and stored.folders == ["cat", "dog", "zebra"]
    assert stored.ids.tolist() == ["cat/a.png", "cat/b.png", "dog/c.png", "zebra/d.png"]
    assert stored.labels.tolist() == [0, 0, 1, NONE_OF_THESE] and stored.images.shape == (4, 8, 8, 3)
    predictions, record = evaluation_sets.read_evaluation(runs["cats"].path, "photos")
    assert predictions.ids.tolist() == stored.ids.tolist() and predictions.predicted.tolist() == [0, 0, 0, 0]
    assert record["fingerprint"] == stored.fingerprint
    assert evaluation_sets.set_accuracy(predictions) == pytest.approx(2 / 3)
    # The second run reads the stored images; its own predictions.
    assert evaluate_on_set(runs["dogs"].path, f"folder:{folder}").startswith("photos: accuracy 0.3333 on the 3 ")
    assert evaluation_sets.evaluation_names(runs["dogs"].path) == ["photos"]
    assert evaluation_sets.set_names(store, runs["cats"].test_key) == ["photos"]


def test_a_flat_folder_is_an_unlabelled_set_and_a_changed_folder_is_read_again(two_runs, tmp_path):
    store, runs = two_runs
    folder = write_images(tmp_path / "street", ["1.png", "2.png"])
    assert evaluate_on_set(runs["cats"].path, f"folder:{folder}", "street") == "street: 2 unlabelled images predicted"
    first = evaluation_sets.load_set(store, runs["cats"].test_key, "street")
    assert not first.labelled and first.labels.tolist() == [UNLABELLED, UNLABELLED]
    write_images(folder, ["1.png", "2.png", "3.png"])
    said = evaluate_on_set(runs["cats"].path, f"folder:{folder}", "street")
    assert said == "street: 3 unlabelled images predicted (its folder changed since it was last read: read again)"
    assert len(evaluation_sets.load_set(store, runs["cats"].test_key, "street").ids) == 3


@pytest.mark.parametrize("names, message", [
    (["loose.png", "cat/a.png"], "holds images and folders of images: put the loose images in a folder"),
    ([], "holds no images"),
])
def test_a_folder_that_is_no_set_is_refused_in_one_line(two_runs, tmp_path, capsys, names, message):
    store, runs = two_runs
    folder = write_images(tmp_path / "odd", names)
    folder.mkdir(exist_ok=True)
    assert evaluate_main([str(runs["cats"].path), "--eval-set", f"folder:{folder}"]) == 2
    error = capsys.readouterr().err
    assert message in error and error.count("\n") == 1
    assert evaluation_sets.set_names(store, runs["cats"].test_key) == []


def test_a_run_without_a_model_is_refused_with_its_reason(tmp_path, capsys):
    run = write_fake_run(tmp_path / "store", "recorded", info={"model_file": None, "no_model": "recorded from arrays"})
    folder = write_images(tmp_path / "photos", ["cat/a.png"])
    assert evaluate_main([str(run.path), "--eval-set", f"folder:{folder}"]) == 2
    assert "recorded has no model: recorded from arrays" in capsys.readouterr().err
