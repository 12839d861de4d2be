"""Runs recorded from a user's own code: the RecordRun callback in a Keras fit, and record_run from any framework's
arrays; each writes a run that keeps the contract, and no failure leaves half a run."""

from __future__ import annotations

import contextlib
import json
import os

import numpy as np
import pandas as pd
import pytest

from app_pages import MODEL_FREE_PAGES, widget
from colour_images import COLOURS, colour_image, make_image_folder
from fake_runs import write_fake_run
from run_checks import check_complete_run
from trainers.record import FROM_ARRAYS, ID_FORMS, import_predictions, record_run
from trainers.store import progress, run_store

CLASSES = sorted(COLOURS)
SIZE = 8


def colour_arrays(per_class: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 (N, 8, 8, 3), labels) of the colour classes, class by class."""
    images = [np.array(colour_image(COLOURS[name], (SIZE, SIZE), seed=seed + i))
              for name in CLASSES for i in range(per_class)]
    return np.stack(images), np.repeat(np.arange(len(CLASSES)), per_class)


@pytest.fixture(scope="module")
def arrays():
    return {"train": colour_arrays(4, 0), "validation": colour_arrays(2, 100), "test": colour_arrays(2, 200)}


def user_model(extra_layer=None):
    """The kind of model a user writes: it takes 0-1 pixels and returns probabilities."""
    import keras

    keras.utils.set_random_seed(0)
    inputs = keras.Input((SIZE, SIZE, 3))
    x = keras.layers.Conv2D(4, 3, padding="same", activation="relu")(inputs)
    x = extra_layer(x) if extra_layer is not None else x
    x = keras.layers.GlobalAveragePooling2D()(x)
    model = keras.Model(inputs, keras.layers.Dense(len(CLASSES), activation="softmax")(x))
    model.compile(keras.optimizers.Adam(0.01), "categorical_crossentropy", metrics=["accuracy", "mae"])
    return model


def one_hot(labels):
    return np.eye(len(CLASSES), dtype="float32")[labels]


def fit(model, arrays, callbacks, epochs=2):
    x, y = arrays["train"]
    vx, vy = arrays["validation"]
    return model.fit(x / 255, one_hot(y), epochs=epochs, batch_size=4, verbose=0, callbacks=callbacks,
                     validation_data=(vx / 255, one_hot(vy)))


def record(store, arrays, name="kk-cnn", **options):
    from trainers.record import RecordRun

    x, y = arrays["test"]
    return RecordRun(name, test_data=(x / 255, one_hot(y)), class_names=CLASSES, input_scale="0-1", author="KK",
                     store=store, **options)


@pytest.mark.slow  # trains (keras fit)
def test_the_callback_records_a_fit_as_a_run_like_a_presets_shown_in_progress_while_it_trains(arrays, tmp_path):
    import keras

    seen = []

    class Watch(keras.callbacks.Callback):  # after RecordRun: what the dashboard would read after each epoch
        def on_epoch_end(self, epoch, logs=None):
            seen.extend((run.label, len(run.history)) for run in progress.runs_in_progress(tmp_path))

    model = user_model()
    vx, vy = arrays["validation"]
    # What fit was given beyond its epochs and steps, Keras' callback interface does not show: the user's config
    # says it (the batch size, the training images), and validation_data is given to the callback too.
    fit(model, arrays, [record(tmp_path, arrays, config={"augmentation": "none", "batch_size": 4, "train_images": 12},
                               validation_data=(vx / 255, one_hot(vy))), Watch()])
    assert seen == [("recorded / kk-cnn (in progress)", 1), ("recorded / kk-cnn (in progress)", 2)]
    run = check_complete_run(tmp_path / "kk-cnn")
    assert (run.kind, run.author, run.model_path.name) == (run_store.KIND_RECORDED, "KK", run_store.MODEL_FILE)
    config = run.config
    assert {key: config[key] for key in ("optimizer", "loss", "batch_size", "epochs", "steps_per_epoch", "params",
                                         "train_images", "augmentation", "input_scale", "image_size")} == {
        "optimizer": "Adam", "loss": "categorical_crossentropy", "batch_size": 4, "epochs": 2, "steps_per_epoch": 3,
        "params": model.count_params(), "train_images": 12, "augmentation": "none", "input_scale": "0-1",
        "image_size": SIZE}
    assert run.info["images_per_second"] == pytest.approx(24 / run.history["epoch_time"].sum())
    assert not (run.path / run_store.HEARTBEAT_FILE).exists()
    assert config["learning_rate"] == pytest.approx(0.01)
    assert run.info["versions"]["keras"] == keras.__version__ and run.info["hardware"]["cpus"] >= 1
    assert run.info["command"].startswith("python ")
    # The user's extra metric is kept after the contract's columns; the labels were one-hot, the ids positions.
    assert list(run.history.columns[:7]) == list(run_store.HISTORY_COLUMNS) and "mae" in run.history
    assert run.history["val_loss"].notna().all() and (run.history["epoch_time"] > 0).all()
    assert run.predictions.labels.tolist() == arrays["test"][1].tolist()
    assert run.predictions.ids[0] == "test/000000"
    # The shipped model takes raw pixels where the user's took 0-1 ones, and gives the same probabilities.
    np.testing.assert_allclose(run.predictions.probabilities,
                               model.predict(arrays["test"][0] / 255, verbose=0), atol=1e-5)
    validation = run.validation_predictions
    assert len(validation.labels) == 6 and not set(validation.ids) & set(run.predictions.ids)
    assert (run.path / run_store.TEST_MAP_FILE).is_file()


@pytest.mark.slow  # trains (keras fit)
def test_a_dataset_of_batches_with_index_labels_records_what_arrays_do(arrays, tmp_path):
    import tensorflow as tf

    x, y = arrays["test"]
    model = user_model()
    from trainers.record import RecordRun

    batches = tf.data.Dataset.from_tensor_slices((x.astype("float32"), y)).batch(4)
    fit_x, fit_y = arrays["train"]
    model.fit(fit_x / 255, one_hot(fit_y), epochs=1, verbose=0,
              callbacks=[RecordRun("batches", test_data=batches, class_names=CLASSES, store=tmp_path)])
    run = check_complete_run(tmp_path / "batches")
    assert run.config["input_scale"] == "0-255" and run.predictions.labels.tolist() == y.tolist()
    np.testing.assert_allclose(run.predictions.probabilities, model.predict(x.astype("float32"), verbose=0),
                               atol=1e-5)


@pytest.mark.slow  # trains (keras fit)
def test_a_notebook_cell_run_again_is_refused_with_a_free_name_or_starts_over(arrays, tmp_path):
    fit(user_model(), arrays, [record(tmp_path, arrays)])
    first = run_store.load_run(tmp_path / "kk-cnn").info["started_at"]
    with pytest.raises(FileExistsError, match="name this one 'kk-cnn-2', or pass overwrite=True"):
        fit(user_model(), arrays, [record(tmp_path, arrays)])
    assert run_store.load_run(tmp_path / "kk-cnn").info["started_at"] == first and len(
        run_store.load_run(tmp_path / "kk-cnn").history) == 2
    fit(user_model(), arrays, [record(tmp_path, arrays, overwrite=True)], epochs=1)
    assert len(check_complete_run(tmp_path / "kk-cnn").history) == 1  # one history, never two mixed
    assert not (tmp_path / run_store.PARTIAL_DIR).exists()


@pytest.mark.slow  # trains (keras fit)
def test_a_second_fit_with_the_same_callback_goes_on_with_the_same_run(arrays, tmp_path):
    model, callback = user_model(), record(tmp_path, arrays)
    fit(model, arrays, [callback], epochs=1)
    fit(model, arrays, [callback], epochs=2)  # fine-tuning, say
    run = check_complete_run(tmp_path / "kk-cnn")
    assert run.history["epoch"].tolist() == [0, 1, 2] and run.info["epochs_run"] == 3


class Failing:
    """Ways a fit ends in an exception: a Ctrl-C in another callback, an error in the data inside the step. With
    `exact`, fit runs inside the callback used as a context manager."""

    @staticmethod
    def interrupt(arrays, callback, exact=True):
        import keras

        class CtrlC(keras.callbacks.Callback):
            def on_train_batch_begin(self, batch, logs=None):
                if self.model.optimizer.iterations.numpy() == 4:  # in the second epoch
                    raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt), callback if exact else contextlib.nullcontext():
            fit(user_model(), arrays, [callback, CtrlC()])
        return "training failed in epoch 2: interrupted (Ctrl-C or the notebook's stop button)"

    @staticmethod
    def bad_data(arrays, callback, exact=True):
        import tensorflow as tf

        def broken(image, label):
            tf.debugging.assert_less(tf.reduce_max(image), 0.0, message="a corrupt image")
            return image, label

        x, y = arrays["train"]
        data = tf.data.Dataset.from_tensor_slices(((x / 255).astype("float32"), one_hot(y))).map(broken).batch(4)
        with pytest.raises(tf.errors.InvalidArgumentError), callback if exact else contextlib.nullcontext():
            user_model().fit(data, epochs=1, verbose=0, callbacks=[callback])
        return "training failed in epoch 1: InvalidArgumentError: "


@pytest.mark.slow  # trains (keras fit)
@pytest.mark.parametrize("failing", [Failing.interrupt, Failing.bad_data])
def test_an_exception_inside_fit_leaves_a_failed_run_with_its_reason_never_half_a_run(arrays, tmp_path, failing):
    """With the callback as a context manager, the exception that ended fit is the run's recorded reason."""
    write_fake_run(tmp_path, "kk-cnn")  # what a retry with overwrite=True must not lose
    reason = failing(arrays, record(tmp_path, arrays, overwrite=True))
    runs, broken = run_store.list_runs(tmp_path)
    assert [run.run_id for run in runs] == ["kk-cnn"] and run_store.load_run(tmp_path / "kk-cnn").preset == "kk"
    ((name, why),) = broken
    assert name == "kk-cnn-2" and why.startswith(reason) and "\n" not in why
    assert not (tmp_path / run_store.PARTIAL_DIR).exists() and not progress.runs_in_progress(tmp_path)


@pytest.mark.slow  # trains (keras fit)
def test_a_fit_that_ends_in_an_exception_without_the_context_manager_shows_as_interrupted(arrays, tmp_path):
    """Keras calls no callback when fit ends in an exception: the run's heartbeat stops, and the store says it was
    interrupted once its process has ended or it has been silent for STALE_AFTER_SECONDS; the stop button of the
    notebook leaves its kernel (the process) alive."""
    import json
    import subprocess
    import sys
    import time

    Failing.interrupt(arrays, record(tmp_path, arrays), exact=False)
    (running,) = progress.runs_in_progress(tmp_path)
    assert running.run_id == "kk-cnn" and len(running.history) == 1 and running.stopped is None  # alive
    heartbeat = running.path / run_store.HEARTBEAT_FILE
    beat = json.loads(heartbeat.read_text())
    assert beat["pid"] == os.getpid() and time.time() - beat["at"] < 60
    heartbeat.write_text(json.dumps({**beat, "at": beat["at"] - progress.STALE_AFTER_SECONDS - 120}))
    assert running.stopped == "interrupted: no sign of life for 12 minutes"
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    heartbeat.write_text(json.dumps({**beat, "pid": int(ended.stdout)}))
    assert running.stopped == f"interrupted: its process ({int(ended.stdout)}) has ended"
    assert progress.stopped_line(running) == (
        f"kk-cnn stopped after 1 of 2 epochs ({running.stopped}): run it again (overwrite=True), or delete "
        f"{running.path}.")
    # The name is taken until the partial run is given up: a notebook's re-run is refused with a free name.
    with pytest.raises(FileExistsError, match="name this one 'kk-cnn-2', or pass overwrite=True"):
        fit(user_model(), arrays, [record(tmp_path, arrays)])


@pytest.mark.slow  # trains (keras fit)
def test_a_model_safe_mode_cannot_load_is_recorded_without_it_and_the_live_page_says_so(arrays, tmp_path, open_app):
    import keras

    fit(user_model(keras.layers.Lambda(lambda t: t * 1.0)), arrays, [record(tmp_path, arrays, name="custom")])
    run = check_complete_run(tmp_path / "custom")
    assert run.model_path is None and not (run.path / run_store.MODEL_FILE).exists()
    assert run.no_model.startswith("recorded / custom has no model: its model cannot be saved and loaded in "
                                   "Keras' safe mode (")
    app = open_app(tmp_path, "views/live_predictions.py")
    picker = widget(app.selectbox, "Or pick a test image")
    picker.select(picker.options[0]).run()
    assert [info.value for info in app.info] == [run.no_model] and not app.error


@pytest.fixture
def arrays_store(tmp_path, arrays):
    """A store of a run recorded from arrays beside a hand-made trained run of the same test set."""
    x, y = arrays["test"]
    probabilities = np.full((len(y), 3), 0.1)
    probabilities[np.arange(len(y)), (y + (np.arange(len(y)) % 3 == 0)) % 3] = 0.8  # every third image wrong
    path = record_run("torch-net", labels=y, probabilities=probabilities, class_names=CLASSES, images=x,
                      parameters=1234,
                      history=[{"train_loss": 1.0, "val_loss": 1.2, "lr": 0.1}, {"train_loss": 0.5, "val_loss": 0.9,
                                                                              "lr": 0.05}],
                      validation=(arrays["validation"][1], one_hot(arrays["validation"][1]) * 0.7 + 0.1),
                      config={"framework": "pytorch"}, author="BO", store=tmp_path, dataset="colours")
    test_key = run_store.load_run(path).test_key
    write_fake_run(tmp_path, "cnn_v3-mine", labels=y, probabilities=one_hot(y), test_key=test_key,
                   ids=run_store.load_run(path).predictions.ids, class_names=CLASSES)
    return tmp_path


def test_a_run_from_arrays_keeps_the_contract(arrays_store, arrays):
    run = check_complete_run(arrays_store / "torch-net")
    assert (run.kind, run.author, run.no_model) == (run_store.KIND_RECORDED, "BO",
                                                    f"recorded / torch-net has no model: {FROM_ARRAYS}")
    assert run.metrics["accuracy"] == pytest.approx(4 / 6)  # images 0 and 3 of six answered wrong
    assert run.history[["epoch", "loss", "val_loss", "learning_rate"]].values.tolist() == [[0, 1.0, 1.2, 0.1],
                                                                                          [1, 0.5, 0.9, 0.05]]
    assert run.info["config"]["framework"] == "pytorch" and "tensorflow" not in run.info["hardware"]
    assert run.architecture["summary"] == {"epochs": 2, "total_params": 1234}
    np.testing.assert_array_equal(run_store.load_test_images(arrays_store, run.test_key).images, arrays["test"][0])


@pytest.mark.parametrize("page", MODEL_FREE_PAGES)
def test_a_run_from_arrays_shows_on_every_page_that_needs_only_predictions(open_app, arrays_store, page):
    app = open_app(arrays_store, page)
    assert widget(app.sidebar.multiselect, "Authors").value == ["ada", "BO"]
    assert widget(app.sidebar.multiselect, "Runs").value == ["cnn_v3-mine", "torch-net"]
    assert not app.warning and not app.error, [element.value for element in (*app.warning, *app.error)]
    shown = " ".join(element.value for element in (*app.caption, *app.info, *app.markdown))
    if page == "views/home.py":
        assert app.dataframe[0].value["run"].tolist() == ["cnn_v3-mine", "torch-net"]
        assert app.dataframe[0].value["author"].tolist() == ["ada", "BO"]
    elif page == "views/projection.py":
        assert f"recorded / torch-net has no test-set map: {FROM_ARRAYS}" in shown
    elif page == "views/architecture.py":
        assert f"No layers to show ({FROM_ARRAYS}): recorded / torch-net." in shown
    elif page == "views/head_to_head.py":
        assert "Of 6 test images, A gets 6 right and B 4." in shown


def test_an_ensemble_with_a_run_from_arrays_is_saved_with_its_predictions_alone(arrays_store):
    from trainers.analysis.ensemble import Ensemble
    from trainers.inference.ensemble_model import save_ensemble

    runs = {run.run_id: run for run in run_store.list_runs(arrays_store)[0]}
    saved = save_ensemble(Ensemble([runs["torch-net"], runs["cnn_v3-mine"]]), arrays_store, "both")
    check_complete_run(saved.path)
    assert saved.no_model == "ensemble / both has no model: its member recorded / torch-net has no Keras model to average"


@pytest.mark.parametrize("change, message", [
    ({"probabilities": [[0.5, 0.2, 0.1]] * 6}, "the test probabilities are neither probabilities (row 0 sums to 0.8"),
    ({"probabilities": [[np.nan, 0.5, 0.5]] * 6}, "the test probabilities hold NaN or infinite values in 6 rows"),
    ({"probabilities": [[0.5, 0.5]] * 6}, "the test probabilities have 2 columns, but 3 classes are named"),
    ({"labels": [0, 1, 2, 3, 0, 1]}, "a label is 3, outside the 3 classes (0 to 2)"),
    ({"labels": [0, 1]}, "(2,) labels for 6 images"),
    ({"ids": ["a", "b", "c", "d", "e", "a"]}, "the test ids are not unique ('a' appears twice or more)"),
    ({"class_names": ["blue", "blue", "red"]}, "the class names repeat: blue, blue, red"),
    ({"images": np.zeros((6, 8, 9, 3))}, "the images have shape (6, 8, 9, 3); expected 6 square RGB images"),
    ({"images": np.full((6, 8, 8, 3), -2.0)}, "the images range from -2 to -2: give raw pixels"),
    ({"history": {"loss": ["high", "low"]}}, "the history's column 'loss' holds values that are not numbers"),
    ({"validation": ([0], [[0.2, 0.2, 0.2]])}, "the validation probabilities are neither"),
    ({"parameters": 12.5}, "parameters=12.5 is not a count of parameters (a whole number, 0 or more)"),
    ({"predicted": ["red"] * 6}, "give probabilities= (or logits), or predicted= (the predicted labels alone), not both"),
    ({"probabilities": None, "predicted": ["red", "mauve", 7, 1, 1, 1]},
     "2 predicted labels are no class ('mauve'): give class names (blue, green, red) or indices 0 to 2 in that order"),
    ({"probabilities": None, "predicted": [0, 1, 2, 0, 1, 2], "validation": ([0], [[0.8, 0.1, 0.1]])},
     "validation= fits a temperature to probabilities; a run of predicted labels has none"),
])
def test_record_run_refuses_what_does_not_fit_in_one_line_and_writes_nothing(tmp_path, change, message):
    given = {"labels": [0, 1, 2, 0, 1, 2], "probabilities": one_hot([0, 1, 2, 0, 1, 2]), "class_names": CLASSES,
             "images": np.zeros((6, 8, 8, 3), np.uint8), **change}
    with pytest.raises(ValueError) as refused:
        record_run("bad", store=tmp_path, **given)
    assert str(refused.value).startswith(message) and "\n" not in str(refused.value)
    assert not tmp_path.exists() or not any(tmp_path.iterdir())


def test_logits_become_probabilities_and_a_taken_name_is_refused(tmp_path):
    logits = [[2.0, 0.0, -1.0], [0.0, 3.0, 0.0]]
    path = record_run("logits", labels=[0, 2], probabilities=logits, class_names=CLASSES, image_size=8, store=tmp_path)
    expected = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(run_store.load_run(path).predictions.probabilities, expected, rtol=1e-6)
    assert json.loads((path / run_store.RUN_FILE).read_text())["model_file"] is None
    with pytest.raises(FileExistsError, match="name this one 'logits-2'"):
        record_run("logits", labels=[0, 2], probabilities=logits, class_names=CLASSES, image_size=8, store=tmp_path)
    record_run("logits", labels=[1, 1], probabilities=logits, class_names=CLASSES, image_size=8, store=tmp_path,
               overwrite=True)
    assert run_store.load_run(path).predictions.labels.tolist() == [1, 1]
    assert pd.read_csv(path / run_store.HISTORY_FILE).empty


@pytest.fixture(scope="module")
def folder_predictions(image_folder, tmp_path_factory):
    """The colour folder's test ids and labels, and predictions for them: right but for the first image."""
    from trainers.training.data import load_dataset

    data = load_dataset(f"folder:{image_folder}", image_size=8, cache_dir=tmp_path_factory.mktemp("cache"))
    scores = np.eye(3)[data.test.labels] * 0.7 + 0.1
    scores[0] = np.roll(scores[0], 1)  # the first test image answered wrong
    return data, pd.DataFrame(scores, columns=data.class_names).assign(id=data.test.ids.astype(str))


def import_args(image_folder, store, path, *extra):
    return ["--import-predictions", str(path), "--dataset", f"folder:{image_folder}", "--name", "elsewhere",
            "--artifacts", str(store), "--image-size", "8", *extra]


def test_predictions_from_a_csv_or_npz_join_the_runs_of_their_data_set(image_folder, folder_predictions, tmp_path,
                                                                      capsys):
    from trainers.evaluate import main

    data, table = folder_predictions
    # Columns in another order than the data set's and rows shuffled: both are matched by name.
    shuffled = table[["id", "red", "blue", "green"]].sample(frac=1, random_state=0)
    shuffled.to_csv(tmp_path / "preds.csv", index=False)
    pd.DataFrame({"loss": [1.0, 0.4], "val_accuracy": [0.5, 0.8]}).to_csv(tmp_path / "history.csv", index=False)
    assert main(import_args(image_folder, tmp_path / "store", tmp_path / "preds.csv", "--history",
                            str(tmp_path / "history.csv"), "--author", "KK")) == 0
    assert "test accuracy 0.9167" in capsys.readouterr().out  # 11 of 12
    run = check_complete_run(tmp_path / "store" / "elsewhere")
    assert run.test_key == data.test_key and run.author == "KK" and len(run.history) == 2
    np.testing.assert_allclose(run.predictions.probabilities, table[data.class_names].to_numpy(), rtol=1e-6)
    logits = np.log(table[data.class_names].to_numpy()) + 3  # the same as logits: the softmax gives them back
    np.savez(tmp_path / "preds.npz", ids=table["id"].to_numpy(str), logits=logits, class_names=np.array(data.class_names))
    assert main(import_args(image_folder, tmp_path / "store", tmp_path / "preds.npz")[:-6]
                + ["--name", "npz", "--artifacts", str(tmp_path / "store"), "--image-size", "8"]) == 0
    np.testing.assert_allclose(run_store.load_run(tmp_path / "store" / "npz").predictions.probabilities,
                               run.predictions.probabilities, rtol=1e-5)


def test_a_run_of_predicted_labels_alone_ranks_by_its_picks_and_says_it_has_no_probabilities(named_folder, open_app):
    """A published file of picks (`id,predicted`, class names or indices in the data set's order) or
    `record_run(predicted=...)`: its accuracy and F1 from its picks, no score that needs probabilities, and the
    pages that need them leave it out in one line."""
    root, stored, _ = named_folder
    store, picks = root.parent / "store", ["blue", "blue", "green", "red", "red", "red"]  # the fourth wrong
    (root.parent / "names.csv").write_text("id,predicted\n" + "".join(
        f"{test_id.removeprefix('test/')},{pick}\n" for test_id, pick in zip(stored, picks)))
    (root.parent / "indices.csv").write_text("id,predicted\n" + "".join(
        f"{test_id},{CLASSES.index(pick)}\n" for test_id, pick in zip(stored, picks)))
    for name in ("names", "indices"):
        import_predictions(root.parent / f"{name}.csv", f"folder:{root}", name, image_size=8, store=store,
                           cache_dir=root.parent / "cache")
    record_run("arrays", labels=[0, 0, 1, 1, 2, 2], predicted=[0, 0, 1, 2, 2, 2], class_names=CLASSES, image_size=8,
               dataset=f"folder:{root}", store=store, cache_dir=root.parent / "cache")
    for name in ("names", "indices", "arrays"):
        run = check_complete_run(store / name)
        assert run.no_probabilities == (f"recorded / {name} has no probabilities: it was recorded from its predicted "
                                        "labels alone")
        assert run.metrics["accuracy"] == pytest.approx(5 / 6)
        assert run.metrics["macro_f1"] == pytest.approx((1 + 2 / 3 + 0.8) / 3)  # blue, green (1 of 2), red (2 of 3)
        assert all(run.metrics[score] is None for score in ("log_loss", "ece", "mce", "brier"))
        assert run.predictions.predicted.tolist() == [0, 0, 1, 2, 2, 2]
    probabilities = write_fake_run(store, "probs", labels=[0, 0, 1, 1, 2, 2], ids=stored, class_names=CLASSES,
                                   test_key=run.test_key)
    assert probabilities.no_probabilities is None

    from trainers.analysis.ensemble import Ensemble

    with pytest.raises(ValueError, match="recorded / arrays has no probabilities: it was recorded from its predicted "
                                         "labels alone, and an ensemble is the mean of its members' probabilities"):
        Ensemble([probabilities, run])
    for page in ("views/calibration.py", "views/suspect_labels.py"):
        app = open_app(store, page)
        (left_out,) = [element.value for element in app.info if element.value.startswith("Not shown:")]
        named, why = left_out.removeprefix("Not shown: ").split(", recorded from ")
        assert sorted(named.split(", ")) == ["recorded / arrays", "recorded / indices", "recorded / names"]
        assert why == "predicted labels alone, without the probabilities " + (
            "calibration is measured on." if "calibration" in page else "label-quality scores are computed from.")
    app = open_app(store, "views/misclassified.py")
    widget(app.selectbox, "Run").set_value("recorded / arrays").run()
    assert app.caption[0].value.endswith("recorded / arrays has no probabilities: it was recorded from its predicted "
                                         "labels alone: the mistakes are in test-set order.")


def _bad_files(table, tmp_path):
    """Each bad predictions file, and the start of the one line that refuses it."""
    cases = {
        "unknown ids": (table.assign(id=table["id"].str.replace("test/blue/000.png", "test/blue/999.png")),
                        "1 ids are not test images of folder:"),
        "missing ids": (table.iloc[1:], "1 test images have no row (the first: 'test/blue/000.png')"),
        "classes": (table.rename(columns={"red": "crimson"}), "the file's classes (blue, green, crimson) are not the "
                                                             "data set's (blue, green, red)"),
        "NaN": (table.assign(red=[np.nan] + [0.1] * (len(table) - 1)), "the predictions of 'preds.csv' hold NaN"),
        "neither": (table.assign(red=0.5), "the predictions of 'preds.csv' are neither probabilities"),
        "no id": (table.drop(columns="id"), "'preds.csv' has no 'id' column"),
    }
    for case, (bad, message) in cases.items():
        path = tmp_path / case / "preds.csv"
        path.parent.mkdir()
        bad.to_csv(path, index=False)
        yield path, message
    (tmp_path / "preds.json").write_text("{}")
    yield tmp_path / "preds.json", "'preds.json' is neither a .csv nor a .npz file"


def test_every_bad_predictions_file_is_refused_in_one_line(image_folder, folder_predictions, tmp_path, capsys):
    from trainers.evaluate import main

    _, table = folder_predictions
    for path, message in _bad_files(table, tmp_path):
        assert main(import_args(image_folder, tmp_path / "store", path)) == 2, path
        error = capsys.readouterr().err
        assert error.startswith(f"error: {path}: {message}") and error.count("\n") == 1, (path, error)
    assert not (tmp_path / "store").exists() or not run_store.list_runs(tmp_path / "store")[0]


@pytest.fixture
def named_folder(tmp_path):
    """A tiny folder data set whose test images are blue/, green/, red/ 000.png and 001.png, but red's 001 is
    only.png: the one file name found once."""
    root = make_image_folder(tmp_path / "data", per_class=2, test_per_class=2)
    (root / "test" / "red" / "001.png").rename(root / "test" / "red" / "only.png")
    stored = ["test/blue/000.png", "test/blue/001.png", "test/green/000.png", "test/green/001.png",
              "test/red/000.png", "test/red/only.png"]
    scores = np.eye(3)[[0, 0, 1, 2, 2, 2]] * 0.7 + 0.1  # the fourth answered wrong
    table = pd.DataFrame(scores, columns=CLASSES).assign(id=stored)

    def import_ids(ids, name):
        (tmp_path / name).mkdir()
        table.assign(id=ids).to_csv(tmp_path / name / "preds.csv", index=False)
        return import_predictions(tmp_path / name / "preds.csv", f"folder:{root}", name, image_size=8,
                                  store=tmp_path / "store", cache_dir=tmp_path / "cache")
    return root, stored, import_ids


def test_ids_in_every_form_users_write_name_the_same_test_images(named_folder):
    root, stored, import_ids = named_folder
    forms = {
        "stored": stored,
        "class-file": [test_id.removeprefix("test/") for test_id in stored],
        "absolute": [str(root / test_id) for test_id in stored],
        "relative": [os.path.relpath(root / test_id) for test_id in stored],
        "mixed": ["blue/000.png", str(root / "test/blue/001.png"), "test/green/000.png", ".\\test\\green\\001.png",
                  f"{os.path.relpath(root)}/test/red/000.png", "only.png"],
    }
    runs = {form: run_store.load_run(import_ids(ids, form)) for form, ids in forms.items()}
    for form, run in runs.items():
        assert run.predictions.ids.tolist() == stored, form
        np.testing.assert_array_equal(run.predictions.probabilities, runs["stored"].predictions.probabilities)
    assert runs["stored"].info["test_accuracy"] == pytest.approx(5 / 6)


def test_an_id_naming_no_test_image_or_many_is_refused_with_the_forms_and_the_nearest(named_folder):
    root, stored, import_ids = named_folder
    bare = [test_id.rsplit("/", 1)[1] for test_id in stored]  # only.png is unique, 000.png and 001.png are not
    with pytest.raises(ValueError) as refused:
        import_ids(bare, "bare")
    assert str(refused.value) == (f"5 ids name more than one test image of folder:{root} (the first: '000.png', "
                                  f"which is any of 'test/blue/000.png', 'test/green/000.png', 'test/red/000.png'). "
                                  f"{ID_FORMS}")
    wrong = stored[:4] + ["train/red/000.png", "red/onyl.png"]  # a train image, a typo
    with pytest.raises(ValueError) as refused:
        import_ids(wrong, "wrong")
    assert str(refused.value) == (f"2 ids are not test images of folder:{root} (the first: 'red/onyl.png'; the nearest "
                                  f"test image: 'test/red/only.png'). Ids may read test/<class>/<file>, "
                                  f"<class>/<file>, a path inside the data set, or a file name found once.")
    assert not (root.parent / "store").exists() or not run_store.list_runs(root.parent / "store")[0]


def record_on_folder(root, name, labels, probabilities, **options):
    return record_run(name, labels=labels, probabilities=probabilities, class_names=options.pop("class_names", CLASSES),
                      dataset=f"folder:{root}", image_size=8, store=root.parent / "store",
                      cache_dir=root.parent / "cache", **options)


def test_record_run_on_a_folder_joins_its_test_set_by_ids_in_any_order_or_by_its_order(named_folder):
    root, stored, import_ids = named_folder
    imported = run_store.load_run(import_ids(stored, "imported"))
    scores = np.eye(3)[[0, 0, 1, 2, 2, 2]] * 0.7 + 0.1  # as the fixture's file: the fourth answered wrong
    labels = np.array([0, 0, 1, 1, 2, 2])
    order = np.array([4, 1, 5, 0, 3, 2])
    # <class>/<file> ids, shuffled, and the classes in another order than the data set's (red, green, blue).
    by_ids = record_on_folder(root, "by-ids", 2 - labels[order], scores[order][:, ::-1],
                              class_names=CLASSES[::-1], ids=[stored[i].removeprefix("test/") for i in order])
    # No ids: the arrays in the test set's order (classes by name, files in path order).
    in_order = record_on_folder(root, "in-order", labels, scores, images=np.zeros((6, 8, 8, 3), np.uint8))
    for path in (by_ids, in_order):
        run = run_store.load_run(path)
        assert run.test_key == imported.test_key, path.name
        assert run.predictions.ids.tolist() == stored and run.predictions.labels.tolist() == labels.tolist()
        np.testing.assert_allclose(run.predictions.probabilities, imported.predictions.probabilities, rtol=1e-6)
        assert run.info["test_accuracy"] == pytest.approx(5 / 6)


def test_record_run_on_a_folder_refuses_labels_or_ids_that_are_not_its_test_sets(named_folder):
    root, stored, _ = named_folder
    scores = np.eye(3)[[0, 0, 1, 2, 2, 2]] * 0.7 + 0.1
    with pytest.raises(ValueError) as refused:
        record_on_folder(root, "labels", [0, 0, 1, 2, 2, 1], scores)
    assert str(refused.value) == (f"2 labels are not the data set's (the first: 'test/green/001.png' is labelled red, "
                                  f"but folder:{root} has it as green)")
    with pytest.raises(ValueError, match="5 predictions for the 6 test images of folder:.*: give ids=, or the arrays in its test order"):
        record_on_folder(root, "short", [0, 0, 1, 1, 2], scores[:5])
    wrong = stored[:5] + ["red/onyl.png"]
    with pytest.raises(ValueError) as refused:
        record_on_folder(root, "wrong", [0, 0, 1, 1, 2, 2], scores, ids=wrong)
    assert str(refused.value) == (f"1 ids are not test images of folder:{root} (the first: 'red/onyl.png'; the nearest "
                                  f"test image: 'test/red/only.png'). {ID_FORMS}")
    assert not (root.parent / "store").exists() or not run_store.list_runs(root.parent / "store")[0]


def test_a_tensorboard_log_folder_of_keras_or_pytorch_is_a_history(tmp_path):
    import tensorflow as tf

    def write(folder, scalars):
        writer = tf.summary.create_file_writer(str(folder))
        with writer.as_default():
            for step, values in enumerate(scalars):
                for tag, value in values.items():
                    tf.summary.scalar(tag, value, step=step)
        writer.flush()

    # Keras' TensorBoard callback: train/ and validation/ folders, epoch_ tags.
    write(tmp_path / "keras" / "train", [{"epoch_loss": 1.0, "epoch_accuracy": 0.5, "epoch_learning_rate": 0.1},
                                         {"epoch_loss": 0.5, "epoch_accuracy": 0.75, "epoch_learning_rate": 0.05}])
    write(tmp_path / "keras" / "validation", [{"epoch_loss": 1.25, "epoch_accuracy": 0.25},
                                              {"epoch_loss": 0.75, "epoch_accuracy": 0.5}])
    # PyTorch's SummaryWriter as people use it: one folder, the split in the tag.
    write(tmp_path / "torch", [{"Loss/train": 1.0, "Loss/val": 1.25, "acc/val": 0.25, "lr": 0.1},
                               {"Loss/train": 0.5, "Loss/val": 0.75, "acc/val": 0.5, "lr": 0.05}])
    expected = {"epoch": [0, 1], "loss": [1.0, 0.5], "val_loss": [1.25, 0.75], "val_accuracy": [0.25, 0.5],
                "learning_rate": [0.1, 0.05]}
    for folder in ("keras", "torch"):
        path = record_run(folder, labels=[0, 1], probabilities=one_hot([0, 1]), class_names=CLASSES,
                          image_size=8, history=tmp_path / folder, store=tmp_path / "store")
        history = run_store.load_run(path).history
        pd.testing.assert_frame_equal(history[list(expected)], pd.DataFrame(expected), check_dtype=False, atol=1e-6)
    assert history["accuracy"].isna().all()  # PyTorch's run logged no train accuracy
    with pytest.raises(ValueError, match="holds no scalars"):
        record_run("empty", labels=[0, 1], probabilities=one_hot([0, 1]), class_names=CLASSES, image_size=8,
                   history=tmp_path / "store", store=tmp_path / "other")


def test_home_groups_the_runs_by_author_with_a_summary_per_author(open_app, arrays_store):
    app = open_app(arrays_store)
    widget(app.toggle, "Group by author").set_value(True).run()
    table, summary = app.dataframe[0].value, app.dataframe[1].value
    assert table[["run", "author"]].values.tolist() == [["cnn_v3-mine", "ada"], ["torch-net", "BO"]]
    assert summary[["author", "runs", "best run"]].values.tolist() == [["ada", 1, "cnn_v3-mine"],
                                                                       ["BO", 1, "torch-net"]]
    assert summary["best test accuracy"].tolist() == pytest.approx([1.0, 4 / 6])
