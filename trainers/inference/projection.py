"""A map of the test set: each image's penultimate-layer features, reduced to two dimensions.

The features are the input of the network's last dense layer (the one that
turns them into class scores), so images a model finds alike land close
together. They are reduced by PCA to `PCA_COMPONENTS` dimensions, then by
t-SNE to two (scikit-learn's, which the project already depends on; UMAP
would add umap-learn and numba for a map of the same use). The map is of the
trained network on the plain images: test-time augmentation views are
bypassed. TensorFlow is imported on first use.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

# An ONNX run has no map. ONNX Runtime returns a graph's outputs only: the features before the last layer would
# need the graph rewritten (the `onnx` package, which running a model does not need) and a guess at which node they
# are, and a map of the class scores instead would not be the penultimate features the page says it shows.
ONNX_HAS_NO_FEATURES = ("ONNX Runtime runs an ONNX model to its outputs only, not to the penultimate features the "
                        "map is drawn from")
PCA_COMPONENTS = 50
PERPLEXITY = 30.0  # t-SNE's usual default; lowered for sets too small to have that many neighbours
BATCH_SIZE = 500


def penultimate_features(model, images: np.ndarray) -> tuple[np.ndarray, str]:
    """The features the model's last dense layer reads, per image (N, D) float32, and a description of them.

    Raises:
        ValueError: the model has no dense layer at its top level (an ensemble, an ONNX model, or any model
            whose graph cannot be cut there).
    """
    from trainers.inference.onnx_model import OnnxClassifier

    if isinstance(model, OnnxClassifier):
        raise ValueError(ONNX_HAS_NO_FEATURES)
    import keras

    from trainers.inference.network import trained_network

    network = trained_network(model)
    dense = [layer for layer in network.layers if isinstance(layer, keras.layers.Dense)]
    if not dense or sum(isinstance(layer, keras.Model) for layer in network.layers) > 1:
        raise ValueError("it has no single network with a dense layer on top to read features from")
    last = next((layer for layer in dense if layer.name == "logits"), dense[-1])
    try:
        extractor = keras.Model(network.inputs, last.input)
    except Exception as error:  # noqa: BLE001 - a graph Keras cannot cut here has no features to map
        raise ValueError(f"its graph cannot be cut before {last.name}: {error}") from None
    features = np.concatenate([np.asarray(extractor.predict_on_batch(images[start:start + BATCH_SIZE]))
                               .reshape(len(images[start:start + BATCH_SIZE]), -1)
                               for start in range(0, len(images), BATCH_SIZE)])
    bypassed = ", test-time views bypassed" if network is not model else ""
    return features.astype(np.float32), f"input of layer '{last.name}' ({features.shape[1]} values{bypassed})"


def project(features: np.ndarray, *, seed: int = 0) -> tuple[np.ndarray, dict]:
    """Two coordinates per row of `features` (N, 2), and the method with its parameters, for the run folder.

    PCA to at most `PCA_COMPONENTS` dimensions, then t-SNE; a set of fewer than 4 images, too small for
    t-SNE, is placed by PCA alone.
    """
    from sklearn import __version__ as sklearn_version
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE

    count = len(features)
    if count == 0:
        raise ValueError("no images to map")
    features = np.nan_to_num(np.asarray(features, np.float64).reshape(count, -1))
    if not np.ptp(features, axis=0).any():
        # A network whose features are the same for every image (one that diverged): t-SNE would divide by zero.
        return np.zeros((count, 2)), {"method": "none", "reason": "the features are the same for every image"}
    components = min(PCA_COMPONENTS, *features.shape)
    reduced = PCA(components, random_state=seed).fit_transform(features) if components > 1 else features
    method = {"library": f"scikit-learn {sklearn_version}", "pca_components": components, "random_state": seed}
    if count < 4:
        coordinates = np.zeros((count, 2))
        coordinates[:, :min(2, reduced.shape[1])] = reduced[:, :2]
        return coordinates, {"method": "PCA", **method}
    perplexity = min(PERPLEXITY, (count - 1) / 3)
    tsne = TSNE(2, perplexity=perplexity, init="pca", learning_rate="auto", random_state=seed)
    coordinates = tsne.fit_transform(reduced)
    # Only distances mean anything on the map: centred and scaled to unit spread, it fits float16 whatever
    # scale t-SNE ended at.
    coordinates = coordinates - coordinates.mean(axis=0)
    coordinates /= max(float(coordinates.std()), 1e-12)
    return coordinates, {"method": "t-SNE", **method, "perplexity": perplexity, "init": "pca",
                         "learning_rate": "auto", "iterations": int(tsne.n_iter_)}


def add_test_map(run_path, model, ids, images: np.ndarray, *, seed: int = 0, optional: bool = True) -> dict | None:
    """Computes the map of the test images with the model and stores it in the run folder.

    Returns:
        The method recorded with it. For a model that has no features to map: None, said on stderr, when
        the map is `optional` (a run is complete without one); else ValueError.
    """
    from trainers.store import run_store

    try:
        features, described = penultimate_features(model, images)
    except ValueError as error:
        if not optional:
            raise
        # Named by the run's folder: while it is written that is in .partial/, which the user never sees.
        print(f"{Path(run_path).name}: no test-set map: {error}", file=sys.stderr)
        return None
    coordinates, method = project(features, seed=seed)
    method["features"] = described
    run_store.write_test_map(run_path, ids, coordinates, method)
    return method
