"""The pages suggest a command only for a run it works for, named so that it finds that run, and otherwise say in
one line why there is none: on a store of every kind of run that can be made without training."""

from __future__ import annotations

import json
import shlex

import numpy as np
import pytest

from fake_runs import CLASSES, write_fake_run, write_one_class_model
from trainers.record import FROM_ARRAYS, record_run
from trainers.store import evaluable, run_store

IDS = [f"test/{index:03d}.png" for index in range(6)]
LABELS = [0, 1, 2, 0, 1, 2]
VALIDATION = (["train/0", "train/1", "train/2"], [0, 1, 2], np.eye(3) * 0.7 + 0.1)


def _with(store, run_id, *, kind, spec="", model_file=run_store.MODEL_FILE, no_model="", validation=False,
          **dataset):
    run = write_fake_run(store, run_id, labels=LABELS, ids=IDS, test_key=TEST_KEY, info={
        "config": {"image_size": 8, "flip_tta": False, "shift_tta": 0, "kind": kind}, "model_file": model_file,
        "no_model": no_model,
        "dataset": {"name": "pets", "spec": spec, "test_key": TEST_KEY, "class_names": CLASSES, "image_size": 8,
                    "sizes": {"train": 27, "validation": 3, "test": 6}, **dataset}})
    if validation:
        run_store.write_predictions(run.path, *VALIDATION, file_name=run_store.VALIDATION_PREDICTIONS_FILE)
    return run_store.load_run(run.path)


def _describe(run, model) -> None:
    """architecture.json as the trainer and the import write it, from the real model."""
    from trainers.inference.architecture import describe

    (run.path / run_store.ARCHITECTURE_FILE).write_text(json.dumps(describe(model, None, epochs_run=None)))


TEST_KEY = run_store.test_set_key("pets", 8, IDS, LABELS)


@pytest.fixture(scope="module")
def every_kind(tmp_path_factory):
    """A store of: a trained run with a real Keras model ending in Dense; a Keras model imported (a Sequential
    ending in Dense, wrapped as `--import` wraps it) with validation predictions from the tool's split; an ONNX
    import; a trained run whose data set folder is gone; a hand-made run naming no data set; a saved ensemble
    without a model; a run recorded from arrays."""
    import keras

    from trainers.training.model_import import shippable

    store = tmp_path_factory.mktemp("kinds")
    images = np.zeros((6, 8, 8, 3), np.uint8)
    pets = tmp_path_factory.mktemp("pets")
    runs = {}
    runs["trained"] = _with(store, "trained", kind=run_store.KIND_TRAINED, spec=f"folder:{pets}")
    write_one_class_model(runs["trained"], 0)
    _describe(runs["trained"], keras.models.load_model(runs["trained"].model_path))

    runs["imported"] = _with(store, "imported", kind=run_store.KIND_IMPORTED, spec="cifar10", validation=True)
    sequential = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Flatten(), keras.layers.Dense(3)])
    wrapped = shippable(sequential, "0-1", np.arange(3), logits=True)
    wrapped.save(runs["imported"].model_path)
    _describe(runs["imported"], wrapped)

    runs["onnx"] = _with(store, "onnx", kind=run_store.KIND_IMPORTED, spec="cifar10",
                         model_file=run_store.ONNX_MODEL_FILE)
    runs["gone"] = _with(store, "gone", kind=run_store.KIND_TRAINED, spec=f"folder:{store / 'nowhere'}")
    runs["nospec"] = _with(store, "nospec", kind=run_store.KIND_TRAINED)
    for run_id in ("gone", "nospec"):  # mapped from the stored test images: no data set needed
        write_one_class_model(runs[run_id], 1)
    runs["ensemble"] = _with(store, "ensemble", kind=run_store.KIND_ENSEMBLE, spec="cifar10", model_file=None,
                             no_model="its member onnx has no Keras model to average")
    record_run("recorded", labels=LABELS, probabilities=np.eye(3)[LABELS], class_names=CLASSES, ids=IDS,
               images=images, store=store, dataset="pets", author="ada")
    runs["recorded"] = run_store.load_run(store / "recorded")
    assert runs["recorded"].test_key == TEST_KEY
    return store, runs


REFUSALS = {
    "onnx": None,  # ONNX Runtime runs it again
    "gone": "its data set folder",
    "nospec": "names no data set to reload",
    "ensemble": "its member onnx has no Keras model to average",
    "recorded": "it was recorded from predictions alone: no model to predict validation images with",
}


def test_only_runs_with_a_model_and_a_data_set_to_reload_can_be_evaluated_again(every_kind):
    _, runs = every_kind
    assert evaluable.evaluation_refusal(runs["trained"]) is None
    assert evaluable.evaluation_refusal(runs["imported"]) is None
    for run_id, refusal in REFUSALS.items():
        found = evaluable.evaluation_refusal(runs[run_id])
        assert (found is None) if refusal is None else (refusal in found), (run_id, found)


def test_only_a_run_imported_warns_that_its_validation_split_may_overlap_its_training(every_kind):
    _, runs = every_kind
    assert "may overlap the images its model was trained on" in evaluable.split_overlap_warning(runs["imported"])
    assert evaluable.split_overlap_warning(runs["trained"]) is None  # none stored: nothing fitted
    assert evaluable.split_overlap_warning(runs["recorded"]) is None


def _resolved(command: str, flag: str = "") -> list:
    """The runs the command names, found as `trainers.evaluate` finds them."""
    words = shlex.split(command)
    assert words[:3] == ["python", "-m", "trainers.evaluate"] and (not flag or words[-1] == flag)
    return [run_store.run_path(word).resolve() for word in words[3:len(words) - bool(flag)]]


def test_calibration_suggests_evaluate_only_where_it_works(open_app, every_kind):
    store, runs = every_kind
    app = open_app(store, "views/calibration.py")
    notices = {notice.value.split(" stores no validation predictions")[0]: notice.value for notice in app.info}
    trained = notices.pop(runs["trained"].label)
    command = trained.split("`")[1]
    assert _resolved(command) == [runs["trained"].path.resolve()]
    assert runs["imported"].label not in notices  # it has validation predictions: its temperature is fitted
    for run_id, refusal in REFUSALS.items():
        notice = notices.pop(runs[run_id].label)
        if refusal is None:
            assert _resolved(notice.split("`")[1]) == [runs[run_id].path.resolve()]
        else:
            assert "python -m" not in notice and "no command adds them: " in notice and refusal in notice
    assert not notices

    app.selectbox(key="calibration_run").set_value(runs["imported"].label).run()
    assert not app.exception
    assert any("fitted on 3 validation images of" in caption.value for caption in app.caption)
    (warning,) = app.warning
    assert warning.value == evaluable.split_overlap_warning(runs["imported"])


def test_test_set_map_suggests_the_map_only_for_a_network_with_a_dense_layer_on_top(open_app, every_kind, capsys):
    from trainers.evaluate import main as evaluate_main

    store, runs = every_kind
    app = open_app(store, "views/projection.py")
    shown = next(caption.value for caption in app.main.caption if caption.value.startswith("Not mapped: "))
    assert f"{runs['imported'].label} has no test-set map: its model has no single network with a dense layer" in shown
    assert f"{runs['onnx'].label} has no test-set map: ONNX Runtime" in shown
    assert f"{runs['recorded'].label} has no test-set map: {FROM_ARRAYS}" in shown
    assert f"{runs['ensemble'].label} has no test-set map: its member onnx" in shown
    assert "artifacts/" not in shown
    (code,) = app.main.code
    mappable = ("trained", "gone", "nospec")
    assert sorted(_resolved(code.value, "--test-map")) == sorted(runs[run_id].path.resolve() for run_id in mappable)

    # The run refused really has no map; the suggested command makes the one it promises.
    assert evaluate_main([str(runs["imported"].path), "--test-map"]) == 2
    assert "no single network with a dense layer on top" in capsys.readouterr().err
    assert evaluate_main(shlex.split(code.value)[3:]) == 0
    for run_id in mappable:
        assert run_store.load_run(runs[run_id].path).test_map is not None
        (runs[run_id].path / run_store.TEST_MAP_FILE).unlink()  # other tests see the store as it was


def test_class_groups_of_other_classes_name_the_command_that_stores_them_again(open_app, every_kind, tmp_path):
    from trainers.evaluate import main as evaluate_main

    store, runs = every_kind
    run_store.save_class_groups(store, TEST_KEY, {"lion": "big", "tiger": "big", "ant": "small"})
    try:
        app = open_app(store, "views/confusion_matrices.py")
        (warning,) = [element.value for element in app.warning if "class groups" in element.value]
        words = shlex.split(warning.split("`")[1])
        assert words[-2:] == ["--class-groups", "GROUPS.csv"]
        (tmp_path / "GROUPS.csv").write_text("class,group\ncat,pet\ndog,pet\nowl,bird\n")
        assert evaluate_main([*words[3:-1], str(tmp_path / "GROUPS.csv")]) == 0
        assert run_store.load_class_groups(store, TEST_KEY) == {"cat": "pet", "dog": "pet", "owl": "bird"}
    finally:
        run_store.class_groups_path(store, TEST_KEY).unlink()  # other tests see the store as it was


def test_a_suggested_command_names_each_run_by_its_folder_and_an_unsaved_ensemble_as_run(every_kind):
    """The commands the pages write for any run (--labels, --class-groups): run from the working folder, they find
    that run; an ensemble of the sidebar, which has no folder, is named RUN."""
    from trainers.analysis.ensemble import Ensemble

    _, runs = every_kind
    for run in runs.values():
        assert _resolved(evaluable.evaluate_command(run, "--labels"), "--labels") == [run.path.resolve()]
    unsaved = Ensemble([runs["trained"], runs["recorded"]])
    assert evaluable.evaluate_command(unsaved, "--labels", "my file.csv") == (
        "python -m trainers.evaluate RUN --labels 'my file.csv'")
