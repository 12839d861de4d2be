"""The Home page under Streamlit's AppTest: the ranking of the selected runs, the study's figures, and the
sidebar's selection across pages and data sets."""

from __future__ import annotations

import pytest

from app_pages import figures, widget
from fake_runs import write_fake_run
from trainers.analysis.calibration import MIN_BIN_IMAGES
from trainers.store import run_store


def test_home_ranks_every_run_with_its_metrics(open_app, tiny_store, tiny_runs):
    app = open_app(tiny_store)
    assert app.title[0].value == "Run comparison"
    table = app.dataframe[0].value.set_index("run")
    assert sorted(table.index) == sorted(tiny_runs)
    for run_id, run in tiny_runs.items():
        row = table.loc[run_id]
        assert row["test accuracy"] == pytest.approx(run.metrics["accuracy"])
        assert row["test log loss"] == pytest.approx(run.metrics["log_loss"])
        assert row["macro F1"] == pytest.approx(run.metrics["macro_f1"])
        assert row["macro recall"] == pytest.approx(run.metrics["macro_recall"])
        assert row["params"] == run.architecture["summary"]["total_params"]
        assert row["model"] == run.preset
        assert row["author"] == "tester"
    assert table.loc["plain", "comment"] == "plain CNN"
    # cnn_v3 averages the mirror; fast was trained with --shift-tta 1 on cnn_fast, which mirrors too.
    assert table["test-time augmentation"].to_dict() == {"plain": "mirror", "fast": "mirror + 1-px shifts"}
    assert any("Each run in its colour" in caption.value for caption in app.caption)
    scatter = figures(app)[0]
    assert sorted(y for trace in scatter.data if trace.name != "Pareto frontier" for y in trace.y) == pytest.approx(
        sorted(run.metrics["accuracy"] for run in tiny_runs.values()))


def test_home_shows_the_studys_figures_apart_when_asked(open_app, tiny_store):
    app = open_app(tiny_store)
    assert not any("Reported by the study" in header.value for header in app.subheader)
    widget(app.toggle, "Show the figures reported by the study").set_value(True).run()
    measured, reported = (frame.value for frame in app.dataframe[:2])
    assert len(measured) == 2
    assert reported["model"].tolist()[:2] == ["cnn_v3", "cnn_v4"]
    assert reported["test accuracy"].tolist() == [0.81, 0.91, 0.78, 0.88, 0.95, 0.96]
    assert any("Reported by the study" in header.value for header in app.subheader)
    scatter = figures(app)[0]
    assert any("reported by the study" in trace.name for trace in scatter.data)


def test_the_sidebar_selection_holds_across_pages(open_app, tiny_store):
    app = open_app(tiny_store)
    app.sidebar.multiselect[0].set_value(["fast"]).run()
    assert app.dataframe[0].value["run"].tolist() == ["fast"]
    app.switch_page("views/training_curves.py").run()
    assert app.dataframe[0].value["run"].tolist() == ["cnn_fast / fast"]
    app.sidebar.multiselect[0].set_value([]).run()
    assert "Select at least one run" in app.info[0].value


def test_runs_of_different_data_sets_are_never_ranked_together(open_app, tmp_path):
    write_fake_run(tmp_path, "pets_a", test_key="pets-8px-aaaa")
    write_fake_run(tmp_path, "birds_b", test_key="birds-8px-bbbb")
    write_fake_run(tmp_path, "pets_c", test_key="pets-8px-aaaa")
    app = open_app(tmp_path)
    choice = widget(app.sidebar.selectbox, "Data set")
    # Runs are listed oldest first, then by name: birds_b comes first, and so does its data set.
    assert choice.options == ["birds (8 px, 3 test images)", "pets (8 px, 3 test images)"]
    assert app.dataframe[0].value["run"].tolist() == ["birds_b"]
    choice.set_value("pets-8px-aaaa").run()
    assert app.dataframe[0].value["run"].tolist() == ["pets_a", "pets_c"]
    assert app.sidebar.multiselect[0].options == ["pets_a", "pets_c"]


def test_home_shows_top_5_accuracy_beyond_ten_classes_and_the_recorded_calibration_without_the_predictions(
        open_app, tmp_path):
    names = [f"class {index:02d}" for index in range(12)]
    recorded = {"top_5_accuracy": 0.875, "ece": 0.03, "mce": 0.2, "brier": 0.4, "calibration_bins": 15,
                "calibration_min_bin_images": MIN_BIN_IMAGES}
    run = write_fake_run(tmp_path, "wide", labels=list(range(12)), class_names=names, metrics=recorded)
    (run.path / run_store.PREDICTIONS_FILE).write_bytes(b"not read by Home")
    app = open_app(tmp_path)
    row = app.dataframe[0].value.set_index("run").loc["wide"]
    assert row["top-5 accuracy"] == 0.875
    assert (row["ECE (15 bins)"], row["MCE (15 bins)"], row["Brier score"]) == (0.03, 0.2, 0.4)
    columns = list(app.dataframe[0].value.columns)
    assert columns.index("top-5 accuracy") == columns.index("test accuracy") + 1


def test_home_has_no_top_5_column_for_runs_of_ten_classes_or_fewer(open_app, tiny_store):
    assert "top-5 accuracy" not in open_app(tiny_store).dataframe[0].value.columns


def test_a_run_without_a_parameter_count_or_configuration_is_said_not_drawn(open_app, tmp_path):
    write_fake_run(tmp_path, "bare", summary={"total_params": None, "total_layers": None, "dense_layers": None})
    app = open_app(tmp_path)
    assert not app.get("plotly_chart")  # no empty chart with made-up axes
    captions = [caption.value for caption in app.caption]
    assert "No selected run records its parameter count." in captions
    assert "Fewer than two selected runs have a training configuration to compare." in captions
    row = app.dataframe[0].value.iloc[0]
    assert row["params"] is None or row["params"] != row["params"]  # blank, not "None" or 0
