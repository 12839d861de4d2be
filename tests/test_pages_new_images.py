"""The pages on new images (Streamlit's AppTest): the sidebar's "Evaluated on" kept from page to page, Home's
accuracy per set, every scoring page on a set's images, the New images page, and a label given there scoring an
image of an unlabelled set."""

from __future__ import annotations

import pytest

from app_pages import figures, widget
from fake_runs import OUTCOME_LABELS, PHOTO_PICKS, write_outcome_run, write_store_with_sets
from trainers.store import label_verdicts, run_store

EVALUATED_ON = "Evaluated on"


@pytest.fixture
def store(tmp_path):
    return write_store_with_sets(tmp_path / "store")


def evaluated_on(app, name: str):
    return widget(app.sidebar.selectbox, EVALUATED_ON).set_value(name).run()


def test_home_on_the_test_set_adds_the_accuracy_on_each_labelled_set(open_app, store):
    app = open_app(store)
    assert widget(app.sidebar.selectbox, EVALUATED_ON).options == [
        "test set", "photos (12 images, labelled)", "unsorted (5 images, unlabelled)"]
    table = app.dataframe[0].value.set_index("run")
    # Right on 3, 8 and 7 of the nine photos of a class (fake_runs.PHOTO_PICKS); "unsorted" has no labels.
    assert table["accuracy on photos"].to_dict() == pytest.approx({"weak": 3 / 9, "best": 8 / 9, "close": 7 / 9})
    assert "accuracy on unsorted" not in table
    assert table["test accuracy"].to_dict() == pytest.approx({"weak": 0.5, "best": 0.9, "close": 0.875})


def test_the_choice_of_images_holds_across_pages_and_in_the_url(open_app, store):
    app = evaluated_on(open_app(store), "photos")
    assert app.query_params["set"] == "photos"
    table = app.dataframe[0].value.set_index("run")
    assert table["test accuracy"].to_dict() == pytest.approx({"weak": 3 / 9, "best": 8 / 9, "close": 7 / 9})
    assert "best** is best on accuracy on photos: **0.8889**" in app.markdown[0].value
    assert "images of photos" in app.markdown[0].value
    app.switch_page("views/misclassified.py").run()
    assert any("got 1 of 9 images of photos wrong" in caption.value for caption in app.caption)
    # A page that scores nothing keeps the choice for the next one that does.
    app.switch_page("views/training_curves.py").run()
    assert not [box for box in app.sidebar.selectbox if box.label == EVALUATED_ON]
    app.switch_page("views/confusion_matrices.py").run()
    assert widget(app.sidebar.selectbox, EVALUATED_ON).value == "photos"
    assert not app.exception


def test_a_link_naming_a_set_opens_on_it(open_app, store, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from paths import REPO_ROOT

    monkeypatch.setenv("ARTIFACTS_DIR", str(store))
    app = AppTest.from_file(str(REPO_ROOT / "dashboard" / "routes.py"), default_timeout=30)
    app.query_params["set"] = "photos"
    app.run()
    assert widget(app.sidebar.selectbox, EVALUATED_ON).value == "photos"


def test_runs_not_evaluated_on_the_set_are_named_with_the_command_that_adds_them(open_app, store):
    write_outcome_run(store, "late", OUTCOME_LABELS, [], info={"finished_at": "2026-01-01T00:00:09+00:00"})
    app = evaluated_on(open_app(store), "photos")
    note = next(info.value for info in app.info if "not evaluated on photos" in info.value)
    assert note.startswith("Not shown: late, not evaluated on photos.")
    assert "--eval-set folder:/photos/photos" in note
    assert sorted(app.dataframe[0].value["run"]) == ["best", "close", "weak"]


def test_a_page_that_needs_true_classes_says_so_on_an_unlabelled_set(open_app, store):
    app = evaluated_on(open_app(store, "views/confusion_matrices.py"), "unsorted")
    assert any("unsorted has no image of the runs' classes with a label" in info.value for info in app.info)


def test_new_images_answers_whether_test_accuracy_carries_over(open_app, store):
    app = evaluated_on(open_app(store, "views/new_images.py"), "photos")
    assert not app.exception
    said = app.markdown[0].value
    # best 0.9 -> 8/9 (-1.1 points), close 0.875 -> 7/9 (-9.7), weak 0.5 -> 3/9 (-16.7).
    assert said.startswith("Best on photos: **best** (0.8889). Every run loses accuracy against its test set: from "
                           "1.1 points (best) to 16.7 (weak). The runs keep their test-set order.")
    table = next(frame.value for frame in app.dataframe if "accuracy on the set" in frame.value).set_index("run")
    assert table["accuracy on the set"].to_dict() == pytest.approx({"weak": 3 / 9, "best": 8 / 9, "close": 7 / 9})
    # Every run is 0.8 sure of the images of a class and 0.4 of the zebras: its confidence ranks them all apart.
    assert table["AUROC (none of these)"].tolist() == [1.0, 1.0, 1.0]
    assert table["FPR at 95% TPR"].tolist() == [0.0, 0.0, 0.0]
    # On the nine images of a class alone (the zebras, where all three agree, would raise it): weak agrees with best
    # on 2 (images 4 and 8) and with close on 1 (8): (2/9 + 1/9) / 2; best with close on all but image 4.
    assert table["estimated from disagreement"].to_dict() == pytest.approx(
        {"weak": 1 / 6, "best": (2 / 9 + 8 / 9) / 2, "close": (1 / 9 + 8 / 9) / 2})
    points = [trace for trace in figures(app)[0].data if trace.mode == "markers"]
    assert {trace.name: (trace.x[0], trace.y[0]) for trace in points} == pytest.approx(
        {"weak": (0.5, 3 / 9), "best": (0.9, 8 / 9), "close": (0.875, 7 / 9)})


def test_a_label_given_on_new_images_scores_the_image(open_app, store):
    app = evaluated_on(open_app(store, "views/new_images.py"), "unsorted")
    agreement = next(frame.value for frame in app.dataframe if "estimated from disagreement" in frame.value)
    # Mean agreement with the other two (fake_runs.UNSORTED_PICKS): weak agrees with best on 2 of 5 images (0 and
    # 2) and with close on 2 (0 and 2): 0.4; best with close on 4 (all but 3): best (0.4 + 0.8) / 2, close the same.
    assert agreement.set_index("run")["estimated from disagreement"].to_dict() == pytest.approx(
        {"weak": 0.4, "best": 0.6, "close": 0.6})
    app.text_input(key=label_verdicts_reviewer()).set_value("Ada").run()
    # Image 01.png: weak picks owl, best and close dog: the runs disagree on it.
    app.selectbox(key="label:unsorted:01.png").set_value("dog").run()
    app.button(key="give:unsorted:01.png").click().run()
    assert not app.exception
    test_key = run_store.load_run(store / "best").test_key
    kept = label_verdicts.read_verdicts(store, test_key, "unsorted")["01.png"]
    assert (kept.verdict, kept.corrected, kept.reviewer) == (label_verdicts.WRONG, "dog", "Ada")
    app.switch_page("views/home.py").run()
    assert "1 image of unsorted shows one of the runs' classes: too few to rank" in app.info[0].value
    table = app.dataframe[0].value.set_index("run")
    assert table["test accuracy"].to_dict() == {"weak": 0.0, "best": 1.0, "close": 1.0}
    assert PHOTO_PICKS  # the photos set is untouched by the label


def label_verdicts_reviewer() -> str:
    from dashboard.lib.label_review import REVIEWER

    return REVIEWER


class Scored:
    """A run as the sentences read it: a label, its accuracy (metrics) and its picks on `total` images."""

    def __init__(self, label: str, accuracy: float, total: int = 1000):
        import numpy as np

        from trainers.store.run_store import Predictions

        right = round(accuracy * total)
        labels = np.zeros(total, int)
        self.label, self.metrics = label, {"accuracy": right / total}
        self.predictions = Predictions(np.arange(total).astype(str), labels,
                                       np.eye(2)[(np.arange(total) >= right).astype(int)])


def test_a_run_is_above_the_line_only_beyond_the_noise_of_its_accuracy():
    from dashboard.lib.new_images import robustness_sentence
    from trainers.analysis.new_images import RobustnessLine

    # On 1,000 images an accuracy of 0.8 has a 95% Wilson interval of about ±2.5 points: 5 points above the line is
    # beyond it, 1 point below is not.
    line = RobustnessLine(1.0, 0.0, {"up": 0.05, "near": -0.01})
    said = robustness_sentence(line, [Scored("up", 0.8), Scored("near", 0.8)])
    assert said.startswith("Above the line, holding up better than their test accuracy predicts: **up** "
                           "(+5.0 points).")
    assert said.endswith("near is within noise of the line (up to ±2.5 points, the 95% interval of an accuracy on "
                         "these images).")
    every = robustness_sentence(RobustnessLine(1.0, 0.0, {"a": 0.001, "b": -0.001}), [Scored("a", 0.8),
                                                                                      Scored("b", 0.8)])
    assert every.startswith("Every run is within noise of the line")


def test_the_sentence_says_when_the_order_changes_on_the_set():
    from dashboard.lib.new_images import carry_over_sentence

    test = [Scored("a", 0.9), Scored("b", 0.8)]
    said = carry_over_sentence(test, [Scored("a", 0.7), Scored("b", 0.75)], "photos")
    # a: 0.9 -> 0.7 (-20 points), b: 0.8 -> 0.75 (-5).
    assert said == ("Best on photos: **b** (0.7500). Every run loses accuracy against its test set: from 5.0 points "
                    "(b) to 20.0 (a). **The order changes**: b ranks above a here, below it on the test set.")


def test_the_runs_picks_on_an_image_are_grouped_by_class():
    from dashboard.lib.new_images import picks_said

    assert picks_said({"a": "frog", "b": "cat", "c": "frog"}) == "**frog**: a, c  \n**cat**: b"


def test_the_report_on_a_set_scores_its_images(store):
    from dashboard.lib.report import report_html
    from trainers.analysis.on_set import run_on_set

    runs = [run_on_set(run_store.load_run(store / run_id), "photos") for run_id in ("best", "weak")]
    page = report_html(runs)
    assert "scored on the images of its evaluation set photos (not its test set)" in page
    assert "1 of 9 images of photos wrong" in page and "6 of 9 images of photos wrong" in page
    # best is right on all but image 0, weak on 0, 4 and 8: only best on 6 images, only weak on 1.
    assert "<b>best</b> is best on accuracy on photos: <b>0.8889</b>" in page
    assert "of the 7 images of photos only one of them gets right, best gets 6 and weak 1" in page
    assert "cannot be shown" not in page  # the set's images, not the test set's, are matched to its mistakes


def test_the_gallery_opens_on_the_image_the_runs_disagree_on_most(store):
    from dashboard.lib.new_images import NONE_OF_THESE, disagreement_cards, picks
    from trainers.analysis.on_set import run_on_set

    runs = [run_on_set(run_store.load_run(store / run_id), "photos") for run_id in ("weak", "best", "close")]
    cards = disagreement_cards(runs, picks(runs))
    # No image splits the three runs three ways (fake_runs.PHOTO_PICKS). On eight one run stands apart, 2 of 3
    # agreeing (weak on images 0-3 and 5-7, close on 4): they come first. All three agree on image 8 and the zebras.
    assert cards["agreement"].tolist() == pytest.approx([2 / 3] * 8 + [1.0] * 4)
    assert sorted(cards["id"].iloc[8:]) == ["owl/08.png", "zebra/09.png", "zebra/10.png", "zebra/11.png"]
    assert cards.set_index("id").loc["zebra/09.png", "true"] == NONE_OF_THESE
    assert cards.set_index("id").loc["cat/00.png", "true"] == "cat"
