"""The Live predictions page under Streamlit's AppTest: the tiny trained models, and hand-made ones that pick one
class or answer constant probabilities, classify uploads, photos and test images; a model says when it finds none of
its classes; several photos make a table, one shown in detail."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image

from app_pages import figures, widget
from colour_images import COLOURS, colour_image
from fake_runs import answer_probabilities, write_constant_model, write_fake_run, write_one_class_model
from dashboard.lib import live
from trainers.analysis import none_of_these
from trainers.store import run_store
from trainers.store.run_store import LABELS_ONLY
from upload_files import HEIC, ODD_FILES, TRANSPARENT_FILES, encoded, iso_media
from trainers.inference.image_files import FORMAT_NAMES
from trainers.inference.predict import load_model
from trainers.inference.pixels import image_to_pixels


def elements(app) -> list:
    """The page's elements in the order it lays them out: down the page, and across a row of columns, each
    column top to bottom before the next."""
    return [node for node in app.main if not hasattr(node, "children")]


def png(image: Image.Image) -> bytes:
    data = io.BytesIO()
    image.save(data, format="PNG")
    return data.getvalue()


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


def test_live_page_predicts_an_upload_with_every_model(open_app, tiny_store, tiny_runs, expected_probabilities):
    image, expected = expected_probabilities
    app = open_app(tiny_store, "views/live_predictions.py", timeout=120)
    assert app.title[0].value == "Live predictions"
    assert "Upload images" in app.info[0].value
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
    # Whether these two models agree, or find none of their classes, depends on the CPU they were trained on: the
    # sentence is the library's, whose cases tests/test_live.py pins by hand.
    thresholds = {run.label: none_of_these.threshold_on_test(none_of_these.max_softmax(run.predictions.probabilities))
                  for run in tiny_runs.values()}
    assert live.agreement(live.picks_table(expected, classes, k=3, thresholds=thresholds)) in [
        m.value for m in app.markdown]


def test_live_page_names_hostile_uploads_and_still_predicts_the_good_ones(open_app, tiny_store,
                                                                         expected_probabilities):
    image, _ = expected_probabilities
    app = open_app(tiny_store, "views/live_predictions.py", timeout=120)
    pdf = encoded(image, "PDF")
    app.file_uploader[0].set_value([
        ("notes.png", b"not an image at all", "image/png"),
        ("cut.png", png(image.resize((64, 64)))[:200], "image/png"),
        ("empty.jpg", b"", "image/jpeg"),
        ("logo.svg", b'<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"/>', "image/svg+xml"),
        ("scan.pdf", pdf, "application/pdf"),
        ("README", b"# Notes\nnot a picture", "application/octet-stream"),
        ("IMG_0042.MOV", iso_media(b"qt  "), "video/quicktime"),
        ("photo.jpg", HEIC, "image/jpeg"),  # an iPhone's HEIC, renamed by a share sheet
        ("download", encoded(image, "JPEG", quality=95), "application/octet-stream"),  # a JPEG with no extension
        ("red.png", png(image), "image/png"),
    ]).run()
    assert not app.exception
    readable = f"which this page does not read: upload {FORMAT_NAMES}."
    assert [error.value for error in app.error] == [
        f"'notes.png' is a text file, {readable}",
        "'cut.png' could not be read: truncated or damaged (image file is truncated).",
        "'empty.jpg' is empty (0 bytes).",
        f"'logo.svg' is an SVG drawing, {readable}",
        f"'scan.pdf' is a PDF document, {readable}",
        f"'README' is a text file, {readable}",
        f"'IMG_0042.MOV' is a video (QuickTime), {readable}",
    ]
    photos, picks = app.dataframe  # a row per readable image, then both models' picks of the one shown
    assert photos.value[live.FILE].tolist() == ["photo.jpg", "download", "red.png"]
    assert [header.value for header in app.subheader] == ["3 images", "red.png"]  # the newest shown in detail
    assert len(picks.value) == 2


def test_live_page_shows_unusual_images_and_says_how_the_models_see_them(open_app, tiny_store):
    app = open_app(tiny_store, "views/live_predictions.py", timeout=120)
    frames = [Image.new("RGB", (8, 8), COLOURS[name]) for name in ("red", "blue")]
    files = {**ODD_FILES, "anim.gif": encoded(frames[0], "GIF", save_all=True, append_images=frames[1:]),
             "dot.png": png(Image.new("RGB", (1, 1), COLOURS["red"])),
             "strip.png": png(Image.new("RGB", (10_000, 10), COLOURS["red"]))}
    app.file_uploader[0].set_value([(name, data, "image/png") for name, data in files.items()]).run()
    assert not app.exception and not app.error  # "grey16.png" stopped the page with "cannot write mode I;16 as JPEG"
    assert app.dataframe[0].value[live.FILE].tolist() == list(files)  # a thumbnail each, in the table
    captions, shown = [], []
    for number, name in enumerate(files):  # each in detail in turn
        widget(app.selectbox, "Shown in detail below").set_value(number).run()
        assert not app.exception and not app.error
        assert app.subheader[1].value == name
        captions += [caption.value for caption in app.caption]
        images = app.get("image")
        assert len(images) == 4  # the upload, the view of both models (16 px), and each model's map
        shown += [image.caption for element in images for image in element.proto.imgs]
    assert "An animated GIF of 2 frames: the models see the first, shown here." in captions
    assert captions.count("It has transparency: shown, and seen by the models, on a white background.") == len(
        TRANSPARENT_FILES)
    assert "uploaded, 10000 x 10 px" in shown and "uploaded, 1 x 1 px" in shown


def test_live_page_shows_where_each_model_looked_and_says_how_once(open_app, tiny_store, tiny_runs,
                                                                   expected_probabilities):
    image, expected = expected_probabilities
    app = open_app(tiny_store, "views/live_predictions.py", timeout=120)
    app.file_uploader[0].set_value(("red.png", png(image), "image/png")).run()
    assert not app.exception and not app.error
    captions = [shown.caption for element in app.get("image") for shown in element.proto.imgs]
    classes = ["blue", "green", "red"]
    assert sorted(caption for caption in captions if caption.startswith("its pick")) == sorted(
        f"its pick: {classes[int(np.argmax(probabilities))]}" for probabilities in expected.values())
    methods = {}
    for run in tiny_runs.values():
        bypassed = " (test-time views bypassed)" if run.config["flip_tta"] or run.config["shift_tta"] else ""
        methods[run.label] = f"Grad-CAM on the last convolutional block{bypassed}"
    assert any("bypassed" in method for method in methods.values())  # the "fast" run ships with shifted views
    in_order = {label: methods[label] for label in app.dataframe[0].value["run"]}
    assert [c.value for c in app.caption if c.value.startswith("Where each run looked")] == [
        live.maps_explained(in_order)]  # once, not under each map


def test_live_page_maps_a_test_image_for_its_true_class_too(open_app, one_class_store):
    app = open_app(one_class_store, "views/live_predictions.py", timeout=120)
    app.selectbox[0].set_value("test/001.png").run()  # a dog: `cats` gets it wrong, `dogs` right
    assert not app.exception and not app.error
    captions = [shown.caption for element in app.get("image") for shown in element.proto.imgs]
    picks = app.dataframe[0].value
    assert picks.set_index("run")["picks"].to_dict() == {"cats": "cat", "dogs": "dog"}
    assert [caption for caption in captions if caption.startswith(("its pick", "true class"))] == [
        "its pick: cat", "true class: dog", "its pick: dog"]


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
    assert sum(caption.startswith("its pick") for caption in captions) == len(models)

    widget(app.toggle, "Crop").set_value(False).run()
    assert shown(app)[1] == pytest.approx(expected(image), abs=1e-5)


def test_live_page_keeps_each_uploads_crop_apart(open_app, tiny_store):
    app = open_app(tiny_store, "views/live_predictions.py", timeout=120)
    files = [(name, png(colour_image(COLOURS[colour], (60, 40))))
             for name, colour in (("a.png", "red"), ("a.png", "blue"), ("b.png", "green"))]
    app.file_uploader[0].set_value([(name, data, "image/png") for name, data in files]).run()
    assert app.dataframe[0].value[live.FILE].tolist() == ["a.png", "a.png (2)", "b.png"]
    chooser = widget(app.selectbox, "Shown in detail below")
    assert chooser.options == ["a.png", "a.png (2)", "b.png"]
    chooser.set_value(1).run()  # the second of two uploads of one name
    assert app.subheader[1].value == "a.png"
    widget(app.toggle, "Crop").set_value(True).run()
    assert not app.exception
    captions = [image.caption for element in app.get("image") for image in element.proto.imgs]
    assert "as the models see it: crop 32 x 32 px of 60 x 40, 16 x 16 px" in captions
    widget(app.selectbox, "Shown in detail below").set_value(0).run()  # the other a.png: its own crop, off
    assert not app.exception and not widget(app.toggle, "Crop").value


def test_live_page_predicts_twenty_uploads_at_once(open_app, tiny_store):
    app = open_app(tiny_store, "views/live_predictions.py", timeout=120)
    names = [f"{number:02d}.png" for number in range(20)]
    app.file_uploader[0].set_value([(name, png(colour_image(COLOURS["green"], (12, 12), seed=number)), "image/png")
                                    for number, name in enumerate(names)]).run()
    assert not app.exception and not app.error
    photos, picks = app.dataframe
    assert photos.value[live.FILE].tolist() == names
    assert [header.value for header in app.subheader] == ["20 images", "19.png"]
    assert len(picks.value) == 2


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
    from dashboard.lib import caches

    monkeypatch.setattr(caches, "MAX_MODELS", 1)
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
    assert app.subheader[0].value == f"test image {image_id}, true class: green"
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


def test_live_page_leads_with_every_models_answer_and_shows_the_image_beside_it(open_app, tiny_store, tiny_runs):
    app = open_app(tiny_store, "views/live_predictions.py", timeout=120)
    uploads, test_images, top_k = app.main.columns[:3]  # the inputs abreast, so that the answers reach the first screen
    assert [len(uploads.file_uploader), len(test_images.selectbox), len(top_k.slider)] == [1, 1, 1]
    app.file_uploader[0].set_value(("red.png", png(colour_image(COLOURS["red"], (40, 30))), "image/png")).run()
    assert not app.exception and not app.error
    shown = elements(app)
    where = {id(node): position for position, node in enumerate(shown)}
    agreement = next(node for node in shown if node.type == "markdown" and node.value.startswith(("All ", "The ")))
    answers = [node for node in shown if node.type == "markdown" and node.value.startswith("**")
               and " picks **" in node.value]  # "**plain** picks **red** (51.2%)"
    views = [node for node in shown if node.type == "image" and not node.proto.imgs[0].caption.startswith("its pick")]
    maps = [node for node in shown if node.type == "image" and node.proto.imgs[0].caption.startswith("its pick")]
    assert len(answers) == len(maps) == len(tiny_runs) and len(views) == 2  # the upload, the models' 16 px view
    # The agreement sentence, then each model's pick, then the images: the upload as the models see it, and maps.
    assert where[id(agreement)] < min(where[id(answer)] for answer in answers)
    assert max(where[id(answer)] for answer in answers) < min(where[id(image)] for image in views + maps)
    # The views in a narrow column beside the answers, not above them: the row's last and narrowest column.
    beside = next(column for column in app.main.columns
                  if any(image.proto.imgs[0].caption == "uploaded, 40 x 30 px" for image in column.get("image")))
    assert beside.weight == pytest.approx(1 / 4) and beside.toggle[0].label == "Crop"
    assert where[id(app.dataframe[0])] > max(where[id(image)] for image in maps)  # the table of picks last


def test_live_page_names_a_run_without_a_model_at_the_top_before_any_upload(open_app, one_class_store):
    recorded = write_fake_run(one_class_store, "recorded", info={
        "model_file": None, "no_model": "it was recorded from its predictions alone"})
    app = open_app(one_class_store, "views/live_predictions.py", timeout=120)
    assert recorded.no_model == "recorded has no model: it was recorded from its predictions alone"
    assert [note.value for note in app.info] == [
        recorded.no_model, "Upload images, take a photo or pick a test image: every selected model will classify them."]
    shown = elements(app)
    assert shown.index(app.info[0]) < shown.index(app.file_uploader[0])  # above the inputs
    app.selectbox[0].set_value("test/001.png").run()
    assert not app.exception and not app.error
    assert [note.value for note in app.info] == [recorded.no_model]  # said once, at the top, not again by the answers
    assert app.dataframe[0].value["run"].tolist() == ["cats", "dogs"]


# Top probabilities of 20 test images: 0.4, 0.5, 0.55, 0.575, ...: 95% of them (19) score 0.5 or more, so a run of
# these predictions has the threshold 0.5.
TEST_ANSWERS = [(0, 0.4), (0, 0.5), *((1, 0.55 + 0.025 * i) for i in range(18))]
DOUBTFUL, SURE = [0.45, 0.3, 0.25], [0.1, 0.8, 0.1]  # what the two constant models answer for any image


def write_constant_store(store):
    """Two runs of the test predictions above (threshold 0.5) whose models answer constant probabilities:
    `doubtful` a cat at 0.45 (below its threshold), `sure` a dog at 0.8; their 20 test images."""
    labels = [answer for answer, _ in TEST_ANSWERS]
    for run_id, answer in (("doubtful", DOUBTFUL), ("sure", SURE)):
        run = write_fake_run(store, run_id, labels=labels, probabilities=answer_probabilities(TEST_ANSWERS))
        write_constant_model(run, answer)
    run_store.save_test_images(store, run.test_key, run.predictions.ids, run.predictions.labels,
                               np.zeros((len(labels), 8, 8, 3), np.uint8))
    return store


@pytest.fixture(scope="module")
def constant_store(tmp_path_factory):
    return write_constant_store(tmp_path_factory.mktemp("constant"))


THRESHOLDS_EXPLAINED = ("A model finds none of its classes in an image when its top probability falls below its "
                        "threshold, set so that 95% of its 20 test images pass: doubtful 0.5, sure 0.5.")
UNDER_THE_TABLE = THRESHOLDS_EXPLAINED.replace("in an image when", 'in an image ("none" in the table) when')


def test_a_model_says_when_it_finds_none_of_its_classes_and_the_page_says_once_how_its_threshold_is_set(
        open_app, constant_store):
    app = open_app(constant_store, "views/live_predictions.py", timeout=120)
    app.file_uploader[0].set_value(("sky.png", png(Image.new("RGB", (40, 30), (90, 160, 230))), "image/png")).run()
    assert not app.exception and not app.error
    said = [m.value for m in app.markdown]
    assert ("The models disagree: doubtful picks **cat**, sure picks **dog**. doubtful finds none of its classes in "
            "this image.") in said
    assert "**doubtful** picks **cat** (45.0%)" in said and "**sure** picks **dog** (80.0%)" in said
    # Under doubtful's pick, before its bars: 0.45 < 0.5. Nothing under sure's: 0.8 passes.
    shown = elements(app)
    texts = [node for node in shown if node.type in ("markdown", "caption")]
    none_found = [node for node in texts if "finds none of its classes in this image (" in node.value]
    assert [node.value for node in none_found] == [
        ":orange[finds none of its classes in this image (score 0.45, threshold 0.50)]"]
    doubtful = next(node for node in texts if node.value == "**doubtful** picks **cat** (45.0%)")
    assert shown.index(none_found[0]) == shown.index(doubtful) + 1
    # Said once, under the answers' bars and above the maps.
    explained = [node for node in texts if node.value == THRESHOLDS_EXPLAINED]
    assert len(explained) == 1
    bars, maps = app.get("progress"), app.get("image")
    assert max(map(shown.index, bars)) < shown.index(explained[0]) < min(
        shown.index(image) for image in maps if image.proto.imgs[0].caption.startswith("its pick"))
    picks = app.dataframe[0].value.set_index("run")
    assert picks[live.NONE_FOUND].to_dict() == {"doubtful": True, "sure": False}
    assert picks[live.THRESHOLD].to_dict() == pytest.approx({"doubtful": 0.5, "sure": 0.5})


def test_a_run_of_predicted_labels_alone_has_no_threshold_and_the_page_says_so(open_app, tmp_path):
    store = tmp_path / "store"
    # Tested at 0.9 on each of its three images (threshold 0.9); its model calls anything a cat at 0.987.
    tested = answer_probabilities([(0, 0.9), (1, 0.9), (2, 0.9)])
    write_one_class_model(write_fake_run(store, "cats", probabilities=tested), 0)
    recorded = write_fake_run(store, "recorded", info={LABELS_ONLY: True})
    write_one_class_model(recorded, 1)  # a model beside labels alone: constructed, as no recorder writes one
    app = open_app(store, "views/live_predictions.py", timeout=120)
    app.file_uploader[0].set_value(("grey.png", png(Image.new("RGB", (20, 20), "grey")), "image/png")).run()
    assert not app.exception and not app.error
    assert ("recorded has no threshold: it was recorded from its predicted labels alone, without the probabilities a "
            "threshold is set on.") in app.caption[0].value
    picks = app.dataframe[0].value.set_index("run")
    assert picks.loc["recorded", "picks"] == "dog" and picks.loc["recorded", live.NONE_FOUND] is None
    assert picks.loc["cats", live.NONE_FOUND] == False  # noqa: E712 - a NumPy bool


def test_several_photos_make_a_table_of_a_row_each_and_one_is_shown_in_detail(open_app, constant_store):
    app = open_app(constant_store, "views/live_predictions.py", timeout=120)
    files = [(f"{colour}.png", png(colour_image(COLOURS[colour], (30, 20), seed=41))) for colour in COLOURS]
    app.file_uploader[0].set_value([(name, data, "image/png") for name, data in files]).run()
    assert not app.exception and not app.error
    photos = app.dataframe[0]
    assert photos.value.columns.tolist() == [live.PHOTO, live.FILE, "doubtful", "sure"]
    assert photos.value[live.FILE].tolist() == [name for name, _ in files]
    assert set(photos.value["doubtful"]) == {"none (cat 45%)"} and set(photos.value["sure"]) == {"dog 80%"}
    assert all(uri.startswith("data:image/jpeg;base64,") for uri in photos.value[live.PHOTO])
    assert json.loads(photos.proto.columns)[live.PHOTO]["type_config"]["type"] == "image"  # shown as thumbnails
    # Said once, under the table, not again by the photo shown in detail.
    assert [c.value for c in app.caption if "top probability falls below" in c.value] == [UNDER_THE_TABLE]
    shown = elements(app)
    assert shown.index(photos) + 1 == shown.index(next(c for c in app.caption if c.value == UNDER_THE_TABLE))
    assert [header.value for header in app.subheader] == [f"{len(files)} images", files[-1][0]]  # the newest
    widget(app.selectbox, "Shown in detail below").set_value(0).run()
    assert not app.exception and app.subheader[1].value == files[0][0]
    assert len(app.get("progress")) == 2 * 3  # one photo's bars: both models' top 3
    assert ":orange[finds none of its classes in this image (score 0.45, threshold 0.50)]" in [
        c.value for c in app.caption]


def test_several_photos_cost_one_call_per_model_and_a_later_one_only_itself(open_app, constant_store, monkeypatch):
    calls = []
    predicts = live.predict
    monkeypatch.setattr(live, "predict", lambda model, images: calls.append(len(images)) or predicts(model, images))
    app = open_app(constant_store, "views/live_predictions.py", timeout=120)
    rng = np.random.default_rng(71)  # photos no other test shows these models
    photos = [(f"{number:02d}.png", png(Image.fromarray(rng.integers(0, 256, (24, 32, 3), np.uint8))), "image/png")
              for number in range(21)]
    app.file_uploader[0].set_value(photos[:20]).run()
    assert not app.exception and calls == [20, 20]  # each model's one call on the twenty photos
    app.file_uploader[0].set_value(photos).run()
    assert not app.exception and calls == [20, 20, 1, 1]  # the later one alone
    widget(app.selectbox, "Shown in detail below").set_value(3).run()
    assert not app.exception and calls == [20, 20, 1, 1]  # another photo in detail: nothing predicted again
    assert len(app.dataframe[0].value) == 21
