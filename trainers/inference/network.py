"""A shipped model's network and its test-time views: the wrapper that averages views, and the network inside it.

Training wraps its network with `with_tta` before saving; explaining, mapping and re-scoring a shipped model
unwrap it with `trained_network`, so they see one view of the image.
"""

from __future__ import annotations

import keras
from keras import layers

TTA_LAYER = "tta"  # the Average layer of with_tta's wrapper, by which trained_network finds it


def trained_network(model: keras.Model) -> keras.Model:
    """The network a `with_tta` wrapper averages over its views, or the model itself when it has no wrapper.

    Raises:
        ValueError: the model is no Keras model (an ONNX model, an ensemble's mean), which has no network to unwrap.
    """
    if not isinstance(model, keras.Model):
        raise ValueError(f"its model is not a Keras model ({type(model).__name__}): it has no network to unwrap "
                         "from test-time views")
    if any(layer.name == TTA_LAYER and isinstance(layer, layers.Average) for layer in model.layers):
        return next(layer for layer in model.layers if isinstance(layer, keras.Model))
    return model


def with_tta(model: keras.Model, *, flip: bool, shift: int = 0) -> keras.Model:
    """Test-time augmentation: averages the model's predictions over views of the image.

    The views: the image, its mirror when `flip`, and when `shift` > 0 the image
    (and mirror) moved `shift` pixels up-left and down-right with reflected
    borders, the moves of the training augmentation. Wraps a trained model for
    saving; training never pays for the extra passes.
    """
    inputs = keras.Input(model.input_shape[1:], name="pixels")
    views = [inputs]
    if shift:
        height, width = model.input_shape[1:3]
        padded = keras.ops.pad(inputs, [[0, 0], [shift, shift], [shift, shift], [0, 0]], mode="reflect")
        views += [padded[:, :height, :width], padded[:, 2 * shift:, 2 * shift:]]  # up-left, down-right
    if flip:
        views += [keras.ops.flip(view, axis=2) for view in views]
    if len(views) == 1:
        return model
    probabilities = layers.Average(name=TTA_LAYER, dtype="float32")([model(view) for view in views])
    return keras.Model(inputs, probabilities, name=f"{model.name}_tta")
