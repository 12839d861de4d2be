"""Which run is best, by how much, and whether that is real: the ranking of constructed runs, Home's first line
and its table, by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dashboard.lib import comparison
from fake_runs import OUTCOME_LABELS, OUTCOME_WRONG, write_outcome_run
from trainers.analysis import ranking
from trainers.store import run_store

IMAGES = len(OUTCOME_LABELS)
LABELS = OUTCOME_LABELS


def runs_of(store, *run_ids):
    return [run_store.load_run(store / run_id) for run_id in run_ids]


def binomial_p(smaller: int, discordant: int) -> float:
    """The exact two-sided McNemar p-value by hand: twice the binomial lower tail at 1/2."""
    return min(1.0, 2 * sum(math.comb(discordant, k) for k in range(smaller + 1)) / 2 ** discordant)


def test_runs_are_ranked_best_first_with_the_best_runs_lead_over_each(outcome_store):
    ranked = ranking.rank(runs_of(outcome_store, "weak", "close", "best"))
    assert [standing.label for standing in ranked.standings] == ["best", "close", "weak"]
    best, close, weak = ranked.standings
    assert (best.right, best.images, best.score) == (36, 40, 0.9)
    assert best.lead is None
    # best vs close: only best right on images 4-8 (5), only close on 0-3 (4).
    assert (close.lead.only_first, close.lead.only_second) == (5, 4)
    assert close.lead.difference == pytest.approx(0.025)
    assert close.lead.p_value == pytest.approx(binomial_p(4, 9)) and close.within_noise
    # best vs weak: only best right on 20-39 (20), only weak on 0-3 (4).
    assert (weak.lead.only_first, weak.lead.only_second) == (20, 4)
    assert weak.lead.p_value == pytest.approx(binomial_p(4, 24)) and not weak.within_noise
    assert weak.lead.difference == pytest.approx(0.4)
    assert weak.lead.low < 0.4 < weak.lead.high


def test_top_5_and_reviewed_labels_score_each_image(outcome_store):
    from trainers.analysis.label_review import CorrectedLabels

    (run,) = runs_of(outcome_store, "best")
    corrected = CorrectedLabels(labels=np.where(np.arange(IMAGES) == 0, 1, LABELS), kept=np.arange(IMAGES) != 1,
                                changed=1, left_out=1, reviewed=2)
    reviewed = ranking.right_images(run.predictions, ranking.REVIEWED, corrected)
    # Image 0 is relabelled as the class "best" picked; image 1 is left out: 39 images, 2 and 3 still wrong.
    assert len(reviewed) == 39 and reviewed.sum() == 37
    assert ranking.right_images(run.predictions, ranking.TOP_5).all()  # 3 classes: the label is always in the top 5
    with pytest.raises(ValueError, match="Unknown metric"):
        ranking.right_images(run.predictions, "macro F1")


def test_the_answer_says_the_runner_ups_lead_is_within_noise(outcome_store):
    ranked = ranking.rank(runs_of(outcome_store, "best", "close", "weak"))
    text = comparison.answer(ranked)
    assert text.startswith("**best** is best on test accuracy: **0.9000** (95% interval ")
    assert "**2.50 points** ahead of **close**" in text
    assert "**Within noise**" in text
    assert "best gets 5 and close 4" in text
    assert f"McNemar's p = {binomial_p(4, 9):.2g}" in text


def test_the_answer_calls_a_lead_real_when_mcnemar_says_so(outcome_store):
    text = comparison.answer(ranking.rank(runs_of(outcome_store, "best", "weak")))
    assert "**40.00 points** ahead of **weak**" in text
    assert f"**A real lead**: of the 24 test images only one of them gets right, best gets 20 and weak 4; " \
           f"McNemar's p = {binomial_p(4, 24):.2g}." in text


def test_the_answer_calls_runs_right_on_the_same_images_tied(outcome_store):
    """The same model recorded twice (from arrays and as ONNX, say) has no lead over itself to test."""
    best = run_store.load_run(outcome_store / "best")
    copy = write_outcome_run(outcome_store, "copy", LABELS, OUTCOME_WRONG["best"])
    runs = [best, copy, *runs_of(outcome_store, "close")]
    ranked = ranking.rank(runs)
    table = comparison.comparison_table(runs, ranking=ranked)
    assert table[comparison.AGAINST_BEST].tolist()[:2] == ["best", "tied"]
    text = comparison.answer(ranked)
    assert text.endswith("**tied** with **copy**: the two get exactly the same test images right, so nothing on this "
                         "test set tells them apart. Also within noise of the best: close.")
    again = write_outcome_run(outcome_store, "again", LABELS, OUTCOME_WRONG["best"])
    text = comparison.answer(ranking.rank([*runs, again]))
    assert text.endswith("**tied** with **copy** and **again**: they get exactly the same test images right, so nothing "
                         "on this test set tells them apart. Also within noise of the best: close.")


def test_the_table_is_sorted_best_first_with_intervals_and_the_lead(outcome_store):
    runs = runs_of(outcome_store, "weak", "close", "best")
    table = comparison.comparison_table(runs, ranking=ranking.rank(runs))
    assert table["run"].tolist() == ["best", "close", "weak"]
    assert table[comparison.AGAINST_BEST].tolist()[:2] == [
        "best", f"within noise (p = {binomial_p(4, 9):.2g})"]
    assert table[comparison.AGAINST_BEST][2] == f"−40.00 points (p = {binomial_p(4, 24):.2g})"
    low, high = ranking.uncertainty.accuracy_interval(36, 40)
    assert table[comparison.INTERVAL][0] == f"{low:.4f} – {high:.4f}"
    assert comparison.key_columns(table)[:6] == ["run", "author", "test accuracy", comparison.INTERVAL,
                                                 comparison.AGAINST_BEST, "params"]


def test_home_opens_on_the_answer_and_the_best_run_first(open_app, outcome_store):
    app = open_app(outcome_store)
    answer = app.markdown[0].value
    assert answer.startswith("**best** is best on test accuracy") and "**Within noise**" in answer
    table = app.dataframe[0].value
    assert table["run"].tolist() == ["best", "close", "weak"]
    assert table["params"].dtype.kind in "iuf" and table["params"].tolist() == [579, 579, 579]
