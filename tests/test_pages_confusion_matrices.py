"""The Confusion matrices page under Streamlit's AppTest, on the tiny run store."""

from __future__ import annotations

import numpy as np
import pytest

from app_pages import figures, widget
from dashboard.lib import confusion
from fake_runs import write_fake_run


def test_confusion_matrices_side_by_side_with_scores_and_a_cells_images(open_app, tiny_store, tiny_runs):
    app = open_app(tiny_store, "views/confusion_matrices.py")
    assert app.title[0].value == "Confusion matrices"
    left, right = figures(app)
    labels = [selectbox.value for selectbox in app.selectbox[:2]]
    runs = {run.label: run for run in tiny_runs.values()}
    for figure, label in zip((left, right), labels):
        heatmap = figure.data[0]
        assert heatmap.z.tolist() == runs[label].confusion_matrix.tolist()
        assert list(heatmap.x) == list(heatmap.y) == ["blue", "green", "red"]
        assert heatmap.texttemplate == "%{z:d}"
    per_class = app.dataframe[0].value
    assert per_class.to_dict("records") == runs[labels[0]].metrics["per_class"]

    widget(app.toggle, "Normalise rows (share of each true class)").set_value(True).run()
    for figure in figures(app):
        assert np.asarray(figure.data[0].z).sum(axis=1) == pytest.approx([1, 1, 1])

    fast = tiny_runs["fast"]
    # The fullest cell (two images at least, of twelve in nine cells), whatever the tiny model got right on this CPU.
    matrix = fast.confusion_matrix
    true_index, predicted_index = np.unravel_index(matrix.argmax(), matrix.shape)
    true_name, predicted_name = fast.class_names[true_index], fast.class_names[predicted_index]
    expected = matrix[true_index, predicted_index]
    app.selectbox(key="cell_run").set_value(fast.label)
    app.selectbox(key="cell_true").set_value(true_name)
    app.selectbox(key="cell_predicted").set_value(predicted_name).run()
    assert app.markdown[-1].value.startswith(
        f"**{expected}** test images of class **{true_name}** predicted as **{predicted_name}**")
    assert len(app.get("image")) == min(expected, 24)


# A 30-class store: every image right but two of c07 taken for c08 and one of c20 for c03.
MANY_CLASSES = [f"c{index:02d}" for index in range(30)]


@pytest.fixture
def many_classes_store(tmp_path):
    labels = np.repeat(np.arange(30), 3)
    predicted = labels.copy()
    predicted[[21, 22]] = 8  # c07's first two images
    predicted[60] = 3  # c20's first
    probabilities = np.full((len(labels), 30), 0.1 / 29)
    probabilities[np.arange(len(labels)), predicted] = 0.9
    write_fake_run(tmp_path, "wide", labels=labels, probabilities=probabilities, class_names=MANY_CLASSES)
    return tmp_path


def matrix_classes(app) -> list[list[str]]:
    return [list(figure.data[0].x) for figure in figures(app)]


def test_a_matrix_of_many_classes_is_cut_to_the_most_confused_or_named_classes(open_app, many_classes_store):
    app = open_app(many_classes_store, "views/confusion_matrices.py")
    mode = widget(app.radio, "Classes to show (of 30)")
    assert mode.value == confusion.SHOW_ALL  # up to MAX_WHOLE_CLASSES (100)
    assert matrix_classes(app) == [MANY_CLASSES]
    assert len(app.dataframe[0].value) == 30

    mode.set_value(confusion.SHOW_MOST_CONFUSED).run()
    widget(app.slider, "How many classes").set_value(2).run()
    assert matrix_classes(app) == [["c07", "c08"]]
    assert app.dataframe[0].value["class"].tolist() == ["c07", "c08"]
    assert app.dataframe[1].value[["true", "predicted", "count"]].values.tolist() == [["c07", "c08", 2]]
    # The cell gallery picks from the classes shown, starting on their most confused cell.
    assert widget(app.selectbox, "True class").options == ["c07", "c08"]
    assert (widget(app.selectbox, "True class").value, widget(app.selectbox, "Predicted class").value) == (
        "c07", "c08")

    widget(app.slider, "How many classes").set_value(4).run()
    assert matrix_classes(app) == [["c03", "c07", "c08", "c20"]]

    widget(app.radio, "Classes to show (of 30)").set_value(confusion.SHOW_NAMED).run()
    assert app.info[0].value.startswith("Pick classes, or type part of a name")
    widget(app.multiselect, "Classes (type to search)").set_value(["c20"]).run()
    widget(app.text_input, "and every class whose name contains").set_value("C1").run()
    assert matrix_classes(app) == [["c10", "c11", "c12", "c13", "c14", "c15", "c16", "c17", "c18", "c19", "c20"]]
    assert len(app.dataframe[0].value) == 11


def test_beyond_100_classes_the_page_starts_on_the_most_confused(open_app, tmp_path):
    names = [f"class {index:03d}" for index in range(120)]
    labels = np.arange(120)
    predicted = (labels + (labels % 4 == 0)) % 120  # every fourth class taken for the next: 30 pairs
    write_fake_run(tmp_path, "wide", labels=labels, probabilities=np.eye(120)[predicted], class_names=names)
    app = open_app(tmp_path, "views/confusion_matrices.py")
    assert widget(app.radio, "Classes to show (of 120)").value == confusion.SHOW_MOST_CONFUSED
    (shown,) = matrix_classes(app)
    assert len(shown) == confusion.MOST_CONFUSED_DEFAULT and shown[:4] == ["class 000", "class 001", "class 004",
                                                                          "class 005"]
    assert figures(app)[0].data[0].texttemplate == "%{z:d}"  # cut to 20 classes, the cells read again
