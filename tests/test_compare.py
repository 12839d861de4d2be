"""Comparing runs on their stored test predictions: disagreement, McNemar's test, the ensemble."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tests.fake_runs import write_fake_run
from trainers import compare
from trainers.analysis import pairs

LABELS = [0, 1, 2, 0, 1, 2]


def probabilities_picking(picks, confidence=0.8):
    """Probability rows whose top class is each of `picks`."""
    rows = np.full((len(picks), 3), (1 - confidence) / 2)
    rows[np.arange(len(picks)), picks] = confidence
    return rows


def test_exact_mcnemar_is_the_two_sided_binomial_test_on_the_discordant_images():
    # Six discordant images all one way: probability 2 x 0.5^6 of a split at least that uneven.
    assert pairs.Disagreement(0, 6).p_value == pytest.approx(2 * 0.5 ** 6)
    assert pairs.Disagreement(6, 0).p_value == pairs.Disagreement(0, 6).p_value
    # 2 against 5: 2 x P(X <= 2) for X ~ Binomial(7, 0.5).
    assert pairs.Disagreement(2, 5).p_value == pytest.approx(2 * sum(math.comb(7, k) for k in range(3)) / 2 ** 7)
    assert pairs.Disagreement(0, 0).p_value == 1.0


def test_disagreement_counts_the_images_only_one_run_gets_right():
    first = np.array([True, True, False, False, True])
    second = np.array([True, False, True, False, False])
    assert pairs.disagreement(first, second) == pairs.Disagreement(only_first=2, only_second=1)


def test_compare_runs_aligns_images_by_id_and_scores_the_ensemble(tmp_path):
    ids = [f"test/{i}.png" for i in range(6)]
    # `a` gets images 0-4 right, `b` images 1-5: b stores them in reverse order.
    a_picks = [0, 1, 2, 0, 1, 0]
    b_picks = [1, 1, 2, 0, 1, 2]
    write_fake_run(tmp_path, "a-run", labels=LABELS, ids=ids, probabilities=probabilities_picking(a_picks, 0.9))
    write_fake_run(tmp_path, "b-run", labels=LABELS[::-1], ids=ids[::-1],
                   probabilities=probabilities_picking(b_picks, 0.6)[::-1])

    result = compare.compare_runs([tmp_path / "a-run", tmp_path / "b-run"])

    assert result["num_images"] == 6
    assert result["accuracy"] == {"a-run": pytest.approx(5 / 6), "b-run": pytest.approx(5 / 6)}
    [(first, second, pair)] = result["pairs"]
    assert (first, second, pair) == ("a-run", "b-run", pairs.Disagreement(only_first=1, only_second=1))
    # The more confident run decides where they disagree: the mean is right on 0 (a's) and wrong on 5.
    assert result["ensemble_accuracy"] == pytest.approx(5 / 6)


def test_one_run_has_no_pairs_and_no_ensemble(tmp_path):
    write_fake_run(tmp_path, "a-run")
    result = compare.compare_runs([tmp_path / "a-run"])
    assert result["pairs"] == [] and result["ensemble_accuracy"] is None
    assert result["accuracy"] == {"a-run": 1.0}


@pytest.mark.parametrize("other, message", [
    (dict(test_key="pets-8px-9999"), "was tested on other images"),
    (dict(ids=["test/x.png", "test/001.png", "test/002.png"]), "was tested on other images"),
    (dict(class_names=["cat", "dog", "emu"]), "knows the classes cat, dog, emu"),
])
def test_runs_tested_on_other_images_or_classes_are_refused(tmp_path, other, message):
    write_fake_run(tmp_path, "a-run")
    write_fake_run(tmp_path, "b-run", **other)
    with pytest.raises(ValueError, match=message):
        compare.compare_runs([tmp_path / "a-run", tmp_path / "b-run"])


def test_cli_prints_the_comparison_and_refuses_a_missing_run(tmp_path, capsys):
    write_fake_run(tmp_path, "a-run", labels=LABELS, probabilities=probabilities_picking([0, 1, 2, 0, 1, 0]))
    write_fake_run(tmp_path, "b-run", labels=LABELS, probabilities=probabilities_picking([0, 1, 2, 0, 1, 2]))

    assert compare.main([str(tmp_path / "a-run"), str(tmp_path / "b-run")]) == 0
    out = capsys.readouterr().out
    assert "a-run" in out and "0.8333" in out and "1.0000" in out
    assert "0 images only the first gets right, 1 only the second; exact McNemar p = 1" in out

    assert compare.main([str(tmp_path / "a-run"), str(tmp_path / "missing")]) == 2
    assert "is not a usable run" in capsys.readouterr().err
