"""Head to head: two runs' right and wrong answers, McNemar's test in words, the galleries, the difference of their
confusion matrices and per-class recall, by hand on made-up predictions and on the page."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.express as px
import pytest

from paths import REPO_ROOT
from dashboard.lib import confusion, head_to_head, samples
from dashboard.lib.head_to_head import BOTH_WRONG, ONLY_A, ONLY_B
from fake_runs import CAT, CLASSES, DOG, OWL, answer_probabilities, write_fake_run, write_scored_run
from app_pages import figures
from trainers import compare
from trainers.analysis import pairs
from trainers.store import run_store
from trainers.store.run_store import Predictions

TEST_KEY = "pets-8px-0000"
# Nine images, one per row: true class, then A's and B's answer and their confidence in it.
#                           A            B
IMAGES = [(CAT, (CAT, 0.9), (CAT, 0.6)),  # i0  both right
          (CAT, (CAT, 0.7), (OWL, 0.5)),  # i1  only A
          (DOG, (DOG, 0.6), (OWL, 0.8)),  # i2  only A
          (DOG, (CAT, 0.5), (DOG, 0.9)),  # i3  only B
          (OWL, (CAT, 0.6), (OWL, 0.7)),  # i4  only B
          (OWL, (DOG, 0.5), (CAT, 0.7)),  # i5  both wrong, different answers (larger confidence 0.7)
          (CAT, (DOG, 0.8), (OWL, 0.4)),  # i6  both wrong, different answers (0.8)
          (DOG, (CAT, 0.7), (CAT, 0.6)),  # i7  both wrong, the same answer: in no gallery
          (OWL, (CAT, 0.45), (DOG, 0.75))]  # i8  both wrong, different answers (0.75)
IDS = [f"test/i{i}.png" for i in range(len(IMAGES))]
LABELS = [true for true, _, _ in IMAGES]


A_PROBABILITIES = answer_probabilities([a for _, a, _ in IMAGES])
B_PROBABILITIES = answer_probabilities([b for _, _, b in IMAGES])


@pytest.fixture
def pair():
    ids = np.array(IDS)
    return (Predictions(ids, np.array(LABELS), A_PROBABILITIES), Predictions(ids, np.array(LABELS), B_PROBABILITIES))


@pytest.fixture
def pets_store(tmp_path):
    """Runs A (alpha) and B (beta) of the nine images (B stores them in reverse order), and their test images."""
    write_fake_run(tmp_path, "alpha", labels=LABELS, ids=IDS, probabilities=A_PROBABILITIES)
    write_fake_run(tmp_path, "beta", labels=LABELS[::-1], ids=IDS[::-1], probabilities=B_PROBABILITIES[::-1])
    pixels = np.arange(len(IDS), dtype=np.uint8)[:, None, None, None] * np.ones((1, 8, 8, 3), np.uint8) * 20
    run_store.save_test_images(tmp_path, TEST_KEY, IDS, LABELS, pixels)
    return tmp_path


# ---------------------------------------------------------------- the library, by hand


def test_predictions_are_aligned_by_image_id(pets_store):
    a, b = (run_store.load_run(pets_store / name) for name in ("alpha", "beta"))
    first, second = head_to_head.aligned_predictions(a, b)
    assert first.ids.tolist() == second.ids.tolist() == IDS
    np.testing.assert_allclose(second.probabilities, B_PROBABILITIES)


def test_runs_tested_on_other_images_are_refused(tmp_path):
    a = write_fake_run(tmp_path, "a-run")
    b = write_fake_run(tmp_path, "b-run", ids=["test/x.png", "test/001.png", "test/002.png"])
    with pytest.raises(ValueError, match="was tested on other images"):
        head_to_head.aligned_predictions(a, b)


def test_the_two_by_two_table_counts_right_and_wrong(pair):
    # Both right: i0. Only A: i1, i2. Only B: i3, i4. Both wrong: i5 to i8.
    table = head_to_head.outcome_table(*pair)
    assert table.to_dict() == {"B right": {"A right": 1, "A wrong": 2}, "B wrong": {"A right": 2, "A wrong": 4}}
    assert head_to_head.disagreement(*pair) == pairs.Disagreement(only_first=2, only_second=2)


@pytest.mark.parametrize("p_value, expected", [
    (1.0, "100%"), (0.453125, "45%"), (0.41, "41%"), (0.034, "3.4%"), (0.03125, "3.1%"), (0.00841, "0.8%"),
    (0.0005, "0.05%"), (0.0001, "0.01%"), (0.00005, "less than 0.01%"),
])
def test_a_p_value_reads_as_a_percentage_with_sensible_precision(p_value, expected):
    assert head_to_head.chance(p_value) == expected


@pytest.mark.parametrize("only_a, only_b, sentence", [
    # Six discordant images all one way: 2 x 0.5^6 = 3.125%.
    (0, 6, "B is ahead by 6 images: it gets 6 right that A gets wrong, A 0 the other way; between two equally "
           "good models a split this uneven happens 3.1% of the time."),
    # 5 against 2: 2 x P(X <= 2), X ~ Binomial(7, 1/2) = 2 x (1 + 7 + 21) / 128 = 45.3%.
    (5, 2, "A is ahead by 3 images: it gets 5 right that B gets wrong, B 2 the other way; between two equally "
           "good models a split this uneven happens 45% of the time."),
    # 1 against 2: 2 x P(X <= 1), X ~ Binomial(3, 1/2) = 2 x 4 / 8, every split is at least this uneven.
    (1, 2, "B is ahead by 1 image: it gets 2 right that A gets wrong, A 1 the other way; between two equally "
           "good models a split this uneven happens 100% of the time."),
    # 20 against 0: 2 x 0.5^20 = 0.0002%.
    (0, 20, "B is ahead by 20 images: it gets 20 right that A gets wrong, A 0 the other way; between two equally "
            "good models a split this uneven happens less than 0.01% of the time."),
    (2, 2, "A and B each get 2 images right that the other gets wrong: an even split, as expected of two equally "
           "good models."),
    (0, 0, "A and B get exactly the same test images right: there is no difference to test."),
])
def test_mcnemar_sentence_says_who_is_ahead_and_how_often_chance_splits_that_unevenly(only_a, only_b, sentence):
    assert head_to_head.mcnemar_sentence(pairs.Disagreement(only_a, only_b)) == sentence


@pytest.mark.parametrize("kind, expected", [
    # i1 (A 0.7), i2 (A 0.6); by B's confidence it would be i2 (0.8) first.
    (ONLY_A, ["i1", "i2"]),
    # i3 (B 0.9), i4 (B 0.7); by A's confidence it would be i4 (0.6) first.
    (ONLY_B, ["i3", "i4"]),
    # i6 (max 0.8, A's), i8 (0.75, B's), i5 (0.7, B's); i7 both say cat. By A alone: i6, i5, i8; by B: i8, i5, i6.
    (BOTH_WRONG, ["i6", "i8", "i5"]),
])
def test_galleries_hold_their_images_most_confident_first(pair, kind, expected):
    table = head_to_head.gallery(*pair, CLASSES, kind)
    assert [image_id.split("/")[1][:-4] for image_id in table["id"]] == expected
    assert table.index.tolist() == [int(image[1:]) for image in expected]


def test_a_gallery_card_has_both_answers_and_top_3(pair):
    table = head_to_head.gallery(*pair, CLASSES, BOTH_WRONG)
    position, first = table.index[0], table.iloc[0]  # i6: a cat, A says dog 80%, B owl 40%
    assert (first["true"], first["A"], first["B"]) == ("cat", "dog", "owl")
    assert (first["A confidence"], first["B confidence"]) == pytest.approx((0.8, 0.4))
    a, b = pair
    assert samples.image_top_k(a, position, CLASSES) == "dog 80% · cat 10% · owl 10%"
    assert samples.image_top_k(b, position, CLASSES) == "owl 40% · cat 30% · dog 30%"


def test_an_unknown_gallery_is_refused(pair):
    with pytest.raises(ValueError, match="Unknown gallery 'only C right'. Known galleries: only A right"):
        head_to_head.gallery(*pair, CLASSES, "only C right")


# Rows: true cat (i0, i1, i6), dog (i2, i3, i7), owl (i4, i5, i8); each row in thirds.
#   A: cat -> cat, cat, dog     dog -> dog, cat, cat     owl -> cat, dog, cat
#   B: cat -> cat, owl, owl     dog -> owl, dog, cat     owl -> owl, cat, dog
EXPECTED_DIFFERENCE = np.array([[1 - 2, 0 - 1, 2 - 0],
                                [1 - 2, 1 - 1, 1 - 0],
                                [1 - 2, 1 - 1, 1 - 0]]) / 3


def test_the_difference_matrix_is_b_minus_a_row_normalised(pair):
    difference = head_to_head.confusion_difference(*pair, CLASSES)
    np.testing.assert_allclose(difference.to_numpy(), EXPECTED_DIFFERENCE)
    assert list(difference.index) == list(difference.columns) == CLASSES


def test_the_difference_figure_diverges_from_zero_with_signed_values_and_an_uncoloured_diagonal(pair):
    figure = head_to_head.difference_figure(head_to_head.confusion_difference(*pair, CLASSES))
    heatmap = figure.data[0]
    z = np.asarray(heatmap.z, dtype=float)
    assert np.isnan(np.diag(z)).all()
    off_diagonal = ~np.eye(3, dtype=bool)
    np.testing.assert_allclose(z[off_diagonal], 100 * EXPECTED_DIFFERENCE[off_diagonal])
    # Centred on zero, symmetric about it (the largest change is cat as owl, +66.7), fewer confusions in blue.
    coloraxis = figure.layout.coloraxis
    assert coloraxis.cmid == 0 and (coloraxis.cmin, coloraxis.cmax) == pytest.approx((-200 / 3, 200 / 3))
    assert coloraxis.colorscale[0][1] == px.colors.diverging.RdBu_r[0]  # blue at the low end
    assert [list(row) for row in heatmap.text] == [["-33.3", "-33.3", "+66.7"],
                                                   ["-33.3", "0", "+33.3"],
                                                   ["-33.3", "0", "+33.3"]]


def test_the_difference_figure_of_many_classes_keeps_its_values_for_the_hover_only():
    size = confusion.MAX_WRITTEN_CLASSES + 1
    names = [f"class {index:02d}" for index in range(size)]
    difference = pd.DataFrame(np.eye(size) * 0.25, index=names, columns=names)
    difference.iloc[0, 1] = -0.125
    heatmap = head_to_head.difference_figure(difference).data[0]
    # No text per cell (a million strings at 1,000 classes): the hover formats the coloured value itself.
    assert heatmap.text is None and not heatmap.texttemplate
    assert "%{z:+.1f} points" in heatmap.hovertemplate and heatmap.z[0][1] == -12.5
    small = head_to_head.difference_figure(difference.iloc[:-1, :-1]).data[0]
    assert small.texttemplate == "%{text}" and small.text[0][1] == "-12.5" and "%{text}" in small.hovertemplate


@pytest.mark.parametrize("difference, sentence", [
    # cat as dog, dog as cat and owl as cat all drop by a third: the first in the matrix is named.
    (EXPECTED_DIFFERENCE, "B confuses cat as dog 33.3 points less often than A, and cat as owl 66.7 points more "
                          "often."),
    (np.zeros((3, 3)), "B confuses every pair of classes exactly as often as A."),
    # Only fewer confusions (the diagonal never counts as one).
    (np.array([[0.2, 0, -0.2], [0, 0, 0], [0, -0.05, 0.05]]),
     "B confuses cat as owl 20.0 points less often than A, and no pair more often."),
    (np.array([[-0.1, 0.1, 0], [0, 0, 0], [0, 0, 0]]),
     "B confuses no pair less often than A, and cat as dog 10.0 points more often."),
])
def test_the_change_sentence_names_the_confusions_b_removed_and_added_most(difference, sentence):
    frame = pd.DataFrame(difference, index=CLASSES, columns=CLASSES)
    assert head_to_head.confusion_change_sentence(frame) == sentence


def test_recall_per_class_side_by_side_with_the_difference(pair):
    # A gets 2 of 3 cats, 1 of 3 dogs, no owl; B one of each.
    table = head_to_head.recall_table(*pair, CLASSES)
    assert table["class"].tolist() == CLASSES
    np.testing.assert_allclose(table["A recall (%)"], [200 / 3, 100 / 3, 0])
    np.testing.assert_allclose(table["B recall (%)"], [100 / 3, 100 / 3, 100 / 3])
    np.testing.assert_allclose(table["B − A (points)"], [-100 / 3, 0, 100 / 3])


# ---------------------------------------------------------------- the page

PAGE = "views/head_to_head.py"


def mcnemar_note(app) -> str:
    """What the "How it is computed" expander beside the table of right and wrong says."""
    expander = app.expander[0]
    assert expander.label == "How it is computed"
    return expander.markdown[0].value


def cards(app) -> list[str]:
    """The image ids of the gallery's cards, in order."""
    return [caption.value.split("`")[1] for caption in app.caption if caption.value.startswith("`")]


def test_page_on_hand_made_runs_shows_every_count_the_matrix_and_the_galleries(open_app, pets_store):
    app = open_app(pets_store, PAGE)
    assert [(box.label, box.value) for box in app.selectbox[:2]] == [("A", "alpha"), ("B", "beta")]
    assert app.markdown[0].value == head_to_head.mcnemar_sentence(pairs.Disagreement(2, 2))
    assert app.dataframe[0].value.to_numpy().tolist() == [[1, 2], [2, 4]]
    assert app.caption[0].value == ("Of 9 test images, A gets 3 right and B 3. The table splits them by who gets "
                                    "each right.")
    assert mcnemar_note(app).startswith("An exact McNemar test, two-sided, on the images only one of them gets right: "
                                        "p = 1, ")
    assert app.markdown[2].value.startswith("B confuses cat as dog 33.3 points less often than A")
    assert app.expander[1].markdown[0].value.startswith("Each run's confusion matrix is divided by the images")
    (figure,) = figures(app)
    np.testing.assert_allclose(np.asarray(figure.data[0].z, dtype=float)[0], [np.nan, -100 / 3, 200 / 3])
    np.testing.assert_allclose(app.dataframe[1].value["B − A (points)"], [-100 / 3, 0, 100 / 3])

    assert app.radio[0].options == ["only A right (2)", "only B right (2)", "both wrong, different answers (3)"]
    assert cards(app) == ["test/i1.png", "test/i2.png"]
    assert len(app.get("image")) == 2
    app.radio[0].set_value(BOTH_WRONG).run()
    assert cards(app) == ["test/i6.png", "test/i8.png", "test/i5.png"]
    assert "true **cat** · A **dog** · B **owl**" in [block.value for block in app.markdown]

    app.button(key="open:test/i6.png").click().run()
    opened = app.dataframe[-1].value.set_index("run")
    assert opened["predicted"].to_dict() == {"alpha": "dog", "beta": "owl"}


@pytest.fixture
def scored_store(tmp_path):
    """Runs plain and fast of A's and B's answers on the nine images, whose stored metrics are what the trainers
    compute from their predictions, and the test images."""
    write_scored_run(tmp_path, "plain", LABELS, A_PROBABILITIES, ids=IDS)
    write_scored_run(tmp_path, "fast", LABELS, B_PROBABILITIES, ids=IDS)
    run_store.save_test_images(tmp_path, TEST_KEY, IDS, LABELS, np.zeros((len(IDS), 8, 8, 3), np.uint8))
    return tmp_path


def test_page_agrees_with_trainers_compare_and_the_metrics_the_runs_stored(open_app, scored_store):
    app = open_app(scored_store, PAGE)
    # A and B as the page chose them: the runs tie on accuracy, and which one leads is not the point here.
    a, b = (run_store.load_run(scored_store / box.value) for box in app.selectbox[:2])
    assert {a.run_id, b.run_id} == {"plain", "fast"}
    result = compare.compare_runs([a.path, b.path])
    [(_, _, pair)] = result["pairs"]
    table = app.dataframe[0].value
    assert (table.at["A right", "B wrong"], table.at["A wrong", "B right"]) == (pair.only_first, pair.only_second)
    assert table.loc["A right"].sum() == round(result["accuracy"][a.run_id] * result["num_images"])
    assert app.markdown[0].value == head_to_head.mcnemar_sentence(pair)
    assert f"p = {pair.p_value:.3g}," in mcnemar_note(app)

    # The difference matrix and recall agree with the confusion matrices the trainers stored.
    rates = [run.confusion_matrix / run.confusion_matrix.sum(axis=1, keepdims=True)
             for run in (a, b)]
    (figure,) = figures(app)
    off_diagonal = ~np.eye(len(a.class_names), dtype=bool)
    np.testing.assert_allclose(np.asarray(figure.data[0].z, dtype=float)[off_diagonal],
                               100 * (rates[1] - rates[0])[off_diagonal])
    recall = app.dataframe[1].value
    for column, run in (("A recall (%)", a), ("B recall (%)", b)):
        assert recall[column].tolist() == pytest.approx([100 * row["recall"] for row in run.metrics["per_class"]])

    counts = [int(option.rsplit("(", 1)[1][:-1]) for option in app.radio[0].options]
    assert counts[:2] == [pair.only_first, pair.only_second]
    assert len(app.get("image")) == min(counts[0], 12)


def test_page_says_a_gallery_is_empty_when_the_runs_never_disagree(open_app, pets_store):
    """Two runs with the same answers on every image: every gallery is empty, and the page says so, neutrally."""
    write_fake_run(pets_store, "gamma", labels=LABELS, ids=IDS, probabilities=A_PROBABILITIES)
    app = open_app(pets_store, PAGE)
    app.selectbox(key="head_to_head_b").set_value("gamma").run()
    assert app.dataframe[0].value.to_numpy().tolist() == [[3, 0], [0, 6]]
    assert app.radio[0].options == ["only A right (0)", "only B right (0)", "both wrong, different answers (0)"]
    for kind in app.radio[0].options:
        app.radio[0].set_value(kind).run()
        assert not app.get("image")
        assert [block.value for block in app.info] == ["No test image in this gallery."]
        assert not app.success


def test_page_asks_for_two_runs(open_app, pets_store):
    app = open_app(pets_store, PAGE)
    app.sidebar.multiselect[0].set_value(["alpha"]).run()
    assert app.info[0].value == "Head to head compares two runs: select at least two in the sidebar."
    assert not app.get("plotly_chart")


def test_page_asks_for_two_different_runs(open_app, pets_store):
    app = open_app(pets_store, PAGE)
    app.selectbox(key="head_to_head_b").set_value(app.selectbox(key="head_to_head_a").value).run()
    assert app.info[0].value == "A and B are the same run: choose another for one of them."


def test_page_refuses_runs_tested_on_other_images(open_app, tmp_path):
    write_fake_run(tmp_path, "a-run")
    write_fake_run(tmp_path, "b-run", ids=["test/x.png", "test/001.png", "test/002.png"])
    app = open_app(tmp_path, PAGE)
    assert app.error[0].value.startswith("A and B cannot be compared: ")
    assert "was tested on other images" in app.error[0].value
    assert not app.get("plotly_chart")


def test_page_on_the_shipped_runs_shows_what_trainers_compare_prints(open_app):
    store = REPO_ROOT / "artifacts"
    names = ("cnn_air-cifar10", "cnn_air-distilled-cifar10")
    app = open_app(store, PAGE, timeout=120)
    for key, name in zip(("head_to_head_a", "head_to_head_b"), names):
        app.selectbox(key=key).set_value(run_store.load_run(store / name).label)
    app.run()
    assert not app.exception

    [(_, _, pair)] = compare.compare_runs([store / name for name in names])["pairs"]
    assert (pair.only_first, pair.only_second) == (155, 206)
    table = app.dataframe[0].value
    assert (table.at["A right", "B wrong"], table.at["A wrong", "B right"]) == (155, 206)
    assert f"p = {pair.p_value:.3g}," in mcnemar_note(app) and "p = 0.00841," in mcnemar_note(app)
    assert app.caption[0].value.startswith("Of 10,000 test images, A gets 9,182 right and B 9,233.")
    assert app.markdown[0].value == ("B is ahead by 51 images: it gets 206 right that A gets wrong, A 155 the other "
                                     "way; between two equally good models a split this uneven happens 0.8% of the "
                                     "time.")


def test_page_on_the_reviewed_test_set_compares_on_the_corrected_labels(open_app, pets_store):
    from trainers.store import label_verdicts
    from trainers.store.label_verdicts import AMBIGUOUS, WRONG, Verdict

    # i1 (cat; A cat, B owl) is judged an owl, i7 (dog; both say cat) a cat, and i5 ambiguous (left out). On the
    # 8 kept: both right i0 i7, only A i2, only B i1 i3 i4, both wrong i6 i8 (different answers).
    for verdict in (Verdict("test/i1.png", WRONG, "owl"), Verdict("test/i7.png", WRONG, "cat"),
                    Verdict("test/i5.png", AMBIGUOUS)):
        label_verdicts.record_verdict(pets_store, TEST_KEY, verdict)
    app = open_app(pets_store, PAGE)
    assert app.dataframe[0].value.to_numpy().tolist() == [[1, 2], [2, 4]]  # the given labels until asked
    app.toggle(key="head_to_head_reviewed").set_value(True).run()
    assert not app.exception
    assert ("On the reviewed test set: 8 test images, as 3 verdicts (Suspect labels) correct it: 2 labels changed and "
            "1 ambiguous image left out; true classes are the corrected ones.") in [c.value for c in app.caption]
    assert app.markdown[0].value == head_to_head.mcnemar_sentence(pairs.Disagreement(1, 3))
    assert app.dataframe[0].value.to_numpy().tolist() == [[2, 1], [3, 2]]
    assert "Of 8 test images, A gets 3 right and B 5" in "".join(c.value for c in app.caption)
    assert "p = 0.625," in mcnemar_note(app)  # 2 · (1 + 4) / 2⁴
    assert app.radio[0].options == ["only A right (1)", "only B right (3)", "both wrong, different answers (2)"]
    app.radio[0].set_value(ONLY_B).run()
    assert cards(app) == ["test/i3.png", "test/i4.png", "test/i1.png"]  # by B's confidence: 0.9, 0.7, 0.5
    assert "true **owl** · A **cat** · B **owl**" in [block.value for block in app.markdown]
