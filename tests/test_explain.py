"""Where the model looked: maps on tiny networks whose answer is decided by the image's top-left corner."""

import keras
import numpy as np
import pytest

from trainers.inference.explain import OCCLUSION, class_activation_map
from trainers.inference.network import with_tta

SIZE = 16
CORNER = SIZE // 2  # the top-left quadrant decides the class


def corner_mask() -> np.ndarray:
    mask = np.zeros((1, SIZE, SIZE, 1), np.float32)
    mask[:, :CORNER, :CORNER] = 1
    return mask


def corner_cnn() -> keras.Model:
    """Brightness of the top-left quadrant, measured by a convolution, decides class 1 over class 0.

    A first convolution takes the mean brightness, a fixed mask keeps the top-left quadrant, and the last
    convolution (the one Grad-CAM reads) copies it to the pooling: a bright corner elsewhere counts for nothing.
    """
    inputs = keras.Input((SIZE, SIZE, 3))
    x = keras.layers.Conv2D(1, 3, padding="same", name="brightness")(inputs)
    x = keras.layers.Lambda(lambda t: t * corner_mask(), name="top_left_only")(x)
    x = keras.layers.Conv2D(1, 1, activation="relu", name="last_conv")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(2, activation="softmax")(x)
    model = keras.Model(inputs, outputs)
    model.get_layer("brightness").set_weights([np.full((3, 3, 3, 1), 1 / (27 * 255), np.float32), np.zeros(1)])
    model.get_layer("last_conv").set_weights([np.ones((1, 1, 1, 1), np.float32), np.zeros(1)])
    # A white 4 x 4 block in the corner pools to about 1/16: logits (1 - 50 x, 50 x - 1) favour class 1.
    model.layers[-1].set_weights([np.array([[-50.0, 50.0]], np.float32), np.array([1.0, -1.0], np.float32)])
    return model


def dense_corner_model() -> keras.Model:
    """No convolution: a Dense layer reading the top-left quadrant's pixels."""
    inputs = keras.Input((SIZE, SIZE, 3))
    x = keras.layers.Flatten()(inputs)
    outputs = keras.layers.Dense(2, activation="softmax")(x)
    model = keras.Model(inputs, outputs)
    weights = np.repeat(corner_mask()[0], 3, axis=-1).reshape(-1) / (CORNER * CORNER * 3 * 255) * 4  # a white quadrant: logit 4
    model.layers[-1].set_weights([np.stack([-weights, weights], axis=1), np.array([1.0, -1.0], np.float32)])
    return model


def bright(*corners: str) -> np.ndarray:
    image = np.zeros((SIZE, SIZE, 3), np.float32)
    for corner in corners:
        rows = slice(0, 4) if corner[0] == "top" else slice(SIZE - 4, SIZE)
        cols = slice(0, 4) if corner[1] == "left" else slice(SIZE - 4, SIZE)
        image[rows, cols] = 255
    return image


def top_left_share(heatmap: np.ndarray) -> tuple[float, float]:
    """Mean of the map in the top-left quadrant, and elsewhere."""
    inside = np.zeros(heatmap.shape, bool)
    inside[:CORNER, :CORNER] = True
    return float(heatmap[inside].mean()), float(heatmap[~inside].mean())


@pytest.fixture(scope="module")
def network():
    return corner_cnn()


def test_the_corner_that_decides_the_class_lights_up(network):
    image = bright(("top", "left"))
    assert network.predict_on_batch(image[None]).argmax() == 1
    heatmap, method = class_activation_map(network, image, 1)
    assert method == "Grad-CAM on the last convolutional block"
    corner, elsewhere = top_left_share(heatmap)
    assert corner > 3 * elsewhere
    assert heatmap[:4, :4].max() == pytest.approx(1.0)


def test_a_bright_corner_that_does_not_count_stays_dark(network):
    heatmap, _ = class_activation_map(network, bright(("top", "left"), ("bottom", "right")), 1)
    assert heatmap[-4:, -4:].max() < 0.05 < heatmap[:4, :4].mean()


def test_test_time_views_are_bypassed_and_said_to_be(network):
    image = bright(("top", "left"))
    heatmap, method = class_activation_map(network, image, 1)
    wrapped, wrapped_method = class_activation_map(with_tta(network, flip=True, shift=1), image, 1)
    np.testing.assert_allclose(wrapped, heatmap, atol=1e-6)
    assert wrapped_method == "Grad-CAM on the last convolutional block (test-time views bypassed)"


def test_a_model_without_convolution_gets_an_occlusion_map(network):
    model = dense_corner_model()
    image = np.full((SIZE, SIZE, 3), 255, np.float32)
    assert model.predict_on_batch(image[None]).argmax() == 1
    heatmap, method = class_activation_map(model, image, 1)
    assert method == OCCLUSION == "occlusion"
    corner, elsewhere = top_left_share(heatmap)
    assert corner > 3 * elsewhere


@pytest.mark.parametrize("class_index", [0, 1])
@pytest.mark.parametrize("image", ["dark", "corner", "noise"])
def test_maps_are_in_zero_one_at_the_input_size(network, image, class_index):
    pixels = {"dark": np.zeros((SIZE, SIZE, 3)), "corner": bright(("top", "left")),
              "noise": np.random.default_rng(0).uniform(0, 255, (SIZE, SIZE, 3))}[image]
    for model in (network, dense_corner_model()):
        heatmap, _ = class_activation_map(model, pixels, class_index)
        assert heatmap.shape == (SIZE, SIZE) and heatmap.dtype == np.float32
        assert heatmap.min() >= 0 and heatmap.max() <= 1


def test_an_all_dark_image_has_an_all_zero_map(network):
    heatmap, _ = class_activation_map(network, np.zeros((SIZE, SIZE, 3)), 1)
    assert not heatmap.any()


def test_a_class_outside_the_model_is_refused(network):
    with pytest.raises(ValueError, match="Class index 2 is outside the model's 2 classes"):
        class_activation_map(network, bright(), 2)


def test_an_images_dialog_shows_it_in_one_row_with_every_runs_maps_captioned_in_a_few_words(open_app, one_class_store):
    from app_pages import widget

    app = open_app(one_class_store, "views/misclassified.py", timeout=120)
    widget(app.selectbox, "Run").set_value("cats").run()
    app.button(key="open:test/001.png").click().run()  # a dog: `cats` gets it wrong, `dogs` right
    assert not app.exception
    assert "`test/001.png`, true class **dog**: 1 of 2 selected runs get it right." in [m.value for m in app.markdown]
    # One row: the image first, then each run's maps, its pick and, where it is wrong, the true class.
    def captions(column) -> list[str]:
        return [image.caption for element in column.get("image") for image in element.proto.imgs]

    first = next(number for number, column in enumerate(app.columns)
                 if captions(column) == ["the image, 8 x 8 px"])
    assert [captions(column) for column in app.columns[first:first + 5]] == [
        ["the image, 8 x 8 px"], ["its pick: cat 100%", "true class: dog 0%"], ["its pick: dog 100%"], [], []]
    # The method and what the colours mean, once, under the row.
    assert [c.value for c in app.caption if c.value.startswith("Where each run looked")] == [
        "Where each run looked, by Grad-CAM on the last convolutional block: the warmer the colour (blue to red), the "
        "more that part of the image counted for the class under the map."]
    assert app.dataframe[0].value.set_index("run")["predicted"].to_dict() == {"cats": "cat", "dogs": "dog"}
