"""The dashboard's library, without Streamlit, on hand-made data with expected values worked out by hand."""

from __future__ import annotations

import json
import re
import sys

import numpy as np
import pandas as pd
import pytest

from dashboard.lib import architecture, comparison, confusion, curves, figures, live, runs, samples
from fake_runs import CLASSES, write_fake_run
from trainers.store import run_store
from trainers.store.run_store import Predictions

# ---------------------------------------------------------------- runs


def test_readable_runs_moves_unreadable_runs_to_broken_with_the_reason(tmp_path):
    write_fake_run(tmp_path, "good")
    write_fake_run(tmp_path, "no_accuracy")
    metrics_path = tmp_path / "no_accuracy" / run_store.METRICS_FILE
    metrics = json.loads(metrics_path.read_text())
    del metrics["accuracy"]
    metrics_path.write_text(json.dumps(metrics))
    write_fake_run(tmp_path, "garbled")
    (tmp_path / "garbled" / run_store.RUN_FILE).write_text("{not json")
    write_fake_run(tmp_path, "short", probabilities=np.full((3, 2), 0.5))
    write_fake_run(tmp_path, "no_tta", info={"config": {"image_size": 8}})

    readable, broken = runs.readable_runs(tmp_path)

    # The store's listing reads the JSON files; the predictions are checked when a page reads them.
    assert [run.run_id for run in readable] == ["good", "short"]
    reasons = dict(broken)
    assert set(reasons) == {"no_accuracy", "garbled", "no_tta"}
    assert "accuracy" in reasons["no_accuracy"]
    assert run_store.RUN_FILE in reasons["garbled"]
    assert reasons["no_tta"] == f"{run_store.RUN_FILE}'s config lacks flip_tta, shift_tta"
    with_predictions, unreadable = runs.split_readable(readable, "predictions")
    assert [run.run_id for run in with_predictions] == ["good"]
    assert unreadable == [("short", f"{run_store.PREDICTIONS_FILE} holds probabilities of shape (3, 2), not (3, 3)")]


def test_reading_a_store_reads_no_runs_arrays_until_a_page_asks(tmp_path):
    for name in ("a", "b"):
        run = write_fake_run(tmp_path, name)
        (run.path / run_store.PREDICTIONS_FILE).write_bytes(b"not a zip file")
        (run.path / run_store.HISTORY_FILE).write_text("")

    readable, broken = runs.readable_runs(tmp_path)

    assert [run.run_id for run in readable] == ["a", "b"] and broken == []
    assert runs.dataset_labels(runs.group_by_dataset(readable)) == {"pets-8px-0000": "pets (8 px, 3 test images)"}
    for part, file_name in (("predictions", run_store.PREDICTIONS_FILE), ("history", run_store.HISTORY_FILE)):
        kept, unreadable = runs.split_readable(readable, part)
        assert kept == [] and [label for label, _ in unreadable] == ["a", "b"]
        assert all(reason.startswith(f"unreadable {file_name}") for _, reason in unreadable), unreadable


def test_what_is_computed_from_a_run_is_computed_once_per_run_object(tmp_path):
    calls = []

    @runs.computed_once
    def accuracy(run):
        calls.append(run.run_id)
        if run.run_id == "bad":
            raise run_store.RunError("unreadable")
        return run.metrics["accuracy"]

    good, bad = write_fake_run(tmp_path, "good"), write_fake_run(tmp_path, "bad")
    assert [accuracy(good), accuracy(good)] == [1.0, 1.0]
    for _ in range(2):
        with pytest.raises(run_store.RunError):
            accuracy(bad)
    assert accuracy(run_store.load_run(good.path)) == 1.0  # another reading of the folder: computed again
    assert calls == ["good", "bad", "bad", "good"]


def test_a_broken_runs_files_are_read_once_per_run_object(tmp_path, monkeypatch):
    broken = write_fake_run(tmp_path, "broken")
    (broken.path / run_store.PREDICTIONS_FILE).write_bytes(b"not a zip")
    reads = []
    read_predictions = run_store.read_predictions
    monkeypatch.setattr(run_store, "read_predictions", lambda path: reads.append(path) or read_predictions(path))
    for _ in range(3):  # pages and reruns asking again
        kept, unreadable = runs.split_readable([broken], "predictions")
        assert kept == [] and unreadable[0][1].startswith(f"unreadable {run_store.PREDICTIONS_FILE}")
    assert len(reads) == 1
    runs.split_readable([run_store.load_run(broken.path)], "predictions")  # the folder read again: checked again
    assert len(reads) == 2


def test_readable_runs_of_a_missing_store_is_empty(tmp_path):
    assert runs.readable_runs(tmp_path / "nowhere") == ([], [])


def test_runs_are_grouped_by_test_set_and_labelled(tmp_path):
    a = write_fake_run(tmp_path, "a", test_key="pets-8px-aaaa")
    b = write_fake_run(tmp_path, "b", test_key="cifar10-32px-bbbb")
    c = write_fake_run(tmp_path, "c", test_key="pets-8px-aaaa")
    groups = runs.group_by_dataset([a, b, c])
    assert {key: [run.run_id for run in group] for key, group in groups.items()} == {
        "pets-8px-aaaa": ["a", "c"], "cifar10-32px-bbbb": ["b"]}
    assert runs.dataset_labels(groups) == {"pets-8px-aaaa": "pets (8 px, 3 test images)",
                                           "cifar10-32px-bbbb": "cifar10 (8 px, 3 test images)"}


def test_two_test_sets_that_would_read_the_same_are_labelled_by_their_key(tmp_path):
    a = write_fake_run(tmp_path, "a", test_key="pets-8px-aaaa")
    b = write_fake_run(tmp_path, "b", test_key="pets-8px-bbbb")
    assert runs.dataset_labels(runs.group_by_dataset([a, b])) == {"pets-8px-aaaa": "pets-8px-aaaa",
                                                                  "pets-8px-bbbb": "pets-8px-bbbb"}


@pytest.mark.parametrize("run_id, preset, label", [
    ("cnn_v3-20261127", "cnn_v3", "cnn_v3 / cnn_v3-20261127"),
    ("cnn_v3", "cnn_v3", "cnn_v3"),
    ("mine", "", "mine"),
])
def test_a_run_is_named_by_its_preset_and_folder_unless_they_agree(tmp_path, run_id, preset, label):
    assert write_fake_run(tmp_path, run_id, info={"preset": preset}).label == label


# ---------------------------------------------------------------- comparison


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


def test_accuracy_figure_keeps_the_study_in_its_own_marked_group():
    table = pd.DataFrame({"run": ["r1"], "model": ["cnn_v3"], "params": [1000], "test accuracy": [0.5]})
    measured_only = comparison.accuracy_vs_params_figure(table)
    assert [trace.name for trace in measured_only.data] == [f"cnn_v3, {comparison.MEASURED_GROUP}"]

    figure = comparison.accuracy_vs_params_figure(table, comparison.study_reference())
    reported = [trace for trace in figure.data if comparison.REFERENCE_GROUP in trace.name]
    # Only cnn_v3 and cnn_v4 have a reported parameter count to be placed by.
    assert sorted(trace.name for trace in reported) == [
        f"cnn_v3, {comparison.REFERENCE_GROUP}", f"cnn_v4, {comparison.REFERENCE_GROUP}"]
    assert sorted(y for trace in reported for y in trace.y) == [0.81, 0.91]


# ---------------------------------------------------------------- curves


# TensorBoard's debiased average: s[t] = sum_i w**(t-i) v[i] / sum_i w**(t-i), over finite values only.
@pytest.mark.parametrize("values, weight, expected", [
    ([0, 10, 10], 0.5, [0, 20 / 3, 60 / 7]),  # (10 + 0.5*0) / 1.5, (10 + 0.5*10 + 0.25*0) / 1.75
    ([1, 2, 3], 0.0, [1, 2, 3]),  # weight 0: the values themselves
    ([4, 0], 0.75, [4, 12 / 7]),  # (0 + 0.75*4) / 1.75
    ([2, 4, 8], 0.25, [2, 3.6, 146 / 21]),  # (4 + 0.5) / 1.25, (8 + 1 + 0.125) / 1.3125
    ([0, np.nan, 10, 10], 0.5, [0, np.nan, 20 / 3, 60 / 7]),  # NaN drawn as is, and skipped without decaying
    ([2, np.inf, 4], 0.5, [2, np.inf, 10 / 3]),  # (4 + 0.5*2) / 1.5
])
def test_smooth_is_tensorboards_debiased_moving_average(values, weight, expected):
    assert curves.smooth(values, weight).tolist() == pytest.approx(expected, nan_ok=True)


@pytest.mark.parametrize("weight", [-0.1, 1.0])
def test_smooth_rejects_weights_outside_0_to_1(weight):
    with pytest.raises(ValueError, match=str(weight)):
        curves.smooth([1, 2], weight)


HISTORY = pd.DataFrame({"epoch": [0, 1], "loss": [1.0, 0.3], "val_loss": [1.1, 0.5], "accuracy": [0.5, 0.9],
                        "val_accuracy": [0.4, 0.7], "learning_rate": [1e-3, 5e-4], "epoch_time": [1.0, 1.0]})


def test_curves_table_is_long_with_epochs_from_1():
    table = curves.curves_table({"a": HISTORY})
    assert len(table) == 8  # 2 epochs x (loss, accuracy) x (train, validation)
    validation_accuracy = table[(table["metric"] == "accuracy") & (table["split"] == "validation")]
    assert validation_accuracy[["epoch", "value"]].values.tolist() == [[1, 0.4], [2, 0.7]]


def test_curves_table_smooths_each_run_and_series_on_its_own():
    table = curves.curves_table({"a": HISTORY, "b": HISTORY}, smoothing=0.5)
    train_loss = table[(table["metric"] == "loss") & (table["split"] == "train")]
    # (0.3 + 0.5 * 1.0) / 1.5 = 8/15, and run b starts again from its own first value.
    assert train_loss["value"].tolist() == pytest.approx([1.0, 8 / 15, 1.0, 8 / 15])


def test_gap_table_and_final_gaps():
    gaps = curves.gap_table({"a": HISTORY})
    assert gaps["accuracy gap"].tolist() == pytest.approx([0.1, 0.2])  # train - validation accuracy
    assert gaps["loss gap"].tolist() == pytest.approx([0.1, 0.2])  # validation - train loss
    final = curves.final_gaps({"a": HISTORY}).iloc[0]
    assert final["epochs"] == 2
    assert final["accuracy gap"] == pytest.approx(0.2)
    assert final["best validation epoch"] == 2
    assert final["shipped epoch"] == 2  # no keep_best: the last epoch ships
    kept = curves.final_gaps({"a": HISTORY, "b": HISTORY}, {"a": 0, "b": None})
    assert kept["shipped epoch"].tolist() == [1, 2]


def test_more_runs_than_colours_are_drawn_as_one_line_per_split_that_names_each_run_on_hover():
    labels = [f"run {number}" for number in range(figures.MAX_COLOURED_RUNS + 1)]
    table = curves.curves_table(dict.fromkeys(labels, HISTORY))
    train, validation = curves.curves_figure(table, "loss").data
    assert (train.name, validation.name, validation.line.dash) == ("train", "validation", "dash")
    # Each run's two epochs, and a gap before every run but the first.
    assert np.isnan(train.y).sum() == len(labels) - 1 and np.nansum(train.y) == pytest.approx(1.3 * len(labels))
    assert [text for text in train.text if text] == [label for label in labels for _ in range(2)]
    (rates,) = curves.learning_rate_figure(dict.fromkeys(labels, HISTORY)).data
    assert np.nanmax(rates.y) == 1e-3 and not figures.many_runs(table.head(2 * 4))


def test_curve_figures_draw_every_run_and_split():
    figure = curves.curves_figure(curves.curves_table({"a": HISTORY, "b": HISTORY}), "loss")
    assert sorted(trace.name for trace in figure.data) == ["a, train", "a, validation", "b, train", "b, validation"]
    rates = curves.learning_rate_figure({"a": HISTORY})
    assert rates.data[0].y.tolist() == [1e-3, 5e-4]
    assert curves.gap_figure(curves.gap_table({"a": HISTORY})).data[0].y.tolist() == pytest.approx([0.1, 0.2])


# ---------------------------------------------------------------- confusion

MATRIX = [[5, 2, 0],
          [1, 4, 3],
          [0, 0, 6]]


def predictions_of(labels, predicted) -> Predictions:
    """Stored predictions that pick `predicted`, each with probability 1."""
    return Predictions(ids=np.array([f"i{n}" for n in range(len(labels))]), labels=np.array(labels),
                       probabilities=np.eye(3)[predicted])


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


# ---------------------------------------------------------------- samples


@pytest.mark.parametrize("k, expected", [
    (1, [("dog", 0.6)]),
    (2, [("dog", 0.6), ("owl", 0.3)]),
    (5, [("dog", 0.6), ("owl", 0.3), ("cat", 0.1)]),
])
def test_top_k(k, expected):
    assert samples.top_k([0.1, 0.6, 0.3], CLASSES, k=k) == pytest.approx(expected)


@pytest.mark.parametrize("k, decimals, line", [
    (2, 0, "dog 60% · owl 30%"),
    (3, 1, "dog 60.0% · owl 30.0% · cat 10.0%"),
    (1, 2, "dog 60.00%"),
])
def test_format_top_k(k, decimals, line):
    assert samples.format_top_k([0.1, 0.6, 0.3], CLASSES, k=k, decimals=decimals) == line


PREDICTIONS = Predictions(
    ids=np.array(["i0", "i1", "i2", "i3", "i4"]),
    labels=np.array([0, 0, 1, 1, 2]),
    probabilities=np.array([[0.9, 0.1, 0.0],    # right
                            [0.2, 0.7, 0.1],    # cat as dog, 0.7
                            [0.6, 0.3, 0.1],    # dog as cat, 0.6
                            [0.1, 0.8, 0.1],    # right
                            [0.05, 0.9, 0.05]]),  # owl as dog, 0.9
)


@pytest.mark.parametrize("true_class, predicted_class, mistakes_only, ids", [
    (None, None, True, ["i4", "i1", "i2"]),
    (0, None, True, ["i1"]),
    (None, 1, True, ["i4", "i1"]),
    (2, 1, True, ["i4"]),
    (2, 0, True, []),
    (None, None, False, ["i0", "i4", "i3", "i1", "i2"]),  # i0 and i4 tie at 0.9: stored order
    (1, 1, False, ["i3"]),  # a diagonal cell holds the images the run got right
    (1, 1, True, []),
    (0, None, False, ["i0", "i1"]),
])
def test_samples_by_class_most_confident_first(true_class, predicted_class, mistakes_only, ids):
    found = samples.samples_by_class(PREDICTIONS, CLASSES, true_class=true_class, predicted_class=predicted_class,
                                     mistakes_only=mistakes_only)
    assert found["id"].tolist() == ids


def test_samples_by_class_columns():
    mistakes = samples.samples_by_class(PREDICTIONS, CLASSES, mistakes_only=True)
    assert mistakes.index.tolist() == [4, 1, 2]  # positions in the predictions
    assert mistakes.iloc[0][["true", "predicted"]].tolist() == ["owl", "dog"]
    assert mistakes["confidence"].tolist() == pytest.approx([0.9, 0.7, 0.6])


def test_a_confusion_cells_images_are_ordered_by_the_probability_of_the_predicted_class():
    cell = Predictions(ids=np.array(["i0", "i1", "i2", "i3", "i4"]), labels=np.array([0, 0, 1, 0, 0]),
                       probabilities=np.array([[0.2, 0.8, 0], [0.9, 0.1, 0], [0.1, 0.9, 0], [0.4, 0.6, 0],
                                               [0.05, 0.95, 0]]))
    assert samples.samples_by_class(cell, CLASSES, true_class=0, predicted_class=1).index.tolist() == [4, 0, 3]
    assert samples.samples_by_class(cell, CLASSES, true_class=0, predicted_class=0).index.tolist() == [1]
    assert samples.samples_by_class(cell, CLASSES, true_class=1, predicted_class=0).empty


@pytest.mark.parametrize("total, size, pages", [(0, 12, 1), (12, 12, 1), (13, 12, 2), (48, 24, 2)])
def test_page_count(total, size, pages):
    assert samples.page_count(total, size) == pages


@pytest.mark.parametrize("page, size, items", [(1, 3, [0, 1, 2]), (2, 3, [3, 4]), (3, 3, [])])
def test_page_slice(page, size, items):
    assert list(range(5))[samples.page_slice(page, size)] == items


def test_page_slice_counts_from_1():
    with pytest.raises(ValueError, match="page 0"):
        samples.page_slice(0, 10)


def test_upscale_keeps_pixels_square_and_sharp():
    pixels = np.zeros((2, 3, 3), np.uint8)
    pixels[0, 0] = (255, 0, 0)
    image = samples.upscale(pixels, 128)
    assert image.size == (3 * 42, 2 * 42)  # 128 // 3 = 42 times larger
    enlarged = np.asarray(image)
    assert (enlarged[:42, :42] == (255, 0, 0)).all() and (enlarged[42:, :] == 0).all()
    assert samples.upscale(np.zeros((256, 256, 3), np.uint8), 128).size == (256, 256)  # never smaller


def test_predictions_for_image_gives_every_runs_prediction(tmp_path):
    right = write_fake_run(tmp_path, "right")
    wrong = write_fake_run(tmp_path, "wrong", probabilities=[[0.2, 0.7, 0.1], [0, 1, 0], [0, 0, 1]])
    table = samples.predictions_for_image([right, wrong], "test/000.png")
    assert table[["run", "predicted", "correct"]].values.tolist() == [["right", "cat", True], ["wrong", "dog", False]]
    assert table["confidence"].tolist() == pytest.approx([1.0, 0.7])
    assert table["top 3"].iloc[1] == "dog 70% · cat 20% · owl 10%"
    assert samples.predictions_for_image([right], "not/there.png").empty


# ---------------------------------------------------------------- architecture


def test_architecture_summary_and_layer_table(tmp_path):
    run = write_fake_run(tmp_path, "cnn_v3-1", summary={"conv_layers": 6, "total_params": 2196810})
    mine = write_fake_run(tmp_path, "mine", info={"preset": ""})
    summary = architecture.architecture_summary([run, mine])
    assert summary.iloc[0][["model", "run", "conv layers", "params", "optimizer"]].tolist() == [
        "cnn_v3", "cnn_v3-1", 6, 2196810, "adam"]
    assert summary.iloc[1][["model", "run"]].tolist() == ["", "mine"]  # the preset, never the folder
    layers = architecture.layer_table(run)
    assert layers.columns.tolist() == ["name", "type", "output shape", "params", "trainable"]
    assert layers.values.tolist() == [["pixels", "InputLayer", "(None, 8, 8, 3)", 0, True],
                                      ["logits", "Dense", "(None, 3)", 579, True]]


# ---------------------------------------------------------------- live


def test_picks_table_and_agreement():
    picks = live.picks_table({"a": np.array([0.1, 0.7, 0.2]), "b": np.array([0.2, 0.5, 0.3])}, CLASSES, k=2)
    assert picks[["run", "picks"]].values.tolist() == [["a", "dog"], ["b", "dog"]]
    assert picks["probability"].tolist() == pytest.approx([0.7, 0.5])
    assert picks["top 2"].tolist() == ["dog 70.0% · owl 20.0%", "dog 50.0% · owl 30.0%"]
    assert live.agreement(picks) == "All 2 models agree: **dog**."


@pytest.mark.parametrize("vectors, sentence", [
    ({"a": [0.9, 0.1, 0]}, "a picks **cat**."),
    ({"a": [0.9, 0.1, 0], "b": [0, 0.1, 0.9]}, "The models disagree: a picks **cat**, b picks **owl**."),
])
def test_agreement_sentences(vectors, sentence):
    assert live.agreement(live.picks_table({k: np.array(v) for k, v in vectors.items()}, CLASSES)) == sentence


def test_class_probabilities_refuses_a_model_whose_outputs_do_not_fit_the_classes():
    import keras

    inputs = keras.Input((2, 2, 3))
    outputs = keras.layers.Dense(2, activation="softmax")(keras.layers.Flatten()(inputs))
    model = keras.Model(inputs, outputs)
    pixels = np.zeros((4, 2, 2, 3), np.uint8)
    assert live.class_probabilities(model, pixels, ["cat", "dog"]).shape == (4, 2)
    with pytest.raises(ValueError, match=r"it returns \(2,\) outputs per image for 3 classes"):
        live.class_probabilities(model, pixels, CLASSES)


def test_the_dashboard_keeps_keras_session_across_script_runs(monkeypatch):
    """Streamlit clears Keras' session (and TensorFlow's kernel cache) after every script run; the dashboard,
    whose models are loaded once, keeps it, and still closes matplotlib's figures."""
    from keras.src.backend.common import global_state
    from streamlit.runtime.scriptrunner import script_runner

    from dashboard.lib import state

    current = script_runner._clean_problem_modules
    streamlits = getattr(current, "replaced", current)
    monkeypatch.setattr(script_runner, "_clean_problem_modules", streamlits)
    global_state.set_global_attribute("probe", 1)
    streamlits()
    assert global_state.get_global_attribute("probe") is None  # what the dashboard undoes

    state.keep_keras_session()
    state.keep_keras_session()  # once is enough: a second call changes nothing
    assert script_runner._clean_problem_modules.replaced is streamlits
    global_state.set_global_attribute("probe", 1)
    closed = []
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot",
                        type("pyplot", (), {"close": staticmethod(closed.append)}))
    script_runner._clean_problem_modules()
    assert global_state.get_global_attribute("probe") == 1
    assert closed == ["all"]
