"""A shipped model on raw pixels: plain Keras loads it and reproduces the stored predictions, and `predict`
feeds it in batches."""

from __future__ import annotations

import numpy as np

from trainers.store import run_store


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
