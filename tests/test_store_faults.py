"""A store with faults in it: every page still opens, each bad run is listed with its reason, nothing is half read."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from dashboard_server import VIEWS
from fake_runs import write_fake_run
from dashboard.lib import calibration, curves, runs
from trainers.store import run_store

PAGES = VIEWS
EMPTY_HISTORY = {column: [] for column in run_store.HISTORY_COLUMNS}


def _rewrite_json(path, **changes):
    path.write_text(json.dumps({**json.loads(path.read_text()), **changes}))


# The pages that read the runs' predictions (Home for its calibration columns); the others read only the runs'
# JSON files, or their histories or models.
PREDICTION_PAGES = [page for page in PAGES if page not in (
    "views/training_curves.py", "views/architecture.py", "views/live_predictions.py")]


@pytest.fixture
def faulty_store(tmp_path):
    """One good run beside one of each fault; returns the store, the reason each fault of a run's JSON files (or
    folder) is listed with in the sidebar, and the reason each fault of its predictions is given with on the pages
    that read them."""
    store = tmp_path / "store"
    write_fake_run(store, "good")
    write_fake_run(store, "short", probabilities=np.full((3, 2), 0.5))
    write_fake_run(store, "nan_probabilities", probabilities=[[np.nan, 0.5, 0.5], [0, 1, 0], [0, 0, 1]])
    _rewrite_json(write_fake_run(store, "future").path / run_store.RUN_FILE, schema_version=run_store.SCHEMA_VERSION + 1)
    (write_fake_run(store, "garbled").path / run_store.METRICS_FILE).write_text('{"accuracy": 0.')
    (write_fake_run(store, "truncated_model").path / run_store.MODEL_FILE).unlink()
    (store / "empty").mkdir()
    return store, {
        "future": "written by a newer version of this tool",
        "garbled": "unreadable metrics.json",
        "truncated_model": "missing model.keras",
        "empty": "missing run.json",
    }, {
        "short": "probabilities of shape (3, 2), not (3, 3)",
        "nan_probabilities": "NaN or infinite probabilities for 1 of 3 test images",
    }


def test_each_fault_is_listed_with_its_reason(faulty_store):
    store, reasons, prediction_reasons = faulty_store
    readable, broken = runs.readable_runs(store)
    assert [run.run_id for run in readable] == ["good", "nan_probabilities", "short"]
    listed = dict(broken)
    assert set(listed) == set(reasons)
    for name, reason in reasons.items():
        assert reason in listed[name], (name, listed[name])
    with_predictions, unreadable = runs.split_readable(readable, "predictions")
    assert [run.run_id for run in with_predictions] == ["good"]
    named = dict(unreadable)
    assert set(named) == set(prediction_reasons)
    for name, reason in prediction_reasons.items():
        assert reason in named[name], (name, named[name])


@pytest.mark.parametrize("page", PAGES)
def test_every_page_opens_on_a_faulty_store_and_lists_the_faults(open_app, faulty_store, page):
    store, reasons, prediction_reasons = faulty_store
    app = open_app(store, page)
    (warning,) = app.sidebar.warning
    for name, reason in reasons.items():
        assert f"`{name}`: " in warning.value and reason in warning.value
    assert app.sidebar.multiselect[0].value == ["good", "nan_probabilities", "short"]
    named = "\n".join(warning.value for warning in app.main.warning)
    for name, reason in prediction_reasons.items():
        assert (f"- {name}: " in named and reason in named) == (page in PREDICTION_PAGES), (name, named)


def test_runs_whose_predictions_cannot_be_read_are_still_ranked_and_named_where_predictions_are_shown(open_app,
                                                                                                    tmp_path):
    store = tmp_path / "store"
    for name in ("a", "b"):
        (write_fake_run(store, name).path / run_store.PREDICTIONS_FILE).write_bytes(b"not a zip file")

    app = open_app(store)
    table = app.dataframe[0].value
    assert table["run"].tolist() == ["a", "b"] and table["test accuracy"].tolist() == [1.0, 1.0]
    assert table[calibration.ECE].isna().all()  # from the predictions: left empty, and the page says why
    (warning,) = app.main.warning
    assert "Not ranked, and calibration columns left empty" in warning.value
    assert all(f"- {name}: unreadable {run_store.PREDICTIONS_FILE}" in warning.value for name in ("a", "b"))
    assert not app.sidebar.warning

    app.switch_page("views/confusion_matrices.py").run()
    assert not app.exception
    (warning,) = app.main.warning
    assert "Not shown on this page" in warning.value and f"- a: unreadable {run_store.PREDICTIONS_FILE}" in warning.value
    assert "None of the selected runs can be shown on this page" in app.info[0].value


def test_a_run_whose_history_cannot_be_read_is_named_by_training_curves_alone(open_app, tmp_path):
    write_fake_run(tmp_path, "good")
    (write_fake_run(tmp_path, "cut").path / run_store.HISTORY_FILE).write_text("epoch,loss\n0,1.0\n")
    app = open_app(tmp_path)
    assert app.dataframe[0].value["run"].tolist() == ["cut", "good"] and not app.warning
    app.switch_page("views/training_curves.py").run()
    assert not app.exception
    (warning,) = app.main.warning
    assert f"- cut: {run_store.HISTORY_FILE} lacks accuracy" in warning.value
    assert app.dataframe[0].value["run"].tolist() == ["good"]


def test_nan_in_a_history_leaves_gaps_and_the_best_epoch_among_the_rest(open_app, tmp_path):
    history = {"epoch": [0, 1, 2], "accuracy": [0.5, np.nan, 0.9], "epoch_time": [5.0, 5.0, 5.0],
               "learning_rate": [1e-3, 1e-3, 1e-3], "loss": [1.0, np.nan, 0.3], "val_accuracy": [0.4, np.nan, 0.7],
               "val_loss": [1.1, np.inf, 0.5]}
    run = write_fake_run(tmp_path, "gappy", history=history)
    final = curves.final_gaps({"gappy": run.history}).iloc[0]
    assert final["best validation epoch"] == 3 and final["accuracy gap"] == pytest.approx(0.2)
    no_validation = pd.DataFrame({**history, "val_accuracy": [np.nan] * 3})
    assert curves.final_gaps({"x": no_validation}).iloc[0]["best validation epoch"] is None
    app = open_app(tmp_path, "views/training_curves.py")
    assert app.dataframe[0].value.set_index("run").loc["gappy", "best validation epoch"] == 3


def _tree(store):
    return {path.relative_to(store): (path.stat().st_size, path.stat().st_mtime_ns)
            for path in sorted(store.rglob("*"))}


def test_the_dashboard_writes_nothing_in_the_store_so_a_read_only_one_works(open_app, faulty_store):
    store, _, _ = faulty_store
    run_store.save_test_images(store, "pets-8px-0000", [f"test/{i:03d}.png" for i in range(3)], [0, 1, 2],
                               np.zeros((3, 8, 8, 3), np.uint8))
    for path in [store, *store.rglob("*")]:
        path.chmod(0o555 if path.is_dir() else 0o444)
    before = _tree(store)
    try:
        for page in PAGES:
            open_app(store, page)
    finally:
        for path in [store, *store.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
    assert _tree(store) == before


def test_a_run_being_committed_is_never_shown_half_written(open_app, tmp_path):
    store = tmp_path / "store"
    write_fake_run(store, "first")
    complete = write_fake_run(tmp_path / "elsewhere", "second")  # the files the new run will hold
    app = open_app(store)
    assert app.dataframe[0].value["run"].tolist() == ["first"]

    writer = run_store.RunWriter(store, "second")
    writer.create(complete.info)
    for name in run_store.run_files(complete.info)[1:]:  # all but run.json, one after the other, the page reran between
        shutil.copy(complete.path / name, writer.path / name)
        app.run()
        assert not app.exception
        assert app.dataframe[0].value["run"].tolist() == ["first"] and not app.sidebar.warning
    writer.commit()
    app.run()
    assert app.dataframe[0].value["run"].tolist() == ["first", "second"]
    assert app.sidebar.multiselect[0].value == ["first", "second"]


def test_the_choice_of_runs_follows_runs_that_come_and_go_but_keeps_what_the_user_left_out(open_app, tmp_path):
    store = tmp_path / "store"
    for name in ("a", "b"):
        write_fake_run(store, name)
    app = open_app(store)
    app.sidebar.multiselect[0].set_value(["b"]).run()  # the user leaves a out
    write_fake_run(store, "c")
    app.run()
    assert app.sidebar.multiselect[0].value == ["b", "c"]  # the new run joins; a stays out
    shutil.rmtree(store / "b")
    app.run()
    assert not app.exception
    assert app.sidebar.multiselect[0].options == ["a", "c"] and app.sidebar.multiselect[0].value == ["c"]
    assert app.dataframe[0].value["run"].tolist() == ["c"]


def test_a_run_without_history_is_readable_and_training_curves_says_it_has_none(open_app, tmp_path):
    write_fake_run(tmp_path, "trained")
    write_fake_run(tmp_path, "imported", history=EMPTY_HISTORY)
    assert [run.run_id for run in runs.readable_runs(tmp_path)[0]] == ["imported", "trained"]
    app = open_app(tmp_path, "views/training_curves.py")
    assert any("No training history" in caption.value and "imported" in caption.value for caption in app.caption)
    assert app.dataframe[0].value["run"].tolist() == ["trained"]
    app.sidebar.multiselect[0].set_value(["imported"]).run()
    assert not app.exception and "None of the selected runs has a training history" in app.info[0].value
