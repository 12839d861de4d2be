"""trainers.analysis.none_of_these: the scores, a run's threshold on its test images, and how well a score tells
images of none of a run's classes apart, on tiny score arrays worked out by hand; and where a model's logits can be
read again for the energy score."""

from __future__ import annotations

import math

import numpy as np
import pytest

from trainers.analysis import none_of_these
from trainers.analysis.none_of_these import MSP, Detection, Threshold


def test_the_maximum_softmax_probability_is_each_images_top_probability():
    top = none_of_these.max_softmax([[0.7, 0.2, 0.1], [0.4, 0.5, 0.1], [1 / 3] * 3])
    assert top == pytest.approx([0.7, 0.5, 1 / 3])


@pytest.mark.parametrize("logits, temperature, expected", [
    ([[0.0, 0.0]], 1.0, math.log(2)),  # log(e^0 + e^0)
    ([[math.log(3), math.log(5)]], 1.0, math.log(8)),  # log(3 + 5)
    ([[2.0, 4.0]], 2.0, 2 * math.log(math.e + math.e ** 2)),  # 2 log(e^1 + e^2)
    ([[1000.0, 1000.0]], 1.0, 1000 + math.log(2)),  # no overflow: scipy's logsumexp
    ([[5.0, -1000.0]], 1.0, 5.0),
])
def test_the_energy_score_is_t_logsumexp_of_the_logits_over_t(logits, temperature, expected):
    assert none_of_these.energy_score(logits, temperature) == pytest.approx([expected])


def test_the_energy_score_rises_with_the_logits_where_the_softmax_does_not():
    # Logits shifted by 3: the same probabilities (the maximum softmax probability cannot tell), energy 3 higher.
    low, high = np.array([[1.0, 2.0, 0.0]]), np.array([[4.0, 5.0, 3.0]])
    assert none_of_these.energy_score(high) - none_of_these.energy_score(low) == pytest.approx([3.0])


@pytest.mark.parametrize("bad, message", [
    ({"logits": [1.0, 2.0]}, r"shape \(images, classes\), got \(2,\)"),
    ({"logits": [[1.0]], "temperature": 0.0}, "temperature must be above 0, got 0.0"),
])
def test_the_energy_score_refuses_what_is_no_logits_or_temperature(bad, message):
    with pytest.raises(ValueError, match=message):
        none_of_these.energy_score(**bad)


@pytest.mark.parametrize("scores, passing, expected, passed", [
    # 20 scores 0.05, 0.10, ..., 1.00: k = ceil(0.95 x 20) = 19, the 19th from the top is 0.10; 19 of 20 pass.
    (np.arange(1, 21) / 20, 0.95, 0.10, 19),
    # 10 scores: ceil(9.5) = 10, the lowest passes too: all 10 pass (no threshold passes exactly 95%).
    (np.arange(1, 11) / 10, 0.95, 0.1, 10),
    # Ties at the threshold all pass: k = 2, s(2) = 0.8, and the other 0.8 passes with it (3 of 4).
    ([0.9, 0.8, 0.8, 0.5], 0.5, 0.8, 3),
    ([0.5, 0.5, 0.5, 0.5], 0.95, 0.5, 4),
    # 0.9 x 10 is 9.000000000000002 in floating point: still k = 9, not 10.
    (np.arange(1, 11) / 10, 0.9, 0.2, 9),
    ([0.3], 0.95, 0.3, 1),
])
def test_the_threshold_is_the_highest_score_that_passes_at_least_the_share(scores, passing, expected, passed):
    threshold = none_of_these.pass_threshold(scores, passing)
    assert threshold == pytest.approx(expected)
    assert int(np.sum(np.asarray(scores) >= threshold)) == passed
    assert np.mean(np.asarray(scores) >= threshold) >= passing
    higher = np.asarray(scores)[np.asarray(scores) > threshold]  # any higher threshold passes fewer than the share
    assert not len(higher) or np.mean(np.asarray(scores) >= higher.min()) < passing


@pytest.mark.parametrize("scores, passing, message", [
    ([], 0.95, "needs test scores: got none"),
    ([0.5, float("nan")], 0.95, "hold 1 NaN"),
    ([0.5], 0.0, r"share passing must be in \(0, 1\], got 0.0"),
    ([0.5], 1.5, r"in \(0, 1\], got 1.5"),
])
def test_a_threshold_refuses_no_scores_nan_or_a_share_outside_0_1(scores, passing, message):
    with pytest.raises(ValueError, match=message):
        none_of_these.pass_threshold(scores, passing)


def test_a_runs_threshold_says_how_it_was_set_and_what_falls_below_it():
    # 10,000 test images: 500 at 0.3, 9,500 at 0.62 and above; k = 9,500, so the threshold is the lowest of those.
    scores = np.concatenate([np.full(500, 0.3), np.linspace(0.62, 1.0, 9_500)])
    threshold = none_of_these.threshold_on_test(scores)
    assert threshold == Threshold(MSP, pytest.approx(0.62), 0.95, 10_000)
    assert threshold.description == "set so that 95% of its 10,000 test images pass"
    assert threshold.finds_none(0.41) and not threshold.finds_none(threshold.value) and not threshold.finds_none(0.9)
    with pytest.raises(AttributeError):
        threshold.value = 0.5  # frozen: a page shares it


@pytest.mark.parametrize("scores, of_a_class, expected", [
    # Every image of a class above every image of none: AUROC 1; the threshold passing 95% of the class's (ceil(1.9)
    # = 2 of 2, so 0.8) passes no image of none.
    ([0.9, 0.8, 0.7, 0.6], [True, True, False, False], Detection(1.0, 0.0)),
    # Every image of none above: AUROC 0; the threshold 0.6 passes both images of none.
    ([0.6, 0.7, 0.8, 0.9], [True, True, False, False], Detection(0.0, 1.0)),
    # Pairs (class, none): (0.9 > 0.5), (0.9 > 0.7), (0.6 > 0.5), (0.6 < 0.7): 3 of 4; threshold 0.6 passes 0.7 only.
    ([0.9, 0.6, 0.7, 0.5], [True, True, False, False], Detection(0.75, 0.5)),
    # A tie counts half: pairs (0.8 > 0.5), (0.8 = 0.8) -> 1.5 of 2; the threshold 0.8 passes the tied image of none.
    ([0.8, 0.8, 0.5], [True, False, False], Detection(0.75, 0.5)),
    # 20 images of a class at 0.05, ..., 1.00: the threshold passing 95% of them is 0.10 (k = 19); of the images of
    # none at 0.02, 0.08, 0.12 and 0.52, two score at or above it. AUROC: 0.02 is below all 20, 0.08 below 19,
    # 0.12 below 18, 0.52 below 10: (20 + 19 + 18 + 10) / 80.
    ([*(np.arange(1, 21) / 20), 0.02, 0.08, 0.12, 0.52], [True] * 20 + [False] * 4, Detection(67 / 80, 0.5)),
])
def test_detection_gives_the_auroc_and_the_false_positive_rate_at_95_percent_true_positives(scores, of_a_class,
                                                                                          expected):
    found = none_of_these.detection(scores, of_a_class)
    assert found == pytest.approx(expected)
    auroc, fpr = found  # a pair, as a table's two columns take it
    assert (auroc, fpr) == pytest.approx(tuple(expected))


@pytest.mark.parametrize("of_a_class, message", [
    ([True, True], "needs images of a class and of none of them: got 2 of a class and 0 of none"),
    ([False, False], "got 0 of a class and 2 of none"),
])
def test_detection_refuses_a_set_without_both_kinds_of_image(of_a_class, message):
    with pytest.raises(ValueError, match=message):
        none_of_these.detection([0.9, 0.1], of_a_class)


def test_detection_refuses_scores_and_labels_of_different_lengths():
    with pytest.raises(ValueError, match="3 scores for 2 images"):
        none_of_these.detection([0.9, 0.5, 0.1], [True, False])


def test_the_logits_of_a_model_ending_in_a_softmax_are_read_back():
    import keras

    from trainers.inference.predict import logits, predict

    inputs = keras.Input((2, 2, 3))
    flat = keras.layers.Flatten()(inputs)
    # Logits of zero weights: the bias alone, (1, 2, 3) whatever the image.
    scores = keras.layers.Dense(3, kernel_initializer="zeros",
                                bias_initializer=keras.initializers.Constant([1.0, 2.0, 3.0]))(flat)
    images = np.zeros((2, 2, 2, 3), np.uint8)
    activation = keras.Model(inputs, keras.layers.Activation("softmax")(scores))
    dense = keras.Model(inputs, keras.layers.Dense(3, activation="softmax", kernel_initializer="zeros",
                                                   bias_initializer=keras.initializers.Constant([1.0, 2.0, 3.0]))(flat))
    for model in (activation, dense):
        assert logits(model, images) == pytest.approx(np.array([[1.0, 2.0, 3.0]] * 2), abs=1e-6)
        assert predict(model, images)[0] == pytest.approx(np.exp([1, 2, 3]) / np.exp([1, 2, 3]).sum(), abs=1e-6)
    # Energy log(e + e^2 + e^3) = 3.4076; any image of this model scores it.
    assert none_of_these.energy_score(logits(activation, images)) == pytest.approx([3.40760596] * 2)


def test_models_whose_logits_are_lost_say_why():
    import keras

    from trainers.inference.network import with_tta
    from trainers.inference.predict import logits

    inputs = keras.Input((4, 4, 3))
    network = keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(keras.layers.Flatten()(inputs)))
    images = np.zeros((1, 4, 4, 3), np.uint8)
    with pytest.raises(ValueError, match="averages the probabilities of test-time views: no logits give that mean"):
        logits(with_tta(network, flip=True), images)  # as the shipped runs are saved
    sigmoid = keras.Model(inputs, keras.layers.Dense(3, activation="sigmoid")(keras.layers.Flatten()(inputs)))
    with pytest.raises(ValueError, match="ends in a Dense layer, not a softmax"):
        logits(sigmoid, images)

    class Scores:  # what an ONNX model or an ensemble's mean offers: probabilities alone
        output_shape = (None, 3)

        def predict_on_batch(self, images):
            return np.full((len(images), 3), 1 / 3)

    with pytest.raises(ValueError, match=r"not a Keras model \(Scores\): its logits cannot be read"):
        logits(Scores(), images)
