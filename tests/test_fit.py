"""Training into the run store: complete runs, every preset in every precision, resuming an interrupted run,
shipping the best epoch, and no run folder from a failed one."""

from __future__ import annotations

import numpy as np
import pytest

from colour_images import COLOURS, make_image_folder
from fake_runs import new_run
from run_checks import check_complete_run
from trainers.store import run_store
from trainers.training.data import load_dataset
from trainers.presets import PRESETS, TrainConfig, get_preset
from trainers.train import main
from trainers.inference.predict import load_model

TRANSFER_PRESETS = [name for name, config in PRESETS.items() if config.architecture in ("vgg16", "resnet50")]


def tiny_args(folder, store, cache):
    return ["--dataset", f"folder:{folder}", "--artifacts", str(store), "--cache-dir", str(cache),
            "--verbose", "0", "--epochs", "1", "--batch-size", "64", "--image-size", "16"]


def test_tiny_store_runs_are_complete_and_consistent(tiny_store):
    runs, broken = run_store.list_runs(tiny_store)
    assert broken == []
    assert sorted(run.run_id for run in runs) == ["fast", "plain"]
    for run in runs:
        check_complete_run(run.path)
        assert run.class_names == sorted(COLOURS)
        assert run.history["epoch"].tolist() == list(range(run.config["epochs"]))
        assert run.info["author"] == "tester"
        assert run.info["images_per_second"] > 0
        assert list((run.path / run_store.TENSORBOARD_DIR).rglob("events.out.tfevents.*"))
    test_images = run_store.load_test_images(tiny_store, runs[0].test_key)
    assert test_images.images.shape == (12, 16, 16, 3) and test_images.images.dtype == np.uint8
    assert list(test_images.ids) == list(runs[0].predictions.ids)


def _sublayers(model):
    for layer in model.layers:
        yield layer
        if hasattr(layer, "layers"):
            yield from _sublayers(layer)


# Each precision once, forced: a plain network and one with a nested transfer base in mixed bfloat16, and in
# bfloat16 matrix products; the others in float32.
PRECISION = {"cnn_air": "mixed_bfloat16", "resnet50_transfer": "mixed_bfloat16", "cnn_v4": "bfloat16_matmuls",
             "resnet50_finetune": "bfloat16_matmuls"}


@pytest.mark.slow  # trains
@pytest.mark.parametrize("preset", ["cnn_v4", "cnn_air", *TRANSFER_PRESETS])
def test_every_other_preset_trains_one_step_into_a_run_folder(preset, image_folder, tmp_path):
    extra = ["--weights", "none", "--base-size", "32"] if preset in TRANSFER_PRESETS else []
    extra += ["--precision", PRECISION.get(preset, "float32")]
    if preset == "cnn_air":
        # Its cutout layer too saves and reloads in safe mode; its training-only optimizer is not shipped.
        extra += ["--cutout", "4", "--bias-lr-scale", "64", "--lookahead", "--widths", "8,16,12",
                  "--stage-convs", "3"]
    if get_preset(preset).finetune_epochs:
        extra += ["--finetune-epochs", "1"]
    assert main([preset, "--name", "one", *tiny_args(image_folder, tmp_path, tmp_path / "cache"), *extra]) == 0
    run = run_store.load_run(tmp_path / "one")
    assert run.preset == preset
    assert len(run.history) == 1 + (1 if get_preset(preset).finetune_epochs else 0)
    assert run.predictions.probabilities.shape == (12, 3)
    # The saved model reloads in safe mode and reproduces the stored predictions from raw pixels.
    images = run_store.load_test_images(tmp_path, run.test_key).images.astype("float32")
    model = load_model(run)
    reloaded = model.predict(images, verbose=0)
    np.testing.assert_allclose(reloaded, run.predictions.probabilities, atol=1e-4)
    # Whatever precision it trained in, the shipped model computes in float32.
    assert run.config["precision"] == PRECISION.get(preset, "float32")
    assert {layer.dtype_policy.name for layer in _sublayers(model)} == {"float32"}
    assert run.architecture["summary"]["optimizer"] == ("sgd + lookahead" if preset == "cnn_air" else run.config["optimizer"])
    if preset == "cnn_air":
        assert TrainConfig.from_dict(run.config).widths == (8, 16, 12)
        assert TrainConfig.from_dict(run.config).stage_convs == 3
        assert [layer.filters for layer in _sublayers(model) if layer.name.startswith("stage")
                and layer.name.endswith("conv3")] == [8, 16, 12]
        assert [layer.name for layer in _sublayers(model) if "residual" in layer.name] == [
            "stage1_residual", "stage2_residual", "stage3_residual"]


@pytest.mark.slow  # trains
@pytest.mark.parametrize("lookahead", [False, True])
def test_interrupted_run_leaves_no_run_folder_and_resumes(image_folder, tmp_path, monkeypatch, lookahead):
    import keras

    from trainers.training import fit
    from trainers.training.fit import train

    class InterruptAfterFirstEpoch(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            raise KeyboardInterrupt

    class RecordedLookahead(fit.Lookahead):
        starts = []

        def on_train_begin(self, logs=None):
            super().on_train_begin(logs)
            self.starts.append(self._step)

    monkeypatch.setattr(fit, "Lookahead", RecordedLookahead)
    config = get_preset("cnn_v3").with_overrides(epochs=2, batch_size=64, image_size=16, lookahead=lookahead)
    data = load_dataset(f"folder:{image_folder}", image_size=16, cache_dir=tmp_path / "cache")
    store = tmp_path / "store"
    writer = new_run(store, "resumable", config, data)
    with pytest.raises(KeyboardInterrupt):
        train(writer, data, verbose=0, extra_callbacks=(InterruptAfterFirstEpoch(),))
    assert run_store.list_runs(store) == ([], [])
    assert writer.path.is_dir()

    assert main(["--resume", str(writer.path), "--verbose", "0", "--cache-dir", str(tmp_path / "cache")]) == 0
    runs, _ = run_store.list_runs(store)
    assert [run.run_id for run in runs] == ["resumable"]
    assert runs[0].history["epoch"].tolist() == [0, 1]  # epoch 0 is not trained again
    assert not (store / run_store.PARTIAL_DIR).exists()
    # The resumed lookahead picks up the restored step, so its averaging schedule goes on, not over.
    steps_per_epoch = -(-len(data.train) // 64)
    assert RecordedLookahead.starts == ([0, steps_per_epoch] if lookahead else [])


@pytest.mark.slow  # trains
def test_keep_best_ships_the_weights_of_the_best_validation_epoch(tmp_path):
    import keras

    from trainers.training.fit import train

    class RecordWeights(keras.callbacks.Callback):
        weights = []

        def on_epoch_end(self, epoch, logs=None):
            self.weights.append(self.model.get_weights())

    class ZeroTheLastEpoch(keras.callbacks.Callback):
        """All kernels at zero: the last epoch predicts one class for every image (chance accuracy)."""

        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 2:
                self.model.set_weights([np.zeros_like(w) for w in self.model.get_weights()])

    folder = make_image_folder(tmp_path / "colours", per_class=20)
    config = get_preset("cnn_v3").with_overrides(epochs=3, batch_size=8, image_size=16, keep_best=True)
    data = load_dataset(f"folder:{folder}", image_size=16, cache_dir=tmp_path / "cache")
    writer = new_run(tmp_path / "store", "best", config, data)
    train(writer, data, verbose=0, extra_callbacks=(RecordWeights(), ZeroTheLastEpoch()))

    run = run_store.load_run(tmp_path / "store" / "best")
    accuracy = run.history["val_accuracy"].to_numpy()
    assert accuracy[2] < accuracy.max()
    assert run.info["best_epoch"] == int(np.argmax(accuracy)) < 2
    shipped = load_model(run).get_weights()
    for kept, recorded in zip(shipped, RecordWeights.weights[run.info["best_epoch"]], strict=True):
        np.testing.assert_array_equal(kept, recorded)


@pytest.mark.slow  # trains
def test_failed_run_leaves_no_run_folder(image_folder, tmp_path):
    import keras

    from trainers.training.fit import train

    class Explode(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            raise RuntimeError("disk full")

    config = get_preset("cnn_v3").with_overrides(epochs=1, image_size=16)
    data = load_dataset(f"folder:{image_folder}", image_size=16, cache_dir=tmp_path / "cache")
    writer = new_run(tmp_path / "store", "doomed", config, data)
    with pytest.raises(RuntimeError, match="disk full"):
        train(writer, data, verbose=0, extra_callbacks=(Explode(),))
    assert run_store.list_runs(tmp_path / "store") == ([], [])


def test_training_pipeline_is_not_autotuned_and_feeds_every_image_once_an_epoch():
    """Autotuning stalled each epoch's new iterator (docs/results.md, the trainer against plain Keras)."""
    from trainers.training.data import Split
    from trainers.training.fit import tf_dataset

    images = np.arange(10, dtype=np.uint8)[:, None, None, None] * np.ones((1, 2, 2, 3), np.uint8)
    split = Split(images, np.arange(10) % 3, np.array([str(i) for i in range(10)]))
    data = tf_dataset(split, 3, 4, shuffle=True, seed=0)
    assert data.options().autotune.enabled is False
    for _ in range(2):  # each epoch's iterator reshuffles, and still sees each image once
        batches = list(data)
        assert [len(x) for x, _ in batches] == [4, 4, 2]
        pixels = np.concatenate([x.numpy() for x, _ in batches])
        assert pixels.dtype == np.float32
        assert sorted(pixels[:, 0, 0, 0].astype(int)) == list(range(10))
        labels = np.concatenate([y.numpy() for _, y in batches])
        np.testing.assert_array_equal(labels.argmax(axis=1), pixels[:, 0, 0, 0].astype(int) % 3)
