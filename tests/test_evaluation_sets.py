"""Evaluation sets: a folder of new images beside a run's test set, read once for the runs of that test set, each
run's predictions on it stored and read back, its folders matched to the runs' classes; predicted by a run's model,
or made elsewhere and recorded (`record_run(eval_set=)`, `--import-predictions FILE --eval-set`)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from fake_runs import CLASSES, write_fake_run, write_one_class_model
from test_onnx_import import onnx_classifier
from trainers.evaluate import evaluate_on_set, main as evaluate_main
from trainers.record import SET_ID_FORMS, record_run
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


# The photos folder of the tests below: its images in the set's order (folders by name, files by path), labelled
# cat, cat, dog and none of the runs' classes (cat, dog, owl).
PHOTOS = ["cat/a.png", "cat/b.png", "dog/c.png", "zebra/d.png"]
# A recorded run's probabilities on them, in that order: right on a.png and c.png, wrong on b.png (dog for a cat).
ON_PHOTOS = np.array([[0.7, 0.2, 0.1], [0.2, 0.7, 0.1], [0.1, 0.8, 0.1], [0.1, 0.1, 0.8]])
SAID_ON_PHOTOS = ("photos: accuracy 0.6667 on the 3 images of its classes (cat, dog); 1 of none of them "
                  "(folders: zebra)")


def recorded_run(store, name="torch-net", **info):
    """A run recorded from arrays (no model) on the test set of `write_fake_run`."""
    return write_fake_run(store, name, info={"model_file": None, "no_model": "recorded from arrays", **info})


@pytest.fixture
def recorded(tmp_path):
    """The store of a recorded run, and the photos folder."""
    store = tmp_path / "store"
    return store, recorded_run(store), write_images(tmp_path / "photos", PHOTOS)


def test_record_run_adds_predictions_on_a_folder_matched_by_ids_in_any_form_and_column_order(recorded):
    store, run, folder = recorded
    order = [2, 3, 0, 1]
    ids = ["c.png", str(folder / "zebra/d.png"), "cat/a.png", "photos/cat/b.png"]  # a file name found once, paths
    path = record_run("torch-net", eval_set=f"folder:{folder}", probabilities=ON_PHOTOS[order][:, ::-1],
                      class_names=CLASSES[::-1], ids=ids, store=store)
    assert path == run.path
    stored = evaluation_sets.load_set(store, run.test_key, "photos")
    assert stored.ids.tolist() == PHOTOS and stored.labels.tolist() == [0, 0, 1, NONE_OF_THESE]
    predictions, record = evaluation_sets.read_evaluation(run.path, "photos")
    assert predictions.ids.tolist() == PHOTOS and predictions.labels.tolist() == [0, 0, 1, NONE_OF_THESE]
    np.testing.assert_allclose(predictions.probabilities, ON_PHOTOS, rtol=1e-6)
    assert record["fingerprint"] == stored.fingerprint
    assert evaluation_sets.set_accuracy(predictions) == pytest.approx(2 / 3)


def test_record_run_on_a_stored_set_by_name_takes_the_arrays_in_its_order_and_replaces_what_a_run_had(recorded):
    store, run, folder = recorded
    record_run("torch-net", eval_set=f"folder:{folder}", probabilities=ON_PHOTOS, store=store)
    other = recorded_run(store, "jax-net")
    # Its name alone, the arrays in the set's order: every image a dog.
    record_run("jax-net", eval_set="photos", probabilities=np.eye(3)[[1, 1, 1, 1]], store=store)
    assert evaluation_sets.read_evaluation(other.path, "photos")[0].predicted.tolist() == [1, 1, 1, 1]
    # Recorded again: the new predictions in place of the old ones.
    record_run("torch-net", eval_set="photos", probabilities=np.eye(3)[[0, 0, 1, 2]], store=store)
    predictions, _ = evaluation_sets.read_evaluation(run.path, "photos")
    assert predictions.predicted.tolist() == [0, 0, 1, 2] and evaluation_sets.set_accuracy(predictions) == 1.0
    assert evaluation_sets.evaluation_names(run.path) == ["photos"]
    assert evaluation_sets.set_names(store, run.test_key) == ["photos"]


def test_a_run_of_predicted_labels_records_its_picks_on_an_unlabelled_folder(tmp_path):
    store = tmp_path / "store"
    run = recorded_run(store, "picks", labels_only=True)
    folder = write_images(tmp_path / "street", ["1.png", "2.png"])
    record_run("picks", eval_set=f"folder:{folder}", eval_name="street-2026", predicted=["owl", 0], ids=["2.png", "1.png"],
               store=store)
    predictions, _ = evaluation_sets.read_evaluation(run.path, "street-2026")
    assert predictions.ids.tolist() == ["1.png", "2.png"] and predictions.labels.tolist() == [UNLABELLED] * 2
    assert predictions.probabilities.tolist() == [[1, 0, 0], [0, 0, 1]]
    assert evaluation_sets.set_accuracy(predictions) is None


def refusals(folder):
    """Each record_run(eval_set=) that does not fit, and the start of the one line that refuses it."""
    photos = f"folder:{folder}"
    return {
        "no such run": ({"name": "nobody", "eval_set": photos}, "no run named 'nobody' in "),
        "unknown set": ({"eval_set": "nowhere"}, "'nowhere' is neither folder:PATH nor a set stored for the test set "
                                                 "pets-8px-0000 (it has none yet)"),
        "missing ids": ({"ids": PHOTOS[:3], "probabilities": ON_PHOTOS[:3]},
                        "1 images have no row (the first: 'zebra/d.png')"),
        "extra ids": ({"ids": [*PHOTOS, "cat/z.png"], "probabilities": np.vstack([ON_PHOTOS, ON_PHOTOS[:1]])},
                      "1 ids are not images of the set 'photos' (the first: 'cat/z.png'; the nearest image: "),
        "too few rows": ({"probabilities": ON_PHOTOS[:3]}, "3 predictions for the 4 images of the set 'photos': give "
                                                           "ids=, or the arrays in its order"),
        "columns": ({"probabilities": ON_PHOTOS[:, :2] / ON_PHOTOS[:, :2].sum(axis=1, keepdims=True)},
                    "the probabilities have 2 columns, but torch / torch-net has 3 classes (cat, dog, owl)"),
        "labels": ({"labels": [0, 0, 1, 1]}, "labels=: for recording a run; eval_set= adds to the run 'torch-net' its "
                                             "predictions on a set, whose folders label its images"),
        "picks of a run with probabilities": ({"probabilities": None, "predicted": [0, 0, 1, 2]},
                                              "torch / torch-net has probabilities on its test set"),
    }


@pytest.mark.parametrize("case", list(refusals("photos")))
def test_record_run_on_a_set_refuses_what_does_not_fit_in_one_line_and_writes_no_predictions(recorded, case):
    store, run, folder = recorded
    change, message = refusals(folder)[case]
    given = {"name": "torch-net", "eval_set": f"folder:{folder}", "probabilities": ON_PHOTOS, "store": store, **change}
    with pytest.raises(ValueError) as refused:
        record_run(given.pop("name"), **given)
    assert str(refused.value).startswith(message) and "\n" not in str(refused.value)
    assert evaluation_sets.evaluation_names(run.path) == []
    if case == "extra ids":
        assert str(refused.value).endswith(SET_ID_FORMS)


def test_import_predictions_on_a_set_prints_what_the_run_got_right_or_refuses_in_one_line(recorded, capsys):
    store, run, folder = recorded
    table = pd.DataFrame(ON_PHOTOS, columns=CLASSES).assign(id=PHOTOS)[["id", "owl", "cat", "dog"]]
    table.iloc[::-1].to_csv(folder.parent / "preds.csv", index=False)
    command = ["--import-predictions", str(folder.parent / "preds.csv"), "--eval-set", f"folder:{folder}",
               "--name", "torch-net", "--artifacts", str(store)]
    assert evaluate_main(command) == 0
    assert capsys.readouterr().out == f"{run.path}: {SAID_ON_PHOTOS}\n"
    predictions, _ = evaluation_sets.read_evaluation(run.path, "photos")
    assert predictions.labels.tolist() == [0, 0, 1, NONE_OF_THESE]
    np.testing.assert_allclose(predictions.probabilities, ON_PHOTOS, rtol=1e-6)
    # By its stored name, a file short of a row is refused in one line; the predictions stay.
    table.iloc[1:].to_csv(folder.parent / "preds.csv", index=False)
    assert evaluate_main(command[:3] + ["photos"] + command[4:]) == 2
    error = capsys.readouterr().err
    assert error == f"error: {folder.parent / 'preds.csv'}: 1 images have no row (the first: 'cat/a.png')\n"
    np.testing.assert_allclose(evaluation_sets.read_evaluation(run.path, "photos")[0].probabilities, ON_PHOTOS,
                               rtol=1e-6)
    with pytest.raises(SystemExit):
        evaluate_main(command + ["--dataset", f"folder:{folder}"])
    assert "takes no RUN_DIR and no --dataset" in capsys.readouterr().err


def onnx_run(store, name="onnx"):
    """A run of an ONNX model whose scores are the channel means of raw pixels (red: cat, green: dog, blue: owl)."""
    config = {"image_size": 8, "flip_tta": False, "shift_tta": 0, "kind": run_store.KIND_IMPORTED,
              "input_scale": "0-255", "layout": "NCHW", "mean": [0, 0, 0], "std": [1, 1, 1], "logits": True}
    run = write_fake_run(store, name, info={"model_file": run_store.ONNX_MODEL_FILE, "config": config})
    onnx_classifier(run.model_path, ["N", 3, 8, 8])
    return run


def test_eval_set_on_an_onnx_run_starts_no_tensorflow(tmp_path, monkeypatch, capsys):
    from trainers.inference import machine

    started = []
    monkeypatch.setattr(machine, "start_tensorflow_quietly", lambda: started.append(True))
    run = onnx_run(tmp_path / "store")
    # Red 0 to 60 under green and blue 90: green (dog) wins ties with blue by its lower index.
    folder = write_images(tmp_path / "photos", PHOTOS)
    assert evaluate_main([str(run.path), "--eval-set", f"folder:{folder}"]) == 0
    assert capsys.readouterr().out == (f"{run.path}: photos: accuracy 0.3333 on the 3 images of its classes (cat, dog); "
                                       "1 of none of them (folders: zebra)\n")
    assert started == []
    # With a Keras run among the runs, TensorFlow is started (its model is not loaded: the set is unknown).
    keras_run = write_fake_run(tmp_path / "store", "keras")
    assert evaluate_main([str(run.path), str(keras_run.path), "--eval-set", "nowhere"]) == 2
    assert started == [True]


@pytest.mark.slow  # a fresh interpreter
def test_predictions_on_a_set_of_an_onnx_run_or_recorded_ones_leave_tensorflow_unimported(tmp_path):
    from test_without_tensorflow import run_fresh

    store = tmp_path / "store"
    onnx_run(store)
    recorded_run(store)
    folder = write_images(tmp_path / "photos", PHOTOS)
    pd.DataFrame(ON_PHOTOS, columns=CLASSES).assign(id=PHOTOS).to_csv(tmp_path / "preds.csv", index=False)
    found = run_fresh(f"""
        from trainers.evaluate import main
        result["onnx"] = main([{str(store / "onnx")!r}, "--eval-set", {f"folder:{folder}"!r}])
        result["recorded"] = main(["--import-predictions", {str(tmp_path / "preds.csv")!r}, "--eval-set", "photos",
                                   "--name", "torch-net", "--artifacts", {str(store)!r}])
    """)
    assert found == {"onnx": 0, "recorded": 0, "imported": []}


def test_a_failed_recording_leaves_the_predictions_a_run_had_and_no_partial_file(recorded, monkeypatch):
    store, run, folder = recorded
    record_run("torch-net", eval_set=f"folder:{folder}", probabilities=ON_PHOTOS, store=store)

    def full_disk(path, values):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(run_store, "write_json", full_disk)  # the record, written after the new predictions
    with pytest.raises(OSError, match="No space left on device"):
        record_run("torch-net", eval_set="photos", probabilities=np.eye(3)[[1, 1, 1, 1]], store=store)
    np.testing.assert_allclose(evaluation_sets.read_evaluation(run.path, "photos")[0].probabilities, ON_PHOTOS,
                               rtol=1e-6)
    assert not any(run.path.rglob("partial-*"))


@pytest.mark.parametrize("name", [".hidden", "a\\b", "../up", ""])
def test_a_set_name_is_one_visible_folder_name(tmp_path, name):
    with pytest.raises(run_store.RunError, match="is not a folder name inside the store"):
        evaluation_sets.set_folder(tmp_path, "pets-8px-0000", name)
