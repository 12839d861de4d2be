"""Runs on new images: the effective-robustness line on logit axes, the runs' agreement per pair and per image, the
images disagreed on most, and the accuracy estimated from disagreement, against values worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from trainers.analysis import new_images

# Three runs' picks on six images:
#   image      0  1  2  3  4  5
PICKS = {
    "a": np.array([0, 1, 2, 0, 1, 2]),
    "b": np.array([0, 1, 2, 1, 1, 0]),
    "c": np.array([0, 2, 1, 1, 1, 1]),
}
# Per image, the most common pick's runs: 3, 2, 2, 2, 3, and 1 on image 5 where the three runs pick three classes.
IMAGE_AGREEMENT = [3 / 3, 2 / 3, 2 / 3, 2 / 3, 3 / 3, 1 / 3]
# Per pair, the images picked alike:
#   a, b: images 0, 1, 2, 4 -> 4/6      a, c: images 0, 4 -> 2/6      b, c: images 0, 3, 4 -> 3/6
AGREEMENT = {("a", "b"): 4 / 6, ("a", "c"): 2 / 6, ("b", "c"): 3 / 6}


def expit(z: float) -> float:
    return 1 / (1 + math.exp(-z))


# ---------------------------------------------------------------- effective robustness

# Test accuracies whose logits, log(p / (1 - p)), are multiples of L = log 3:
#   0.25 -> log(1/3) = -L     0.5 -> 0     0.75 -> log 3 = L     0.9 -> log 9 = 2L
# Set accuracies:
#   0.1 -> -2L                0.5 -> 0     0.5 -> 0              0.9 -> 2L
L = math.log(3)
TEST_ACCURACY = {"A": 0.25, "B": 0.5, "C": 0.75, "D": 0.9}
SET_ACCURACY = {"A": 0.1, "B": 0.5, "C": 0.5, "D": 0.9}
# Least squares on x = [-1, 0, 1, 2] L and y = [-2, 0, 0, 2] L: mean x 0.5 L, mean y 0,
#   Sxx = (2.25 + 0.25 + 0.25 + 2.25) L^2 = 5 L^2,   Sxy = (-1.5 * -2 + 0 + 0 + 1.5 * 2) L^2 = 6 L^2
SLOPE = 6 / 5  # Sxy / Sxx = 1.2
INTERCEPT = 0 - SLOPE * 0.5 * L  # mean y - slope * mean x = -0.6 L = -0.659
# The line at x = -1, 0, 1, 2 (in L): -1.8, -0.6, 0.6, 1.8; effective robustness = set accuracy - expit(line):
ROBUSTNESS = {
    "A": 0.1 - expit(-1.8 * L),  # 0.1 - 0.1216 = -0.0216
    "B": 0.5 - expit(-0.6 * L),  # 0.5 - 0.3409 = +0.1591
    "C": 0.5 - expit(0.6 * L),  # 0.5 - 0.6591 = -0.1591
    "D": 0.9 - expit(1.8 * L),  # 0.9 - 0.8784 = +0.0216
}


def test_the_line_is_fitted_on_logit_axes():
    line = new_images.robustness_line(TEST_ACCURACY, SET_ACCURACY)
    assert line.slope == pytest.approx(SLOPE)
    assert line.intercept == pytest.approx(INTERCEPT)


def test_effective_robustness_is_in_accuracy_largest_first_and_splits_the_runs_above_and_below():
    line = new_images.robustness_line(TEST_ACCURACY, SET_ACCURACY)
    assert line.effective_robustness == pytest.approx(ROBUSTNESS)
    assert list(line.effective_robustness) == ["B", "D", "A", "C"]  # +0.159, +0.022, -0.022, -0.159
    assert line.above == ["B", "D"]
    assert line.below == ["A", "C"]  # the nearest to the line first


def test_the_line_gives_accuracies_back_through_the_inverse_logit():
    line = new_images.robustness_line(TEST_ACCURACY, SET_ACCURACY)
    assert line.accuracy_at(0.5) == pytest.approx(expit(INTERCEPT))  # logit 0.5 = 0: expit(-0.6 L) = 0.341
    # 1.0 is clipped to 1 - 0.001 before the logit: log(0.999 / 0.001) = log 999
    assert line.accuracy_at(1.0) == pytest.approx(expit(INTERCEPT + SLOPE * math.log(999)))
    test_accuracies, set_accuracies = line.line_points(0.25, 0.75, count=3)
    assert test_accuracies.tolist() == [0.25, 0.5, 0.75]
    assert set_accuracies == pytest.approx([expit(-1.8 * L), expit(-0.6 * L), expit(0.6 * L)])


def test_runs_on_the_line_are_neither_above_nor_below():
    # Set accuracy equal to test accuracy: slope 1, intercept 0, every run on the line up to rounding.
    on_line = {"A": 0.25, "B": 0.5, "C": 0.75}
    line = new_images.robustness_line(on_line, on_line)
    assert (line.slope, line.intercept) == pytest.approx((1.0, 0.0))
    assert line.above == [] and line.below == []


@pytest.mark.parametrize(("test_accuracy", "set_accuracy", "message"), [
    ({"A": 0.5, "B": 0.75}, {"A": 0.5, "B": 0.5}, "three runs or more"),
    ({"A": 0.5, "B": 0.5, "C": 0.5}, {"A": 0.1, "B": 0.5, "C": 0.9}, "different test accuracies"),
    ({"A": 0.25, "B": 0.5, "C": 0.75}, {"A": 0.1, "B": 0.5, "D": 0.9}, "missing for C, D"),
    ({"A": 0.25, "B": 0.5, "C": 0.75}, {"A": 0.1, "B": 0.5, "C": 1.5}, "'C' has an accuracy outside"),
    ({"A": 0.25, "B": 0.5, "C": 0.75}, {"A": 0.1, "B": 0.5, "C": float("nan")}, "'C' has an accuracy outside"),
])
def test_no_line_is_fitted_where_none_can_be_told(test_accuracy, set_accuracy, message):
    with pytest.raises(ValueError, match=message):
        new_images.robustness_line(test_accuracy, set_accuracy)


def test_line_points_refuse_an_empty_range():
    line = new_images.robustness_line(TEST_ACCURACY, SET_ACCURACY)
    with pytest.raises(ValueError, match="low < high"):
        line.line_points(0.75, 0.25)


# ---------------------------------------------------------------- agreement


def test_agreement_matrix_is_the_share_of_images_picked_alike():
    matrix = new_images.agreement_matrix(PICKS)
    assert list(matrix.index) == list(matrix.columns) == ["a", "b", "c"]
    assert np.diag(matrix) == pytest.approx([1.0, 1.0, 1.0])
    for (first, second), share in AGREEMENT.items():
        assert matrix.loc[first, second] == matrix.loc[second, first] == pytest.approx(share)


def test_image_agreement_is_the_share_of_runs_on_the_most_common_pick():
    assert new_images.image_agreement(PICKS) == pytest.approx(IMAGE_AGREEMENT)


def test_image_agreement_of_tied_picks_is_their_share():
    four_runs = {"w": np.array([0, 0]), "x": np.array([0, 1]), "y": np.array([1, 2]), "z": np.array([1, 3])}
    # Image 0: 0, 0, 1, 1 -> two classes of 2 runs each: 2/4. Image 1: 0, 1, 2, 3 -> four of 1 run each: 1/4.
    assert new_images.image_agreement(four_runs) == pytest.approx([0.5, 0.25])


def test_most_disagreed_orders_by_agreement_then_index():
    # Agreement 1/3 (image 5), then 2/3 (images 1, 2, 3 by index), then 1 (images 0, 4).
    assert new_images.most_disagreed(PICKS).tolist() == [5, 1, 2, 3, 0, 4]


def test_most_disagreed_breaks_ties_by_the_entropy_of_the_mean_probabilities():
    mean_probabilities = [
        [1.0, 0.0, 0.0],  # image 0: entropy 0
        [0.5, 0.5, 0.0],  # image 1: log 2 = 0.693
        [0.0, 0.5, 0.5],  # image 2: log 2, tied with image 1: by index
        [1 / 3, 1 / 3, 1 / 3],  # image 3: log 3 = 1.099
        [0.5, 0.5, 0.0],  # image 4: log 2
        [1.0, 0.0, 0.0],  # image 5: entropy 0, alone at agreement 1/3
    ]
    # 1/3: image 5; 2/3: image 3 (log 3), then 1 and 2 (log 2, by index); 1: image 4 (log 2), then 0 (entropy 0).
    assert new_images.most_disagreed(PICKS, mean_probabilities).tolist() == [5, 3, 1, 2, 4, 0]


@pytest.mark.parametrize(("picks", "message"), [
    ({"a": np.array([0, 1])}, "two runs or more, not 1"),
    ({"a": np.array([0, 1]), "b": np.array([0, 1, 2])}, "same images"),
    ({"a": np.array([], dtype=int), "b": np.array([], dtype=int)}, "one image or more"),
])
def test_agreement_refuses_fewer_than_two_runs_or_unmatched_images(picks, message):
    for agreement in (new_images.agreement_matrix, new_images.image_agreement, new_images.most_disagreed,
                      new_images.estimated_accuracy):
        with pytest.raises(ValueError, match=message):
            agreement(picks)


def test_most_disagreed_refuses_probabilities_of_other_images():
    with pytest.raises(ValueError, match="for 6 images"):
        new_images.most_disagreed(PICKS, np.full((5, 3), 1 / 3))


# ---------------------------------------------------------------- accuracy from disagreement


def test_estimated_accuracy_is_the_mean_agreement_with_the_other_runs():
    # 1 - mean disagreement with the others = mean agreement with the others:
    #   a: (4/6 + 2/6) / 2 = 1/2     b: (4/6 + 3/6) / 2 = 7/12     c: (2/6 + 3/6) / 2 = 5/12
    assert new_images.estimated_accuracy(PICKS) == pytest.approx({"a": 1 / 2, "b": 7 / 12, "c": 5 / 12})


def test_the_conditions_of_the_estimate_are_one_sentence_each():
    assert len(new_images.ESTIMATE_CONDITIONS) == 3
    assert all(condition.count(". ") == 0 and condition.endswith(".") for condition in new_images.ESTIMATE_CONDITIONS)


def test_estimate_check_compares_on_the_images_labelled_with_a_class():
    labels = [0, 1, 2, 1, -1, -2]  # images 4 (none of these) and 5 (unlabelled) are left out
    # On images 0-3: a = 0 1 2 0, b = 0 1 2 1, c = 0 2 1 1, labels 0 1 2 1
    #   accuracy:  a 3/4 (image 3 wrong)   b 4/4   c 2/4 (images 1, 2 wrong)
    #   agreement: a, b 3/4   a, c 1/4   b, c 2/4
    #   estimate:  a (3/4 + 1/4) / 2 = 1/2   b (3/4 + 2/4) / 2 = 5/8   c (1/4 + 2/4) / 2 = 3/8
    table = new_images.estimate_check(PICKS, labels)
    assert list(table.columns) == list(new_images.CHECK_COLUMNS)
    assert list(table.index) == ["a", "b", "c"]
    assert table["estimated_accuracy"].tolist() == pytest.approx([1 / 2, 5 / 8, 3 / 8])
    assert table["accuracy"].tolist() == pytest.approx([3 / 4, 1, 2 / 4])
    assert table["difference"].tolist() == pytest.approx([-1 / 4, -3 / 8, -1 / 8])  # estimate - accuracy


@pytest.mark.parametrize(("labels", "message"), [
    ([0, 1, 2], "one per image of the 6"),
    ([-1, -2, -2, -1, -2, -2], "labelled with a class"),
])
def test_estimate_check_refuses_labels_it_cannot_check_against(labels, message):
    with pytest.raises(ValueError, match=message):
        new_images.estimate_check(PICKS, labels)
