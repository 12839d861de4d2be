"""dashboard.lib.live: what several models pick for an image, whether they agree, and which find none of their
classes in it; the table of several photos; a model called on the images it has not seen alone."""

from __future__ import annotations

import numpy as np
import pytest

from dashboard.lib import live
from fake_runs import CLASSES
from trainers.analysis.none_of_these import MSP, Threshold
from trainers.store.evaluation_sets import NONE_OF_THESE, UNLABELLED


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


MSP_AT_62 = Threshold(MSP, 0.62, 0.95, 10_000)


def test_the_picks_table_says_which_models_find_none_of_their_classes():
    thresholds = {"a": MSP_AT_62, "b": MSP_AT_62, "labels only": None}
    picks = live.picks_table({"a": np.array([0.41, 0.3, 0.29]), "b": np.array([0.1, 0.8, 0.1]),
                              "labels only": np.array([0.2, 0.3, 0.5])}, CLASSES, k=1, thresholds=thresholds)
    assert picks.columns.tolist() == ["run", "picks", "probability", "top 1", live.NONE_FOUND, live.THRESHOLD]
    assert picks[live.NONE_FOUND].tolist() == [True, False, None]  # 0.41 < 0.62; 0.8 is not; no threshold
    assert picks[live.THRESHOLD].tolist()[:2] == [0.62, 0.62] and np.isnan(picks[live.THRESHOLD].iloc[2])
    assert live.agreement(picks) == ("The models disagree: a picks **cat**, b picks **dog**, labels only picks "
                                     "**owl**. a finds none of its classes in this image.")


@pytest.mark.parametrize("vectors, sentence", [
    ({"a": [0.5, 0.3, 0.2]}, "a picks **cat**. It finds none of its classes in this image."),
    ({"a": [0.5, 0.3, 0.2], "b": [0.4, 0.3, 0.3]},
     "All 2 models agree: **cat**. All 2 find none of their classes in this image."),
    ({"a": [0.5, 0.3, 0.2], "b": [0.4, 0.3, 0.3], "c": [0.9, 0.1, 0]},
     "All 3 models agree: **cat**. a, b find none of their classes in this image."),
    ({"a": [0.9, 0.1, 0], "b": [0.9, 0.1, 0]}, "All 2 models agree: **cat**."),
])
def test_the_agreement_sentence_names_the_models_that_find_none_of_their_classes(vectors, sentence):
    picks = live.picks_table({k: np.array(v) for k, v in vectors.items()}, CLASSES,
                             thresholds=dict.fromkeys(vectors, MSP_AT_62))
    assert live.agreement(picks) == sentence


@pytest.mark.parametrize("score, threshold, shown", [
    (0.41, 0.62, "score 0.41, threshold 0.62"),
    (0.4123, 0.6199, "score 0.41, threshold 0.62"),  # two decimals tell them apart
    (0.6151, 0.6154, "score 0.6151, threshold 0.6154"),  # 0.62 twice at two decimals, 0.615 twice at three
    (0.618, 0.6201, "score 0.618, threshold 0.620"),  # 0.62 twice at two decimals: three
])
def test_a_model_that_finds_none_of_its_classes_says_its_score_and_threshold_apart(score, threshold, shown):
    assert live.none_found(score, threshold) == f"finds none of its classes in this image ({shown})"


def test_the_thresholds_are_explained_once_with_each_value_and_the_models_without_one():
    assert live.thresholds_explained({"a": MSP_AT_62, "b": Threshold(MSP, 0.4176, 0.95, 10_000)}) == (
        "A model finds none of its classes in an image when its top probability falls below its threshold, set so "
        "that 95% of its 10,000 test images pass: a 0.62, b 0.418.")
    assert live.thresholds_explained({"a": MSP_AT_62, "b": Threshold(MSP, 0.5, 0.95, 20)},
                                     {"c": "it has no probabilities"}) == (
        "A model finds none of its classes in an image when its top probability falls below its threshold: a 0.62 "
        "(set so that 95% of its 10,000 test images pass), b 0.5 (set so that 95% of its 20 test images pass). "
        "c has no threshold: it has no probabilities.")
    assert live.thresholds_explained({"c": None}, {"c": "it has no probabilities"}) == (
        "c has no threshold: it has no probabilities.")
    assert live.thresholds_explained({"a": MSP_AT_62}, table=True).startswith(
        'A model finds none of its classes in an image ("none" in the table) when its top probability')


def test_the_table_of_several_photos_has_a_row_each_with_every_models_answer():
    probabilities = {"a": np.array([[0.9, 0.05, 0.05], [0.41, 0.3, 0.29]]), "b": np.array([[0.1, 0.7, 0.2]] * 2)}
    table = live.photos_table(["x.png", "x.png"], ["data:image/jpeg;base64,AA==", "data:image/jpeg;base64,AB=="],
                              probabilities, CLASSES, {"a": MSP_AT_62, "b": None})
    assert table.to_dict("list") == {
        live.PHOTO: ["data:image/jpeg;base64,AA==", "data:image/jpeg;base64,AB=="],
        live.FILE: ["x.png", "x.png (2)"],  # a name given twice is told apart
        "a": ["cat 90%", "none (cat 41%)"],
        "b": ["dog 70%", "dog 70%"],  # no threshold: its pick alone
    }
    assert live.photos_table(["x.png"], None, {"b": probabilities["b"][:1]}, CLASSES, {}).columns.tolist() == [
        live.FILE, "b"]


def test_a_thumbnail_for_the_table_is_a_small_jpeg_data_uri():
    import base64
    import io

    from PIL import Image

    uri = live.thumbnail_uri(Image.new("RGB", (640, 480), "red"))
    assert uri.startswith("data:image/jpeg;base64,")
    shown = Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])))
    assert (shown.format, shown.size) == ("JPEG", (live.TABLE_THUMBNAIL_SIZE, 72))


@pytest.mark.parametrize("label, said", [(1, "true class: dog"), (NONE_OF_THESE, "of none of the runs' classes"),
                                         (UNLABELLED, "unlabelled")])
def test_a_test_images_label_is_said_as_its_class_or_as_none_of_them(label, said):
    assert live.true_class(label, CLASSES) == said


def test_a_model_is_called_once_on_the_images_it_has_not_seen(one_class_store, monkeypatch):
    from dashboard.lib import model_outputs
    from trainers.store import run_store

    cats = run_store.load_run(one_class_store / "cats")
    calls = []
    computes = live.class_probabilities
    monkeypatch.setattr(live, "class_probabilities",
                        lambda model, pixels, names: calls.append(len(pixels)) or computes(model, pixels, names))
    rng = np.random.default_rng(20261207)  # images no other test shows this model
    first, later = rng.integers(0, 256, (3, 8, 8, 3), np.uint8), rng.integers(0, 256, (1, 8, 8, 3), np.uint8)
    assert model_outputs.class_probabilities(cats, first).argmax(axis=1).tolist() == [0, 0, 0]
    assert model_outputs.class_probabilities(cats, np.concatenate([first, later])).shape == (4, 3)
    assert model_outputs.class_probabilities(cats, first[::-1]).shape == (3, 3)
    assert calls == [3, 1]  # three images in one call, then the later one alone, then none


def test_a_runs_threshold_is_set_on_its_test_predictions_and_none_without_probabilities(tmp_path):
    from dashboard.lib import model_outputs
    from fake_runs import answer_probabilities, write_fake_run
    from trainers.store.run_store import LABELS_ONLY

    # Top probabilities 0.4, 0.5, 0.55, ..., 0.95 on 20 images: 95% pass at the 19th from the top, 0.5.
    answers = [(0, 0.4), (0, 0.5), *((1, 0.55 + 0.025 * i) for i in range(18))]
    run = write_fake_run(tmp_path, "doubtful", labels=[0] * 20, probabilities=answer_probabilities(answers))
    assert model_outputs.threshold(run) == Threshold(MSP, pytest.approx(0.5), 0.95, 20)
    recorded = write_fake_run(tmp_path, "recorded", info={LABELS_ONLY: True})
    assert model_outputs.threshold(recorded) is None


def test_runs_without_a_threshold_are_named_with_the_reason(tmp_path):
    from dashboard.lib import model_outputs
    from fake_runs import write_fake_run
    from trainers.store import run_store
    from trainers.store.run_store import LABELS_ONLY

    tested = write_fake_run(tmp_path, "tested")  # one-hot test predictions: every top probability is 1
    recorded = write_fake_run(tmp_path, "recorded", info={LABELS_ONLY: True})
    damaged = write_fake_run(tmp_path, "damaged")
    (damaged.path / run_store.PREDICTIONS_FILE).write_bytes(b"not an npz")
    found, without = model_outputs.thresholds([tested, recorded, run_store.load_run(damaged.path)])
    assert found == {"tested": Threshold(MSP, 1.0, 0.95, 3), "recorded": None, "damaged": None}
    assert without["recorded"] == ("it was recorded from its predicted labels alone, without the probabilities a "
                                   "threshold is set on")
    assert without["damaged"].startswith("its test predictions cannot be read (unreadable predictions.npz")
    assert list(without) == ["recorded", "damaged"]
