"""The review of test labels: label-quality scores against values worked out by hand, verdicts kept in the store
(after a restart, from two sessions at once, not in a read-only store) and withdrawn, the corrected labels and
accuracy, the export read back by `trainers.evaluate --labels`, and the page's buttons, which say what they record
and appear once the reviewer has given a name."""

from __future__ import annotations

import json
import os
import threading

import numpy as np
import pytest

from app_pages import widget
from fake_runs import write_fake_run
from trainers import evaluate
from trainers.analysis import label_review
from trainers.store import label_verdicts
from trainers.store.label_verdicts import AMBIGUOUS, RIGHT, UNDONE, WRONG, Verdict, VerdictsError

KEY = "pets-8px-0000"
LABELS = [0, 2, 1]
PROBABILITIES = [[0.7, 0.2, 0.1], [0.1, 0.6, 0.3], [0.5, 0.3, 0.2]]


@pytest.mark.parametrize("method, scores", [
    ("self_confidence", [0.7, 0.3, 0.3]),  # the given label's probability
    ("normalized_margin", [(0.7 - 0.2 + 1) / 2, (0.3 - 0.6 + 1) / 2, (0.3 - 0.5 + 1) / 2]),  # (p_y - max other + 1) / 2
])
def test_label_quality_scores_by_hand(method, scores):
    assert label_review.label_quality(LABELS, PROBABILITIES, method) == pytest.approx(scores)


def test_an_ensemble_of_identical_runs_scores_as_one_and_unknown_scores_are_refused():
    ensemble = label_review.ensemble_label_quality(LABELS, [PROBABILITIES, PROBABILITIES], "self_confidence")
    assert ensemble == pytest.approx([0.7, 0.3, 0.3])
    with pytest.raises(ValueError, match="Unknown label-quality score 'entropy'"):
        label_review.label_quality(LABELS, PROBABILITIES, "entropy")


def test_verdicts_are_kept_read_after_a_restart_and_the_last_one_counts(tmp_path):
    label_verdicts.record_verdict(tmp_path, KEY, Verdict("a", WRONG, "dog", "ada"))
    label_verdicts.record_verdict(tmp_path, KEY, Verdict("b", AMBIGUOUS, reviewer="ada"))
    label_verdicts.record_verdict(tmp_path, KEY, Verdict("a", RIGHT, reviewer="alan"))  # changed
    verdicts = label_verdicts.read_verdicts(tmp_path, KEY)  # a new reading, as after a restart
    assert list(verdicts) == ["a", "b"]
    assert (verdicts["a"].verdict, verdicts["a"].reviewer, verdicts["b"].verdict) == (RIGHT, "alan", AMBIGUOUS)
    assert verdicts["a"].at  # stamped with the time


def test_an_undone_verdict_is_no_verdict_and_a_new_one_counts_again(tmp_path):
    label_verdicts.record_verdict(tmp_path, KEY, Verdict("a", WRONG, "dog", "ada"))
    label_verdicts.record_verdict(tmp_path, KEY, Verdict("b", AMBIGUOUS, reviewer="ada"))
    undone = label_verdicts.undo_verdict(tmp_path, KEY, "a", "alan")
    assert (undone.verdict, undone.reviewer, bool(undone.at)) == (UNDONE, "alan", True)
    assert list(label_verdicts.read_verdicts(tmp_path, KEY)) == ["b"]
    label_verdicts.undo_verdict(tmp_path, KEY, "c")  # an image never judged: nothing to withdraw, no harm
    label_verdicts.record_verdict(tmp_path, KEY, Verdict("a", RIGHT, reviewer="alan"))  # judged again: placed last
    verdicts = label_verdicts.read_verdicts(tmp_path, KEY)
    assert [(verdict.id, verdict.verdict) for verdict in verdicts.values()] == [("b", AMBIGUOUS), ("a", RIGHT)]
    # Append-only: the withdrawn verdict and who withdrew it stay in the file.
    lines = [json.loads(line) for line in label_verdicts.verdicts_path(tmp_path, KEY).read_text().splitlines()]
    assert [(line["id"], line["verdict"], line["reviewer"]) for line in lines] == [
        ("a", WRONG, "ada"), ("b", AMBIGUOUS, "ada"), ("a", UNDONE, "alan"), ("c", UNDONE, ""), ("a", RIGHT, "alan")]
    with pytest.raises(ValueError, match="needs the class it should be"):
        Verdict("a", UNDONE, "dog")


def test_a_review_whose_verdicts_are_all_undone_has_begun_but_corrects_nothing(tmp_path):
    run = write_fake_run(tmp_path, "run", labels=[0, 0, 1, 2], probabilities=np.eye(3)[[0, 1, 1, 0]])
    ids = run.predictions.ids
    label_verdicts.record_verdict(tmp_path, run.test_key, Verdict(ids[1], WRONG, "dog"))
    label_verdicts.record_verdict(tmp_path, run.test_key, Verdict(ids[3], AMBIGUOUS))
    for image_id in (ids[1], ids[3]):
        label_verdicts.undo_verdict(tmp_path, run.test_key, image_id)
    assert label_verdicts.review_begun(tmp_path, run.test_key)
    verdicts = label_verdicts.read_verdicts(tmp_path, run.test_key)
    corrected = label_review.corrected_labels(ids, run.predictions.labels, run.class_names, verdicts)
    assert (corrected.changed, corrected.left_out, corrected.reviewed) == (0, 0, 0)
    assert label_review.corrected_accuracy(run.predictions.predicted, corrected) == 0.5  # the given accuracy
    assert label_review.export_table(verdicts, ids, run.predictions.labels, run.class_names).empty


def test_readers_handed_an_undone_verdict_count_it_as_none(tmp_path):
    # read_verdicts never returns one, but a hand-made dict or CSV may hold one.
    run = write_fake_run(tmp_path, "run", labels=[0, 0, 1, 2], probabilities=np.eye(3)[[0, 1, 1, 0]])
    ids = run.predictions.ids
    verdicts = {ids[1]: Verdict(ids[1], WRONG, "dog"), ids[3]: Verdict(ids[3], UNDONE)}
    corrected = label_review.corrected_labels(ids, run.predictions.labels, run.class_names, verdicts)
    assert (corrected.changed, corrected.left_out, corrected.reviewed) == (1, 0, 1)
    assert label_review.export_table(verdicts, ids, run.predictions.labels, run.class_names)["id"].tolist() == [ids[1]]
    (tmp_path / "review.csv").write_text(f"id,verdict,corrected\n{ids[1]},wrong,dog\n{ids[3]},ambiguous,\n"
                                         f"{ids[3]},undone,\n")
    assert list(label_review.read_verdicts_csv(tmp_path / "review.csv")) == [ids[1]]


def test_two_sessions_reviewing_at_once_lose_no_verdict(tmp_path):
    def review(reviewer: str) -> None:
        for index in range(200):
            label_verdicts.record_verdict(tmp_path, KEY, Verdict(f"{reviewer}-{index}", RIGHT, reviewer=reviewer))

    sessions = [threading.Thread(target=review, args=(name,)) for name in ("ada", "alan")]
    for session in sessions:
        session.start()
    for session in sessions:
        session.join()
    assert len(label_verdicts.read_verdicts(tmp_path, KEY)) == 400


def test_a_verdict_cut_short_by_a_crash_is_skipped_and_other_damage_named(tmp_path):
    label_verdicts.record_verdict(tmp_path, KEY, Verdict("a", RIGHT))
    path = label_verdicts.verdicts_path(tmp_path, KEY)
    with path.open("a") as file:
        file.write('{"id": "b", "verd')
    assert list(label_verdicts.read_verdicts(tmp_path, KEY)) == ["a"]
    path.write_text('{"id": "a", "verdict": "maybe"}\n')
    with pytest.raises(VerdictsError, match="line 1 is not a verdict: Unknown verdict 'maybe'. Known: right, "
                                            "wrong, ambiguous, undone"):
        label_verdicts.read_verdicts(tmp_path, KEY)


def test_a_verdict_must_say_what_a_wrong_label_should_be():
    with pytest.raises(ValueError, match="needs the class it should be"):
        Verdict("a", WRONG)
    with pytest.raises(ValueError, match="needs the class it should be"):
        Verdict("a", RIGHT, "dog")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes to a read-only folder")
def test_a_read_only_store_says_it_cannot_keep_verdicts(tmp_path):
    (tmp_path / "datasets").mkdir()
    os.chmod(tmp_path / "datasets", 0o555)
    try:
        assert "cannot be written here, so verdicts cannot be kept" in label_verdicts.cannot_keep(tmp_path, KEY)
        with pytest.raises(VerdictsError, match="verdicts cannot be kept"):
            label_verdicts.record_verdict(tmp_path, KEY, Verdict("a", RIGHT))
    finally:
        os.chmod(tmp_path / "datasets", 0o755)


def test_an_unwritable_store_is_refused_in_one_line_whoever_runs(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(label_verdicts.os, "open", refuse)
    with pytest.raises(VerdictsError, match="verdicts cannot be kept in .*: Permission denied"):
        label_verdicts.record_verdict(tmp_path, KEY, Verdict("a", RIGHT))


def test_the_corrected_accuracy_of_a_constructed_case(tmp_path):
    # Four images, labels cat cat dog owl; the run says cat dog dog cat. Image 1 is judged a dog (the run is then
    # right on it), image 3 ambiguous (left out), image 0 right: 3 of the 3 kept are right, against 2 of 4 given.
    run = write_fake_run(tmp_path, "run", labels=[0, 0, 1, 2], probabilities=np.eye(3)[[0, 1, 1, 0]])
    ids = run.predictions.ids
    verdicts = {ids[1]: Verdict(ids[1], WRONG, "dog"), ids[3]: Verdict(ids[3], AMBIGUOUS),
                ids[0]: Verdict(ids[0], RIGHT)}
    corrected = label_review.corrected_labels(ids, run.predictions.labels, run.class_names, verdicts)
    assert (corrected.changed, corrected.left_out) == (1, 1)
    assert label_review.corrected_accuracy(run.predictions.predicted, corrected) == 1.0
    with pytest.raises(ValueError, match="1 reviewed images are not in this test set"):
        label_review.corrected_labels(ids, run.predictions.labels, run.class_names, {"x": Verdict("x", RIGHT)})


def test_the_export_is_read_back_by_evaluate_labels(tmp_path, capsys):
    run = write_fake_run(tmp_path, "run", labels=[0, 0, 1, 2], probabilities=np.eye(3)[[0, 1, 1, 0]])
    ids = run.predictions.ids
    for verdict in (Verdict(ids[1], WRONG, "dog", "ada"), Verdict(ids[3], AMBIGUOUS, reviewer="ada"),
                    Verdict(ids[0], RIGHT, reviewer="ada")):
        label_verdicts.record_verdict(tmp_path, run.test_key, verdict)
    table = label_review.export_table(label_verdicts.read_verdicts(tmp_path, run.test_key), ids,
                                      run.predictions.labels, run.class_names)
    assert table.values.tolist() == [[ids[1], "cat", "dog", WRONG, "ada"], [ids[3], "owl", "", AMBIGUOUS, "ada"],
                                     [ids[0], "cat", "cat", RIGHT, "ada"]]
    table.to_csv(tmp_path / "corrected.csv", index=False)
    assert evaluate.main([str(run.path), "--labels", str(tmp_path / "corrected.csv")]) == 0
    assert capsys.readouterr().out.strip() == (f"{run.path}: test accuracy 0.5000 on the given labels, 1.0000 on the "
                                               "corrected ones (1 labels changed, 1 ambiguous images left out)")
    (tmp_path / "bad.csv").write_text("id,verdict\nx,maybe\n")
    assert evaluate.main([str(run.path), "--labels", str(tmp_path / "bad.csv")]) == 2
    assert "line 2: Unknown verdict 'maybe'" in capsys.readouterr().err


# ---------------------------------------------------------------- the page


def _cards(app) -> list[str]:
    return [markdown.value for markdown in app.markdown if markdown.value.startswith("given")]


def _verdict_buttons(app) -> list:
    return [button for button in app.button if str(button.key).startswith(("verdict:", "undo:"))]


def _progress(app) -> str:
    return next(m.value for m in app.markdown if " of the first " in m.value)


def _judged(app) -> list[str]:
    return [caption.value for caption in app.main.caption if caption.value.startswith("Judged")]


NAME_FIRST = "Type your name above, then press Enter, to give verdicts: the buttons appear on each card."


def test_no_verdict_can_be_given_before_the_reviewer_gives_a_name(open_app, tmp_path, monkeypatch):
    from test_label_issues import _store

    _store(tmp_path, "cnn_v3-1")
    monkeypatch.setenv("USER", "ada")  # the server's user is not the reviewer's name
    app = open_app(tmp_path, "views/suspect_labels.py")
    name = app.text_input(key="reviewer")
    assert (name.label, name.value) == ("Your name (kept with each verdict)", "")
    assert NAME_FIRST in [note.value for note in app.info]
    assert not _verdict_buttons(app)
    assert not [box for box in app.selectbox if str(box.key).startswith("corrected:")]
    name.input("   ").run()  # only blanks: no name
    assert not _verdict_buttons(app) and NAME_FIRST in [note.value for note in app.info]
    app.text_input(key="reviewer").input("Ada").run()
    assert not app.exception and NAME_FIRST not in [note.value for note in app.info]
    assert len([button for button in _verdict_buttons(app) if button.key.startswith("verdict:right:")]) == 8
    # The name is kept for the session: on another page and back, it is still given.
    app.switch_page("views/home.py").run()
    app.switch_page("views/suspect_labels.py").run()
    assert app.text_input(key="reviewer").value == "Ada" and _verdict_buttons(app)


def test_each_button_records_what_it_says_with_the_reviewers_name(open_app, tmp_path):
    from test_label_issues import _store

    (run,) = _store(tmp_path, "cnn_v3-1")
    app = open_app(tmp_path, "views/suspect_labels.py")
    # Self-confidence, lowest first: image 5 (dog at 0.05), 2 (cat at 0.10), 7 (owl at 0.20), 4 (dog at 0.45)...
    assert _cards(app)[:3] == ["given **dog** → suspected **cat** (50%)", "given **cat** → suspected **dog** (90%)",
                               "given **owl** → suspected **cat** (40%)"]
    assert any(m.value.startswith("All **8** test images, ranked by") and "**3** flagged" in m.value
               for m in app.markdown)
    assert _progress(app).startswith("0 of the first 8 reviewed")
    app.text_input(key="reviewer").input(" Ada ").run()

    # Image 2, a cat suspected a dog: the buttons name the given class and the class picked, never a bare sign.
    picked = app.selectbox(key="corrected:test/002.png")
    assert (picked.label, picked.value, picked.options) == ("It is actually", "dog", ["dog", "owl"])
    labels = {verdict: app.button(key=f"verdict:{verdict}:test/002.png").label for verdict in (RIGHT, WRONG, AMBIGUOUS)}
    assert labels == {RIGHT: "'cat' is right", WRONG: "It is a dog", AMBIGUOUS: "Unclear"}
    picked.set_value("owl").run()
    assert app.button(key="verdict:wrong:test/002.png").label == "It is an owl"  # follows the pick
    app.button(key="verdict:wrong:test/002.png").click().run()
    app.button(key="verdict:right:test/000.png").click().run()
    app.button(key="verdict:ambiguous:test/007.png").click().run()
    assert not app.exception
    kept = label_verdicts.read_verdicts(tmp_path, run.test_key)
    assert {image_id: (verdict.verdict, verdict.corrected, verdict.reviewer) for image_id, verdict in kept.items()} == {
        "test/002.png": (WRONG, "owl", "Ada"), "test/000.png": (RIGHT, "", "Ada"),
        "test/007.png": (AMBIGUOUS, "", "Ada")}
    assert _judged(app) == ["Judged: it is an owl (not 'cat'), by Ada",
                            "Judged: unclear (fits no class, or more than one), by Ada",
                            "Judged: 'cat' is right, by Ada"]  # in the ranking's order: 002, 007, ..., 000
    assert ("3 of the first 8 reviewed: 1 label judged wrong (33% of those reviewed), 1 ambiguous; 3 reviewed in "
            "all.") in [m.value for m in app.markdown]
    assert app.get("download_button")
    assert app.button(key="verdict:wrong:test/002.png").proto.type == "primary"  # the verdict kept, marked

    again = open_app(tmp_path, "views/suspect_labels.py")  # a new session, as after a restart
    assert "Judged: it is an owl (not 'cat'), by Ada" in _judged(again)
    assert not _verdict_buttons(again)  # a new session gives its name again
    again.text_input(key="reviewer").input("Bo").run()
    assert again.selectbox(key="corrected:test/002.png").value == "owl"  # starts on the verdict's class


def test_undo_withdraws_a_verdict_and_the_accuracy_is_the_given_one_again(open_app, tmp_path):
    from test_label_issues import _store

    (run,) = _store(tmp_path, "cnn_v3-1")
    predictions = run.predictions

    def accuracy() -> float:
        verdicts = label_verdicts.read_verdicts(tmp_path, run.test_key)
        corrected = label_review.corrected_labels(predictions.ids, predictions.labels, run.class_names, verdicts)
        return label_review.corrected_accuracy(predictions.predicted, corrected)

    # The run picks cat cat dog dog cat cat owl cat for cat cat cat dog dog dog owl owl: 4 of 8 on the given labels.
    app = open_app(tmp_path, "views/suspect_labels.py")
    app.text_input(key="reviewer").input("Ada").run()
    assert not [button for button in app.button if str(button.key).startswith("undo:")]  # nothing judged yet
    app.button(key="verdict:wrong:test/002.png").click().run()  # a dog: the run is right on it
    app.button(key="verdict:ambiguous:test/007.png").click().run()  # left out: the run's miss no longer counts
    assert accuracy() == 5 / 7
    app.button(key="undo:test/007.png").click().run()
    assert not app.exception and list(label_verdicts.read_verdicts(tmp_path, run.test_key)) == ["test/002.png"]
    assert accuracy() == 5 / 8
    app.button(key="undo:test/002.png").click().run()
    assert label_verdicts.read_verdicts(tmp_path, run.test_key) == {} and accuracy() == 4 / 8
    assert not _judged(app) and not [button for button in app.button if str(button.key).startswith("undo:")]
    assert _progress(app).startswith("0 of the first 8 reviewed")
    undone = label_verdicts.verdicts_path(tmp_path, run.test_key).read_text().splitlines()[-1]
    assert (json.loads(undone)["verdict"], json.loads(undone)["reviewer"]) == (UNDONE, "Ada")
    home = open_app(tmp_path)  # a review begun, every verdict withdrawn: no reviewed accuracy to differ
    assert "reviewed test accuracy" not in home.dataframe[0].value.columns


def test_a_store_that_cannot_keep_verdicts_says_so_and_offers_no_buttons(open_app, tmp_path, monkeypatch):
    from test_label_issues import _store

    _store(tmp_path, "cnn_v3-1")
    monkeypatch.setattr(label_verdicts, "cannot_keep", lambda store, key, evaluation="": "the run store is read-only here")
    app = open_app(tmp_path, "views/suspect_labels.py")
    assert "Verdicts cannot be kept: the run store is read-only here." in [note.value for note in app.info]
    assert not [button for button in app.button if str(button.key).startswith("verdict:")]


def test_home_shows_each_runs_accuracy_on_the_reviewed_test_set_and_says_when_the_ranking_changes(open_app, tmp_path):
    # Labels cat cat dog owl. A says cat cat dog cat (3 of 4), B cat dog dog cat (2 of 4). Image 1 is judged a dog and
    # image 3 ambiguous: on the three kept (cat dog dog), A gets 2 and B 3.
    a = write_fake_run(tmp_path, "a", labels=[0, 0, 1, 2], probabilities=np.eye(3)[[0, 0, 1, 0]],
                       metrics={"accuracy": 0.75})
    write_fake_run(tmp_path, "b", labels=[0, 0, 1, 2], probabilities=np.eye(3)[[0, 1, 1, 0]], metrics={"accuracy": 0.5})
    ids = a.predictions.ids
    label_verdicts.record_verdict(tmp_path, a.test_key, Verdict(ids[1], WRONG, "dog"))
    label_verdicts.record_verdict(tmp_path, a.test_key, Verdict(ids[3], AMBIGUOUS))
    app = open_app(tmp_path)
    table = app.dataframe[0].value.set_index("run")
    assert table["reviewed test accuracy"].to_dict() == pytest.approx({"a": 2 / 3, "b": 1.0})
    assert ("Reviewed test accuracy: on the test set as 2 verdicts (Suspect labels) correct it: 1 label changed and "
            "1 ambiguous image left out.") in [caption.value for caption in app.caption]
    assert json.loads(app.dataframe[0].proto.columns)["reviewed test accuracy"]["label"] == "reviewed (1 changed)"
    assert any(m.value.startswith("On the reviewed test set b (1.0000) ranks above a (0.6667)") for m in app.markdown)
    assert [toggle.label for toggle in app.sidebar.toggle] == ["Report on the reviewed test set"]


def test_home_has_no_reviewed_column_before_a_review(open_app, tmp_path):
    write_fake_run(tmp_path, "a")
    app = open_app(tmp_path)
    assert "reviewed test accuracy" not in app.dataframe[0].value.columns
    assert not app.sidebar.toggle  # no report on a reviewed test set to offer


def test_the_runs_together_rank_by_the_ensemble_score(open_app, tmp_path):
    from test_label_issues import _store

    _store(tmp_path, "cnn_v3-1", "cnn_v4-1")  # the same probabilities: together they rank as one run does
    app = open_app(tmp_path, "views/suspect_labels.py")
    alone = _cards(app)
    app.selectbox[0].set_value("the selected runs together").run()
    assert not app.exception and _cards(app) == alone


def test_temperature_scaled_probabilities_rank_by_the_scaled_label_probability(open_app, tmp_path):
    from trainers.store import run_store

    # Validation: three images at [0.5, 0.25, 0.25], two labelled 0. The fitted T makes the top probability 2/3, the
    # share right: T = 1/2 (0.5² / (0.5² + 2 · 0.25²) = 2/3). At T = 1/2 a probability becomes p² / Σ p².
    # Test image A (cat): [0.4, 0.3, 0.3] -> 0.16 / 0.34 = 0.471; B (cat): [0.45, 0.54, 0.01] -> 0.2025 / 0.4942
    # = 0.410, and dog 0.2916 / 0.4942 = 0.590. As stored A (0.40) is doubted before B (0.45); scaled, B before A.
    ids = ["test/a.png", "test/b.png", "test/c.png"]
    labels = [0, 0, 1]
    run_store.save_test_images(tmp_path, KEY, ids, labels, np.zeros((3, 8, 8, 3), np.uint8))
    a = write_fake_run(tmp_path, "a", labels=labels, ids=ids,
                       probabilities=[[0.4, 0.3, 0.3], [0.45, 0.54, 0.01], [0.1, 0.8, 0.1]])
    run_store.write_predictions(a.path, ["train/0", "train/1", "train/2"], [0, 0, 1], [[0.5, 0.25, 0.25]] * 3,
                                file_name=run_store.VALIDATION_PREDICTIONS_FILE)
    write_fake_run(tmp_path, "b", labels=labels, ids=ids)  # no validation predictions
    app = open_app(tmp_path, "views/suspect_labels.py")
    assert _cards(app)[:2] == ["given **cat** → suspected **dog** (30%)", "given **cat** → suspected **dog** (54%)"]
    widget(app.selectbox, "Probabilities").set_value(True).run()
    assert not app.exception
    assert _cards(app)[:2] == ["given **cat** → suspected **dog** (59%)", "given **cat** → suspected **dog** (26%)"]
    assert any(caption.value.startswith("`test/b.png`  \nprobability of the given label: 41%  \nself confidence 0.410")
               for caption in app.main.caption)
    assert "Probabilities: a at T = 0.500, fitted on 3 validation images." in [c.value for c in app.main.caption]

    widget(app.selectbox, "Run").set_value("the selected runs together").run()
    assert not app.exception
    assert ("Probabilities: a at T = 0.500, fitted on 3 validation images; b as stored: it stores no validation "
            "predictions to fit a temperature on.") in [c.value for c in app.main.caption]
