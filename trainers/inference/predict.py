"""Running a shipped model on images: loading a run's model safely, and the one way every caller gets class
probabilities.

Keras (or ONNX Runtime, for a run's `model.onnx`) is imported only when a model
is loaded, so the dashboard can import this module without paying for
TensorFlow until it needs a model.
"""

from __future__ import annotations

import numpy as np

from trainers.inference.onnx_model import OnnxClassifier, runs_on_onnx
from trainers.store import run_store

BATCH_SIZE = 256  # images per call: large enough to keep the cores busy, small enough for any preset's activations


def predict(model, images: np.ndarray, batch_size: int = BATCH_SIZE) -> np.ndarray:
    """Class probabilities (N, C) float32 of a shipped model on uint8 images (N, H, W, 3).

    Shipped models take raw 0-255 pixels. `predict_on_batch` runs the model's
    compiled predict function (traced once per input shape), which is many
    times faster than calling the model eagerly, for one image as for 10,000.
    """
    images = np.asarray(images)
    if not len(images):
        return np.zeros((0, model.output_shape[-1]), np.float32)
    batches = [np.asarray(model.predict_on_batch(images[start:start + batch_size].astype(np.float32)))
               for start in range(0, len(images), batch_size)]
    return np.concatenate(batches).astype(np.float32, copy=False)


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
        raise run_store.RunError(f"{run.model_path.name} of '{run.run_id}' cannot be loaded in safe mode, which runs no code from "
                       f"the file: {cause}") from None
