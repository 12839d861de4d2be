"""Every dashboard page under Streamlit's AppTest, on the tiny run store: what each page shows."""

from __future__ import annotations

import base64
import io
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import plotly.graph_objects as go
import pytest
from PIL import Image

from colour_images import COLOURS, colour_image
from paths import REPO_ROOT
from dashboard.lib import live
from dashboard.lib.curves import smooth
from dashboard.lib.runs import TRAIN_COMMAND
from dashboard_server import VIEWS
from fake_runs import write_fake_run
from test_uploads import HEIC, ODD_FILES, TRANSPARENT_FILES, encoded
from trainers.store import run_store
from trainers.inference.predict import load_model
from trainers.inference.pixels import image_to_pixels

HOME = str(REPO_ROOT / "dashboard" / "Home.py")
PAGES = VIEWS
MODEL_FREE_PAGES = PAGES[:-1]


@pytest.fixture(scope="module")
def tiny_runs(tiny_store):
    runs, broken = run_store.list_runs(tiny_store)
    assert not broken
    return {run.run_id: run for run in runs}


def widget(widgets, label: str):
    return next(w for w in widgets if w.label == label)


def decoded(value):
    """A plotly JSON value with its base64 arrays ({"dtype", "bdata", "shape"}, plotly 6) made numpy arrays."""
    if isinstance(value, dict) and "bdata" in value:
        array = np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
        return array.reshape([int(n) for n in str(value.get("shape", len(array))).split(",")])
    if isinstance(value, dict):
        return {key: decoded(item) for key, item in value.items()}
    if isinstance(value, list):
        return [decoded(item) for item in value]
    return value


def figures(app) -> list[go.Figure]:
    """The plotly figures of the page, as the browser receives them."""
    return [go.Figure(decoded(json.loads(chart.proto.spec))) for chart in app.get("plotly_chart")]


def png(image: Image.Image) -> bytes:
    data = io.BytesIO()
    image.save(data, format="PNG")
    return data.getvalue()


# ---------------------------------------------------------------- Home


def test_home_ranks_every_run_with_its_metrics(open_app, tiny_store, tiny_runs):
    app = open_app(tiny_store)
    assert app.title[0].value == "Run comparison"
    table = app.dataframe[0].value.set_index("run")
    assert sorted(table.index) == sorted(tiny_runs)
    for run_id, run in tiny_runs.items():
        row = table.loc[run_id]
        assert row["test accuracy"] == pytest.approx(run.metrics["accuracy"])
        assert row["test log loss"] == pytest.approx(run.metrics["log_loss"])
        assert row["macro F1"] == pytest.approx(run.metrics["macro_f1"])
        assert row["macro recall"] == pytest.approx(run.metrics["macro_recall"])
        assert row["params"] == run.architecture["summary"]["total_params"]
        assert row["model"] == run.preset
        assert row["author"] == "tester"
    assert table.loc["plain", "comment"] == "plain CNN"
    # cnn_v3 averages the mirror; fast was trained with --shift-tta 1 on cnn_fast, which mirrors too.
    assert table["test-time augmentation"].to_dict() == {"plain": "mirror", "fast": "mirror + 1-px shifts"}
    assert "colours" in app.caption[0].value
    scatter = figures(app)[0]
    assert sorted(y for trace in scatter.data for y in trace.y) == pytest.approx(
        sorted(run.metrics["accuracy"] for run in tiny_runs.values()))


def test_home_shows_the_studys_figures_apart_when_asked(open_app, tiny_store):
    app = open_app(tiny_store)
    assert not any("Reported by the study" in header.value for header in app.subheader)
    widget(app.toggle, "Show the figures reported by the study").set_value(True).run()
    measured, reported = (frame.value for frame in app.dataframe[:2])
    assert len(measured) == 2
    assert reported["model"].tolist()[:2] == ["cnn_v3", "cnn_v4"]
    assert reported["test accuracy"].tolist() == [0.81, 0.91, 0.78, 0.88, 0.95, 0.96]
    assert any("Reported by the study" in header.value for header in app.subheader)
    scatter = figures(app)[0]
    assert any("reported by the study" in trace.name for trace in scatter.data)


def test_the_sidebar_selection_holds_across_pages(open_app, tiny_store):
    app = open_app(tiny_store)
    app.sidebar.multiselect[0].set_value(["fast"]).run()
    assert app.dataframe[0].value["run"].tolist() == ["fast"]
    app.switch_page("views/training_curves.py").run()
    assert app.dataframe[0].value["run"].tolist() == ["cnn_fast / fast"]
    app.sidebar.multiselect[0].set_value([]).run()
    assert "Select at least one run" in app.info[0].value


def test_runs_of_different_data_sets_are_never_ranked_together(open_app, tmp_path):
    write_fake_run(tmp_path, "pets_a", test_key="pets-8px-aaaa")
    write_fake_run(tmp_path, "birds_b", test_key="birds-8px-bbbb")
    write_fake_run(tmp_path, "pets_c", test_key="pets-8px-aaaa")
    app = open_app(tmp_path)
    choice = widget(app.sidebar.selectbox, "Data set")
    # Runs are listed oldest first, then by name: birds_b comes first, and so does its data set.
    assert choice.options == ["birds (8 px, 3 test images)", "pets (8 px, 3 test images)"]
    assert app.dataframe[0].value["run"].tolist() == ["birds_b"]
    choice.set_value("pets-8px-aaaa").run()
    assert app.dataframe[0].value["run"].tolist() == ["pets_a", "pets_c"]
    assert app.sidebar.multiselect[0].options == ["pets_a", "pets_c"]


# ---------------------------------------------------------------- empty and broken stores


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("folder", ["empty", "missing"])
def test_without_runs_every_page_gives_the_trainer_command(open_app, tmp_path, page, folder):
    store = tmp_path / "store"
    if folder == "empty":
        store.mkdir()
    app = open_app(store, page)
    assert TRAIN_COMMAND in [block.value for block in app.code]
    assert str(store) in app.info[0].value


@pytest.fixture
def store_with_broken_run(tiny_store, tmp_path):
    store = shutil.copytree(tiny_store, tmp_path / "store")
    shutil.copytree(store / "plain", store / "plain_copy")
    (store / "plain_copy" / run_store.RUN_FILE).write_text('{"status": "compl')
    return store


@pytest.mark.parametrize("page", MODEL_FREE_PAGES)
def test_a_broken_run_is_listed_with_its_reason_and_the_others_still_show(open_app, store_with_broken_run, page):
    app = open_app(store_with_broken_run, page)
    (warning,) = app.sidebar.warning
    assert "plain_copy" in warning.value and f"unreadable {run_store.RUN_FILE}" in warning.value
    assert app.sidebar.multiselect[0].value == ["plain", "fast"]
    if page == "views/home.py":
        assert sorted(app.dataframe[0].value["run"]) == ["fast", "plain"]


def test_test_images_that_no_longer_match_the_predictions_are_refused_with_a_warning(open_app, tmp_path):
    write_fake_run(tmp_path, "cnn_v3-1", labels=[0, 1], probabilities=[[0, 1, 0], [0, 1, 0]], test_key="pets-8px-aaaa")
    run_store.save_test_images(tmp_path, "pets-8px-aaaa", ["test/000.png", "other.png"], [0, 1],
                               np.zeros((2, 8, 8, 3), np.uint8))
    for page in ("views/confusion_matrices.py", "views/misclassified.py"):
        app = open_app(tmp_path, page)
        assert any("lack 1 of the images" in warning.value for warning in app.warning), page
        assert not app.get("image")


# ---------------------------------------------------------------- Training curves


def test_training_curves_overlay_every_run_smoothed_on_request(open_app, tiny_store, tiny_runs):
    app = open_app(tiny_store, "views/training_curves.py")
    assert app.title[0].value == "Training curves"
    loss, accuracy, accuracy_gap, loss_gap, learning_rate = figures(app)
    plain = tiny_runs["plain"].label
    assert {trace.name for trace in loss.data} == {
        f"{run.label}, {split}" for run in tiny_runs.values() for split in ("train", "validation")}
    history = tiny_runs["plain"].history
    trace = next(t for t in accuracy.data if t.name == f"{plain}, validation")
    assert trace.y == pytest.approx(history["val_accuracy"].tolist())
    assert trace.x.tolist() == list(range(1, len(history) + 1))

    gaps = app.dataframe[0].value.set_index("run")
    last = history.iloc[-1]
    assert gaps.loc[plain, "accuracy gap"] == pytest.approx(last["accuracy"] - last["val_accuracy"])
    assert gaps.loc[plain, "shipped epoch"] == len(history)  # trained without keep_best
    rates = next(t for t in learning_rate.data if t.name == plain)
    assert rates.y == pytest.approx(history["learning_rate"].tolist())

    widget(app.slider, "Smoothing (exponential moving average weight)").set_value(0.5).run()
    trace = next(t for t in figures(app)[0].data if t.name == f"{plain}, train")
    assert trace.y == pytest.approx(smooth(history["loss"], 0.5).tolist())


# ---------------------------------------------------------------- Confusion matrices


def test_confusion_matrices_side_by_side_with_scores_and_a_cells_images(open_app, tiny_store, tiny_runs):
    app = open_app(tiny_store, "views/confusion_matrices.py")
    assert app.title[0].value == "Confusion matrices"
    left, right = figures(app)
    labels = [selectbox.value for selectbox in app.selectbox[:2]]
    runs = {run.label: run for run in tiny_runs.values()}
    for figure, label in zip((left, right), labels):
        heatmap = figure.data[0]
        assert heatmap.z.tolist() == runs[label].metrics["confusion_matrix"]
        assert list(heatmap.x) == list(heatmap.y) == ["blue", "green", "red"]
        assert heatmap.texttemplate == "%{z:d}"
    per_class = app.dataframe[0].value
    assert per_class.to_dict("records") == runs[labels[0]].metrics["per_class"]

    widget(app.toggle, "Normalise rows (share of each true class)").set_value(True).run()
    for figure in figures(app):
        assert np.asarray(figure.data[0].z).sum(axis=1) == pytest.approx([1, 1, 1])

    fast = tiny_runs["fast"]
    expected = fast.metrics["confusion_matrix"][2][0]  # true red, predicted blue
    app.selectbox(key="cell_run").set_value(fast.label)
    app.selectbox(key="cell_true").set_value("red")
    app.selectbox(key="cell_predicted").set_value("blue").run()
    assert app.markdown[-1].value.startswith(f"**{expected}** test images of class **red** predicted as **blue**")
    assert len(app.get("image")) == min(expected, 24)


# ---------------------------------------------------------------- Misclassified samples


def test_misclassified_gallery_of_the_most_confident_mistakes(open_app, tiny_store, tiny_runs):
    app = open_app(tiny_store, "views/misclassified.py")
    assert app.title[0].value == "Misclassified samples"
    run = max(tiny_runs.values(), key=lambda run: (run.predictions.predicted != run.predictions.labels).sum())
    predictions = run.predictions
    wrong = np.flatnonzero(predictions.predicted != predictions.labels)
    widget(app.selectbox, "Run").set_value(run.label).run()
    assert app.caption[0].value.startswith(f"{run.label} got {len(wrong)} of {len(predictions.labels)}")
    if not len(wrong):
        assert app.success
        return
    assert len(app.get("image")) == min(len(wrong), 12)
    confidence = predictions.probabilities[wrong, predictions.predicted[wrong]]
    first = wrong[np.argmax(confidence)]
    true_name = run.class_names[predictions.labels[first]]
    predicted_name = run.class_names[predictions.predicted[first]]
    cards = [m.value for m in app.markdown if m.value.startswith("true")]
    assert cards[0] == f"true **{true_name}** → predicted **{predicted_name}** ({confidence.max():.0%})"

    widget(app.selectbox, "Predicted class").set_value(run.class_names[predictions.labels[first]]).run()
    assert len(app.get("image")) == 0  # a true class is never its own mistake

    widget(app.selectbox, "Predicted class").set_value("any").run()
    app.button(key=f"open:{predictions.ids[first]}").click().run()
    assert not app.exception
    opened = app.dataframe[0].value.set_index("run")
    maps = [shown.caption for element in app.get("image") for shown in element.proto.imgs
            if shown.caption.startswith("Where it looked")]
    wanted = []
    for other in tiny_runs.values():
        position = list(other.predictions.ids).index(predictions.ids[first])
        predicted = other.class_names[other.predictions.predicted[position]]
        assert opened.loc[other.label, "predicted"] == predicted
        # Every run's map for its pick, and for the true class where it is wrong.
        bypassed = " (test-time views bypassed)" if other.config["flip_tta"] or other.config["shift_tta"] else ""
        wanted.append(f"Where it looked for its pick, {predicted}: Grad-CAM on the last convolutional block{bypassed}")
        if predicted != true_name:
            wanted.append(f"Where it looked for the true class, {true_name}: "
                          f"Grad-CAM on the last convolutional block{bypassed}")
    assert sorted(maps) == sorted(wanted)


# ---------------------------------------------------------------- Architecture


def test_architecture_summary_and_two_models_layers(open_app, tiny_store, tiny_runs):
    app = open_app(tiny_store, "views/architecture.py")
    assert app.title[0].value == "Architecture"
    summary, left, right = (frame.value for frame in app.dataframe)
    summary = summary.set_index("run")
    for run_id, run in tiny_runs.items():
        assert summary.loc[run_id, "params"] == run.architecture["summary"]["total_params"]
        assert summary.loc[run_id, "conv layers"] == run.architecture["summary"]["conv_layers"]
    runs = {run.label: run for run in tiny_runs.values()}
    for frame, selectbox in zip((left, right), app.selectbox):
        layers = runs[selectbox.value].architecture["layers"]
        assert frame["name"].tolist() == [layer["name"] for layer in layers]
        assert frame["output shape"].tolist() == [layer["output_shape"] for layer in layers]
        assert frame["params"].sum() == runs[selectbox.value].architecture["summary"]["total_params"]


# ---------------------------------------------------------------- Live predictions


@pytest.fixture(scope="module")
def expected_probabilities(tiny_runs):
    """Each tiny model's own output on a red image, computed here without the dashboard."""
    image = colour_image(COLOURS["red"], (40, 30), seed=7)
    expected = {}
    for run in tiny_runs.values():
        model = load_model(run)
        pixels = image_to_pixels(image, run.image_size)[None].astype(np.float32)
        expected[run.label] = model.predict(pixels, verbose=0)[0]
    return image, expected


def test_live_page_predicts_an_upload_with_every_model(open_app, tiny_store, expected_probabilities):
    image, expected = expected_probabilities
    app = open_app(tiny_store, "views/live_predictions.py", timeout=120)
    assert app.title[0].value == "Live predictions"
    assert "Upload an image" in app.info[0].value
    app.file_uploader[0].set_value(("red.png", png(image), "image/png")).run()
    assert not app.exception and not app.error
    assert app.subheader[0].value == "red.png"
    picks = app.dataframe[0].value.set_index("run")
    classes = ["blue", "green", "red"]
    for label, probabilities in expected.items():
        assert picks.loc[label, "picks"] == classes[int(np.argmax(probabilities))]
        assert picks.loc[label, "probability"] == pytest.approx(float(np.max(probabilities)), abs=1e-5)
    for label, probabilities in expected.items():
        pick = classes[int(np.argmax(probabilities))]
        assert f"**{label}** picks **{pick}** ({np.max(probabilities):.1%})" in [m.value for m in app.markdown]
    # Each model's top 3 as bars, most probable first, each named with its probability.
    bars = [bar.proto.text for bar in app.get("progress")]
    assert bars == [f"{classes[index]}: {probabilities[index]:.1%}"
                    for probabilities in expected.values() for index in np.argsort(-probabilities)]
    agree = len({classes[int(np.argmax(p))] for p in expected.values()}) == 1
    assert any(("agree" if agree else "disagree") in m.value for m in app.markdown)


def test_live_page_names_hostile_uploads_and_still_predicts_the_good_one(open_app, tiny_store, expected_probabilities):
    image, _ = expected_probabilities
    app = open_app(tiny_store, "views/live_predictions.py", timeout=120)
    app.file_uploader[0].set_value([
        ("notes.png", b"not an image at all", "image/png"),
        ("cut.png", png(image.resize((64, 64)))[:200], "image/png"),
        ("empty.jpg", b"", "image/jpeg"),
        ("photo.jpg", HEIC, "image/jpeg"),  # an iPhone's HEIC, renamed
        ("red.png", png(image), "image/png"),
    ]).run()
    assert not app.exception
    errors = [error.value for error in app.error]
    assert len(errors) == 4
    assert "'notes.png'" in errors[0] and "not an image" in errors[0]
    assert "'cut.png'" in errors[1] and "truncated" in errors[1]
    assert "'empty.jpg' is empty" in errors[2]
    assert "'photo.jpg' is in HEIC format" in errors[3]
    assert [header.value for header in app.subheader] == ["red.png"]
    assert len(app.dataframe[0].value) == 2


def test_live_page_shows_unusual_images_and_says_how_the_models_see_them(open_app, tiny_store):
    app = open_app(tiny_store, "views/live_predictions.py", timeout=120)
    frames = [Image.new("RGB", (8, 8), COLOURS[name]) for name in ("red", "blue")]
    files = {**ODD_FILES, "anim.gif": encoded(frames[0], "GIF", save_all=True, append_images=frames[1:]),
             "dot.png": png(Image.new("RGB", (1, 1), COLOURS["red"])),
             "strip.png": png(Image.new("RGB", (10_000, 10), COLOURS["red"]))}
    app.file_uploader[0].set_value([(name, data, "image/png") for name, data in files.items()]).run()
    assert not app.exception and not app.error  # "grey16.png" stopped the page with "cannot write mode I;16 as JPEG"
    assert [header.value for header in app.subheader] == list(files)
    assert len(app.dataframe) == len(files)
    captions = [caption.value for caption in app.caption]
    assert "An animated GIF of 2 frames: the models see the first, shown here." in captions
    assert captions.count("It has transparency: shown, and seen by the models, on a white background.") == len(
        TRANSPARENT_FILES)
    images = app.get("image")
    assert len(images) == 4 * len(files)  # the upload, the view of both models (16 px), and each model's map
    shown = [image.caption for element in images for image in element.proto.imgs]
    assert "uploaded, 10000 x 10 px" in shown and "uploaded, 1 x 1 px" in shown


def test_live_page_shows_where_each_model_looked(open_app, tiny_store, tiny_runs, expected_probabilities):
    image, expected = expected_probabilities
    app = open_app(tiny_store, "views/live_predictions.py", timeout=120)
    app.file_uploader[0].set_value(("red.png", png(image), "image/png")).run()
    assert not app.exception and not app.error
    shown = [shown for element in app.get("image") for shown in element.proto.imgs]
    maps = [shown.caption for shown in shown if shown.caption.startswith("Where it looked")]
    classes = ["blue", "green", "red"]
    wanted = []
    for run in tiny_runs.values():
        bypassed = " (test-time views bypassed)" if run.config["flip_tta"] or run.config["shift_tta"] else ""
        wanted.append(f"Where it looked for its pick, {classes[int(np.argmax(expected[run.label]))]}: "
                      f"Grad-CAM on the last convolutional block{bypassed}")
    assert sorted(maps) == sorted(wanted)
    assert any("bypassed" in caption for caption in maps)  # the "fast" run ships with shifted views


def test_live_page_maps_a_test_image_for_its_true_class_too(open_app, tiny_store, tiny_runs):
    app = open_app(tiny_store, "views/live_predictions.py", timeout=120)
    app.selectbox[0].set_value("test/green/001.png").run()
    assert not app.exception
    captions = [shown.caption for element in app.get("image") for shown in element.proto.imgs]
    picks = app.dataframe[0].value
    wrong = (picks["picks"] != "green").sum()
    assert sum(caption.startswith("Where it looked for its pick") for caption in captions) == len(picks)
    assert sum(caption.startswith("Where it looked for the true class, green") for caption in captions) == wrong


def test_live_page_crops_an_upload_to_the_square_the_models_see(open_app, tiny_store, tiny_runs):
    image = Image.new("RGB", (300, 100), COLOURS["red"])
    image.paste(COLOURS["green"], (100, 0, 200, 100))  # red, green, red thirds; the default crop is in the green
    models = {run.label: load_model(run) for run in tiny_runs.values()}

    def expected(seen: Image.Image) -> dict[str, float]:
        return {label: float(model.predict(image_to_pixels(seen, 16)[None].astype(np.float32), verbose=0)[0].max())
                for label, model in models.items()}

    def shown(app) -> tuple[list[str], dict[str, float]]:
        captions = [image.caption for element in app.get("image") for image in element.proto.imgs]
        return captions, app.dataframe[0].value.set_index("run")["probability"].to_dict()

    app = open_app(tiny_store, "views/live_predictions.py", timeout=120)
    app.file_uploader[0].set_value(("street.png", png(image), "image/png")).run()
    captions, probabilities = shown(app)
    assert "uploaded, 300 x 100 px" in captions and "as the models see it: 16 x 16 px" in captions
    assert probabilities == pytest.approx(expected(image), abs=1e-5)
    crop = widget(app.toggle, "Crop")
    assert not crop.value and "small square (16 px a side)" in crop.help  # the whole image unless asked

    crop.set_value(True).run()  # AppTest draws no component: the cropper returns its default box
    assert not app.exception and not app.error
    captions, probabilities = shown(app)
    assert "as the models see it: crop 80 x 80 px of 300 x 100, 16 x 16 px" in captions
    assert not any(caption.startswith("uploaded") for caption in captions)  # the cropper shows the whole image
    assert probabilities == pytest.approx(expected(Image.new("RGB", (80, 80), COLOURS["green"])), abs=1e-5)
    assert sum(caption.startswith("Where it looked") for caption in captions) == len(models)

    widget(app.toggle, "Crop").set_value(False).run()
    assert shown(app)[1] == pytest.approx(expected(image), abs=1e-5)


def test_live_page_keeps_each_uploads_crop_apart(open_app, tiny_store):
    app = open_app(tiny_store, "views/live_predictions.py", timeout=120)
    files = [(name, png(colour_image(COLOURS[colour], (60, 40))))
             for name, colour in (("a.png", "red"), ("a.png", "blue"), ("b.png", "green"))]
    app.file_uploader[0].set_value([(name, data, "image/png") for name, data in files]).run()
    toggles = [toggle for toggle in app.toggle if toggle.label == "Crop"]
    assert len({toggle.key for toggle in toggles}) == len(files)  # two uploads of one name
    toggles[1].set_value(True).run()
    assert not app.exception
    assert [toggle.value for toggle in app.toggle if toggle.label == "Crop"] == [False, True, False]
    captions = [image.caption for element in app.get("image") for image in element.proto.imgs]
    assert sum(caption.startswith("as the models see it: crop 32 x 32 px of 60 x 40") for caption in captions) == 1


def test_live_page_predicts_twenty_uploads_at_once(open_app, tiny_store):
    app = open_app(tiny_store, "views/live_predictions.py", timeout=120)
    names = [f"{number:02d}.png" for number in range(20)]
    app.file_uploader[0].set_value([(name, png(colour_image(COLOURS["green"], (12, 12), seed=number)), "image/png")
                                    for number, name in enumerate(names)]).run()
    assert not app.exception and not app.error
    assert [header.value for header in app.subheader] == names
    assert all(len(frame.value) == 2 for frame in app.dataframe)


def test_a_rerun_of_the_live_page_decodes_and_predicts_nothing_again(open_app, tiny_store, monkeypatch):
    calls = {"read_image": 0, "predict": 0}

    def counted(name, function):
        def count(*args, **kwargs):
            calls[name] += 1
            return function(*args, **kwargs)
        return count

    for name in calls:
        monkeypatch.setattr(live, name, counted(name, getattr(live, name)))
    app = open_app(tiny_store, "views/live_predictions.py", timeout=120)
    image = colour_image(COLOURS["blue"], (50, 40), seed=1234)  # seen by no other test: nothing cached yet
    app.file_uploader[0].set_value(("blue.png", png(image), "image/png")).run()
    assert calls == {"read_image": 1, "predict": 2}  # one upload, two models
    widget(app.slider, "Classes shown per model (top-k)").set_value(2).run()
    assert not app.exception and calls == {"read_image": 1, "predict": 2}
    assert all(len(figure.data[0].y) == 2 for figure in figures(app))


def test_live_page_runs_at_most_max_models_of_the_selected_runs(open_app, tiny_store, monkeypatch):
    from dashboard.lib import state

    monkeypatch.setattr(state, "MAX_MODELS", 1)
    app = open_app(tiny_store, "views/live_predictions.py", timeout=120)
    assert "The first 1 of the 2 runs selected classify the images" in app.caption[0].value
    app.file_uploader[0].set_value(("red.png", png(colour_image(COLOURS["red"], (40, 30))), "image/png")).run()
    assert not app.exception and len(app.dataframe[0].value) == 1 and len(app.get("progress")) == 3  # one model's top 3


def test_live_page_states_the_upload_limit_of_the_config(open_app, tiny_store):
    uploader = open_app(tiny_store, "views/live_predictions.py", timeout=120).file_uploader[0]
    assert uploader.proto.max_upload_size_mb == live.MAX_UPLOAD_MB >= 50
    assert f"up to {live.MAX_UPLOAD_MB} MB" in uploader.help


def test_live_page_predicts_a_test_image_as_the_run_did(open_app, tiny_store, tiny_runs):
    app = open_app(tiny_store, "views/live_predictions.py", timeout=120)
    image_id = "test/green/001.png"
    app.selectbox[0].set_value(image_id).run()
    assert not app.exception
    assert app.subheader[0].value == f"test image {image_id}, true class green"
    picks = app.dataframe[0].value.set_index("run")
    for run in tiny_runs.values():
        stored = run.predictions.probabilities[list(run.predictions.ids).index(image_id)]
        assert picks.loc[run.label, "probability"] == pytest.approx(float(stored.max()), abs=1e-4)


def test_live_page_takes_a_photo(open_app, tiny_store):
    app = open_app(tiny_store, "views/live_predictions.py", timeout=120)
    widget(app.toggle, "Use the camera").set_value(True).run()
    photo = io.BytesIO()
    colour_image(COLOURS["green"], (64, 48)).save(photo, format="JPEG")
    app.camera_input[0].set_value(("photo.jpg", photo.getvalue(), "image/jpeg")).run()
    assert not app.exception and not app.error
    assert app.subheader[0].value == "photo.jpg"
    assert len(app.dataframe[0].value) == 2


# ---------------------------------------------------------------- start-up


def test_the_dashboard_starts_without_tensorflow(tiny_store):
    """Importing the library and showing every page but the live one never imports TensorFlow or Keras."""
    script = f"""
import sys
sys.path.insert(0, {str(REPO_ROOT)!r})
import dashboard.lib.architecture, dashboard.lib.comparison, dashboard.lib.confusion
import dashboard.lib.curves, dashboard.lib.live, dashboard.lib.runs, dashboard.lib.samples, dashboard.lib.state
from streamlit.testing.v1 import AppTest
app = AppTest.from_file({HOME!r}, default_timeout=60).run()
for page in {MODEL_FREE_PAGES[1:]!r}:
    app.switch_page(page).run()
    assert not app.exception, (page, app.exception)
print(sorted(name for name in sys.modules if name.split(".")[0] in ("tensorflow", "keras")))
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                            env={**os.environ, "ARTIFACTS_DIR": str(tiny_store)})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"
