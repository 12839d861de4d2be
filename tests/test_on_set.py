"""A run on one of its evaluation sets: its predictions, metrics and confusion those of the set's images of its
classes, an ensemble made again of its members there, and a person's verdicts on the set's images as their labels."""

from __future__ import annotations

import numpy as np
import pytest

from fake_runs import PHOTO_PICKS, UNSORTED_PICKS, write_store_with_sets
from trainers.analysis.ensemble import Ensemble
from trainers.analysis.on_set import TEST_SET, RunOnSet, labels_from_verdicts, run_on_set, run_on_test
from trainers.store import label_verdicts, run_store
from trainers.store.evaluation_sets import NONE_OF_THESE, UNLABELLED
from trainers.store.label_verdicts import AMBIGUOUS, RIGHT, WRONG, Verdict
from trainers.store.run_store import RunError


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return write_store_with_sets(tmp_path_factory.mktemp("sets") / "store")


def load(store, run_id):
    return run_store.load_run(store / run_id)


def test_a_run_on_a_set_reads_the_sets_images_of_its_classes(store):
    best = load(store, "best")
    on = run_on_set(best, "photos")
    assert isinstance(on, RunOnSet) and on.evaluation == "photos" and best.evaluation == TEST_SET
    assert on.label == best.label and on.run_id == best.run_id  # the same run: the same name and colour
    # Nine of the twelve images show one of its classes; the three of the "zebra" folder are kept apart.
    assert len(on.every_prediction.ids) == 12 and on.every_prediction.labels.tolist()[-3:] == [NONE_OF_THESE] * 3
    assert on.predictions.labels.tolist() == [0, 1, 2] * 3
    assert on.predictions.predicted.tolist() == PHOTO_PICKS["best"][:9]
    assert on.metrics["accuracy"] == pytest.approx(8 / 9)  # wrong on the first image only
    # True cat (row 0) predicted dog once, right twice; every other image on the diagonal.
    assert on.confusion_matrix.tolist() == [[2, 1, 0], [0, 3, 0], [0, 0, 3]]
    assert on.test_map is None
    assert run_on_test(on).predictions.ids.tolist() == best.predictions.ids.tolist()
    assert run_on_set(best, TEST_SET) is best


def test_a_run_without_predictions_on_a_set_is_refused(store):
    with pytest.raises(RunError, match="best has no predictions on 'elsewhere'"):
        run_on_set(load(store, "best"), "elsewhere")


def test_an_ensemble_on_a_set_is_the_mean_of_its_members_there(store):
    best, close = load(store, "best"), load(store, "close")
    on = run_on_set(Ensemble((best, close)), "photos")
    assert on.evaluation == "photos"
    expected = (run_on_set(best, "photos").predictions.probabilities
                + run_on_set(close, "photos").predictions.probabilities) / 2
    assert np.allclose(on.predictions.probabilities, expected)
    # Image 4 (a dog): best picks dog at 0.8, close cat at 0.8; the mean is 0.45 for both, and a tie goes to the
    # lower class, cat: wrong. Image 0 both get wrong. 7 of 9.
    assert on.metrics["accuracy"] == pytest.approx(7 / 9)
    assert run_on_test(on).evaluation == TEST_SET and len(run_on_test(on).predictions.ids) == 40


def test_verdicts_on_a_sets_images_become_their_labels():
    ids = np.array(["a.png", "b.png", "c.png", "d.png"])
    labels = np.array([UNLABELLED, UNLABELLED, 1, UNLABELLED])
    verdicts = {"a.png": Verdict("a.png", WRONG, "owl"), "b.png": Verdict("b.png", AMBIGUOUS),
                "c.png": Verdict("c.png", RIGHT)}
    assert labels_from_verdicts(ids, labels, ["cat", "dog", "owl"], verdicts).tolist() == [
        2, NONE_OF_THESE, 1, UNLABELLED]


def test_a_labelled_image_of_an_unlabelled_set_is_scored(tmp_path):
    store = write_store_with_sets(tmp_path / "store")
    best = load(store, "best")
    assert not len(run_on_set(best, "unsorted").predictions.labels)  # nothing to score yet
    first, second, third = run_on_set(best, "unsorted").every_prediction.ids[:3]
    for verdict in (Verdict(first, WRONG, "cat"), Verdict(second, WRONG, "owl"), Verdict(third, AMBIGUOUS)):
        label_verdicts.record_verdict(store, best.test_key, verdict, "unsorted")
    # Read again (the dashboard keys its copy by the verdicts file), the two images of a class are scored: best picks
    # cat and dog on them, right on the first; weak picks cat and owl, right on both.
    on = run_on_set(load(store, "best"), "unsorted")
    assert on.predictions.labels.tolist() == [0, 2]
    assert on.metrics["accuracy"] == pytest.approx(1 / 2)
    assert run_on_set(load(store, "weak"), "unsorted").metrics["accuracy"] == pytest.approx(1.0)
    assert on.every_prediction.labels.tolist() == [0, 2, NONE_OF_THESE, UNLABELLED, UNLABELLED]
    assert UNSORTED_PICKS["best"][:2] == [0, 1] and UNSORTED_PICKS["weak"][:2] == [0, 2]
    # The test set's own review is untouched.
    assert not label_verdicts.review_begun(store, best.test_key)
