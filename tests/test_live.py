"""dashboard.lib.live: what several models pick for an image, and whether they agree."""

from __future__ import annotations

import numpy as np
import pytest

from dashboard.lib import live
from fake_runs import CLASSES


def test_picks_table_and_agreement():
    picks = live.picks_table({"a": np.array([0.1, 0.7, 0.2]), "b": np.array([0.2, 0.5, 0.3])}, CLASSES, k=2)
    assert picks[["run", "picks"]].values.tolist() == [["a", "dog"], ["b", "dog"]]
    assert picks["probability"].tolist() == pytest.approx([0.7, 0.5])
    assert picks["top 2"].tolist() == ["dog 70.0% · owl 20.0%", "dog 50.0% · owl 30.0%"]
    assert live.agreement(picks) == "All 2 models agree: **dog**."


@pytest.mark.parametrize("vectors, sentence", [
    ({"a": [0.9, 0.1, 0]}, "a picks **cat**."),
    ({"a": [0.9, 0.1, 0], "b": [0, 0.1, 0.9]}, "The models disagree: a picks **cat**, b picks **owl**."),
])
def test_agreement_sentences(vectors, sentence):
    assert live.agreement(live.picks_table({k: np.array(v) for k, v in vectors.items()}, CLASSES)) == sentence


def test_class_probabilities_refuses_a_model_whose_outputs_do_not_fit_the_classes():
    import keras

    inputs = keras.Input((2, 2, 3))
    outputs = keras.layers.Dense(2, activation="softmax")(keras.layers.Flatten()(inputs))
    model = keras.Model(inputs, outputs)
    pixels = np.zeros((4, 2, 2, 3), np.uint8)
    assert live.class_probabilities(model, pixels, ["cat", "dog"]).shape == (4, 2)
    with pytest.raises(ValueError, match=r"it returns \(2,\) outputs per image for 3 classes"):
        live.class_probabilities(model, pixels, CLASSES)


@pytest.mark.parametrize("methods, how", [
    ({"a": "occlusion", "b": "occlusion"}, "by occlusion:"),
    ({"a": "Grad-CAM", "b": "occlusion", "c": "Grad-CAM"}, "by Grad-CAM for a, c; occlusion for b:"),
])
def test_the_maps_are_explained_once_with_each_runs_method(methods, how):
    assert live.maps_explained(methods) == (
        f"Where each run looked, {how} the warmer the colour (blue to red), the more that part of the image counted "
        "for the class under the map.")


def test_no_maps_have_no_explanation():
    with pytest.raises(ValueError, match="No maps to explain"):
        live.maps_explained({})
