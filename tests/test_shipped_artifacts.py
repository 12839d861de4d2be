"""The run store the repo ships: readable, within its size budget, and its models reproduce their predictions."""

from __future__ import annotations

import numpy as np
import pytest

from paths import REPO_ROOT
from trainers.store import run_store

ARTIFACTS = REPO_ROOT / "artifacts"
SIZE_BUDGET = 60 * 2**20  # bytes


def shipped_runs():
    runs, broken = run_store.list_runs(ARTIFACTS)
    assert broken == [], broken
    return runs


def test_shipped_store_is_within_its_size_budget():
    size = sum(path.stat().st_size for path in ARTIFACTS.rglob("*") if path.is_file())
    assert size < SIZE_BUDGET, f"artifacts/ holds {size / 2**20:.1f} MB"


@pytest.mark.parametrize("run", shipped_runs(), ids=lambda run: run.run_id)
def test_shipped_model_loads_with_plain_keras_and_reproduces_its_predictions(run):
    import keras

    test_images = run_store.load_test_images(ARTIFACTS, run.test_key)
    assert list(test_images.ids) == list(run.predictions.ids)
    model = keras.models.load_model(run.model_path)
    sample = test_images.images[:64].astype("float32")
    np.testing.assert_allclose(model.predict(sample, verbose=0), run.predictions.probabilities[:64], atol=1e-3)
    assert run.metrics["accuracy"] == pytest.approx((run.predictions.predicted == run.predictions.labels).mean())
    assert run.info["command"].startswith("python -m trainers.train ")
    assert run.kind == run_store.KIND_TRAINED  # written in schema 2, before the kind was recorded: read upgraded
