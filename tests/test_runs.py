"""dashboard.lib.runs: a store's readable runs, their arrays read (and checked by the store) once when a page asks,
and the test sets' labels."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dashboard.lib import runs
from fake_runs import write_fake_run
from trainers.store import run_store


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
