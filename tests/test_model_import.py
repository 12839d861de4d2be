"""Your own models: a Keras classifier built here joins the store as a run, or is refused in one line."""

from __future__ import annotations

import numpy as np
import pytest

from dashboard.lib import runs
from trainers.store import run_store
from trainers.training.model_import import import_model
from trainers.inference.predict import load_model


def colour_model(path, outputs: int = 3, size: int = 16):
    """Logits = each channel's mean on 0-1 inputs: the brightest channel names the class (red, green, blue)."""
    import keras

    inputs = keras.Input((size, size, 3))
    pooled = keras.layers.GlobalAveragePooling2D()(inputs)
    kernel = np.eye(3, outputs, dtype="float32")
    logits = keras.layers.Dense(outputs, use_bias=False, kernel_initializer=keras.initializers.Constant(kernel))(pooled)
    keras.Model(inputs, logits, name="colours").save(path)
    return path


def test_an_imported_model_becomes_a_run_that_takes_raw_pixels(image_folder, tmp_path):
    model_file = colour_model(tmp_path / "mine.keras")
    store = tmp_path / "store"
    path = import_model(model_file, f"folder:{image_folder}", store, "mine", input_scale="0-1",
                        class_names=["red", "green", "blue"], cache_dir=tmp_path / "cache", author="ada")
    readable, broken = runs.readable_runs(store)
    assert [run.run_id for run in readable] == ["mine"] and broken == []
    run = readable[0]
    assert run.preset == run.kind == "imported" and run.history.empty and run.info["epochs_run"] == 0
    assert run.class_names == ["blue", "green", "red"]  # the data set's order, whatever the model's
    # Each colour image's brightest channel is its class: every test image right.
    assert run.metrics["accuracy"] == 1.0
    assert run.architecture["summary"]["total_params"] == 9
    # The stored model takes raw 0-255 pixels and returns probabilities in the data set's order.
    images = run_store.load_test_images(store, run.test_key).select(run.predictions.ids)
    reloaded = load_model(run).predict(images.astype("float32"), verbose=0)
    np.testing.assert_allclose(reloaded, run.predictions.probabilities, atol=1e-5)
    np.testing.assert_allclose(reloaded.sum(axis=1), 1, atol=1e-5)
    means = images.reshape(len(images), -1, 3).mean(axis=1) / 255  # red, green, blue
    expected = np.exp(means[:, ::-1]) / np.exp(means).sum(axis=1, keepdims=True)  # softmax, blue green red
    np.testing.assert_allclose(run.predictions.probabilities, expected, atol=1e-4)
    assert path == store / "mine"


@pytest.mark.parametrize("outputs, class_names, size, message", [
    (2, None, 16, "the model returns 2 outputs, but 3 classes are named (blue, green, red)"),
    (3, ["red", "green", "owl"], 16, "the model's classes (red, green, owl) are not the data set's (blue, green, red)"),
    (3, None, 0, "the model takes inputs of shape (None, None, None, 3), not square RGB images"),
])
def test_a_model_that_does_not_fit_the_data_set_is_refused_in_one_line(image_folder, tmp_path, outputs,
                                                                       class_names, size, message):
    model_file = colour_model(tmp_path / "mine.keras", outputs=outputs, size=size or None)
    with pytest.raises(ValueError) as refused:
        import_model(model_file, f"folder:{image_folder}", tmp_path / "store", "mine", class_names=class_names,
                     cache_dir=tmp_path / "cache")
    assert message in str(refused.value) and len(str(refused.value).splitlines()) == 1
    assert run_store.list_runs(tmp_path / "store") == ([], [])


def test_the_command_line_imports_a_model_and_refuses_a_bad_one_in_one_line(image_folder, tmp_path, capsys):
    from trainers.evaluate import main as evaluate

    model_file = colour_model(tmp_path / "mine.keras")
    common = ["--dataset", f"folder:{image_folder}", "--artifacts", str(tmp_path / "store"),
              "--cache-dir", str(tmp_path / "cache"), "--input-scale", "0-1"]
    assert evaluate(["--import", str(model_file), "--name", "mine", "--class-names", "red,green,blue", *common]) == 0
    assert "test accuracy 1.0000" in capsys.readouterr().out
    run = run_store.load_run(tmp_path / "store" / "mine")
    assert run.info["command"].startswith("python -m trainers.evaluate --import")
    assert (run.path / run_store.TENSORBOARD_DIR).is_dir()  # its record for TensorBoard's HParams
    # It can be evaluated again, like any run, though it records no split of its own.
    assert evaluate([str(run.path), "--cache-dir", str(tmp_path / "cache")]) == 0
    assert run_store.load_run(run.path).metrics["accuracy"] == 1.0

    # Without --class-names the outputs are taken in the data set's order (blue, green, red): only green is right.
    assert evaluate(["--import", str(model_file), "--name", "again", *common]) == 0
    assert run_store.load_run(tmp_path / "store" / "again").metrics["accuracy"] == pytest.approx(1 / 3)
    # Its layers sit inside the model the import wraps: no test-set map, said in one line; the run is complete.
    assert "again: no test-set map: it has no single network" in capsys.readouterr().err
    assert evaluate(["--import", str(tmp_path / "nothing.keras"), "--name", "x", *common]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("error:") and "is not a .keras file" in error and len(error.splitlines()) == 1
