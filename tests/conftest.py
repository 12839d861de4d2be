"""Shared fixtures: small generated image folders and a small run store of trained runs, built once per session,
and a store of hand-made runs whose models are known.

What tests import (image builders, hand-made runs, paths) lives in modules of its own: pytest loads this file
itself, and a test that imported it would load it a second time.
"""

from __future__ import annotations

import functools
import gc
import os
from pathlib import Path

import numpy as np
import pytest

from colour_images import make_image_folder
from fake_runs import write_fake_run, write_one_class_model, write_outcome_store
from paths import REPO_ROOT
from trainers.store import run_store

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# Fixtures that train or start a server: a test using one, even through another fixture, is in the slow tier.
SLOW_FIXTURES = {"tiny_store", "s3_server"}


@pytest.hookimpl(tryfirst=True)  # before pytest's own hook deselects by mark
def pytest_collection_modifyitems(config, items):
    """Marks `slow` every test that uses a fixture of SLOW_FIXTURES, so that `-m "not slow"` leaves it out."""
    for item in items:
        if SLOW_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


def pytest_collection_finish(session):
    """Puts what collection imported (TensorFlow, Streamlit: millions of objects that live as long as the session)
    out of the garbage collector's reach. Each full collection walked them all, and AppTest's script runs set off
    many: the pages' tests took five times as long once TensorFlow was imported."""
    gc.freeze()


@pytest.fixture(scope="session")
def image_folder(tmp_path_factory) -> Path:
    return make_image_folder(tmp_path_factory.mktemp("colours"))


@pytest.fixture(scope="session")
def tiny_store(tmp_path_factory, image_folder) -> Path:
    """A run store with two runs of tiny models (cnn_v3 and cnn_fast, 16 px) on the colour folder."""
    from trainers.train import main

    store = tmp_path_factory.mktemp("store")
    cache = tmp_path_factory.mktemp("cache")
    common = ["--dataset", f"folder:{image_folder}", "--artifacts", str(store), "--image-size", "16",
              "--cache-dir", str(cache), "--verbose", "0", "--author", "tester"]
    assert main(["cnn_v3", "--name", "plain", "--epochs", "3", "--batch-size", "8", "--lr", "3e-4",
                 "--no-keep-best", "--comment", "plain CNN", *common]) == 0
    assert main(["cnn_fast", "--name", "fast", "--epochs", "2", "--batch-size", "8", "--lr", "0.05", "--shift-tta", "1",
                 *common]) == 0
    return store


@pytest.fixture(scope="module")
def tiny_runs(tiny_store):
    """The tiny store's runs by their ids."""
    runs, broken = run_store.list_runs(tiny_store)
    assert not broken
    return {run.run_id: run for run in runs}


@pytest.fixture
def one_class_store(tmp_path) -> Path:
    """A store of two hand-made runs whose real models each pick one class whatever the image, as their stored
    predictions say: `cats` calls every image a cat, `dogs` a dog. Its three test images are a cat, a dog and an
    owl (test/000.png to test/002.png)."""
    for run_id, pick in (("cats", 0), ("dogs", 1)):
        run = write_fake_run(tmp_path, run_id, probabilities=np.eye(3)[[pick] * 3])
        write_one_class_model(run, pick)
    run_store.save_test_images(tmp_path, run.test_key, run.predictions.ids, run.predictions.labels,
                               np.zeros((3, 8, 8, 3), np.uint8))
    return tmp_path


@pytest.fixture
def outcome_store(tmp_path) -> Path:
    """Runs "weak", "best" and "close" of known outcomes on 40 images (`fake_runs.OUTCOME_WRONG`), with images."""
    return write_outcome_store(tmp_path)


@pytest.fixture(autouse=True, scope="session")
def dashboard_process_settings():
    """The settings the server applies once as it starts (Home.py), which AppTest's runs of routes.py skip: without
    them Streamlit clears Keras' session and collects garbage after every script run, which takes seconds per run
    once a test has trained or loaded models."""
    from dashboard.lib.process_settings import apply_process_settings

    apply_process_settings()


@pytest.fixture(autouse=True, scope="session")
def components_scanned_once():
    """Each AppTest scans every installed package for Streamlit components (half a second, most of the time it
    takes to open a page); the packages do not change during a session, so the scan runs once. test_quick_tier
    fails when Streamlit no longer scans through this function."""
    try:
        from streamlit.components.v2 import manifest_scanner
        scan = manifest_scanner.scan_component_manifests
    except (ImportError, AttributeError):  # every test still runs, each AppTest scanning again
        yield
        return
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(manifest_scanner, "scan_component_manifests", functools.cache(scan))
        yield


@pytest.fixture
def open_app(monkeypatch):
    """Opens the dashboard on a store, on one page, and checks it ran without an exception."""
    from streamlit.testing.v1 import AppTest

    def open_app(store, page: str = "views/home.py", timeout: float = 30):
        monkeypatch.setenv("ARTIFACTS_DIR", str(store))
        app = AppTest.from_file(str(REPO_ROOT / "dashboard" / "routes.py"), default_timeout=timeout).run()
        if page != "views/home.py":
            app.switch_page(page).run()
        assert not app.exception, app.exception
        return app
    return open_app
