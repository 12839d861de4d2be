"""Test-set metrics, computed with scikit-learn from labels and probability vectors."""

from __future__ import annotations

import numpy as np

from trainers.store.run_store import top_classes

# Beyond this many classes a run's metrics hold its top-5 accuracy too (the ImageNet convention): with ten
# classes or fewer, five guesses say little.
TOP_5_ABOVE_CLASSES = 10


def classification_metrics(labels, probabilities, class_names: list[str]) -> dict:
    """Accuracy, log loss, macro and per-class precision/recall/F1, and the confusion matrix (run store schema 2);
    top-5 accuracy too beyond TOP_5_ABOVE_CLASSES classes.

    Args:
        labels: true class indices, shape (N,).
        probabilities: predicted class probabilities, shape (N, C).
        class_names: the C class names, in label order.

    Returns:
        A JSON-ready dict; `confusion_matrix[i][j]` counts true class i predicted as j.

    Example:
        >>> classification_metrics([0, 1], [[0.9, 0.1], [0.2, 0.8]], ["cat", "dog"])["accuracy"]
        1.0
    """
    from sklearn import metrics as skm  # deferred: it takes most of a second to import, the dashboard's first page

    labels = np.asarray(labels)
    probabilities = np.asarray(probabilities, dtype=np.float64)
    # float32 softmax outputs sum to 1 only within rounding; log_loss wants exact.
    probabilities = probabilities / probabilities.sum(axis=1, keepdims=True)
    class_index = np.arange(len(class_names))
    predicted = probabilities.argmax(axis=1)
    precision, recall, f1, support = skm.precision_recall_fscore_support(
        labels, predicted, labels=class_index, zero_division=0
    )
    macro = skm.precision_recall_fscore_support(
        labels, predicted, labels=class_index, average="macro", zero_division=0
    )
    top_5 = {}
    if len(class_names) > TOP_5_ABOVE_CLASSES:
        top_5["top_5_accuracy"] = top_k_accuracy(labels, probabilities, 5)
    return {
        "accuracy": float(skm.accuracy_score(labels, predicted)),
        **top_5,
        "log_loss": float(skm.log_loss(labels, probabilities, labels=class_index)),
        "macro_precision": float(macro[0]),
        "macro_recall": float(macro[1]),
        "macro_f1": float(macro[2]),
        "num_images": int(len(labels)),
        "per_class": [
            {"class": name, "precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
            for name, p, r, f, s in zip(class_names, precision, recall, f1, support)
        ],
        "confusion_matrix": skm.confusion_matrix(labels, predicted, labels=class_index).tolist(),
    }


def top_k_accuracy(labels, probabilities, k: int) -> float:
    """The share of images whose true class is among the `k` most probable (ties go to the lower class, as
    `argmax` breaks them).

    Example:
        >>> top_k_accuracy([2, 2], [[0.5, 0.3, 0.2], [0.1, 0.6, 0.3]], k=2)  # only the second has 2 in its top 2
        0.5
    """
    labels = np.asarray(labels)
    return float((top_classes(np.asarray(probabilities), k) == labels[:, None]).any(axis=1).mean())


def checked_predictions(labels, probabilities, dtype=np.float64) -> tuple[np.ndarray, np.ndarray]:
    """Integer labels (N,) and probabilities (N, C) as `dtype` of at least one image; ValueError saying what is
    wrong. A score that needs no float64 sums asks for float32: at 50,000 x 1,000 a float64 copy is 400 MB."""
    labels = np.asarray(labels)
    probabilities = np.asarray(probabilities, dtype=dtype)
    if probabilities.ndim != 2 or labels.shape != probabilities.shape[:1]:
        raise ValueError(f"Expected labels (N,) and probabilities (N, C), got {labels.shape} and {probabilities.shape}")
    if not len(labels):
        raise ValueError("No predictions: labels and probabilities are empty")
    if not np.issubdtype(labels.dtype, np.integer) or labels.min() < 0 or labels.max() >= probabilities.shape[1]:
        raise ValueError(f"Labels must be class indices 0 to {probabilities.shape[1] - 1}, got {np.unique(labels)}")
    return labels, probabilities
