"""Where a model looked: a class activation map of one image, for one class.

Grad-CAM (Selvaraju et al., 2017) for a network with a convolution: the
activations of its last convolutional block, each channel weighted by the mean over space of the
gradient of the class's score (its logit, else its log-probability), summed, kept where positive and
enlarged to the image. A model whose structure does not allow it (no Conv2D,
a convolution inside a nested base, an ensemble of several networks, an ONNX
model, which ONNX Runtime runs without gradients, any object with only
`predict_on_batch`) gets a model-agnostic map instead: occlusion, the drop of
the class's probability when a grey patch hides a part of the image.

A model saved with test-time augmentation wraps the trained network; the map
is of the network on the plain image, the views are bypassed, and the method
says so. The shipped model is never changed. TensorFlow is imported on first
use, as the dashboard imports this module only once it has a model.
"""

from __future__ import annotations

import weakref

import numpy as np

GRAD_CAM = "Grad-CAM on the last convolutional block"
VIEWS_BYPASSED = " (test-time views bypassed)"
OCCLUSION = "occlusion"
GREY = 127.5  # the fill of an occluding patch, on the 0-255 pixels shipped models take
EPSILON = 1e-7  # keeps log(probability) finite for a class the model rules out

# One compiled map function per model, dropped with the model; None where Grad-CAM does not apply.
_GRAD_CAMS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def class_activation_map(model, pixels: np.ndarray, class_index: int) -> tuple[np.ndarray, str]:
    """Where `model` looked on one image (H, W, 3) of raw 0-255 pixels to score class `class_index`.

    Args:
        model: a shipped model (a `keras.Model`, possibly a test-time augmentation wrapper), or any object with
            `predict_on_batch` and `output_shape`, such as an ensemble's mean model.
        pixels: the image as the model sees it, (H, W, 3), 0-255.
        class_index: the class whose evidence is mapped.

    Returns:
        (heatmap, method): a float32 (H, W) map in [0, 1] (1 where the evidence is strongest; all zero when there
        is none), and the method's name as the page should show it.

    Example:
        >>> heatmap, method = class_activation_map(model, image_to_pixels(image, 32), 3)
        >>> heatmap.shape, method
        ((32, 32), 'Grad-CAM on the last convolutional block (test-time views bypassed)')
    """
    pixels = np.asarray(pixels, np.float32)
    if pixels.ndim != 3 or pixels.shape[-1] != 3:
        raise ValueError(f"Expected one image (H, W, 3), got an array of shape {pixels.shape}.")
    classes = int(model.output_shape[-1])
    if not 0 <= class_index < classes:
        raise ValueError(f"Class index {class_index} is outside the model's {classes} classes.")
    grad_cam = _grad_cam_of(model)
    if grad_cam is None:
        return _occlusion_map(model, pixels, class_index), OCCLUSION
    compute, method = grad_cam
    heatmap = compute(pixels[None], np.int32(class_index)).numpy()
    return _normalised(heatmap), method


def _grad_cam_of(model):
    """(compiled map function, method) for a Keras model that allows Grad-CAM; None otherwise. Built once."""
    try:
        if model in _GRAD_CAMS:
            return _GRAD_CAMS[model]
    except TypeError:  # not weakly referenceable: no Keras model
        return None
    grad_cam = _build_grad_cam(model)
    _GRAD_CAMS[model] = grad_cam
    return grad_cam


def _build_grad_cam(model):
    from trainers.inference.onnx_model import OnnxClassifier

    if isinstance(model, OnnxClassifier):
        return None  # ONNX Runtime computes no gradients; nor need a page of ONNX models import TensorFlow
    import keras
    import tensorflow as tf

    from trainers.inference.network import trained_network

    if not isinstance(model, keras.Model):
        return None
    network = trained_network(model)
    method = GRAD_CAM + (VIEWS_BYPASSED if network is not model else "")
    if network is model and sum(isinstance(layer, keras.Model) for layer in model.layers) > 1:
        return None  # an ensemble: one network's map would not be the model's
    block = _last_conv_block(network)
    if block is None:
        return None
    try:
        # Fails when the convolution is inside a nested base, whose graph does not start at the network's input.
        score_layer = _score_layer(network)
        probe = keras.Model(network.inputs, [block.output, score_layer.output])
    except Exception:  # noqa: BLE001 - any graph Keras cannot cut here gets the model-agnostic map
        return None

    logits = score_layer is not network

    @tf.function(reduce_retracing=True)
    def compute(images, class_index):
        with tf.GradientTape() as tape:
            activations, scores = probe(images, training=False)
            score = scores[:, class_index] if logits else tf.math.log(scores[:, class_index] + EPSILON)
        gradients = tape.gradient(score, activations)
        weights = tf.reduce_mean(gradients, axis=(1, 2), keepdims=True)  # one weight per channel
        heatmap = tf.nn.relu(tf.reduce_sum(weights * activations, axis=-1, keepdims=True))
        return tf.image.resize(heatmap, tf.shape(images)[1:3], method="bilinear")[0, :, :, 0]

    return compute, method


def _score_layer(network):
    """The layer named "logits" (the scores before the softmax, as trainers.training.models names them), else the network.

    Grad-CAM reads the class's score before the softmax: the gradient of a confident probability, or of its log,
    mixes in the other classes and often leaves no positive evidence at all.
    """
    return next((layer for layer in network.layers if layer.name == "logits"), network)


def _last_conv_block(network):
    """The output layer of the network's last convolutional block: its last Conv2D, or the normalisation,
    activation or residual sum after it that still has a map per channel (not a pooling, which coarsens it).

    None when the last Conv2D is inside a nested model (a transfer base), where the graph cannot be cut.
    """
    import keras

    conv = _last_conv(network)
    if conv is None or conv not in network.layers:
        return None
    block = conv
    for layer in network.layers[network.layers.index(conv) + 1:]:
        if isinstance(layer, keras.Model) or len(layer.output.shape) != 4:
            break
        if not isinstance(layer, (keras.layers.MaxPooling2D, keras.layers.AveragePooling2D, keras.layers.Dropout)):
            block = layer
    return block


def _last_conv(model):
    """The last Conv2D of the model, searching nested models in the order of the layers; None if there is none."""
    import keras

    last = None
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            last = _last_conv(layer) or last
        elif isinstance(layer, keras.layers.Conv2D):
            last = layer
    return last


def _occlusion_map(model, pixels: np.ndarray, class_index: int) -> np.ndarray:
    """The drop of the class's probability when a grey patch of about an eighth of the side hides each part."""
    height, width = pixels.shape[:2]
    patch = max(2, min(height, width) // 8)
    stride = max(1, patch // 2)
    corners = [(top, left) for top in range(0, max(1, height - patch + stride), stride)
               for left in range(0, max(1, width - patch + stride), stride)]
    occluded = np.repeat(pixels[None], len(corners) + 1, axis=0)
    for number, (top, left) in enumerate(corners, start=1):
        occluded[number, top:top + patch, left:left + patch] = GREY
    probabilities = np.asarray(model.predict_on_batch(occluded))[:, class_index]
    drops = probabilities[0] - probabilities[1:]
    total, covered = np.zeros((height, width), np.float32), np.zeros((height, width), np.float32)
    for drop, (top, left) in zip(drops, corners):
        total[top:top + patch, left:left + patch] += drop
        covered[top:top + patch, left:left + patch] += 1
    return _normalised(np.maximum(total / np.maximum(covered, 1), 0))


def _normalised(heatmap: np.ndarray) -> np.ndarray:
    heatmap = np.nan_to_num(np.asarray(heatmap, np.float32))
    peak = heatmap.max()
    return heatmap / peak if peak > 0 else np.zeros_like(heatmap)
