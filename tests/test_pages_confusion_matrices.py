"""The Confusion matrices page under Streamlit's AppTest, on the tiny run store."""

from __future__ import annotations

import numpy as np
import pytest

from app_pages import figures, widget


def test_confusion_matrices_side_by_side_with_scores_and_a_cells_images(open_app, tiny_store, tiny_runs):
    app = open_app(tiny_store, "views/confusion_matrices.py")
    assert app.title[0].value == "Confusion matrices"
    left, right = figures(app)
    labels = [selectbox.value for selectbox in app.selectbox[:2]]
    runs = {run.label: run for run in tiny_runs.values()}
    for figure, label in zip((left, right), labels):
        heatmap = figure.data[0]
        assert heatmap.z.tolist() == runs[label].metrics["confusion_matrix"]
        assert list(heatmap.x) == list(heatmap.y) == ["blue", "green", "red"]
        assert heatmap.texttemplate == "%{z:d}"
    per_class = app.dataframe[0].value
    assert per_class.to_dict("records") == runs[labels[0]].metrics["per_class"]

    widget(app.toggle, "Normalise rows (share of each true class)").set_value(True).run()
    for figure in figures(app):
        assert np.asarray(figure.data[0].z).sum(axis=1) == pytest.approx([1, 1, 1])

    fast = tiny_runs["fast"]
    # The fullest cell (two images at least, of twelve in nine cells), whatever the tiny model got right on this CPU.
    matrix = np.asarray(fast.metrics["confusion_matrix"])
    true_index, predicted_index = np.unravel_index(matrix.argmax(), matrix.shape)
    true_name, predicted_name = fast.class_names[true_index], fast.class_names[predicted_index]
    expected = matrix[true_index, predicted_index]
    app.selectbox(key="cell_run").set_value(fast.label)
    app.selectbox(key="cell_true").set_value(true_name)
    app.selectbox(key="cell_predicted").set_value(predicted_name).run()
    assert app.markdown[-1].value.startswith(
        f"**{expected}** test images of class **{true_name}** predicted as **{predicted_name}**")
    assert len(app.get("image")) == min(expected, 24)
