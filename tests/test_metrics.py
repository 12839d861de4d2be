"""Test-set metrics, against values worked out by hand."""

import math

import pytest

from trainers.analysis.metrics import classification_metrics

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
