"""The server's warm-up (dashboard/lib/warm_up.py): it loads the models the Live page runs first and no other, the
pages then load none again, the server answers before it ends, TensorFlow waits for a visitor's first page, and a
stage that fails is logged, not raised."""

from __future__ import annotations

import asyncio
import shutil
import threading

import numpy as np
import pytest
from PIL import Image

from fake_runs import write_fake_run, write_one_class_model
from upload_files import encoded
from dashboard.lib import caches, warm_up


@pytest.fixture
def store_of_eleven(tmp_path):
    """Ten runs of one data set, each with a model that picks class 0 (the cats), then one without a model; and a
    run of another data set, which the sidebar does not select at first."""
    runs = [write_fake_run(tmp_path, f"cnn_v3-{number:02d}") for number in range(10)]
    write_one_class_model(runs[0], 0)
    for run in runs[1:]:
        shutil.copyfile(runs[0].model_path, run.model_path)
    write_fake_run(tmp_path, "cnn_v3-recorded", info={"model_file": None, "no_model": "recorded from arrays"})
    other = write_fake_run(tmp_path, "cnn_v3-other", test_key="birds-8px-0000")
    write_one_class_model(other, 1)
    return tmp_path


def test_it_loads_the_models_the_live_page_runs_first_and_the_page_loads_none_again(store_of_eleven, monkeypatch,
                                                                                   open_app):
    monkeypatch.setenv("ARTIFACTS_DIR", str(store_of_eleven))
    loaded = []
    load_model = caches.load_model
    monkeypatch.setattr(caches, "load_model", lambda run: loaded.append(run.run_id) or load_model(run))
    report = warm_up.warm_up(warm_up.WarmUp(), first_visit_wait_s=0)
    assert report.done.is_set() and not report.errors
    assert list(report.seconds) == ["first_page", "other_pages", "models"]
    first = [f"cnn_v3-{number:02d}" for number in range(caches.MAX_MODELS)]  # the recorded run and birds: none
    assert report.models == loaded == first
    app = open_app(store_of_eleven, "views/live_predictions.py", timeout=60)
    app.file_uploader[0].set_value(("grey.png", encoded(Image.new("RGB", (8, 8), "grey"), "PNG"), "image/png")).run()
    assert not app.exception and not app.error
    assert [table.value["picks"].tolist() for table in app.dataframe] == [["cat"] * caches.MAX_MODELS]
    assert loaded == first  # every model the page ran came from the warm-up


def test_the_server_answers_while_the_warm_up_runs(monkeypatch):
    release, started = threading.Event(), threading.Event()

    def slow_warm_up():
        started.set()
        release.wait(10)

    monkeypatch.setattr(warm_up, "warm_up", slow_warm_up)

    async def serve() -> bool:
        async with warm_up.lifespan(app=None):
            return started.wait(5) and not release.is_set()  # inside the server's lifespan, warm-up still going

    try:
        assert asyncio.run(serve())
    finally:
        release.set()


@pytest.mark.slow  # waits 20 s to see the warm-up still waiting for a visitor
def test_tensorflow_waits_for_the_first_page_served(monkeypatch, tmp_path, open_app):
    monkeypatch.setenv("ARTIFACTS_DIR", str(tmp_path))
    monkeypatch.setattr(warm_up, "_page_served", threading.Event())
    report = warm_up.WarmUp()
    worker = threading.Thread(target=warm_up.warm_up, args=(report, 60), daemon=True)
    worker.start()
    worker.join(timeout=20)
    assert worker.is_alive() and list(report.seconds) == ["first_page"]  # the rest waits for a visitor
    open_app(tmp_path)  # routes.py serves Home, which says the first page is out
    assert report.done.wait(60) and list(report.seconds) == ["first_page", "other_pages", "models"]


def test_the_first_page_stage_imports_what_routes_and_home_import():
    modules = [module for script in warm_up.FIRST_PAGE_SCRIPTS for module in warm_up.imported_modules(script)]
    assert {"dashboard.lib.sidebar", "dashboard.lib.comparison", "trainers.presets"} <= set(modules)
    assert "trainers.presets.CONFIG_FIELDS" not in modules  # a name imported from a module is not a module


def test_a_stage_that_fails_is_logged_and_the_rest_left_to_the_pages(monkeypatch, tmp_path):
    monkeypatch.setenv("ARTIFACTS_DIR", str(tmp_path))
    monkeypatch.setattr(warm_up, "_default_runs", lambda: (_ for _ in ()).throw(OSError("the disk is gone")))
    report = warm_up.warm_up(warm_up.WarmUp(), first_visit_wait_s=0)
    assert report.done.is_set() and report.seconds == {}
    assert report.errors == {"first_page": "OSError: the disk is gone"}  # models not tried after it


def test_an_empty_store_warms_up_without_models(monkeypatch, tmp_path):
    monkeypatch.setenv("ARTIFACTS_DIR", str(tmp_path))
    report = warm_up.warm_up(warm_up.WarmUp(), first_visit_wait_s=0)
    assert not report.errors and report.models == [] and np.isfinite(list(report.seconds.values())).all()
