"""Confident learning's label issues on a hand-worked case, and the Suspect labels page that shows them."""

from __future__ import annotations

import numpy as np
import pytest

from app_pages import widget
from fake_runs import write_fake_run
from trainers.store import run_store
from trainers.analysis.label_issues import class_thresholds, label_issues

CAT, DOG, OWL = range(3)
# Eight test images of cat, dog and owl. Thresholds, the mean probability of a class over the images given it:
#   t_cat = (0.85 + 0.55 + 0.10) / 3 = 0.5     (images 0, 1, 2)
#   t_dog = (1.00 + 0.45 + 0.05) / 3 = 0.5     (images 3, 4, 5)
#   t_owl = (0.60 + 0.20) / 2        = 0.4     (images 6, 7)
LABELS = [CAT, CAT, CAT, DOG, DOG, DOG, OWL, OWL]
PROBABILITIES = [
    [0.85, 0.10, 0.05],  # 0 cat: only cat reaches its threshold                          -> not an issue
    [0.55, 0.00, 0.45],  # 1 cat: cat 0.55 >= 0.5 and owl 0.45 >= 0.4; cat is the higher  -> not an issue
    [0.10, 0.90, 0.00],  # 2 cat: only dog 0.9 >= 0.5                                      -> issue: dog 0.9
    [0.00, 1.00, 0.00],  # 3 dog: only dog                                                 -> not an issue
    [0.55, 0.45, 0.00],  # 4 dog: cat 0.55 >= 0.5; dog 0.45 < 0.5                          -> issue: cat 0.55
    [0.50, 0.05, 0.45],  # 5 dog: cat 0.5 >= 0.5 (equal) and owl 0.45 >= 0.4; cat higher  -> issue: cat 0.5
    [0.20, 0.20, 0.60],  # 6 owl: only owl                                                 -> not an issue
    [0.40, 0.40, 0.20],  # 7 owl: mistaken, but no class reaches its threshold             -> not an issue
]


def test_thresholds_are_each_class_mean_probability_over_the_images_given_it():
    np.testing.assert_allclose(class_thresholds(LABELS, PROBABILITIES), [0.5, 0.5, 0.4])


def test_label_issues_are_the_images_confidently_counted_in_another_class_most_confident_first():
    issues = label_issues(LABELS, PROBABILITIES)
    assert issues.index.tolist() == [2, 4, 5]
    assert issues["given"].tolist() == [CAT, DOG, DOG]
    assert issues["suspected"].tolist() == [DOG, CAT, CAT]
    np.testing.assert_allclose(issues["suspected_probability"], [0.9, 0.55, 0.5])
    np.testing.assert_allclose(issues["given_probability"], [0.1, 0.45, 0.05])


@pytest.mark.parametrize("min_confidence, positions", [(0.0, [2, 4, 5]), (0.5, [2, 4, 5]), (0.55, [2, 4]),
                                                       (0.9, [2]), (0.95, [])])
def test_minimum_confidence_keeps_the_issues_whose_suspected_class_reaches_it(min_confidence, positions):
    assert label_issues(LABELS, PROBABILITIES, min_confidence=min_confidence).index.tolist() == positions


def test_stored_float32_probabilities_reach_a_minimum_confidence_they_equal():
    # A run stores float32: 0.9 is stored as 0.8999999762.
    probabilities = np.asarray(PROBABILITIES, np.float32)
    assert label_issues(LABELS, probabilities, min_confidence=0.9).index.tolist() == [2]
    assert label_issues(LABELS, probabilities).index.tolist() == [2, 4, 5]


def test_a_class_no_image_is_given_is_never_suspected():
    # No image is labelled owl: owl has no threshold, however probable it is.
    issues = label_issues([CAT, DOG], [[0.5, 0.0, 0.5], [0.0, 0.1, 0.9]])
    assert issues.empty and list(issues.columns) == ["given", "suspected", "suspected_probability",
                                                     "given_probability"]


@pytest.mark.parametrize("labels, probabilities, match", [
    ([0, 1], [[1.0, 0.0]], "Expected labels"),
    ([], np.zeros((0, 2)), "No predictions"),
    ([0, 2], [[1.0, 0.0], [0.0, 1.0]], "class indices 0 to 1"),
])
def test_bad_inputs_are_refused_saying_what_is_wrong(labels, probabilities, match):
    with pytest.raises(ValueError, match=match):
        label_issues(labels, probabilities)


# ---------------------------------------------------------------- The page

TEST_KEY = "pets-8px-0000"
IDS = [f"test/{i:03d}.png" for i in range(len(LABELS))]


def _store(tmp_path, *run_ids) -> list[run_store.Run]:
    """Runs of the hand-worked probabilities, in a store that holds their test images."""
    run_store.save_test_images(tmp_path, TEST_KEY, IDS, LABELS, np.zeros((len(IDS), 8, 8, 3), np.uint8))
    return [write_fake_run(tmp_path, run_id, labels=LABELS, probabilities=PROBABILITIES, ids=IDS, test_key=TEST_KEY)
            for run_id in run_ids]


def _cards(app) -> list[str]:
    return [markdown.value for markdown in app.markdown if markdown.value.startswith("given")]


def test_page_counts_and_shows_the_suspect_labels_above_the_chosen_confidence(open_app, tmp_path):
    (run,) = _store(tmp_path, "cnn_v3-1")
    app = open_app(tmp_path, "views/suspect_labels.py")
    assert app.title[0].value == "Suspect labels"
    assert app.slider[0].value == 0.9 and app.slider[0].disabled  # until only the flagged images are asked for
    widget(app.toggle, "Only confident learning's suspects").set_value(True).run()
    count = next(m.value for m in app.markdown if "doubts" in m.value)
    assert count == (f"**1** test images whose label {run.label} doubts at confidence ≥ 90%: "
                     "confident learning, Northcutt et al. 2021.")
    assert _cards(app) == ["given **cat** → suspected **dog** (90%)"]
    assert len(app.get("image")) == 1
    assert any(caption.value.startswith("`test/002.png`  \nprobability of the given label: 10%  \nself confidence")
               for caption in app.main.caption)

    app.button(key="open:test/002.png").click().run()
    assert not app.exception and app.dataframe[0].value["run"].tolist() == [run.label]

    app.slider[0].set_value(0.5).run()
    assert not app.exception
    assert any(m.value.startswith("**3** test images") for m in app.markdown)
    assert _cards(app) == ["given **cat** → suspected **dog** (90%)", "given **dog** → suspected **cat** (55%)",
                           "given **dog** → suspected **cat** (50%)"]
    assert len(app.get("image")) == 3

    app.slider[0].set_value(0.95).run()
    assert "No test image's label is doubted at this confidence." in [note.value for note in app.info]
    assert not _cards(app)


def test_page_shows_an_ensembles_suspect_labels_with_its_members_images(open_app, tmp_path):
    _store(tmp_path, "cnn_v3-1", "cnn_v4-1")
    app = open_app(tmp_path, "views/suspect_labels.py")
    app.sidebar.multiselect[1].set_value(["cnn_v3-1", "cnn_v4-1"]).run()
    label = "ensemble of cnn_v3-1 + cnn_v4-1"
    app.selectbox[0].set_value(label).run()
    widget(app.toggle, "Only confident learning's suspects").set_value(True).run()
    assert not app.exception
    # Two identical members: their mean is the same probabilities, so the same issue.
    assert any(m.value.startswith(f"**1** test images whose label {label} doubts") for m in app.markdown)
    assert _cards(app) == ["given **cat** → suspected **dog** (90%)"] and len(app.get("image")) == 1
