"""Runs being trained: listed from their partial folders with the epochs they have finished, never ranked."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from fake_runs import new_run
from trainers.store import run_store
from trainers.training.data import load_dataset
from trainers.presets import get_preset
from trainers.store.progress import progress_table, runs_in_progress


def _history(epochs: list[int]) -> pd.DataFrame:
    return pd.DataFrame({"epoch": epochs, "loss": 1.0, "accuracy": [0.5 + 0.1 * e for e in epochs], "val_loss": 1.2,
                         "val_accuracy": [0.4 + 0.1 * e for e in epochs], "learning_rate": 0.1, "epoch_time": 2.0})


def test_partial_runs_that_are_training_are_listed_with_their_epochs_so_far(tmp_path):
    store = tmp_path / "store"
    writer = run_store.RunWriter(store, "busy")
    writer.create({"status": "training", "preset": "cnn_v3", "config": {"epochs": 5, "finetune_epochs": 2},
                   "started_at": "2026-12-01T10:00:00+00:00"})
    _history([0, 1, 1]).to_csv(writer.history_path, index=False)  # epoch 1 resumed and logged twice
    empty = run_store.RunWriter(store, "starting")
    empty.create({"status": "training", "preset": "cnn_air", "config": {"epochs": 30},
                  "started_at": "2026-12-01T11:00:00+00:00"})
    (store / run_store.PARTIAL_DIR / "garbled").mkdir()
    (store / run_store.PARTIAL_DIR / "garbled" / run_store.RUN_FILE).write_text("{not json")

    found = runs_in_progress(store)
    assert [run.run_id for run in found] == ["busy", "starting"]
    assert found[0].label == "cnn_v3 / busy (in progress)" and found[0].planned_epochs == 7
    table = progress_table(found).set_index("run")
    assert table.loc["busy", ["epochs done", "of"]].tolist() == [2, 7]
    assert table.loc["busy", "validation accuracy"] == 0.5  # epoch 1: 0.4 + 0.1
    assert table.loc["starting", "epochs done"] == 0 and pd.isna(table.loc["starting", "validation accuracy"])
    assert run_store.list_runs(store) == ([], [])  # never among the store's runs
    assert runs_in_progress(tmp_path / "nowhere") == []


@pytest.mark.slow  # trains
def test_a_real_training_run_is_seen_in_progress_after_each_epoch_and_gone_once_committed(image_folder, tmp_path):
    import keras

    from trainers.training.fit import train

    seen = []

    class Watch(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append(progress_table(runs_in_progress(store))[["run", "epochs done", "of"]].values.tolist())

    store = tmp_path / "store"
    config = get_preset("cnn_v3").with_overrides(epochs=2, batch_size=16, image_size=16)
    data = load_dataset(f"folder:{image_folder}", image_size=16, cache_dir=tmp_path / "cache")
    train(new_run(store, "watched", config, data), data, verbose=0, extra_callbacks=(Watch(),))
    # Each epoch's row is logged by the CSVLogger before the callbacks after it run.
    assert seen == [[["watched", 1, 2]], [["watched", 2, 2]]]
    assert runs_in_progress(store) == [] and [run.run_id for run in run_store.list_runs(store)[0]] == ["watched"]


def test_home_and_training_curves_show_a_run_in_progress_apart_from_the_ranking(open_app, tmp_path):
    from fake_runs import write_fake_run

    store = tmp_path / "store"
    write_fake_run(store, "done")
    writer = run_store.RunWriter(store, "busy")
    writer.create({"status": "training", "preset": "cnn_v3", "config": {"epochs": 5}})
    _history([0, 1]).to_csv(writer.history_path, index=False)

    home = open_app(store)
    assert home.dataframe[0].value["run"].tolist() == ["done"]  # the ranking, first, holds complete runs only
    assert home.dataframe[1].value["run"].tolist() == ["busy"]  # the in-progress table comes after it
    assert home.dataframe[1].value[["epochs done", "of"]].values.tolist() == [[2, 5]]
    assert any(header.value == "In progress" for header in home.subheader)

    curves_page = open_app(store, "views/training_curves.py")
    in_progress = curves_page.get("plotly_chart")[:2]
    spec = json.loads(in_progress[1].proto.spec)
    assert {trace["name"] for trace in spec["data"]} == {"cnn_v3 / busy (in progress), train",
                                                         "cnn_v3 / busy (in progress), validation"}
    # Once committed, it leaves the section and joins the runs.
    writer.path.rename(tmp_path / "gone")
    assert not any(header.value == "In progress" for header in open_app(store).subheader)


def test_the_first_run_in_progress_shows_before_any_run_is_complete(open_app, tmp_path):
    writer = run_store.RunWriter(tmp_path, "first")
    writer.create({"status": "training", "preset": "cnn_air", "config": {"epochs": 30}})
    app = open_app(tmp_path)
    assert app.dataframe[0].value["run"].tolist() == ["first"]
    assert "No runs in" in app.info[0].value
