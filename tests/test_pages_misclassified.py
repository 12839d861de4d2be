"""The Misclassified samples page under Streamlit's AppTest, on hand-made runs of known mistakes (and of none)."""

from __future__ import annotations

import numpy as np

from app_pages import widget
from fake_runs import write_fake_run
from trainers.store import run_store

IDS = [f"test/{number:03d}.png" for number in range(6)]
LABELS = [0, 0, 1, 1, 2, 2]  # cat, cat, dog, dog, owl, owl
# Three mistakes: a dog called owl at 90%, a cat called owl at 70%, an owl called cat at 60%; no image is wrongly
# called a dog.
MISTAKEN = [[0.8, 0.1, 0.1], [0.2, 0.1, 0.7], [0.1, 0.8, 0.1], [0.05, 0.05, 0.9], [0.6, 0.1, 0.3], [0.1, 0.1, 0.8]]


def test_misclassified_gallery_of_the_most_confident_mistakes(open_app, tmp_path):
    run = write_fake_run(tmp_path, "cnn_v3-1", ids=IDS, labels=LABELS, probabilities=MISTAKEN)
    write_fake_run(tmp_path, "cnn_fast-2", ids=IDS, labels=LABELS)  # right on every image
    run_store.save_test_images(tmp_path, run.test_key, IDS, LABELS, np.zeros((len(IDS), 8, 8, 3), np.uint8))
    app = open_app(tmp_path, "views/misclassified.py")
    assert app.title[0].value == "Misclassified samples"
    widget(app.selectbox, "Run").set_value(run.label).run()
    assert app.caption[0].value.startswith(f"{run.label} got 3 of 6")
    assert len(app.get("image")) == 3
    cards = [m.value for m in app.markdown if m.value.startswith("true")]
    assert cards == ["true **dog** → predicted **owl** (90%)", "true **cat** → predicted **owl** (70%)",
                     "true **owl** → predicted **cat** (60%)"]

    widget(app.selectbox, "Predicted class").set_value("dog").run()
    assert len(app.get("image")) == 0
    assert [note.value for note in app.info] == ["No mistakes match these filters."] and not app.success


def test_misclassified_page_says_so_when_a_run_made_no_mistake(open_app, tmp_path):
    run = write_fake_run(tmp_path, "cnn_v3-1")  # right on every image
    app = open_app(tmp_path, "views/misclassified.py")
    assert app.caption[0].value.startswith(f"{run.label} got 0 of 3")
    assert [news.value for news in app.success] == [f"{run.label} got every test image right."]
    assert not app.info and not app.get("image")


def test_an_images_view_maps_every_runs_pick_and_the_true_class_where_it_is_wrong(open_app, one_class_store):
    app = open_app(one_class_store, "views/misclassified.py", timeout=120)
    widget(app.selectbox, "Run").set_value("cats").run()
    app.button(key="open:test/001.png").click().run()  # a dog: `cats` gets it wrong, `dogs` right
    assert not app.exception
    opened = app.dataframe[0].value.set_index("run")
    assert opened["predicted"].to_dict() == {"cats": "cat", "dogs": "dog"}
    maps = [shown.caption for element in app.get("image") for shown in element.proto.imgs
            if shown.caption.startswith(("its pick", "true class"))]
    assert sorted(maps) == ["its pick: cat 100%", "its pick: dog 100%", "true class: dog 0%"]
    # The method, said once over the maps.
    assert [text.value for text in [*app.caption, *app.markdown]
            if text.value.startswith("Where each run looked")] == [
        "Where each run looked, by Grad-CAM on the last convolutional block: the warmer the colour (blue to red), "
        "the more that part of the image counted for the class under the map."]


def test_a_link_opens_its_run_and_cell_and_the_url_follows_the_filters(open_app, tmp_path):
    run = write_fake_run(tmp_path, "cnn_v3-1", ids=IDS, labels=LABELS, probabilities=MISTAKEN,
                         metrics={"accuracy": 0.5})
    best = write_fake_run(tmp_path, "cnn_fast-2", ids=IDS, labels=LABELS)  # right on every image
    run_store.save_test_images(tmp_path, run.test_key, IDS, LABELS, np.zeros((len(IDS), 8, 8, 3), np.uint8))
    app = open_app(tmp_path, "views/misclassified.py")
    assert widget(app.selectbox, "Run").value == best.label  # picked in this session: the best run

    app.switch_page("views/home.py").run()  # then the confusion matrices' link to a cell of the other run
    app.query_params.update({"run": [run.run_id, best.run_id], "true": "cat", "predicted": "owl"})
    app.switch_page("views/misclassified.py").run()
    assert not app.exception and not app.info
    assert [widget(app.selectbox, label).value for label in ("Run", "True class", "Predicted class")] == [
        run.label, "cat", "owl"]
    assert [m.value for m in app.markdown if m.value.startswith("true")] == ["true **cat** → predicted **owl** (70%)"]

    widget(app.selectbox, "Predicted class").set_value("any").run()
    widget(app.selectbox, "Per page").set_value(24).run()
    assert len(app.get("image")) == 1  # the cat taken for an owl
    assert {name: app.query_params.get(name) for name in ("run", "true", "predicted", "per_page")} == {
        "run": [run.run_id, best.run_id], "true": "cat", "predicted": None, "per_page": "24"}


def test_a_link_naming_what_is_not_here_is_followed_in_part_with_a_note(open_app, tmp_path):
    run = write_fake_run(tmp_path, "cnn_v3-1", ids=IDS, labels=LABELS, probabilities=MISTAKEN)
    run_store.save_test_images(tmp_path, run.test_key, IDS, LABELS, np.zeros((len(IDS), 8, 8, 3), np.uint8))
    app = open_app(tmp_path)
    app.query_params.update({"run": "gone-1", "true": "emu", "predicted": "owl"})
    app.switch_page("views/misclassified.py").run()
    assert not app.exception
    assert [note.value for note in app.info] == ["Ignored from the link: 'gone-1' is no run selected.",
                                                 "Ignored from the link: 'emu' (true class) is no class of these runs."]
    assert [widget(app.selectbox, label).value for label in ("Run", "True class", "Predicted class")] == [
        run.label, "any", "owl"]
    assert len(app.get("image")) == 2  # the dog and the cat taken for owls
    assert app.query_params.get("true") is None and app.query_params["predicted"] == "owl"
