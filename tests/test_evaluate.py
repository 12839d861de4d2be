"""Evaluating a fitted model: the run's TensorBoard record of its configuration and scores (rewritten by
--upgrade), predictions recomputed as stored, and test-time augmentations compared."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from trainers.store import run_store
from trainers.training.data import DatasetError


def hparams_sessions(run_path) -> dict:
    """What TensorBoard's HParams dashboard reads of a run: trial id -> {field: value}, and the test scalars."""
    import tensorflow as tf
    from tensorboard.plugins.hparams import plugin_data_pb2

    sessions, scalars = {}, {}
    for events in (run_path / run_store.TENSORBOARD_DIR).glob("events.out.tfevents.*"):
        for event in tf.compat.v1.train.summary_iterator(str(events)):
            for value in event.summary.value:
                if value.metadata.plugin_data.plugin_name == "hparams":
                    start = plugin_data_pb2.HParamsPluginData.FromString(value.metadata.plugin_data.content)
                    sessions[start.session_start_info.group_name] = {
                        name: getattr(hparam, hparam.WhichOneof("kind"))
                        for name, hparam in start.session_start_info.hparams.items()}
                elif value.tag.startswith("test_"):
                    scalars[value.tag] = float(tf.make_ndarray(value.tensor))
    return sessions, scalars


def test_tensorboard_hparams_name_each_run_by_its_folder_with_its_configuration(tiny_store, tmp_path):
    from trainers.evaluate import main as evaluate

    run = run_store.load_run(tiny_store / "plain")
    sessions, scalars = hparams_sessions(run.path)
    assert list(sessions) == ["plain"]
    recorded = sessions["plain"]
    assert recorded["preset"] == "cnn_v3"
    assert (recorded["epochs"], recorded["optimizer"], recorded["keep_best"]) == (3, "adamw", False)
    assert recorded["widths"] == "64,256,256" and recorded["teachers"] == ""
    assert scalars == pytest.approx({"test_accuracy": run.metrics["accuracy"], "test_macro_f1": run.metrics["macro_f1"],
                                     "test_log_loss": run.metrics["log_loss"]})

    # A run of an older version gets its record from --upgrade, once, without being retrained.
    old = shutil.copytree(run.path, tmp_path / "old")
    for events in (old / run_store.TENSORBOARD_DIR).glob("events.out.tfevents.*"):
        events.unlink()
    info = json.loads((old / run_store.RUN_FILE).read_text())
    (old / run_store.RUN_FILE).write_text(json.dumps({**info, "schema_version": 1}))
    metrics = json.loads((old / run_store.METRICS_FILE).read_text())
    renamed = {"log_loss": "loss", "macro_precision": "precision", "macro_recall": "recall", "macro_f1": "f1"}
    version_1 = {**{renamed.get(k, k): v for k, v in metrics.items()},
                 "confusion_matrix": run.confusion_matrix.tolist()}
    (old / run_store.METRICS_FILE).write_text(json.dumps(version_1))
    (old / run_store.CONFUSION_MATRIX_FILE).unlink()
    for _ in range(2):
        assert evaluate([str(old), "--upgrade"]) == 0
    assert run_store.load_run(old).written_version == run_store.SCHEMA_VERSION
    assert json.loads((old / run_store.METRICS_FILE).read_text()) == metrics
    assert run_store.load_run(old).confusion_matrix.tolist() == run.confusion_matrix.tolist()
    assert hparams_sessions(old) == ({"old": recorded}, scalars)


def test_evaluate_recomputes_the_same_predictions(tiny_store, tmp_path, image_folder):
    from trainers.evaluate import main as evaluate

    run_dir = tmp_path / "store" / "plain"
    shutil.copytree(tiny_store / "plain", run_dir)
    before = run_store.load_run(run_dir)
    (run_dir / run_store.PREDICTIONS_FILE).unlink()
    (run_dir / run_store.METRICS_FILE).write_text("{}")
    assert evaluate([str(run_dir), "--dataset", f"folder:{image_folder}", "--cache-dir", str(tmp_path)]) == 0
    after = run_store.load_run(run_dir)
    np.testing.assert_allclose(after.predictions.probabilities, before.predictions.probabilities, atol=1e-5)
    assert after.metrics["accuracy"] == before.metrics["accuracy"]
    assert run_store.test_images_path(run_dir.parent, after.test_key).exists()


@pytest.mark.parametrize("run_name, shipped", [("plain", "mirror (shipped)"), ("fast", "mirror + 1-px shifts (shipped)")])
def test_compare_tta_reproduces_the_shipped_accuracy_and_changes_nothing(tiny_store, run_name, shipped, capsys):
    from trainers.evaluate import main as evaluate

    run_dir = tiny_store / run_name
    before = {path.name: path.read_bytes() for path in run_dir.iterdir() if path.is_file()}
    assert evaluate([str(run_dir), "--compare-tta"]) == 0
    rows = dict(line.strip().rsplit(maxsplit=1) for line in capsys.readouterr().out.splitlines()[1:])
    assert [label.removesuffix(" (shipped)") for label in rows] == [
        "none", "mirror", "mirror + 1-px shifts", "mirror + 2-px shifts"]
    assert float(rows[shipped]) == pytest.approx(run_store.load_run(run_dir).metrics["accuracy"], abs=5e-5)
    assert {path.name: path.read_bytes() for path in run_dir.iterdir() if path.is_file()} == before
    with pytest.raises(SystemExit) as exit_info:
        evaluate([str(run_dir), "--compare-tta", "--dataset", "cifar10"])
    assert exit_info.value.code == 2 and "--dataset does not apply" in capsys.readouterr().err


def jobs_recorded(monkeypatch) -> list:
    """Replaces each job of `trainers.evaluate` (and TensorFlow's start) by one that records what it was given."""
    from trainers import evaluate
    from trainers.inference import machine

    done = []
    monkeypatch.setattr(machine, "start_tensorflow_quietly", lambda: done.append("tensorflow started"))

    def job(flag):
        return lambda subject, args: done.append((flag, subject))

    for flag in evaluate.RUN_JOBS:
        monkeypatch.setitem(evaluate.RUN_JOBS, flag, job(flag))
    for flag in evaluate.IMPORT_JOBS:
        monkeypatch.setitem(evaluate.IMPORT_JOBS, flag, job(flag))
    monkeypatch.setattr(evaluate, "_evaluate_command", job("evaluate again"))
    return done


@pytest.mark.parametrize("flags, job", [
    ([], "evaluate again"), (["--compare-tta"], "compare_tta"), (["--test-map"], "test_map"),
    (["--temperature"], "temperature"), (["--upgrade"], "upgrade"), (["--class-groups", "groups.csv"], "class_groups"),
    (["--labels", "corrected.csv"], "labels")])
def test_each_flag_runs_its_job_on_each_run_in_turn(monkeypatch, tmp_path, flags, job):
    from trainers.evaluate import main as evaluate

    done = jobs_recorded(monkeypatch)
    runs = [tmp_path / "a", tmp_path / "b"]
    assert evaluate([*map(str, runs), *flags]) == 0
    assert done == ["tensorflow started", (job, runs[0]), (job, runs[1])]


@pytest.mark.parametrize("flag, file, job, starts_tensorflow", [
    ("--import", "model.keras", "import_model", True), ("--import", "model.onnx", "import_model", False),
    ("--import-predictions", "predictions.csv", "import_predictions", False)])
def test_an_import_runs_once_on_its_file_and_only_a_keras_model_starts_tensorflow(monkeypatch, flag, file, job,
                                                                                 starts_tensorflow):
    from trainers.evaluate import main as evaluate

    done = jobs_recorded(monkeypatch)
    assert evaluate([flag, file, "--dataset", "cifar10", "--name", "mine"]) == 0
    assert done == ["tensorflow started"] * starts_tensorflow + [(job, Path(file))]


@pytest.mark.parametrize("error", [run_store.RunError("cannot be read"), DatasetError("cannot be read"),
                                   ValueError("cannot be read"), FileExistsError("cannot be read")])
def test_a_known_error_stops_at_its_run_with_one_line_and_status_2(monkeypatch, tmp_path, capsys, error):
    from trainers import evaluate

    done = jobs_recorded(monkeypatch)

    def upgrade(run_dir, args):
        if run_dir.name == "broken":
            raise error
        done.append(run_dir.name)

    monkeypatch.setitem(evaluate.RUN_JOBS, "upgrade", upgrade)
    assert evaluate.main([str(tmp_path / name) for name in ("a", "broken", "c")] + ["--upgrade"]) == 2
    assert done == ["tensorflow started", "a"]
    assert capsys.readouterr().err == f"error: {tmp_path / 'broken'}: cannot be read\n"


def test_help_offers_the_input_scales_and_layouts_the_preprocessing_knows(capsys):
    from trainers.evaluate import main as evaluate
    from trainers.inference.preprocessing import INPUT_SCALES, LAYOUTS

    with pytest.raises(SystemExit):
        evaluate(["--help"])
    usage = capsys.readouterr().out
    assert "--input-scale {" + ",".join(INPUT_SCALES) + "}" in usage
    assert "--layout {" + ",".join(sorted(LAYOUTS)) + "}" in usage
