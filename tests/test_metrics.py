"""Test-set metrics, against values worked out by hand."""

import math

import numpy as np
import pytest

from trainers.analysis.metrics import classification_metrics, top_k_accuracy

LABELS = [0, 0, 1, 1, 2]
PROBABILITIES = [  # predicted: 0, 1, 1, 1, 0
    [0.8, 0.1, 0.1],
    [0.3, 0.6, 0.1],
    [0.2, 0.7, 0.1],
    [0.1, 0.8, 0.1],
    [0.5, 0.25, 0.25],
]


@pytest.fixture
def result():
    return classification_metrics(LABELS, PROBABILITIES, ["cat", "dog", "frog"])


def test_accuracy_and_log_loss(result):
    assert result["accuracy"] == pytest.approx(3 / 5)
    expected_loss = -(math.log(0.8) + math.log(0.3) + math.log(0.7) + math.log(0.8) + math.log(0.25)) / 5
    assert result["log_loss"] == pytest.approx(expected_loss)


def test_top_5_accuracy_is_recorded_beyond_ten_classes_only(result):
    assert "top_5_accuracy" not in result
    names = [f"class {i}" for i in range(11)]
    # Image 0's true class 10 is its 5th most probable, image 1's (class 0) its 6th, image 2's (class 4) its 1st.
    probabilities = np.full((3, 11), 0.01)
    probabilities[0, [1, 2, 3, 4, 10]] = 0.3, 0.2, 0.15, 0.1, 0.09
    probabilities[1, [0, 1, 2, 3, 4, 5]] = 0.04, 0.3, 0.2, 0.15, 0.1, 0.05
    probabilities[2, 4] = 0.5
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    scores = classification_metrics([10, 0, 4], probabilities, names)
    assert scores["top_5_accuracy"] == pytest.approx(2 / 3)
    assert scores["accuracy"] == pytest.approx(1 / 3)


def test_top_k_accuracy_counts_a_tie_for_the_lower_class():
    # Classes 1 and 2 tie second: the lower one, 1, takes the second of two places (as argmax would pick it).
    assert top_k_accuracy([1, 2], [[0.5, 0.25, 0.25], [0.5, 0.25, 0.25]], k=2) == pytest.approx(1 / 2)


def test_confusion_matrix_rows_are_true_classes(result):
    assert result["confusion_matrix"] == [[1, 1, 0], [0, 2, 0], [1, 0, 0]]


@pytest.mark.parametrize("index, precision, recall, f1, support", [
    (0, 1 / 2, 1 / 2, 1 / 2, 2),
    (1, 2 / 3, 1.0, 0.8, 2),
    (2, 0.0, 0.0, 0.0, 1),  # never predicted: precision is 0, not an error
])
def test_per_class_scores(result, index, precision, recall, f1, support):
    row = result["per_class"][index]
    assert row["class"] == ["cat", "dog", "frog"][index]
    assert (row["precision"], row["recall"], row["f1"], row["support"]) == pytest.approx((precision, recall, f1, support))


def test_macro_averages(result):
    assert result["macro_precision"] == pytest.approx((1 / 2 + 2 / 3 + 0) / 3)
    assert result["macro_recall"] == pytest.approx((1 / 2 + 1 + 0) / 3)
    assert result["macro_f1"] == pytest.approx((1 / 2 + 0.8 + 0) / 3)
