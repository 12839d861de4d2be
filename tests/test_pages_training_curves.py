"""The Training curves page under Streamlit's AppTest, on the tiny run store."""

from __future__ import annotations

import pytest

from app_pages import figures, widget
from dashboard.lib.curves import smooth


def test_training_curves_overlay_every_run_smoothed_on_request(open_app, tiny_store, tiny_runs):
    app = open_app(tiny_store, "views/training_curves.py")
    assert app.title[0].value == "Training curves"
    loss, accuracy, accuracy_gap, loss_gap, learning_rate = figures(app)
    plain = tiny_runs["plain"].label
    assert {trace.name for trace in loss.data} == {
        f"{run.label}, {split}" for run in tiny_runs.values() for split in ("train", "validation")}
    history = tiny_runs["plain"].history
    trace = next(t for t in accuracy.data if t.name == f"{plain}, validation")
    assert trace.y == pytest.approx(history["val_accuracy"].tolist())
    assert trace.x.tolist() == list(range(1, len(history) + 1))

    gaps = app.dataframe[0].value.set_index("run")
    last = history.iloc[-1]
    assert gaps.loc[plain, "accuracy gap"] == pytest.approx(last["accuracy"] - last["val_accuracy"])
    assert gaps.loc[plain, "shipped epoch"] == len(history)  # trained without keep_best
    rates = next(t for t in learning_rate.data if t.name == plain)
    assert rates.y == pytest.approx(history["learning_rate"].tolist())

    widget(app.slider, "Smoothing (exponential moving average weight)").set_value(0.5).run()
    trace = next(t for t in figures(app)[0].data if t.name == f"{plain}, train")
    assert trace.y == pytest.approx(smooth(history["loss"], 0.5).tolist())
