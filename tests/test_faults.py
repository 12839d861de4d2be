"""Training faults: a kill, a NaN loss, a full or unwritable store, Ctrl-C; and stored text that would lead a
reader out of the store.

A run stopped by a kill, Ctrl-C or a full disk stays in the store's partial folder, out of the dashboard's
sight, with what training achieved: the resume command continues it instead of training again. A run whose
loss diverged is moved into the store marked failed, and listed with the reason among the unreadable runs.
"""

from __future__ import annotations

import errno
import functools
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from colour_images import make_image_folder
from paths import REPO_ROOT
from fake_runs import write_fake_run
from trainers.store import run_store
from trainers.train import main
from trainers.inference.predict import load_model

NAN_REASON = "the loss became NaN or infinite; try a lower --lr or --precision float32"


def tiny_args(folder, store, cache, name, epochs):
    return ["cnn_v3", "--dataset", f"folder:{folder}", "--artifacts", str(store), "--cache-dir", str(cache),
            "--name", name, "--verbose", "0", "--epochs", str(epochs), "--batch-size", "4", "--image-size", "16"]


def with_callbacks(monkeypatch, *callbacks):
    """Makes the CLI's `train` run with `callbacks` added, as a fault in the middle of training would."""
    from trainers.training import fit

    monkeypatch.setattr(fit, "train", functools.partial(fit.train, extra_callbacks=callbacks))


def one_error_line(capsys) -> str:
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1, error
    return error


def fill_up(path, first_bytes: bytes):
    """What a write does on a disk that fills up: the file's first bytes land, then ENOSPC."""
    Path(path).write_bytes(first_bytes)
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))


def no_partial_files(folder) -> bool:
    """No half-written file (run_store writes each aside as partial-<name>, then renames it) is left in `folder`."""
    return not any(folder.rglob("partial-*"))


def _history_rows(path) -> pd.DataFrame:
    try:
        return pd.read_csv(path)
    except (FileNotFoundError, pd.errors.EmptyDataError):
        return pd.DataFrame()


def _wait_for(process, what: str, sign, timeout: float = 180):
    """Polls `sign()` until it returns something, failing when the training ends first or after `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, f"training ended before {what}"
        found = sign()
        if found is not None:
            return found
        time.sleep(0.02)
    pytest.fail(f"no sign in {timeout} s of {what}")


def _epochs_logged(history_path, count: int) -> pd.DataFrame | None:
    rows = _history_rows(history_path)
    return rows if len(rows) >= count else None


def _backed_up_until(backup: Path) -> int | None:
    """The epoch a phase's backup resumes at, once Keras has written its metadata (after the weights) whole."""
    try:
        return json.loads((backup / "training_metadata.json").read_text())["epoch"]
    except (FileNotFoundError, ValueError, KeyError):  # not written yet, or being written
        return None


def _heartbeat(run_path) -> str | None:
    try:
        return (run_path / run_store.HEARTBEAT_FILE).read_text()
    except FileNotFoundError:
        return None


# `python -m trainers.train ARGS`, with the run's heartbeat after every batch instead of every BEAT_SECONDS (10 s):
# a sign from inside an epoch, which the kill waits for.
TRAIN_BEATING_EVERY_BATCH = ("import runpy; from trainers.training import record_callback; "
                             "record_callback.BEAT_SECONDS = 0; "
                             "runpy.run_module('trainers.train', run_name='__main__', alter_sys=True)")


@pytest.mark.slow  # trains in a fresh interpreter, and again to resume
def test_a_run_killed_mid_epoch_resumes_from_its_last_finished_epoch(tmp_path):
    # 81 training images in batches of 2 at 32 px: epochs of 41 steps, the third killed after its first.
    folder = make_image_folder(tmp_path / "colours", per_class=30, test_per_class=2)
    store, cache = tmp_path / "store", tmp_path / "cache"
    writer = run_store.RunWriter(store, "killed")
    argv = ["cnn_v3", "--dataset", f"folder:{folder}", "--image-size", "32", "--epochs", "4", "--batch-size", "2",
            "--artifacts", str(store), "--cache-dir", str(cache), "--name", "killed", "--verbose", "0"]
    training = subprocess.Popen([sys.executable, "-c", TRAIN_BEATING_EVERY_BATCH, *argv], cwd=REPO_ROOT,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        logged = _wait_for(training, "the second epoch logged", lambda: _epochs_logged(writer.history_path, 2))
        # The second epoch's backup comes after its row (the last callback of an epoch); the next beat is a step
        # of the third epoch.
        _wait_for(training, "the second epoch backed up",
                  lambda: _backed_up_until(writer.scratch("phase1")) == 2 or None)
        beaten = _heartbeat(writer.path)
        _wait_for(training, "a step of the third epoch", lambda: _heartbeat(writer.path) != beaten or None)
        training.send_signal(signal.SIGKILL)
        training.wait()
    finally:
        if training.poll() is None:
            training.kill()
    assert training.returncode == -signal.SIGKILL
    killed_in = _history_rows(writer.history_path)
    assert len(killed_in) == 2, f"killed after the third epoch, not inside it:\n{killed_in}"
    assert run_store.list_runs(store) == ([], [])

    resumed = subprocess.run([sys.executable, "-m", "trainers.train", "--resume", str(writer.path),
                              "--cache-dir", str(cache), "--verbose", "2"],
                             cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "Epoch 1/4" not in resumed.stdout and "Epoch 3/4" in resumed.stdout  # it went on, not over
    run = run_store.load_run(store / "killed")
    assert run.history["epoch"].tolist() == [0, 1, 2, 3] and run.info["epochs_run"] == 4
    # The epochs finished before the kill are the ones it logged then (same wall times), not trained again.
    pd.testing.assert_frame_equal(run.history.iloc[:2], logged.iloc[:2])
    assert not writer.path.exists()


def nan_weights(epoch: int, batch: int):
    """A callback that sets every weight to NaN before one batch of one epoch, as a diverging learning rate would."""
    import keras
    import numpy as np

    class NaNWeights(keras.callbacks.Callback):
        def on_epoch_begin(self, current, logs=None):
            self.epoch = current

        def on_train_batch_begin(self, current, logs=None):
            if (self.epoch, current) == (epoch, batch):
                self.model.set_weights([np.full_like(w, np.nan) for w in self.model.get_weights()])

    return NaNWeights()


@pytest.mark.slow  # trains
def test_a_nan_loss_records_a_failed_run_that_the_dashboard_lists_with_the_reason(image_folder, tmp_path, monkeypatch,
                                                                                 capsys):
    from dashboard.lib.runs import readable_runs

    store = tmp_path / "store"
    write_fake_run(store, "fine")
    with_callbacks(monkeypatch, nan_weights(epoch=1, batch=2))  # in the middle of the second of three epochs
    assert main(tiny_args(image_folder, store, tmp_path / "cache", "diverged", epochs=3)) == 1
    assert one_error_line(capsys) == (f"error: training failed in epoch 2: {NAN_REASON}; "
                                      f"the run is recorded as failed in {store / 'diverged'}")

    info = json.loads((store / "diverged" / run_store.RUN_FILE).read_text())
    assert info["status"] == run_store.STATUS_FAILED
    assert info["failure"] == {"reason": NAN_REASON, "epoch": 1}
    history = pd.read_csv(store / "diverged" / run_store.HISTORY_FILE)
    assert history["epoch"].tolist() == [0, 1] and history["loss"].isna().tolist() == [False, True]
    assert not (store / "diverged" / "scratch").exists() and not (store / run_store.PARTIAL_DIR).exists()
    # Listed as failed, with the reason, by the store and by the dashboard's sidebar; never as a readable run.
    for runs, broken in (run_store.list_runs(store), readable_runs(store)):
        assert [run.run_id for run in runs] == ["fine"]
        assert broken == [("diverged", f"training failed in epoch 2: {NAN_REASON}")]


def _a_file(store, monkeypatch):
    store.write_text("not a folder")
    return "Not a directory"


def _read_only(store, monkeypatch):
    write_fake_run(store, "fine")
    store.chmod(0o500)
    if os.access(store, os.W_OK):  # root writes anyway
        store.chmod(0o700)
        pytest.skip("a read-only folder does not stop this user's writes")
    return "Permission denied"


def _full_disk(store, monkeypatch):
    write_fake_run(store, "fine")
    write_text = Path.write_text

    def full(path, *args, **kwargs):
        if store in path.parents:
            fill_up(path, b"{")
        return write_text(path, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", full)
    return "No space left on device"


def _listing(store):
    """What the store lists, by value (a `Run` compares by identity)."""
    runs, broken = run_store.list_runs(store)
    return [(run.path, run.info) for run in runs], broken


@pytest.mark.parametrize("make_unwritable", [_a_file, _read_only, _full_disk],
                         ids=["a file", "a read-only folder", "a full disk"])
def test_a_store_that_cannot_be_written_at_the_start_stops_with_one_line_and_leaves_nothing(
        make_unwritable, image_folder, tmp_path, monkeypatch, capsys):
    store = tmp_path / "store"
    cause = make_unwritable(store, monkeypatch)
    listed = _listing(store)
    try:
        assert main(tiny_args(image_folder, store, tmp_path / "cache", "blocked", epochs=1)) == 1
    finally:
        monkeypatch.undo()
        if store.is_dir():
            store.chmod(0o700)
    error = one_error_line(capsys)
    assert error.startswith(f"error: cannot write to the run store '{store}': {cause} (")
    assert error.endswith(". Nothing of the run was kept.")
    assert _listing(store) == listed
    assert not (store / run_store.PARTIAL_DIR).exists()


def _fill_disk_while_saving_the_model(monkeypatch):
    import keras

    def save(model, path, *args, **kwargs):
        fill_up(path, b"PK\x03\x04")

    monkeypatch.setattr(keras.Model, "save", save)


def _fill_disk_while_writing_predictions(monkeypatch):
    savez_compressed = run_store.np.savez_compressed

    def savez(file, *args, **kwargs):
        if run_store.PREDICTIONS_FILE in str(file):
            fill_up(file, b"PK\x03\x04")
        return savez_compressed(file, *args, **kwargs)

    monkeypatch.setattr(run_store.np, "savez_compressed", savez)


@pytest.mark.slow  # trains
@pytest.mark.parametrize("fill_disk", [_fill_disk_while_saving_the_model, _fill_disk_while_writing_predictions],
                         ids=["model", "predictions"])
def test_a_disk_that_fills_up_after_training_keeps_the_run_resumable_out_of_the_dashboards_sight(
        fill_disk, image_folder, tmp_path, monkeypatch, capsys):
    store, cache = tmp_path / "store", tmp_path / "cache"
    write_fake_run(store, "fine")
    partial = store / run_store.PARTIAL_DIR / "full"
    fill_disk(monkeypatch)
    assert main(tiny_args(image_folder, store, cache, "full", epochs=1)) == 1
    monkeypatch.undo()  # space freed
    error = one_error_line(capsys)
    resume = f"python -m trainers.train --resume {partial} --cache-dir {cache}"
    assert error.startswith(f"error: cannot write to the run store '{store}': No space left on device ('{partial}/")
    assert error.endswith(f". Once it can, resume with: {resume}")
    # The dashboard sees what it saw before; the partial folder keeps the trained epoch, and no half-written file.
    assert [run.run_id for run in run_store.list_runs(store)[0]] == ["fine"] and run_store.list_runs(store)[1] == []
    assert no_partial_files(partial)
    trained = pd.read_csv(partial / run_store.HISTORY_FILE)

    assert main([*shlex.split(resume)[3:], "--verbose", "0"]) == 0
    run = run_store.load_run(store / "full")
    pd.testing.assert_frame_equal(run.history, trained)  # not trained again: the same epoch, the same wall time
    assert load_model(run).predict(run_store.load_test_images(store, run.test_key).images.astype("float32"),
                                             verbose=0).shape == (12, 3)


@pytest.mark.slow  # trains
@pytest.mark.parametrize("weights", ["best.weights.h5", "latest.weights.h5"], ids=["best weights", "backup"])
def test_a_disk_that_fills_up_while_saving_weights_in_training_leaves_a_run_that_resumes(
        weights, image_folder, tmp_path, monkeypatch, capsys):
    import keras

    store, cache = tmp_path / "store", tmp_path / "cache"
    save_weights = keras.Model.save_weights

    def full(model, filepath, *args, **kwargs):  # keep_best's checkpoint, or the epoch's backup, cut short
        if str(filepath).endswith(weights):
            fill_up(filepath, b"\x89HDF\r\n")
        return save_weights(model, filepath, *args, **kwargs)

    monkeypatch.setattr(keras.Model, "save_weights", full)
    assert main(tiny_args(image_folder, store, cache, "full", epochs=1)) == 1
    monkeypatch.undo()
    partial = store / run_store.PARTIAL_DIR / "full"
    assert one_error_line(capsys).endswith(f". Once it can, resume with: python -m trainers.train --resume {partial} "
                                           f"--cache-dir {cache}")
    assert run_store.list_runs(store) == ([], [])

    assert main(["--resume", str(partial), "--cache-dir", str(cache), "--verbose", "0"]) == 0
    run = run_store.load_run(store / "full")
    assert run.history["epoch"].tolist() == [0] and run.info["best_epoch"] == 0


@pytest.mark.slow  # trains (keras fit)
def test_a_best_weights_checkpoint_cut_short_keeps_the_best_weights_before_it(tmp_path, monkeypatch):
    import keras
    import numpy as np

    from trainers.training.fit import BEST_WEIGHTS, _keep_best

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, name="out")])
    model.compile(optimizer="sgd", loss="mse")
    kept = []

    class ImprovingScores(keras.callbacks.Callback):  # first in the list, so the checkpoint sees these scores
        def on_epoch_end(self, epoch, logs=None):
            logs["val_accuracy"] = [0.5, 0.9][epoch]
            kept.append(self.model.get_weights())

    save_weights = keras.Model.save_weights
    saves = []

    def full_on_the_second_save(model, filepath, *args, **kwargs):
        saves.append(filepath)
        if len(saves) == 2:
            fill_up(filepath, b"\x89HDF\r\n")
        return save_weights(model, filepath, *args, **kwargs)

    monkeypatch.setattr(keras.Model, "save_weights", full_on_the_second_save)
    writer = run_store.RunWriter(tmp_path, "run")
    x, y = np.ones((8, 4)), np.zeros((8, 2))
    with pytest.raises(OSError, match="No space left on device"):
        model.fit(x, y, epochs=2, verbose=0, callbacks=[ImprovingScores(), *_keep_best(writer)])
    model.load_weights(writer.scratch(BEST_WEIGHTS))
    for loaded, first in zip(model.get_weights(), kept[0], strict=True):
        np.testing.assert_array_equal(loaded, first)


def interrupt_after_first_epoch():
    """A callback that stands for Ctrl-C pressed once the first epoch is done."""
    import keras

    class Interrupt(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            raise KeyboardInterrupt

    return Interrupt()


@pytest.mark.slow  # trains
def test_ctrl_c_prints_the_one_command_that_resumes_the_run(image_folder, tmp_path, monkeypatch, capsys):
    store, cache = tmp_path / "store", tmp_path / "cache"
    with_callbacks(monkeypatch, interrupt_after_first_epoch())
    assert main(tiny_args(image_folder, store, cache, "stopped", epochs=2)) == 130
    monkeypatch.undo()
    partial = store / run_store.PARTIAL_DIR / "stopped"
    message = one_error_line(capsys)
    assert message == f"Interrupted. Resume with: python -m trainers.train --resume {partial} --cache-dir {cache}"
    assert run_store.list_runs(store) == ([], [])

    # The command as printed resumes the run (the existing resume test covers what it trains).
    command = shlex.split(message.removeprefix("Interrupted. Resume with: "))
    assert command[:3] == ["python", "-m", "trainers.train"]
    assert main([*command[3:], "--verbose", "0"]) == 0
    assert [run.run_id for run in run_store.list_runs(store)[0]] == ["stopped"]


def test_ctrl_c_before_the_run_exists_says_there_is_nothing_to_resume(image_folder, tmp_path, monkeypatch, capsys):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("trainers.training.data.load_dataset", interrupted)
    assert main(tiny_args(image_folder, tmp_path / "store", tmp_path / "cache", "early", epochs=1)) == 130
    assert one_error_line(capsys) == "Interrupted before the run was created."
    assert not (tmp_path / "store").exists()


@pytest.mark.parametrize("test_key", ["../../somewhere", "/etc", "pets/../../..", "pets/", "..", ".", "", "a\0b", None, 7])
def test_a_test_key_that_would_leave_the_store_is_refused_when_the_run_is_loaded(tmp_path, test_key):
    from dashboard.lib.runs import readable_runs

    store = tmp_path / "store"
    write_fake_run(store, "fine")
    path = write_fake_run(store, "crafted").path
    info = json.loads((path / run_store.RUN_FILE).read_text())
    info["dataset"]["test_key"] = test_key
    (path / run_store.RUN_FILE).write_text(json.dumps(info))

    reason = f"run.json's test key {test_key!r} is not a folder name inside the store"
    with pytest.raises(run_store.RunError) as error:
        run_store.load_run(path)
    assert str(error.value) == reason
    for runs, broken in (run_store.list_runs(store), readable_runs(store)):
        assert [run.run_id for run in runs] == ["fine"] and broken == [("crafted", reason)]
    if isinstance(test_key, str):
        with pytest.raises(run_store.RunError, match=re.escape(f"test key {test_key!r} is not a folder name")):
            run_store.test_images_path(store, test_key)
