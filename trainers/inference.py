"""Running a shipped model on images: the one way every caller gets class probabilities.

Keras is not imported here: the model is passed in, so the dashboard can import
this module without paying for TensorFlow until it loads a model.
"""

from __future__ import annotations

import numpy as np

BATCH_SIZE = 256  # images per call: large enough to keep both cores busy, small enough for any model here


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
