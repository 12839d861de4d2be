"""The run store's schema: older runs are read upgraded and can be rewritten; newer ones are refused by name."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from fake_runs import write_fake_run
from trainers.store import run_store
from trainers.inference.predict import load_model

V1_METRICS = {"accuracy": 0.5, "loss": 0.7, "precision": 0.4, "recall": 0.45, "f1": 0.42, "num_images": 3,
              "per_class": [{"class": "cat", "precision": 1.0, "recall": 0.5, "f1": 2 / 3, "support": 2}],
              "confusion_matrix": [[1]]}


def test_version_1_metrics_get_names_that_say_what_they_are():
    assert run_store.upgrade(run_store.METRICS_FILE, V1_METRICS, version=1) == {  # the matrix moves out (schema 5)
        "accuracy": 0.5, "log_loss": 0.7, "macro_precision": 0.4, "macro_recall": 0.45, "macro_f1": 0.42,
        "num_images": 3, "per_class": V1_METRICS["per_class"]}
    assert run_store.upgrade(run_store.METRICS_FILE, V1_METRICS, version=run_store.SCHEMA_VERSION) == V1_METRICS


@pytest.mark.parametrize("architecture, interpolation", [("airbench_cnn", "nearest"), ("fast_cnn", "bilinear")])
def test_version_1_configs_without_shift_interpolation_get_the_shifts_their_builder_used(architecture, interpolation):
    info = {"config": {"architecture": architecture}, "schema_version": 1}
    assert run_store.upgrade(run_store.RUN_FILE, info, 1)["config"]["shift_interpolation"] == interpolation
    recorded = {"config": {"architecture": architecture, "shift_interpolation": "nearest", "kind": "trained"},
                "model_file": "model.keras"}
    assert run_store.upgrade(run_store.RUN_FILE, recorded, 1) == recorded


@pytest.mark.parametrize("preset, kind", [("cnn_v4", "trained"), ("imported", "imported"), ("ensemble", "ensemble"),
                                          (None, "trained")])
def test_version_2_configs_get_the_kind_of_run_their_preset_named(preset, kind):
    info = {"preset": preset, "config": {"image_size": 32}} if preset else {"config": {"image_size": 32}}
    assert run_store.upgrade(run_store.RUN_FILE, info, 2) == {**info, "config": {"image_size": 32, "kind": kind},
                                                              "model_file": "model.keras"}
    recorded = {"preset": "imported", "config": {"image_size": 32, "kind": "trained"}, "model_file": "model.keras"}
    assert run_store.upgrade(run_store.RUN_FILE, recorded, 2) == recorded  # a recorded kind is kept


def test_version_3_runs_had_a_keras_model_and_a_recorded_model_file_is_kept():
    assert run_store.upgrade(run_store.RUN_FILE, {"config": {"kind": "trained"}}, 3) == {
        "config": {"kind": "trained"}, "model_file": "model.keras"}
    without = {"config": {"kind": "recorded"}, "model_file": None, "no_model": "arrays"}
    assert run_store.upgrade(run_store.RUN_FILE, without, 3) == without


def test_a_run_without_a_model_needs_none_and_says_why(tmp_path):
    path = write_fake_run(tmp_path, "arrays").path
    info = json.loads((path / run_store.RUN_FILE).read_text())
    (path / run_store.MODEL_FILE).unlink()
    assert dict(run_store.list_runs(tmp_path)[1])["arrays"] == "missing model.keras"
    run_store.write_info(path, run_store.without_model(info, "it was recorded from predictions alone"))
    run = run_store.load_run(path)
    assert run.model_path is None
    assert run.no_model == "arrays has no model: it was recorded from predictions alone"
    run_store.write_info(path, {**info, "model_file": "model.pt"})
    assert dict(run_store.list_runs(tmp_path)[1])["arrays"] == (
        "run.json's model file 'model.pt' is not one of model.keras, model.onnx")


def test_a_taken_name_is_refused_with_a_free_one_or_replaced_on_commit_when_asked(tmp_path):
    write_fake_run(tmp_path, "mine")
    (tmp_path / run_store.PARTIAL_DIR / "mine-2").mkdir(parents=True)  # being written: taken too
    with pytest.raises(FileExistsError, match="name this one 'mine-3', or pass overwrite=True"):
        run_store.claimed_writer(tmp_path, "mine")
    writer = run_store.claimed_writer(tmp_path, "mine", overwrite=True)
    old = run_store.load_run(tmp_path / "mine").info
    writer.create({**old, "status": run_store.STATUS_TRAINING, "comment": "second"})
    for name in run_store.run_files(old)[1:]:
        (writer.path / name).write_bytes((tmp_path / "mine" / name).read_bytes())
    assert run_store.load_run(tmp_path / "mine").info["comment"] == old["comment"]  # kept until the commit
    writer.commit()
    assert run_store.load_run(tmp_path / "mine").info["comment"] == "second"
    assert sorted(p.name for p in (tmp_path / run_store.PARTIAL_DIR).iterdir()) == ["mine-2"]


def test_a_run_of_an_unknown_kind_is_listed_with_the_reason(tmp_path):
    path = write_fake_run(tmp_path, "odd").path
    info = json.loads((path / run_store.RUN_FILE).read_text())
    (path / run_store.RUN_FILE).write_text(json.dumps({**info, "config": {**info["config"], "kind": "dreamed"}}))
    assert dict(run_store.list_runs(tmp_path)[1])["odd"] == (
        "run.json's config has kind 'dreamed', not one of trained, imported, ensemble, recorded")
    with pytest.raises(ValueError, match="Unknown kind of run 'dreamed'. Known kinds: trained, imported, ensemble, "
                                         "recorded"):
        run_store.new_run_info({}, {}, kind="dreamed", preset="x", author="", command="")


def test_a_new_run_records_its_kind_in_its_config_and_is_training():
    info = run_store.new_run_info({"image_size": 8}, {}, kind=run_store.KIND_IMPORTED, preset="imported", author="",
                                  command="")
    assert info["config"] == {"image_size": 8, "flip_tta": False, "shift_tta": 0, "kind": "imported"}
    assert info["status"] == run_store.STATUS_TRAINING == "training"
    with_tta = run_store.new_run_info({"image_size": 8, "flip_tta": True, "shift_tta": 1}, {}, kind="trained",
                                      preset="cnn_air", author="", command="")
    assert (with_tta["config"]["flip_tta"], with_tta["config"]["shift_tta"]) == (True, 1)


def test_a_run_written_at_once_is_committed_finished_or_leaves_nothing(tmp_path):
    """`written_run`: the name checked, the run finished and committed at the end of the block; an exception
    inside it leaves no trace. A run never finished is not committed."""
    model = write_fake_run(tmp_path / "model", "model")
    info = {key: value for key, value in model.info.items()
            if key not in run_store.finished_fields(epochs_run=0, training_seconds=0, test_accuracy=0)}

    def copy_parts(writer):
        for name in run_store.run_files(info)[1:]:
            (writer.path / name).write_bytes((model.path / name).read_bytes())

    with pytest.raises(RuntimeError, match="half-way"):
        with run_store.written_run(tmp_path, "mine", info) as writer:
            copy_parts(writer)
            raise RuntimeError("half-way")
    assert not (tmp_path / "mine").exists() and not (tmp_path / run_store.PARTIAL_DIR).exists()
    with pytest.raises(run_store.RunError, match="it was never finished"):
        with run_store.written_run(tmp_path, "mine", info) as writer:
            copy_parts(writer)
    with run_store.written_run(tmp_path, "mine", info) as writer:
        copy_parts(writer)
        writer.finish(epochs_run=3, training_seconds=1.5, test_accuracy=0.75, best_epoch=2)
    run = run_store.load_run(writer.final_path)
    assert (run.info["epochs_run"], run.info["training_seconds"], run.info["test_accuracy"],
            run.info["best_epoch"], run.info["status"]) == (3, 1.5, 0.75, 2, run_store.STATUS_COMPLETE)
    with pytest.raises(FileExistsError, match="name this one 'mine-2'$"):
        with run_store.written_run(tmp_path, "mine", info, start_over=None):
            pass


def _as_version_1(run):
    info = json.loads((run.path / run_store.RUN_FILE).read_text())
    (run.path / run_store.RUN_FILE).write_text(json.dumps({**info, "schema_version": 1}))
    (run.path / run_store.METRICS_FILE).write_text(json.dumps(V1_METRICS))


def test_a_version_1_run_reads_upgraded_and_upgrade_run_rewrites_it_once(tmp_path):
    _as_version_1(write_fake_run(tmp_path, "old"))
    run = run_store.load_run(tmp_path / "old")
    assert run.written_version == 1
    assert run.metrics["macro_f1"] == 0.42 and "f1" not in run.metrics

    assert run_store.upgrade_run(tmp_path / "old") is True
    assert json.loads((tmp_path / "old" / run_store.RUN_FILE).read_text())["schema_version"] == run_store.SCHEMA_VERSION
    assert json.loads((tmp_path / "old" / run_store.METRICS_FILE).read_text())["log_loss"] == 0.7
    assert run_store.load_run(tmp_path / "old").written_version == run_store.SCHEMA_VERSION
    assert run_store.upgrade_run(tmp_path / "old") is False


def test_a_version_2_run_reads_upgraded_and_upgrade_run_moves_its_confusion_matrix_out_of_metrics_json(tmp_path):
    run = write_fake_run(tmp_path, "old", labels=[0, 0, 1], probabilities=[[0.9, 0.1], [0.2, 0.8], [0.3, 0.7]],
                         class_names=["cat", "dog"])
    predictions = run.predictions
    info = json.loads((run.path / run_store.RUN_FILE).read_text())
    del info["model_file"]
    info = {**info, "config": {key: value for key, value in info["config"].items() if key != "kind"},
            "schema_version": 2}
    (run.path / run_store.RUN_FILE).write_text(json.dumps(info))
    version_2_metrics = {**run.metrics, "confusion_matrix": [[1, 1], [0, 1]]}
    (run.path / run_store.METRICS_FILE).write_text(json.dumps(version_2_metrics))
    (run.path / run_store.CONFUSION_MATRIX_FILE).unlink()

    old = run_store.load_run(run.path)
    assert (old.written_version, old.kind, old.model_path.name) == (2, "trained", "model.keras")
    assert "confusion_matrix" not in old.metrics
    assert old.confusion_matrix.tolist() == [[1, 1], [0, 1]]

    assert run_store.upgrade_run(run.path) is True
    assert "confusion_matrix" not in json.loads((run.path / run_store.METRICS_FILE).read_text())
    upgraded = run_store.load_run(run.path)
    assert upgraded.written_version == run_store.SCHEMA_VERSION and upgraded.kind == "trained"
    assert upgraded.confusion_matrix.tolist() == [[1, 1], [0, 1]]
    assert upgraded.metrics == {key: value for key, value in version_2_metrics.items() if key != "confusion_matrix"}
    np.testing.assert_array_equal(upgraded.predictions.probabilities, predictions.probabilities)


def test_a_run_missing_its_confusion_matrix_file_says_so(tmp_path):
    run = write_fake_run(tmp_path, "run")
    (run.path / run_store.CONFUSION_MATRIX_FILE).unlink()
    with pytest.raises(run_store.RunError, match="missing confusion_matrix.npz"):
        run_store.load_run(run.path).confusion_matrix


# Row 0's two best classes (7 and 3) differ by less than float16 can tell: rounded, 3 would win argmax.
NEAR_TIES = np.full((4, 12), 0.01, np.float32)
NEAR_TIES[0, [3, 7]] = 0.40001, 0.40002
NEAR_TIES[1, [0, 11]] = 0.3, 0.6
NEAR_TIES[2, [5, 6, 2]] = 0.25, 0.25, 0.3
NEAR_TIES[3, 9] = 0.5
NEAR_TIES /= NEAR_TIES.sum(axis=1, keepdims=True)


def test_compact_predictions_keep_the_top_classes_and_their_probabilities_exact(tmp_path):
    assert np.float16(NEAR_TIES[0, 3]) == np.float16(NEAR_TIES[0, 7])  # the case is what it says
    run_store.write_predictions(tmp_path, ["a", "b", "c", "d"], [7, 0, 2, 9], NEAR_TIES, compact=True)
    stored = run_store.read_predictions(tmp_path / run_store.PREDICTIONS_FILE)
    assert stored.probabilities.dtype == np.float16
    np.testing.assert_allclose(stored.probabilities, NEAR_TIES, rtol=2 ** -11)
    assert stored.predicted.tolist() == [7, 11, 2, 9]
    np.testing.assert_array_equal(stored.confidence, NEAR_TIES[[0, 1, 2, 3], [7, 11, 2, 9]])
    assert stored.top_classes(3).tolist() == [[7, 3, 0], [11, 0, 1], [2, 5, 6], [9, 0, 1]]
    assert stored.top_classes(5).tolist() == run_store.top_classes(NEAR_TIES, 5).tolist()


def test_small_predictions_are_stored_exactly_and_large_ones_compact(tmp_path, monkeypatch):
    run_store.write_predictions(tmp_path, ["a", "b", "c", "d"], [7, 0, 2, 9], NEAR_TIES)
    exact = run_store.read_predictions(tmp_path / run_store.PREDICTIONS_FILE)
    np.testing.assert_array_equal(exact.probabilities, NEAR_TIES)
    assert exact.stored_top_classes is None and exact.predicted.tolist() == [7, 11, 2, 9]
    monkeypatch.setattr(run_store, "COMPACT_ABOVE_VALUES", NEAR_TIES.size - 1)
    run_store.write_predictions(tmp_path, ["a", "b", "c", "d"], [7, 0, 2, 9], NEAR_TIES)
    compact = run_store.read_predictions(tmp_path / run_store.PREDICTIONS_FILE)
    assert compact.probabilities.dtype == np.float16 and compact.stored_top_classes.shape == (4, 5)


def test_top_classes_of_tied_probabilities_go_to_the_lower_class_as_argmax_does():
    tied = np.array([[0.25, 0.25, 0.25, 0.25], [0.1, 0.4, 0.1, 0.4]])
    assert run_store.top_classes(tied, 2).tolist() == [[0, 1], [1, 3]]
    assert run_store.top_classes(tied, 4).tolist() == [[0, 1, 2, 3], [1, 3, 0, 2]]
    assert run_store.top_classes(tied, 9).tolist() == [[0, 1, 2, 3], [1, 3, 0, 2]]


def test_predictions_whose_top_classes_do_not_fit_are_refused(tmp_path):
    np.savez(tmp_path / run_store.PREDICTIONS_FILE, ids=np.array(["a"]), labels=np.array([0]),
             probabilities=np.array([[0.5, 0.5]], np.float16), top_classes=np.array([[0, 2]]),
             top_probabilities=np.array([[0.5, 0.5]], np.float32))
    with pytest.raises(run_store.RunError, match=r"top classes \(1, 2\) do not fit its probabilities \(1, 2\)"):
        run_store.read_predictions(tmp_path / run_store.PREDICTIONS_FILE)


@pytest.mark.parametrize("version, reason", [
    (run_store.SCHEMA_VERSION + 1, "written by a newer version of this tool"),
    (None, "schema version None is unknown"),
    ("2", "schema version '2' is unknown"),
])
def test_runs_of_unknown_schemas_are_listed_with_the_reason(tmp_path, version, reason):
    write_fake_run(tmp_path, "good")
    path = write_fake_run(tmp_path, "odd").path
    info = json.loads((path / run_store.RUN_FILE).read_text())
    (path / run_store.RUN_FILE).write_text(json.dumps({**info, "schema_version": version}))
    runs, broken = run_store.list_runs(tmp_path)
    assert [run.run_id for run in runs] == ["good"]
    assert reason in dict(broken)["odd"]


def test_run_store_lists_unreadable_runs_with_the_reason(tmp_path):
    for name, damage in [("no-model", lambda p: (p / run_store.MODEL_FILE).unlink()),
                         ("future", lambda p: (p / run_store.RUN_FILE).write_text(json.dumps({"schema_version": 99}))),
                         ("garbled", lambda p: (p / run_store.RUN_FILE).write_text("{not json"))]:
        damage(write_fake_run(tmp_path, name).path)
    write_fake_run(tmp_path, "fine")
    runs, broken = run_store.list_runs(tmp_path)
    assert [run.run_id for run in runs] == ["fine"]
    reasons = dict(broken)
    assert "missing model.keras" in reasons["no-model"]
    assert "schema version 99" in reasons["future"]
    assert "unreadable run.json" in reasons["garbled"]


@pytest.mark.parametrize("changes, message", [
    (dict(class_names=["cat", "dog", "emu"]), "knows the classes cat, dog, emu, not cat, dog, owl"),
    (dict(test_key="pets-8px-9999"), "was tested on other images (pets-8px-9999, not pets-8px-0000)"),
    (dict(ids=["a", "b", "c"]), "was tested on other images (its predictions are of other image ids)"),
])
def test_check_comparable_names_what_differs(tmp_path, changes, message):
    reference = write_fake_run(tmp_path, "reference")
    other = write_fake_run(tmp_path, "other", **changes)
    run_store.check_comparable(reference, reference.class_names, reference.test_key,
                               test_ids=reference.predictions.ids, image_size=8)
    with pytest.raises(ValueError, match=re.escape(f"'{other.path}' {message}")):
        run_store.check_comparable(other, reference.class_names, reference.test_key,
                                   test_ids=reference.predictions.ids)
    with pytest.raises(ValueError, match="takes 8-px images, not 16-px"):
        run_store.check_comparable(reference, reference.class_names, reference.test_key, image_size=16)


def _model_file_that_asks_to_run_code(path, how: str):
    """A .keras file whose config asks Keras to run code: a Python lambda, or a function of any module (os.system)."""
    import zipfile

    import keras

    inputs = keras.Input((4,))
    if how == "lambda":
        keras.Model(inputs, keras.layers.Lambda(lambda x: x * 2)(inputs)).save(path)
        return
    keras.Model(inputs, keras.layers.Dense(2)(inputs)).save(path)
    with zipfile.ZipFile(path) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    config = json.loads(files["config.json"])
    config["config"]["layers"][1]["config"]["activation"] = {
        "module": "os", "class_name": "function", "config": "system", "registered_name": "system"}
    files["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)


@pytest.mark.parametrize("how, cause", [("lambda", "deserialization of a `Lambda` layer"),
                                        ("module function", "Could not locate function 'system'")])
def test_a_model_file_that_asks_to_run_code_is_refused_with_a_clear_message(tmp_path, how, cause):
    run = write_fake_run(tmp_path, "crafted")
    _model_file_that_asks_to_run_code(run.model_path, how)
    with pytest.raises(run_store.RunError, match="model.keras of 'crafted' cannot be loaded in safe mode") as refused:
        load_model(run)
    assert cause in str(refused.value) and len(str(refused.value).splitlines()) == 1


def test_a_bucket_url_is_never_taken_for_a_folder(monkeypatch):
    with pytest.raises(run_store.RunError, match="'s3://bucket/runs' is a bucket"):
        run_store.resolve_store("s3://bucket/runs")
    monkeypatch.setenv("ARTIFACTS_DIR", "gs://bucket")
    with pytest.raises(run_store.RunError, match="is a bucket"):
        run_store.resolve_store()
    assert run_store.resolve_store("my-store") == Path("my-store")


def _broken_store(store):
    """A run of each fault the store's check refuses, and a good one; the reason each is refused with."""
    write_fake_run(store, "good")
    no_accuracy = write_fake_run(store, "no_accuracy")
    metrics = json.loads((no_accuracy.path / run_store.METRICS_FILE).read_text())
    (no_accuracy.path / run_store.METRICS_FILE).write_text(json.dumps({k: v for k, v in metrics.items()
                                                                       if k != "accuracy"}))
    (write_fake_run(store, "garbled").path / run_store.RUN_FILE).write_text("{not json")
    for name, change in (("no_tta", lambda info: [info["config"].pop(key) for key in ("flip_tta", "shift_tta")]),
                         ("one_class", lambda info: info["dataset"].update(class_names=["cat"]))):
        path = write_fake_run(store, name).path / run_store.RUN_FILE
        info = json.loads(path.read_text())
        change(info)
        path.write_text(json.dumps(info))
    no_layers = write_fake_run(store, "no_layers")
    (no_layers.path / run_store.ARCHITECTURE_FILE).write_text(json.dumps({"summary": {}}))
    return {"no_accuracy": f"{run_store.METRICS_FILE} lacks accuracy",
            "garbled": f"unreadable {run_store.RUN_FILE}",
            "no_tta": f"{run_store.RUN_FILE}'s config lacks flip_tta, shift_tta",
            "one_class": f"{run_store.RUN_FILE} has no usable class names, image size or test key",
            "no_layers": f"{run_store.ARCHITECTURE_FILE} lacks layers"}


def test_the_stores_check_refuses_each_broken_run_with_its_reason_for_every_reader(tmp_path):
    """One check, in the store: the listing (pages, the report) and a command line naming the run give the same
    reason; a run's arrays are checked when a reader asks for them."""
    reasons = _broken_store(tmp_path)
    runs, broken = run_store.list_runs(tmp_path)
    assert [run.run_id for run in runs] == ["good"]
    assert dict(broken).keys() == reasons.keys()
    for name, reason in broken:
        assert reason.startswith(reasons[name]), (name, reason)
        with pytest.raises(ValueError, match=re.escape(reason)):
            run_store.load_runs([tmp_path / name])  # what trainers.compare and dashboard.report read runs with


@pytest.mark.parametrize("fault, reason", [
    ({"probabilities": np.full((3, 2), 0.5)},
     f"{run_store.PREDICTIONS_FILE} holds probabilities of shape (3, 2), not (3, 3)"),
    ({"probabilities": [[np.nan, 0.5, 0.5], [0, 1, 0], [0, 0, 1]]},
     f"{run_store.PREDICTIONS_FILE} holds NaN or infinite probabilities for 1 of 3 test images"),
    ({"history": {"epoch": [0], "loss": [1.0]}},
     f"{run_store.HISTORY_FILE} lacks accuracy, val_loss, val_accuracy, learning_rate, epoch_time"),
])
def test_a_runs_arrays_are_checked_by_the_store_when_read(tmp_path, fault, reason):
    run = write_fake_run(tmp_path, "odd", **fault)
    assert run_store.list_runs(tmp_path)[1] == []  # listed: only its arrays are wrong
    with pytest.raises(run_store.RunError) as refused:
        run_store.check_run(run)
    assert str(refused.value) == reason
