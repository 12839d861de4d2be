"""dashboard.lib.curves: smoothed training curves, the train-validation gap, and figures of many runs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dashboard.lib import curves, figures


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
