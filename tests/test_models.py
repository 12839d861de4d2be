"""The networks the presets build (parameter counts, the whitening conv, identity init, the augmentation
layers, the float32 copy, a transfer base's weights file), the test-time augmentation that wraps a shipped
model, and the summary row the study's table reads."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from trainers.store import run_store
from trainers.presets import get_preset


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
    # The rest keep their random init: all but a rare exact zero of the uniform draw are non-zero.
    assert np.count_nonzero(kernel[..., inputs:]) > 0.999 * kernel[..., inputs:].size


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


def test_architecture_records_the_studys_summary_row(tiny_store):
    summary = run_store.load_run(tiny_store / "plain").architecture["summary"]
    assert (summary["conv_layers"], summary["dense_layers"]) == (6, 2)
    assert summary["augmentation"] is False and summary["batch_norm"] is False
    assert summary["optimizer"] == get_preset("cnn_v3").optimizer and summary["epochs"] == 3
    layers = run_store.load_run(tiny_store / "plain").architecture["layers"]
    assert sum(row["params"] for row in layers) == summary["total_params"]
