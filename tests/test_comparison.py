"""dashboard.lib.comparison: the study's comparison table, its best cells, and the study's own figures."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from dashboard.lib import comparison
from fake_runs import write_fake_run


def test_comparison_table_has_one_row_per_run_with_the_study_columns(tmp_path):
    first = write_fake_run(tmp_path, "cnn_v3-1", metrics={"accuracy": 0.8, "log_loss": 0.5, "macro_f1": 0.7,
                                                          "macro_recall": 0.75},
                           summary={"total_params": 2196810, "batch_norm": True, "dropout": 0.5})
    second = write_fake_run(tmp_path, "cnn_fast-2", info={
        "comment": "", "training_seconds": 50.0, "config": {"image_size": 8, "flip_tta": True, "shift_tta": 1}})
    mine = write_fake_run(tmp_path, "mine", info={"preset": "", "config": {"image_size": 8, "flip_tta": True,
                                                                          "shift_tta": 0}})
    table = comparison.comparison_table([first, second, mine])

    assert table["run"].tolist() == ["cnn_v3-1", "cnn_fast-2", "mine"]
    assert table["model"].tolist() == ["cnn_v3", "cnn_fast", ""]  # the preset, never the folder
    row = table.iloc[0]
    assert (row["test accuracy"], row["test log loss"], row["macro F1"], row["macro recall"]) == (0.8, 0.5, 0.7, 0.75)
    assert (row["params"], row["total layers"], row["dense layers"], row["epochs"]) == (2196810, 2, 1, 2)
    assert (row["BatchNorm"], row["augmentation"], row["dropout"], row["optimizer"]) == (True, False, 0.5, "adam")
    assert (row["author"], row["comment"], row["training time (s)"], row["images / s"]) == (
        "ada", "cnn_v3-1 comment", 10.0, 100.0)
    assert table.iloc[1]["training time (s)"] == 50.0
    assert table.iloc[1]["comment"] == ""
    assert table["test-time augmentation"].tolist() == ["none", "mirror + 1-px shifts", "mirror"]


def test_best_mask_marks_the_best_of_each_metric_column_and_every_tie():
    table = pd.DataFrame({
        "run": ["a", "b", "c"],
        "test accuracy": [0.80, 0.90, 0.85],
        "test log loss": [0.50, 0.60, np.nan],
        "macro F1": [0.70, 0.70, 0.60],
        "training time (s)": [100.0, 50.0, 70.0],
        "images / s": [np.nan, np.nan, np.nan],
    })
    mask = comparison.best_mask(table)
    assert mask.to_dict("list") == {
        "run": [False, False, False],
        "test accuracy": [False, True, False],  # higher is better
        "test log loss": [True, False, False],  # lower is better; a missing value is never best
        "macro F1": [True, True, False],
        "training time (s)": [False, True, False],
        "images / s": [False, False, False],
    }


def test_styled_comparison_highlights_exactly_the_best_cells():
    table = pd.DataFrame({"run": ["a", "b"], "test accuracy": [0.8, 0.9], "test log loss": [0.5, 0.6]})
    html = comparison.styled_comparison(table).to_html()
    highlighted = re.search(r"([^{}]*)\{\s*" + re.escape(comparison.BEST_STYLE.split(";")[0]), html).group(1)
    assert sorted(re.findall(r"row\d_col\d", highlighted)) == ["row0_col2", "row1_col1"]
    assert "0.9000" in html  # formatted to four decimals


def test_study_reference_holds_the_studys_figures_and_leaves_unknowns_empty():
    reference = comparison.study_reference().set_index("model")
    assert reference["test accuracy"].to_dict() == {
        "cnn_v3": 0.81, "cnn_v4": 0.91, "vgg16_transfer": 0.78, "vgg16_finetune": 0.88,
        "resnet50_transfer": 0.95, "resnet50_finetune": 0.96}
    assert reference.loc["cnn_v3", "params"] == 2196810
    assert reference.loc["cnn_v4", "params"] == 2200394
    assert reference.loc["cnn_v3", "epochs"] == 15
    assert reference["optimizer"].to_dict() == {
        "cnn_v3": "Adam", "cnn_v4": "Adam", "vgg16_transfer": "Adam", "vgg16_finetune": "Adam",
        "resnet50_transfer": "RMSprop", "resnet50_finetune": "RMSprop"}
    assert not reference.loc["cnn_v3", "augmentation"]
    assert reference.loc["cnn_v4", ["augmentation", "BatchNorm", "dropout"]].tolist() == [True, True, True]
    assert pd.isna(reference.loc["resnet50_finetune", "params"])
    assert pd.isna(reference.loc["cnn_v4", "epochs"])


def test_reference_for_display_writes_counts_and_leaves_unknowns_empty():
    shown = comparison.reference_for_display(comparison.study_reference()).set_index("model")
    assert shown.loc["cnn_v3", ["params", "epochs"]].tolist() == ["2,196,810", "15"]
    assert shown.loc["cnn_v4", ["params", "epochs"]].tolist() == ["2,200,394", ""]


def test_accuracy_figure_names_each_run_in_its_colour_and_keeps_the_study_apart():
    table = pd.DataFrame({"run": ["r1", "r2", "r3"], "model": ["cnn_v3", "cnn_v3", ""],
                          "params": [1000, 2000, None], "test accuracy": [0.5, 0.6, 0.7]})
    measured_only = comparison.accuracy_vs_params_figure(table, colours={"r1": "#123456", "r2": "#654321"})
    # A point per run with a parameter count, named on the chart and in its colour; r3 has none.
    assert [(trace.name, tuple(trace.text), trace.marker.color) for trace in measured_only.data] == [
        (f"r1, {comparison.MEASURED_GROUP}", ("r1",), "#123456"), (f"r2, {comparison.MEASURED_GROUP}", ("r2",),
                                                                  "#654321")]
    assert comparison.left_out_of_chart(table) == ["r3"]

    figure = comparison.accuracy_vs_params_figure(table, comparison.study_reference())
    reported = [trace for trace in figure.data if comparison.REFERENCE_GROUP in trace.name]
    # Only cnn_v3 and cnn_v4 have a reported parameter count to be placed by.
    assert sorted(trace.name for trace in reported) == [
        f"cnn_v3 (study), {comparison.REFERENCE_GROUP}", f"cnn_v4 (study), {comparison.REFERENCE_GROUP}"]
    assert sorted(y for trace in reported for y in trace.y) == [0.81, 0.91]
    assert all(trace.marker.symbol == "diamond-open" for trace in reported)
