"""The browser benchmark's helpers: the many-classes mode's stores, how it reports a page that hung, and the
drawn-as-a-person-sees-it figures."""

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


def test_drawn_figures_are_medians_over_the_table_and_chart_page_with_the_targets():
    visits = {"home": [benchmark.Drawn(5.0, answer=1.5, table=3.0), benchmark.Drawn(4.0, answer=1.0, table=1.8),
                       benchmark.Drawn(6.0, answer=2.5, table=2.0)],
              "training_curves": [benchmark.Drawn(2.0), benchmark.Drawn(3.0), benchmark.Drawn(benchmark.TIMED_OUT)]}
    references = {"bare": benchmark.DrawnTrials(visits={"bare": [benchmark.Drawn(1.0)] * 3}),
                  "table_chart": benchmark.DrawnTrials(visits={"table_chart": [benchmark.Drawn(4.0)] * 3})}

    figures = benchmark.drawn_figures(benchmark.DrawnTrials(visits, warm={"home": [0.5, 0.7, 0.6]}), references)

    assert figures["home_first_screen_s"] == 2.5  # each visit: the later of its answer and its table
    assert figures["home_drawn_s"] == 5.0
    assert figures["home_drawn_over_ref"] == 1.25
    assert figures["training_curves_drawn_s"] == 3.0  # a timeout counts as the slowest
    assert figures["home_warm_drawn_s"] == 0.6
    assert figures["table_chart_ref_s"] == 4.0 and figures["bare_ref_s"] == 1.0
    line = benchmark.drawn_key_figures(figures)
    assert "first_screen_within_2s=no" in line
    assert "drawn_over_ref_max=1.25 drawn_within_1.5x_ref=yes" in line


def test_a_home_without_an_answer_has_its_table_for_first_screen():
    assert benchmark.Drawn(5.0, table=3.0).first_screen == 3.0
    assert benchmark.Drawn(benchmark.TIMED_OUT).first_screen == benchmark.TIMED_OUT


def test_each_trial_turns_the_order_by_one():
    pages = ["a", "b", "c"]
    assert [benchmark.turned(pages, trial) for trial in range(4)] == [
        ["a", "b", "c"], ["b", "c", "a"], ["c", "a", "b"], ["a", "b", "c"]]
    assert benchmark.turned([], 2) == []
