"""The many-classes mode of the browser benchmark: the stores it writes, and how it reports a page that hung."""

import numpy as np
import pytest

from benchmarks import dashboard as benchmark
from trainers.store import run_store


def test_made_up_predictions_have_the_asked_accuracy_and_near_misses():
    rng = np.random.default_rng(0)
    labels = rng.permutation(np.arange(3000) % 100)
    probabilities = benchmark.realistic_probabilities(labels, 100, 0.7, rng.random(3000), rng)

    assert probabilities.dtype == np.float32
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, atol=1e-5)
    predicted = probabilities.argmax(axis=1)
    assert (predicted == labels).mean() == pytest.approx(0.7, abs=0.002)
    off_by = (predicted - labels)[predicted != labels] % 100
    assert np.isin(off_by, benchmark.NEIGHBOURS % 100).mean() > 0.75  # most mistakes are near misses
    confidence = probabilities.max(axis=1)
    assert confidence.min() < 0.5 < confidence.max()  # spread, not all 0.99


def test_class_names_are_unique_at_any_count():
    for count in (10, 1000, 2500):
        names = benchmark.made_up_class_names(count)
        assert len(set(names)) == count
    assert benchmark.made_up_class_names(2) == ["amber_heron", "ashen_heron"]


def test_a_class_store_is_written_by_the_run_store_and_reads_back(tmp_path):
    benchmark.build_class_store(tmp_path, classes=20, images=200, runs=2)

    runs, broken = run_store.list_runs(tmp_path)
    assert not broken
    assert [len(run.class_names) for run in runs] == [20, 20]
    assert sorted(run.info["test_accuracy"] for run in runs) == pytest.approx([0.60, 0.76], abs=0.01)
    images = run_store.load_test_images(tmp_path, runs[0].test_key)
    assert images.images.shape == (200, 32, 32, 3)
    assert np.bincount(images.labels).tolist() == [10] * 20  # balanced


def test_a_page_that_timed_out_is_reported_not_raised():
    figures = benchmark.Figures(cold={"home": 1.5, "confusion_matrices": benchmark.TIMED_OUT},
                                warm={"home": 0.5}, reload={"home": 1.0}, peak_mb=900)

    rows = {row.split()[0]: row.split()[1:] for row in benchmark.table({1000: figures}, "this tree", unit="classes")
            .splitlines()[2:]}
    assert rows["confusion_matrices"] == ["timeout", "-", "-"]
    assert rows["home"] == ["1.50", "0.50", "1.00"]
    line = benchmark.key_figures({1000: figures}, unit="classes")
    assert "page_warm_max_s@1000=0.5" in line
    assert "confusion_matrices_warm_s@1000=n/a" in line
    assert "timed_out@1000=confusion_matrices:cold" in line
