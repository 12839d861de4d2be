"""The trainers: presets, data loading, training into the run store, evaluation, and the CLI's errors."""

from __future__ import annotations

import dataclasses
import json
import shutil

import numpy as np
import pytest

from colour_images import COLOURS, make_image_folder
from fake_runs import new_run
from trainers.store import run_store
from trainers.training.data import load_dataset
from trainers.presets import PRESETS, TrainConfig, get_preset
from trainers.train import main
from trainers.inference.predict import load_model

TRANSFER_PRESETS = [name for name, config in PRESETS.items() if config.architecture in ("vgg16", "resnet50")]


def tiny_args(folder, store, cache):
    return ["--dataset", f"folder:{folder}", "--artifacts", str(store), "--cache-dir", str(cache),
            "--verbose", "0", "--epochs", "1", "--batch-size", "64", "--image-size", "16"]


@pytest.mark.parametrize("preset, params", [("cnn_v3", 2_196_810), ("cnn_v4", 2_200_394)])
def test_study_cnns_have_the_studys_parameter_counts(preset, params):
    from trainers.training.models import build_model

    assert build_model(get_preset(preset), 10).count_params() == params


@pytest.mark.parametrize("preset", ["cnn_fast", "cnn_air"])
def test_our_presets_stay_within_the_parameter_budget(preset):
    from trainers.training.models import build_model

    assert build_model(get_preset(preset), 10).count_params() <= 2_200_000


def test_whitening_conv_decorrelates_and_centres_the_image_patches():
    import keras

    from trainers.training.models import WHITENING, build_model

    rng = np.random.default_rng(0)
    # Correlated channels, as in photos: a shared brightness plus a little colour of its own.
    brightness = rng.normal(120, 40, (200, 16, 16, 1))
    images = np.clip(brightness + rng.normal(0, 15, (200, 16, 16, 3)), 0, 255).astype(np.uint8)
    model = build_model(get_preset("cnn_air").with_overrides(image_size=16), 3, train_images=images)
    whitening = keras.Model(model.input, model.get_layer(WHITENING).output)
    responses = whitening.predict(images.astype("float32"), verbose=0).reshape(-1, 24)
    assert np.abs(responses.mean(axis=0)).max() < 0.01
    # The first 12 filters whiten (identity covariance); the other 12 are their negatives.
    np.testing.assert_allclose(np.cov(responses[:, :12], rowvar=False), np.eye(12), atol=0.01)
    np.testing.assert_allclose(responses[:, 12:], -responses[:, :12], atol=1e-4)
    assert not model.get_layer(WHITENING).trainable


def test_airbench_convs_start_as_partial_identities():
    from trainers.training.models import build_model

    model = build_model(get_preset("cnn_air"), 10)
    kernel = model.get_layer("stage2_conv1").get_weights()[0]
    inputs = kernel.shape[2]
    assert kernel.shape[:2] == (3, 3) and kernel.shape[3] > inputs  # 64 channels in, more out
    np.testing.assert_array_equal(kernel[1, 1, :, :inputs], np.eye(inputs))
    assert np.count_nonzero(kernel[..., :inputs]) == inputs  # nothing else in those filters
    assert np.count_nonzero(kernel[..., inputs:]) == kernel[..., inputs:].size  # the rest keep their random init


@pytest.mark.parametrize("interpolation, blends", [("nearest", False), ("bilinear", True)])
def test_shift_augmentation_moves_whole_pixels_only_when_nearest(interpolation, blends):
    from trainers.training.models import build_model

    config = dataclasses.replace(get_preset("cnn_v4"), shift_interpolation=interpolation)
    shift = build_model(config, 10).get_layer("random_shift")
    images = np.arange(8 * 32 * 32 * 3, dtype=np.float32).reshape(8, 32, 32, 3)  # every value distinct
    shifted = np.asarray(shift(images, training=True))
    assert not np.array_equal(shifted, images)
    assert np.isin(shifted, images).all() != blends  # bilinear makes values between neighbours
    assert np.array_equal(np.asarray(shift(images, training=False)), images)


def test_cutout_greys_one_whole_square_per_training_image_only():
    from trainers.training.models import build_model

    config = get_preset("cnn_air").with_overrides(cutout=10)
    cutout = build_model(config, 10).get_layer("cutout")
    images = np.zeros((6, 32, 32, 3), dtype=np.float32)
    erased = np.asarray(cutout(images, training=True)) != 0
    for mask in erased:
        rows, cols = np.nonzero(mask.any(axis=-1))
        assert mask.all(axis=-1).sum() == 100  # every channel of a 10x10 square, nothing else
        assert (rows.max() - rows.min(), cols.max() - cols.min()) == (9, 9)
    assert len({tuple(np.argwhere(mask)[0]) for mask in erased}) > 1  # a square of its own per image
    assert np.array_equal(np.asarray(cutout(images, training=False)), images)
    assert "cutout" not in [layer.name for layer in build_model(get_preset("cnn_v4"), 10).layers]
    with pytest.raises(ValueError, match="cutout must be 0 to 31 pixels, got 32"):
        config.with_overrides(cutout=32)
    with pytest.raises(ValueError, match="cutout is a training augmentation: it needs augmentation"):
        get_preset("cnn_v3").with_overrides(cutout=8)


def test_float32_copy_keeps_every_weight_and_predicts_like_the_mixed_precision_model():
    import keras

    from trainers.training.models import build_model, float32_copy

    config = get_preset("cnn_air").with_overrides(precision="mixed_bfloat16")
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        mixed = build_model(config, 10, train_images=np.random.default_rng(0).integers(0, 256, (64, 32, 32, 3)))
    finally:
        keras.config.set_dtype_policy("float32")
    copy = float32_copy(mixed, config, 10)
    assert keras.config.dtype_policy().name == "float32"
    for kept, trained in zip(copy.weights, mixed.weights, strict=True):
        np.testing.assert_array_equal(kept.numpy(), trained.numpy())
    images = np.random.default_rng(1).integers(0, 256, (8, 32, 32, 3)).astype("float32")
    np.testing.assert_allclose(copy.predict(images, verbose=0), mixed.predict(images, verbose=0), atol=0.02)


def _tiny_bn_model(seed=0):
    import keras

    keras.utils.set_random_seed(seed)
    inputs = keras.Input((4,))
    x = keras.layers.Dense(3, name="dense")(inputs)
    x = keras.layers.BatchNormalization(scale=False, name="bn")(x)
    return keras.Model(inputs, keras.layers.Dense(2, name="out")(x))


def test_bias_scaled_sgd_speeds_up_only_the_batchnorm_offsets():
    from trainers.training.optimization import make_optimizer

    config = get_preset("cnn_air").with_overrides(schedule="constant", learning_rate=0.1, weight_decay=0.0,
                                                  momentum=0.0)
    x, y = np.random.default_rng(0).normal(size=(16, 4)), np.random.default_rng(1).normal(size=(16, 2))
    moved = {}
    for scale in (1.0, 64.0):
        model = _tiny_bn_model()
        before = {v.path: v.numpy().copy() for v in model.trainable_weights}
        model.compile(optimizer=make_optimizer(dataclasses.replace(config, bias_lr_scale=scale), steps=1), loss="mse")
        model.train_on_batch(x, y)
        moved[scale] = {v.path: v.numpy() - before[v.path] for v in model.trainable_weights}
    assert set(moved[1.0]) == {"dense/kernel", "dense/bias", "bn/beta", "out/kernel", "out/bias"}
    for path, step in moved[1.0].items():
        assert np.abs(step).max() > 0
        np.testing.assert_allclose(moved[64.0][path], step * (64 if path == "bn/beta" else 1), rtol=1e-4)
    with pytest.raises(ValueError, match="bias_lr_scale works with optimizer sgd only, got 'adam'"):
        get_preset("cnn_v4").with_overrides(optimizer="adam", bias_lr_scale=64)


def test_lookahead_pulls_the_weights_back_to_their_running_average_and_ends_on_it():
    from trainers.training.optimization import Lookahead

    model = _tiny_bn_model()
    model.compile(optimizer="sgd", loss="mse")
    x, y = np.random.default_rng(0).normal(size=(40, 4)), np.random.default_rng(1).normal(size=(40, 2))
    lookahead = Lookahead(total_steps=10, every=5)
    start = [v.numpy().copy() for v in model.weights]
    model.fit(x, y, batch_size=4, epochs=1, verbose=0, shuffle=False, callbacks=[lookahead])
    # Every float variable takes part (BatchNorm's moving statistics too), and training ends on the slow weights.
    assert len(lookahead._variables) == len(model.weights) == 7
    changed = set()
    for variable, slow, first in zip(model.weights, lookahead._slow, start, strict=True):
        np.testing.assert_array_equal(variable.numpy(), slow)
        if not np.allclose(slow, first):
            changed.add(variable.path)
    assert {"dense/kernel", "bn/beta", "bn/moving_mean", "bn/moving_variance", "out/kernel"} <= changed
    # One update moves the slow weights (1 - decay) of the way to the fast ones, and the fast ones onto them.
    fast = [slow + 1.0 for slow in lookahead._slow]
    expected = [slow + 0.25 * (f - slow) for slow, f in zip(lookahead._slow, fast)]
    for variable, value in zip(lookahead._variables, fast):
        variable.assign(value)
    lookahead._update(decay=0.75)
    for variable, value in zip(lookahead._variables, expected, strict=True):
        np.testing.assert_allclose(variable.numpy(), value, rtol=1e-6)


def test_overrides_replace_fields_and_reject_bad_values():
    config = get_preset("cnn_v3").with_overrides(epochs=3, learning_rate=0.01, optimizer=None)
    preset = get_preset("cnn_v3")
    assert (config.epochs, config.learning_rate) == (3, 0.01)
    assert config.optimizer == preset.optimizer  # None leaves a field as it is
    assert dataclasses.replace(config, epochs=preset.epochs, learning_rate=preset.learning_rate) == preset
    with pytest.raises(ValueError, match="Unknown optimizer 'lbfgs'"):
        get_preset("cnn_v3").with_overrides(optimizer="lbfgs")
    with pytest.raises(ValueError, match="Unknown shift_interpolation 'cubic'"):
        get_preset("cnn_v4").with_overrides(shift_interpolation="cubic")
    with pytest.raises(ValueError, match="Unknown preset 'vgg99'"):
        get_preset("vgg99")


def test_tiny_store_runs_are_complete_and_consistent(tiny_store):
    runs, broken = run_store.list_runs(tiny_store)
    assert broken == []
    assert sorted(run.run_id for run in runs) == ["fast", "plain"]
    for run in runs:
        assert run.class_names == sorted(COLOURS)
        assert set(run_store.HISTORY_COLUMNS) <= set(run.history.columns)
        assert run.history["epoch"].tolist() == list(range(run.config["epochs"]))
        predictions = run.predictions
        assert predictions.probabilities.shape == (len(predictions.labels), 3)
        np.testing.assert_allclose(predictions.probabilities.sum(axis=1), 1, atol=1e-4)
        accuracy = (predictions.predicted == predictions.labels).mean()
        assert run.metrics["accuracy"] == pytest.approx(accuracy)
        assert np.array(run.metrics["confusion_matrix"]).sum() == len(predictions.labels)
        assert run.info["author"] == "tester" and run.info["status"] == run_store.STATUS_COMPLETE
        assert run.info["images_per_second"] > 0
        assert list((run.path / run_store.TENSORBOARD_DIR).rglob("events.out.tfevents.*"))
    test_images = run_store.load_test_images(tiny_store, runs[0].test_key)
    assert test_images.images.shape == (12, 16, 16, 3) and test_images.images.dtype == np.uint8
    assert list(test_images.ids) == list(runs[0].predictions.ids)


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
    (old / run_store.METRICS_FILE).write_text(json.dumps({renamed.get(k, k): v for k, v in metrics.items()}))
    for _ in range(2):
        assert evaluate([str(old), "--upgrade"]) == 0
    assert run_store.load_run(old).written_version == run_store.SCHEMA_VERSION
    assert json.loads((old / run_store.METRICS_FILE).read_text()) == metrics
    assert hparams_sessions(old) == ({"old": recorded}, scalars)


def test_saved_model_loads_with_plain_keras_and_predicts_raw_pixels(tiny_store):
    import keras

    run = run_store.load_run(tiny_store / "fast")  # with flip and shift test-time augmentation inside
    model = keras.models.load_model(run.model_path)
    images = run_store.load_test_images(tiny_store, run.test_key).images
    probabilities = model.predict(images.astype("float32"), verbose=0)
    np.testing.assert_allclose(probabilities, run.predictions.probabilities, atol=1e-4)


def test_predict_feeds_raw_pixels_in_batches_and_keeps_their_order():
    import keras

    from trainers.inference.predict import predict

    inputs = keras.Input((2, 2, 3))
    flat = keras.layers.Flatten()(inputs)
    mean = keras.layers.Dense(1, use_bias=False, kernel_initializer=keras.initializers.Constant(1 / 12))(flat)
    model = keras.Model(inputs, mean)  # each image's mean pixel value
    images = np.arange(7 * 12, dtype=np.uint8).reshape(7, 2, 2, 3)
    probabilities = predict(model, images, batch_size=3)  # batches of 3, 3 and 1
    assert probabilities.dtype == np.float32
    np.testing.assert_allclose(probabilities[:, 0], [5.5 + 12 * i for i in range(7)], rtol=1e-6)
    assert predict(model, images[:0]).shape == (0, 1)


def test_tta_averages_flipped_and_reflect_shifted_views(tmp_path):
    import keras

    from trainers.inference.network import with_tta

    inputs = keras.Input((4, 5, 1))
    flatten = keras.Model(inputs, keras.layers.Flatten()(inputs))  # a "model" that shows what it was given
    image = np.arange(20, dtype="float32").reshape(1, 4, 5, 1)
    padded = np.pad(image, ((0, 0), (1, 1), (1, 1), (0, 0)), mode="reflect")
    views = [image, padded[:, :4, :5], padded[:, 2:, 2:]]  # as is, moved up-left, moved down-right
    views += [view[:, :, ::-1] for view in views]
    expected = np.mean([view.reshape(1, -1) for view in views], axis=0)

    wrapped = with_tta(flatten, flip=True, shift=1)
    np.testing.assert_allclose(wrapped.predict(image, verbose=0), expected)
    wrapped.save(tmp_path / "tta.keras")
    reloaded = keras.models.load_model(tmp_path / "tta.keras", safe_mode=True)
    np.testing.assert_allclose(reloaded.predict(image, verbose=0), expected)
    assert with_tta(flatten, flip=False, shift=0) is flatten


def test_architecture_records_the_studys_summary_row(tiny_store):
    summary = run_store.load_run(tiny_store / "plain").architecture["summary"]
    assert (summary["conv_layers"], summary["dense_layers"]) == (6, 2)
    assert summary["augmentation"] is False and summary["batch_norm"] is False
    assert summary["optimizer"] == get_preset("cnn_v3").optimizer and summary["epochs"] == 3
    layers = run_store.load_run(tiny_store / "plain").architecture["layers"]
    assert sum(row["params"] for row in layers) == summary["total_params"]


def _sublayers(model):
    for layer in model.layers:
        yield layer
        if hasattr(layer, "layers"):
            yield from _sublayers(layer)


# Each precision once, forced: a plain network and one with a nested transfer base in mixed bfloat16, and in
# bfloat16 matrix products; the others in float32.
PRECISION = {"cnn_air": "mixed_bfloat16", "resnet50_transfer": "mixed_bfloat16", "cnn_v4": "bfloat16_matmuls",
             "resnet50_finetune": "bfloat16_matmuls"}


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


def test_transfer_base_loads_a_weights_file(tmp_path):
    import keras

    from trainers.training.models import build_model

    saved = keras.applications.VGG16(include_top=False, weights=None, input_shape=(32, 32, 3))
    weights_file = tmp_path / "vgg16_notop.weights.h5"
    saved.save_weights(weights_file)
    config = get_preset("vgg16_transfer").with_overrides(weights=str(weights_file), base_size=32)
    model = build_model(config, 3)
    base = next(layer for layer in model.layers if isinstance(layer, keras.Model))
    for loaded, expected in zip(base.weights, saved.weights):
        np.testing.assert_array_equal(loaded.numpy(), expected.numpy())
    assert not base.trainable


def test_folder_with_mixed_sizes_modes_and_formats_loads(tmp_path, monkeypatch):
    folder = make_image_folder(tmp_path / "mixed", per_class=6, test_per_class=6, mixed=True)
    data = load_dataset(f"folder:{folder}", image_size=20, cache_dir=tmp_path / "cache", validation_fraction=0.2)
    assert data.class_names == sorted(COLOURS)
    assert data.train.images.shape[1:] == (20, 20, 3) and data.train.images.dtype == np.uint8
    assert len(data.train) + len(data.validation) == 18 and len(data.test) == 18
    assert set(data.validation.ids).isdisjoint(data.train.ids)
    red = data.class_names.index("red")
    red_means = data.test.images[data.test.labels == red].reshape(-1, 3).mean(axis=0)
    assert red_means[0] > 150 and red_means[1] < 90  # red stays red in every mode, transparency included
    # A second load comes from the cache: decoding is not called again.
    monkeypatch.setattr("trainers.training.data._decode", lambda *a: pytest.fail("decoded again"))
    again = load_dataset(f"folder:{folder}", image_size=20, cache_dir=tmp_path / "cache", validation_fraction=0.2)
    np.testing.assert_array_equal(again.test.images, data.test.images)


def test_limit_takes_at_most_n_per_class(image_folder, tmp_path):
    data = load_dataset(f"folder:{image_folder}", image_size=16, limit=2, cache_dir=tmp_path)
    assert np.bincount(data.test.labels).tolist() == [2, 2, 2]
    assert len(data.train) + len(data.validation) == 6


@pytest.mark.parametrize("lookahead", [False, True])
def test_interrupted_run_leaves_no_run_folder_and_resumes(image_folder, tmp_path, monkeypatch, lookahead):
    import keras

    from trainers.training import fit as training
    from trainers.training.fit import train

    class InterruptAfterFirstEpoch(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            raise KeyboardInterrupt

    class RecordedLookahead(training.Lookahead):
        starts = []

        def on_train_begin(self, logs=None):
            super().on_train_begin(logs)
            self.starts.append(self._step)

    monkeypatch.setattr(training, "Lookahead", RecordedLookahead)
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


def _single_class(root):
    make_image_folder(root)
    for split in ("train", "test"):
        for name in ("green", "blue"):
            shutil.rmtree(root / split / name)


def _empty_class(root):
    make_image_folder(root)
    for image in (root / "train" / "green").iterdir():
        image.unlink()


@pytest.mark.parametrize("argv, make_folder, message", [
    (["vgg99"], None, "Unknown preset 'vgg99'"),
    (["cnn_v3", "--dataset", "folder:{root}/nowhere"], None, "does not exist"),
    (["cnn_v3", "--dataset", "folder:{root}"], _empty_class, "has no images"),
    (["cnn_v3", "--dataset", "folder:{root}"], _single_class, "at least 2"),
    (["cnn_v3", "--dataset", "folder:{root}", "--limit", "0"], make_image_folder, "--limit must be at least 1"),
    (["cnn_v3", "--dataset", "imagenet"], None, "Unknown dataset 'imagenet'"),
    (["cnn_v3", "--dataset", "folder:{root}", "--epochs", "0"], make_image_folder, "--epochs must be at least 1"),
    (["cnn_v3", "--dataset", "folder:{root}", "--shift-tta", "16"], make_image_folder, "--shift-tta must be 0 to 15"),
    (["cnn_v3", "--dataset", "folder:{root}", "--bias-lr-scale", "64"], make_image_folder,
     "--bias-lr-scale works with --optimizer sgd only, got 'adamw'"),
    (["cnn_air", "--dataset", "folder:{root}", "--widths", "64,256"], make_image_folder,
     "--widths must be three positive channel counts, got 64,256"),
    (["cnn_v4", "--dataset", "folder:{root}", "--widths", "8,16,16"], make_image_folder,
     "--widths sizes the stages of fast_cnn and airbench_cnn, not vgg_cnn"),
    (["cnn_air", "--dataset", "folder:{root}", "--stage-convs", "4"], make_image_folder,
     "--stage-convs must be 2 or 3, got 4"),
])
def test_bad_arguments_give_one_line_of_error(argv, make_folder, message, tmp_path, capsys):
    root = tmp_path / "data"
    if make_folder:
        make_folder(root)
    argv = [arg.format(root=root) for arg in argv] + ["--artifacts", str(tmp_path / "store"), "--cache-dir", str(tmp_path)]
    assert main(argv) == 2
    error = capsys.readouterr().err.strip()
    assert message in error and error.startswith("error:") and len(error.splitlines()) == 1
    assert not (tmp_path / "store").exists() or run_store.list_runs(tmp_path / "store") == ([], [])


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


def test_run_store_lists_unreadable_runs_with_the_reason(tiny_store, tmp_path):
    for name, damage in [("no-model", lambda p: (p / run_store.MODEL_FILE).unlink()),
                         ("future", lambda p: (p / run_store.RUN_FILE).write_text(json.dumps({"schema_version": 99}))),
                         ("garbled", lambda p: (p / run_store.RUN_FILE).write_text("{not json"))]:
        shutil.copytree(tiny_store / "plain", tmp_path / name)
        damage(tmp_path / name)
    shutil.copytree(tiny_store / "fast", tmp_path / "fine")
    runs, broken = run_store.list_runs(tmp_path)
    assert [run.run_id for run in runs] == ["fine"]
    reasons = dict(broken)
    assert "missing model.keras" in reasons["no-model"]
    assert "schema version 99" in reasons["future"]
    assert "unreadable run.json" in reasons["garbled"]


def test_cifar10_comes_from_the_keras_loader(monkeypatch):
    import keras

    rng = np.random.default_rng(0)
    fake = ((rng.integers(0, 255, (40, 32, 32, 3), dtype=np.uint8), np.repeat(np.arange(10), 4).reshape(-1, 1)),
            (rng.integers(0, 255, (20, 32, 32, 3), dtype=np.uint8), np.repeat(np.arange(10), 2).reshape(-1, 1)))
    monkeypatch.setattr(keras.datasets.cifar10, "load_data", lambda: fake)
    data = load_dataset("cifar10", image_size=32, validation_fraction=0.25)
    assert data.name == "cifar10" and data.class_names[:3] == ["airplane", "automobile", "bird"]
    assert (len(data.train), len(data.validation), len(data.test)) == (30, 10, 20)
    assert data.test.ids[0] == "test/00000" and data.test.labels.tolist() == np.repeat(np.arange(10), 2).tolist()
    np.testing.assert_array_equal(data.test.images, fake[1][0])


def test_trained_network_unwraps_only_a_tta_wrapper_not_a_nested_base():
    import keras

    from trainers.inference.network import trained_network, with_tta

    inputs = keras.Input((4, 4, 3))
    base = keras.Model(inputs, keras.layers.Conv2D(2, 3, padding="same")(inputs), name="base")
    outer_inputs = keras.Input((4, 4, 3))
    pooled = keras.layers.GlobalAveragePooling2D()(base(outer_inputs))
    transfer_like = keras.Model(outer_inputs, keras.layers.Dense(3, activation="softmax")(pooled))
    assert trained_network(transfer_like) is transfer_like  # its nested base is not a TTA view
    assert trained_network(with_tta(transfer_like, flip=True)) is transfer_like
