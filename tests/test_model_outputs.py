"""dashboard.lib.model_outputs: a model's outputs are cached by its model file and that file's modification time,
so a retrained run is never served the outputs of the model it replaced."""

from __future__ import annotations

import os

import numpy as np

from dashboard.lib import caches, live, model_outputs
from fake_runs import write_one_class_model
from trainers.analysis.ensemble import Ensemble
from trainers.store import run_store


def store_runs(store) -> dict[str, run_store.Run]:
    runs, broken = run_store.list_runs(store)
    assert not broken
    return {run.run_id: run for run in runs}


def test_a_model_file_written_again_gives_new_outputs(one_class_store):
    cats = store_runs(one_class_store)["cats"]
    pixels = np.zeros((1, cats.image_size, cats.image_size, 3), np.uint8)
    assert model_outputs.class_probabilities(cats, pixels).argmax() == 0  # a cat, as its model says of anything
    before = cats.model_path.stat().st_mtime_ns
    write_one_class_model(cats, 1)  # retrained: now it calls everything a dog
    os.utime(cats.model_path, ns=(before + 10**9, before + 10**9))  # a new time even where the clock is coarse
    assert model_outputs.class_probabilities(cats, pixels).argmax() == 1


def test_outputs_of_an_unchanged_model_file_are_computed_once_whatever_object_holds_the_model(one_class_store,
                                                                                              monkeypatch):
    runs = store_runs(one_class_store)
    pixels = np.full((1, runs["cats"].image_size, runs["cats"].image_size, 3), 7, np.uint8)
    computed = []
    computes = live.class_probabilities
    monkeypatch.setattr(live, "class_probabilities", lambda *args: computed.append(1) or computes(*args))
    ensemble = Ensemble([runs["cats"], runs["dogs"]])
    for _ in range(2):
        caches._model.clear()  # as when the model cache evicts them: loaded again, as new objects
        model_outputs.class_probabilities(runs["cats"], pixels)
        model_outputs.class_probabilities(ensemble, pixels)  # a new mean model on every call
    assert len(computed) == 2


def test_an_ensembles_model_files_are_its_members(one_class_store):
    runs = store_runs(one_class_store)
    files = caches.model_files(Ensemble([runs["cats"], runs["dogs"]]))
    assert files == (*caches.model_files(runs["cats"]), *caches.model_files(runs["dogs"]))
    assert [path for path, _ in files] == [str(runs["cats"].model_path), str(runs["dogs"].model_path)]
