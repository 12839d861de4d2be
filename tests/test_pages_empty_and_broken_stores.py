"""Every page on an empty, missing or broken store: the trainer command, a broken run named with its reason, test
images that no longer match."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from app_pages import MODEL_FREE_PAGES, PAGES
from dashboard.lib.runs import TRAIN_COMMAND
from fake_runs import write_fake_run
from trainers.store import run_store


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("folder", ["empty", "missing"])
def test_without_runs_every_page_gives_the_trainer_command(open_app, tmp_path, page, folder):
    store = tmp_path / "store"
    if folder == "empty":
        store.mkdir()
    app = open_app(store, page)
    assert TRAIN_COMMAND in [block.value for block in app.code]
    assert str(store) in app.info[0].value


@pytest.fixture
def store_with_broken_run(tiny_store, tmp_path):
    store = shutil.copytree(tiny_store, tmp_path / "store")
    shutil.copytree(store / "plain", store / "plain_copy")
    (store / "plain_copy" / run_store.RUN_FILE).write_text('{"status": "compl')
    return store


@pytest.mark.parametrize("page", MODEL_FREE_PAGES)
def test_a_broken_run_is_listed_with_its_reason_and_the_others_still_show(open_app, store_with_broken_run, page):
    app = open_app(store_with_broken_run, page)
    (warning,) = app.sidebar.warning
    assert "plain_copy" in warning.value and f"unreadable {run_store.RUN_FILE}" in warning.value
    assert app.sidebar.multiselect[0].value == ["plain", "fast"]
    if page == "views/home.py":
        assert sorted(app.dataframe[0].value["run"]) == ["fast", "plain"]


def test_test_images_that_no_longer_match_the_predictions_are_refused_with_a_warning(open_app, tmp_path):
    write_fake_run(tmp_path, "cnn_v3-1", labels=[0, 1], probabilities=[[0, 1, 0], [0, 1, 0]], test_key="pets-8px-aaaa")
    run_store.save_test_images(tmp_path, "pets-8px-aaaa", ["test/000.png", "other.png"], [0, 1],
                               np.zeros((2, 8, 8, 3), np.uint8))
    for page in ("views/confusion_matrices.py", "views/misclassified.py"):
        app = open_app(tmp_path, page)
        assert any("lack 1 of the images" in warning.value for warning in app.warning), page
        assert not app.get("image")
