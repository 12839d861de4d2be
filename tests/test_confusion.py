"""dashboard.lib.confusion: confusion matrices worked out by hand, their figure, the most confused pairs and cells."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dashboard.lib import confusion
from fake_runs import CLASSES
from trainers.store.run_store import Predictions


MATRIX = [[5, 2, 0],
          [1, 4, 3],
          [0, 0, 6]]


def predictions_of(labels, predicted, classes: int = 3) -> Predictions:
    """Stored predictions that pick `predicted`, each with probability 1."""
    return Predictions(ids=np.array([f"i{n}" for n in range(len(labels))]), labels=np.array(labels),
                       probabilities=np.eye(classes)[predicted])


# MATRIX as predictions: 7 cats (5 right, 2 as dogs), 8 dogs (1 as cat, 4 right, 3 as owls), 6 owls right.
CONFUSED = predictions_of([0] * 7 + [1] * 8 + [2] * 6,
                          [0] * 5 + [1] * 2 + [0] * 1 + [1] * 4 + [2] * 3 + [2] * 6)


def test_confusion_frame_counts_and_row_normalised():
    counts = confusion.confusion_frame(CONFUSED, CLASSES)
    assert counts.to_numpy().tolist() == MATRIX
    assert counts.loc["dog", "owl"] == 3
    assert (counts.index.name, counts.columns.name) == ("true", "predicted")
    shares = confusion.confusion_frame(CONFUSED, CLASSES, normalise=True)
    assert shares.loc["cat"].tolist() == pytest.approx([5 / 7, 2 / 7, 0])
    assert shares.loc["dog"].tolist() == pytest.approx([1 / 8, 4 / 8, 3 / 8])
    assert shares.loc["owl"].tolist() == [0, 0, 1]


def test_a_class_without_test_images_is_a_zero_row():
    no_owls = predictions_of([0, 0, 1], [0, 2, 1])
    assert confusion.confusion_frame(no_owls, CLASSES).loc["owl"].tolist() == [0, 0, 0]
    shares = confusion.confusion_frame(no_owls, CLASSES, normalise=True)
    assert shares.to_numpy().tolist() == [[0.5, 0, 0.5], [0, 1, 0], [0, 0, 0]]


@pytest.mark.parametrize("normalise, texts", [(False, "d"), (True, ".0%")])
def test_confusion_figure_writes_every_cell_and_has_a_clickable_marker_on_each(normalise, texts):
    figure = confusion.confusion_figure(confusion.confusion_frame(CONFUSED, CLASSES, normalise=normalise),
                                        normalise=normalise)
    heatmap, markers = figure.data
    assert heatmap.texttemplate == "%{z:" + texts + "}"
    assert list(heatmap.x) == CLASSES and list(heatmap.y) == CLASSES
    assert len(markers.x) == 9
    assert (markers.y[5], markers.x[5]) == ("dog", "owl")  # row-major: true dog, predicted owl


@pytest.mark.parametrize("size, written, clickable", [(confusion.MAX_WRITTEN_CLASSES, True, True),
                                                      (confusion.MAX_WRITTEN_CLASSES + 1, False, True),
                                                      (confusion.MAX_CLICKABLE_CLASSES + 1, False, False)])
def test_a_matrix_of_many_classes_is_colour_with_its_values_on_hover(size, written, clickable):
    names = [f"class {index:03d}" for index in range(size)]
    labels = np.arange(2 * size) % size
    guesses = np.roll(labels, 1)  # every image called the class before its own
    figure = confusion.confusion_figure(confusion.confusion_frame(predictions_of(labels, guesses, size), names))
    heatmap = figure.data[0]
    assert bool(heatmap.texttemplate) == written
    assert heatmap.hovertemplate == "true %{y}, predicted %{x}: %{z:d}<extra></extra>"
    assert len(figure.data) == 1 + clickable and (not clickable or len(figure.data[1].x) == size * size)
    # The axes span the matrix alone: the markers would pad them.
    assert figure.layout.xaxis.range == (-0.5, size - 0.5) and figure.layout.yaxis.range == (size - 0.5, -0.5)


def test_confusion_figure_outlines_the_marked_cell_when_the_matrix_has_it():
    frame = confusion.confusion_frame(CONFUSED, CLASSES)
    (shape,) = confusion.confusion_figure(frame, marked=("dog", "owl")).layout.shapes
    assert (shape.type, shape.x0, shape.x1, shape.y0, shape.y1) == ("rect", 1.5, 2.5, 0.5, 1.5)  # column 2, row 1
    assert shape.line.color == confusion.MARK_COLOUR
    assert not confusion.confusion_figure(frame).layout.shapes
    assert not confusion.confusion_figure(confusion.cut(frame, ["cat", "dog"]), marked=("dog", "owl")).layout.shapes


# At MATRIX_WIDTH (480 px), less about 90 px of class names: a digit is 0.6 em, a cell leaves 0.4 em of room.
@pytest.mark.parametrize("size, most, normalise, font", [
    (3, 6, False, 14),  # 130 px cells: the largest font
    (10, 1000, False, 13),  # 39 px cells: 39 / (4 x 0.6 + 0.4) = 13.9
    (20, 99, False, 12),  # 19.5 px: 19.5 / 1.6 = 12.2
    (20, 100, False, 8),  # 19.5 / 2.2 = 8.9
    (20, 1000, False, None),  # 7 px would be too small to read: on hover only
    (20, 0.5, True, 8),  # "50%"
    (20, 1.0, True, None),  # "100%"
])
def test_a_matrix_writes_its_numbers_as_large_as_its_cells_allow(size, most, normalise, font):
    names = [f"c{index}" for index in range(size)]
    frame = pd.DataFrame(np.eye(size) * most, index=names, columns=names)
    heatmap = confusion.confusion_figure(frame if normalise else frame.astype(int), normalise=normalise).data[0]
    assert heatmap.textfont.size == font and bool(heatmap.texttemplate) == (font is not None)


@pytest.mark.parametrize("named, known, note", [
    ({"true": "cat", "predicted": "owl"}, {"true": "cat", "predicted": "owl"}, ""),
    ({"true": None, "predicted": "dog"}, {"predicted": "dog"}, ""),
    ({"true": "emu", "predicted": "dog"}, {"predicted": "dog"},
     "Ignored from the link: 'emu' (true class) is no class of these runs."),
    ({"true": "Cat", "predicted": ""}, {},
     "Ignored from the link: 'Cat' (true class) and '' (predicted class) are no classes of these runs."),
])
def test_a_links_class_names_are_kept_when_they_are_classes_and_noted_when_not(named, known, note):
    assert confusion.classes_named(named, CLASSES) == (known, note)


def counts_frame(matrix, class_names) -> pd.DataFrame:
    return pd.DataFrame(matrix, index=class_names, columns=class_names)


def test_confused_pairs_are_the_largest_off_diagonal_cells():
    pairs = confusion.confused_pairs(confusion.confusion_frame(CONFUSED, CLASSES))
    assert pairs[["true", "predicted", "count"]].values.tolist() == [
        ["dog", "owl", 3], ["cat", "dog", 2], ["dog", "cat", 1]]
    assert pairs["share of true class"].tolist() == pytest.approx([3 / 8, 2 / 7, 1 / 8])
    assert len(confusion.confused_pairs(counts_frame(MATRIX, CLASSES), top=1)) == 1
    assert confusion.confused_pairs(counts_frame(np.eye(3, dtype=int), CLASSES)).empty


def test_confused_pairs_with_equal_counts_put_the_larger_share_first():
    pairs = confusion.confused_pairs(counts_frame([[8, 2], [2, 2]], ["a", "b"]))
    assert pairs[["true", "predicted"]].values.tolist() == [["b", "a"], ["a", "b"]]  # 2/4 before 2/10


@pytest.mark.parametrize("matrix, cell", [
    (MATRIX, ("dog", "owl")),
    (np.eye(3, dtype=int), ("cat", "dog")),  # nothing confused: the first off-diagonal cell
])
def test_most_confused_cell(matrix, cell):
    assert confusion.most_confused_cell(counts_frame(matrix, CLASSES)) == cell


@pytest.mark.parametrize("selection, cell", [
    ({"points": [{"x": "dog", "y": "cat", "point_index": 1}]}, ("cat", "dog")),
    ({"points": []}, None),
    ({}, None),
    (None, None),
])
def test_selected_cell_reads_the_clicked_marker(selection, cell):
    assert confusion.selected_cell(selection) == cell


def test_per_class_table_is_the_metrics_per_class():
    metrics = {"per_class": [{"class": "cat", "precision": 0.5, "recall": 1.0, "f1": 2 / 3, "support": 2}]}
    assert confusion.per_class_table(metrics).values.tolist() == [["cat", 0.5, 1.0, 2 / 3, 2]]
