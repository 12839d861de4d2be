"""The one check of a complete run, whoever wrote it (a preset's training, the RecordRun callback, record_run, an
import): what the store contract promises of every run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from trainers.store import run_store


def check_complete_run(path: Path) -> run_store.Run:
    """Asserts the run folder `path` keeps the contract; returns the run. Its model, if it has one, loads in safe
    mode and reproduces the stored probabilities from the stored raw pixels."""
    store = Path(path).parent
    listed, broken = run_store.list_runs(store)
    assert Path(path).name not in dict(broken), dict(broken)
    run = run_store.load_run(path)
    run_store.check_run(run)  # every part a reader reads
    assert run.info["status"] == run_store.STATUS_COMPLETE and run.info["schema_version"] == run_store.SCHEMA_VERSION
    assert set(run_store.HISTORY_COLUMNS) <= set(run.history.columns)
    assert run.history["epoch"].tolist() == list(range(len(run.history)))
    predictions = run.predictions
    assert predictions.probabilities.shape == (len(predictions.labels), len(run.class_names))
    np.testing.assert_allclose(predictions.probabilities.sum(axis=1), 1, atol=1e-4)
    assert run.metrics["accuracy"] == pytest.approx((predictions.predicted == predictions.labels).mean())
    assert run.confusion_matrix.sum() == len(predictions.labels)
    assert run.metrics["num_images"] == len(predictions.labels)
    if run_store.test_images_path(store, run.test_key).exists():
        images = run_store.load_test_images(store, run.test_key)
        assert images.images.dtype == np.uint8 and images.images.shape[1:] == (run.image_size, run.image_size, 3)
        assert list(images.ids) == list(predictions.ids) and list(images.labels) == list(predictions.labels)
    if run.model_path is None:
        assert run.no_model
    else:
        from trainers.inference.predict import load_model, predict

        images = run_store.load_test_images(store, run.test_key).images
        np.testing.assert_allclose(predict(load_model(run), images), predictions.probabilities, atol=1e-4)
    return run
