"""Running a shipped model on images: loading a run's model safely, and the one way every caller gets class
probabilities (and, where a model's last step is a softmax, the logits before it).

Keras (or ONNX Runtime, for a run's `model.onnx`) is imported only when a model
is loaded, so the dashboard can import this module without paying for
TensorFlow until it needs a model.
"""

from __future__ import annotations

import weakref

import numpy as np

from trainers.inference.onnx_model import OnnxClassifier, runs_on_onnx
from trainers.store import run_store

BATCH_SIZE = 256  # images per call: large enough to keep the cores busy, small enough for any preset's activations
# Per Keras model: its forward pass compiled for any number of images, and the model of its logits; each built once
# and dropped with the model.
_FORWARD: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_LOGIT_MODELS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def predict(model, images: np.ndarray, batch_size: int = BATCH_SIZE) -> np.ndarray:
    """Class probabilities (N, C) float32 of a shipped model on uint8 images (N, H, W, 3).

    Shipped models take raw 0-255 pixels. A Keras model runs its forward pass
    compiled once for any number of images (`forward_pass`), many times
    faster than calling it eagerly, for one image as for 10,000; anything
    else (an ONNX model, an ensemble's mean) its own `predict_on_batch`.
    """
    images = np.asarray(images)
    if not len(images):
        return np.zeros((0, model.output_shape[-1]), np.float32)
    forward = forward_pass(model)
    batches = [np.asarray(forward(images[start:start + batch_size].astype(np.float32)))
               for start in range(0, len(images), batch_size)]
    return np.concatenate(batches).astype(np.float32, copy=False)


def forward_pass(model):
    """How `predict` runs the model on a batch of float32 pixels: for a Keras model of one input on TensorFlow's
    default strategy, its forward pass (`model(images, training=False)`) compiled by `tf.function` once, for any
    number of images; for any other model, its `predict_on_batch`.

    Keras' `predict_on_batch` traces its function for the first batch size it is given, then, relaxed, for the
    second: the Live page, whose models first see one image, paid about a second per model the first time it
    classified several at once. Under another distribution strategy Keras' own path stays, which runs on its
    replicas.
    """
    if not hasattr(model, "distribute_strategy"):  # no Keras model on TensorFlow: an ONNX model, an ensemble's mean
        return model.predict_on_batch
    import tensorflow as tf  # imported already: it runs the model

    try:
        inputs = model.inputs or ()
    except (AttributeError, ValueError):  # a Sequential model not built yet
        inputs = ()
    default_strategy = not tf.distribute.has_strategy() and model.distribute_strategy is tf.distribute.get_strategy()
    if not default_strategy or len(inputs) != 1:
        return model.predict_on_batch
    compiled = _FORWARD.get(model)
    if compiled is None:
        shipped = weakref.ref(model)  # the compiled function must not keep the model alive, nor its cache entry
        signature = [tf.TensorSpec((None, *inputs[0].shape[1:]), tf.float32)]
        compiled = tf.function(lambda images: shipped()(images, training=False), input_signature=signature)
        _FORWARD[model] = compiled
    return compiled


def load_model(run: run_store.Run):
    """The run's model: its Keras model, loaded in safe mode (a file that asks to run code is refused), or its
    ONNX model run by ONNX Runtime, preprocessed as its run.json records (`onnx_model.OnnxClassifier`). Either
    takes raw 0-255 pixels and returns probabilities through `predict`.

    Raises:
        run_store.RunError: in one line, why the file was refused or could not be read (a Python lambda, a
            function of an arbitrary module, a damaged file), in Keras' or ONNX Runtime's own words.
    """
    if run.model_path is None:
        raise run_store.RunError(run.no_model)
    if runs_on_onnx(run):
        try:
            return OnnxClassifier.of_run(run)
        except KeyError as missing:
            raise run_store.RunError(f"{run.model_path.name} of '{run.run_id}' cannot be run: its "
                                     f"{run_store.RUN_FILE}'s config lacks {missing}") from None
        except ValueError as error:
            raise run_store.RunError(f"{run.model_path.name} of '{run.run_id}' cannot be run: {error}") from None
    import keras  # deferred: TensorFlow takes seconds to import

    try:
        return keras.models.load_model(run.model_path, compile=False, safe_mode=True)
    except Exception as error:  # noqa: BLE001 - a crafted or damaged file fails in many ways
        # Keras nests the cause under "Exception encountered:"; its first sentence says what was refused.
        cause = str(error).rsplit("Exception encountered:", 1)[-1].strip().split(". ")[0].replace("\n", " ")
        raise run_store.RunError(f"{run.model_path.name} of '{run.run_id}' cannot be loaded in safe mode, which runs "
                                 f"no code from the file: {cause}") from None


def logits(model, images: np.ndarray, batch_size: int = BATCH_SIZE) -> np.ndarray:
    """The logits (N, C) float32 of a Keras model whose last step is a softmax of them, on uint8 images (N, H, W,
    3): what the energy score needs (`trainers.analysis.none_of_these.energy_score`), and a softmax loses.

    Read through Keras' public graph API: the input of a final `Activation("softmax")` or `Softmax` layer, or a
    final `Dense(activation="softmax")` computed again without its activation.

    Raises:
        ValueError: in one line, why the model's logits cannot be read: not a Keras model (an ONNX model, an
            ensemble's mean), a model averaging test-time views (the mean of several softmaxes is the softmax of
            no logits), or a last layer that is no softmax.
    """
    logit_model = _LOGIT_MODELS.get(model) if _weakly_referable(model) else None
    if logit_model is None:
        logit_model = _logit_model(model)
        _LOGIT_MODELS[model] = logit_model
    return predict(logit_model, images, batch_size)


def _weakly_referable(model) -> bool:
    try:
        weakref.ref(model)
    except TypeError:
        return False
    return True


def _logit_model(model):
    """A Keras model from `model`'s inputs to the logits of its final softmax; ValueError when it has none."""
    import keras  # deferred: TensorFlow takes seconds to import

    if not isinstance(model, keras.Model):
        raise ValueError(f"its model is not a Keras model ({type(model).__name__}): its logits cannot be read")
    last = model.layers[-1]
    config = last.get_config()
    if isinstance(last, keras.layers.Average):
        raise ValueError("its model averages the probabilities of test-time views: no logits give that mean")
    if isinstance(last, keras.layers.Softmax) or (isinstance(last, keras.layers.Activation)
                                                  and config.get("activation") == "softmax"):
        return keras.Model(model.inputs, last.input)
    if isinstance(last, keras.layers.Dense) and config.get("activation") == "softmax":
        linear = keras.layers.Dense.from_config({**config, "activation": "linear", "name": f"{last.name}_logits"})
        outputs = linear(last.input)
        linear.set_weights(last.get_weights())
        return keras.Model(model.inputs, outputs)
    raise ValueError(f"its model ends in a {type(last).__name__} layer, not a softmax: its logits cannot be read")
