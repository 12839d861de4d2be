"""The Confusion matrices page under Streamlit's AppTest, on the tiny run store and hand-made runs."""

from __future__ import annotations

from urllib.parse import parse_qs

import numpy as np
import pytest

from app_pages import figures, widget
from dashboard.lib import confusion
from fake_runs import write_fake_run
from trainers.store import run_store


def test_confusion_matrices_side_by_side_with_scores_and_a_cells_images(open_app, tiny_store, tiny_runs):
    app = open_app(tiny_store, "views/confusion_matrices.py")
    assert app.title[0].value == "Confusion matrices"
    left, right = figures(app)
    labels = [selectbox.value for selectbox in app.selectbox[:2]]
    runs = {run.label: run for run in tiny_runs.values()}
    for figure, label in zip((left, right), labels):
        heatmap = figure.data[0]
        assert heatmap.z.tolist() == runs[label].confusion_matrix.tolist()
        assert list(heatmap.x) == list(heatmap.y) == ["blue", "green", "red"]
        assert heatmap.texttemplate == "%{z:d}"
    per_class = app.dataframe[0].value
    assert per_class.to_dict("records") == runs[labels[0]].metrics["per_class"]

    widget(app.toggle, "Normalise rows (share of each true class)").set_value(True).run()
    for figure in figures(app):
        assert np.asarray(figure.data[0].z).sum(axis=1) == pytest.approx([1, 1, 1])

    fast = tiny_runs["fast"]
    # The fullest cell (two images at least, of twelve in nine cells), whatever the tiny model got right on this CPU.
    matrix = fast.confusion_matrix
    true_index, predicted_index = np.unravel_index(matrix.argmax(), matrix.shape)
    true_name, predicted_name = fast.class_names[true_index], fast.class_names[predicted_index]
    expected = matrix[true_index, predicted_index]
    widget(app.radio, "Of the run").set_value(fast.run_id)
    widget(app.selectbox, "True class").set_value(true_name)
    widget(app.selectbox, "Predicted class").set_value(predicted_name).run()
    assert cell_sentence(app).startswith(
        f"**{expected}** test images of class **{true_name}** predicted as **{predicted_name}** by {fast.label}")
    assert len(app.get("image")) == min(expected, 8)  # a page of the cell's gallery
    # The URL names the cell: a reload opens it again.
    assert {name: app.query_params[name] for name in ("cell_run", "true", "predicted")} == {
        "cell_run": fast.run_id, "true": true_name, "predicted": predicted_name}


def cell_sentence(app) -> str:
    return next(text.value for text in app.markdown if "test images of class" in text.value)


def marked_cells(figure) -> list[tuple[float, float, float, float]]:
    return [(shape.x0, shape.x1, shape.y0, shape.y1) for shape in figure.layout.shapes]


def in_order(block):
    """The page's elements in the order they are shown, depth first."""
    yield block
    for index in sorted(getattr(block, "children", {})):
        yield from in_order(block.children[index])


# Two runs of three test images a class: `second` takes two cats for dogs and an owl for a cat, `first` one dog for
# an owl.
PETS_LABELS = [0, 0, 0, 1, 1, 1, 2, 2, 2]
PETS_IDS = [f"test/{number:03d}.png" for number in range(9)]


@pytest.fixture
def pets_store(tmp_path):
    for run_id, guesses, accuracy in (("first", [0, 0, 0, 1, 1, 2, 2, 2, 2], 8 / 9),
                                      ("second", [1, 1, 0, 1, 1, 1, 0, 2, 2], 6 / 9)):
        probabilities = np.full((9, 3), 0.1)
        probabilities[np.arange(9), guesses] = 0.8
        run = write_fake_run(tmp_path, run_id, labels=PETS_LABELS, ids=PETS_IDS, probabilities=probabilities,
                             metrics={"accuracy": accuracy})
    run_store.save_test_images(tmp_path, run.test_key, PETS_IDS, PETS_LABELS, np.zeros((9, 8, 8, 3), np.uint8))
    return tmp_path


def test_the_cell_shown_is_marked_on_its_matrix_and_its_images_come_before_the_tables(open_app, pets_store):
    app = open_app(pets_store, "views/confusion_matrices.py")
    assert [selectbox.value for selectbox in app.selectbox[:2]] == ["first", "second"]
    # The best run's most confused cell to start with: a dog taken for an owl, marked on its matrix alone.
    assert (widget(app.selectbox, "True class").value, widget(app.selectbox, "Predicted class").value) == (
        "dog", "owl")
    first, second = figures(app)
    assert marked_cells(first) == [(1.5, 2.5, 0.5, 1.5)] and marked_cells(second) == []  # column owl, row dog
    assert first.layout.shapes[0].line.color == confusion.MARK_COLOUR
    assert cell_sentence(app).startswith("**1** test images of class **dog** predicted as **owl** by first")

    widget(app.radio, "Of the run").set_value("second").run()  # the keyboard's way to the other matrix
    widget(app.selectbox, "True class").set_value("cat").run()
    widget(app.selectbox, "Predicted class").set_value("dog").run()
    first, second = figures(app)
    assert marked_cells(first) == [] and marked_cells(second) == [(0.5, 1.5, -0.5, 0.5)]
    assert cell_sentence(app).startswith("**2** test images of class **cat** predicted as **dog** by second")
    # Every card opens every run's view of its image; the cards come before the per-class tables.
    opens = [button.key for button in app.button if button.key.startswith("open:")]
    assert opens == ["open:test/000.png", "open:test/001.png"]
    shown = [(node.type, getattr(node, "key", None)) for node in in_order(app.main)]
    assert shown.index(("button", "open:test/001.png")) < shown.index(("dataframe", None))

    # The link to all of them opens Misclassified samples on this run (first) and cell.
    (link,) = app.get("page_link")
    assert link.proto.page == "misclassified" and link.proto.label.startswith("See all 2")
    assert parse_qs(link.proto.query_string) == {"run": ["second", "first"], "true": ["cat"], "predicted": ["dog"]}


def test_a_link_opens_its_cell_and_ignores_what_is_not_here_with_a_note(open_app, pets_store):
    app = open_app(pets_store)  # Home, then a link (or a reload) to the confusion matrices
    app.query_params.update({"run": ["first", "second"], "cell_run": "second", "true": "owl", "predicted": "cat"})
    app.switch_page("views/confusion_matrices.py").run()
    assert not app.exception and not app.info
    assert marked_cells(figures(app)[1]) == [(-0.5, 0.5, 1.5, 2.5)]
    assert cell_sentence(app).startswith("**1** test images of class **owl** predicted as **cat** by second")

    app.switch_page("views/home.py").run()
    app.query_params.update({"cell_run": "third", "true": "emu", "predicted": "cat"})
    app.switch_page("views/confusion_matrices.py").run()
    assert not app.exception
    assert [note.value for note in app.info] == ["Ignored from the link: 'third' is no run selected.",
                                                 "Ignored from the link: 'emu' (true class) is no class of these runs."]
    # The run and the true class of the cell shown before, the predicted class of the link.
    assert cell_sentence(app).startswith("**1** test images of class **owl** predicted as **cat** by second")


# A 30-class store: every image right but two of c07 taken for c08 and one of c20 for c03.
MANY_CLASSES = [f"c{index:02d}" for index in range(30)]


@pytest.fixture
def many_classes_store(tmp_path):
    labels = np.repeat(np.arange(30), 3)
    predicted = labels.copy()
    predicted[[21, 22]] = 8  # c07's first two images
    predicted[60] = 3  # c20's first
    probabilities = np.full((len(labels), 30), 0.1 / 29)
    probabilities[np.arange(len(labels)), predicted] = 0.9
    write_fake_run(tmp_path, "wide", labels=labels, probabilities=probabilities, class_names=MANY_CLASSES)
    return tmp_path


def matrix_classes(app) -> list[list[str]]:
    return [list(figure.data[0].x) for figure in figures(app)]


def test_a_matrix_of_many_classes_is_cut_to_the_most_confused_or_named_classes(open_app, many_classes_store):
    app = open_app(many_classes_store, "views/confusion_matrices.py")
    mode = widget(app.radio, "Classes to show (of 30)")
    assert mode.value == confusion.SHOW_ALL  # up to MAX_WHOLE_CLASSES (100)
    assert matrix_classes(app) == [MANY_CLASSES]
    assert len(app.dataframe[0].value) == 30

    mode.set_value(confusion.SHOW_MOST_CONFUSED).run()
    widget(app.slider, "How many classes").set_value(2).run()
    assert matrix_classes(app) == [["c07", "c08"]]
    assert app.dataframe[0].value["class"].tolist() == ["c07", "c08"]
    assert app.dataframe[1].value[["true", "predicted", "count"]].values.tolist() == [["c07", "c08", 2]]
    # The cell gallery picks from the classes shown, starting on their most confused cell.
    assert widget(app.selectbox, "True class").options == ["c07", "c08"]
    assert (widget(app.selectbox, "True class").value, widget(app.selectbox, "Predicted class").value) == (
        "c07", "c08")

    widget(app.slider, "How many classes").set_value(4).run()
    assert matrix_classes(app) == [["c03", "c07", "c08", "c20"]]

    widget(app.radio, "Classes to show (of 30)").set_value(confusion.SHOW_NAMED).run()
    assert app.info[0].value.startswith("Pick classes, or type part of a name")
    widget(app.multiselect, "Classes (type to search)").set_value(["c20"]).run()
    widget(app.text_input, "and every class whose name contains").set_value("C1").run()
    assert matrix_classes(app) == [["c10", "c11", "c12", "c13", "c14", "c15", "c16", "c17", "c18", "c19", "c20"]]
    assert len(app.dataframe[0].value) == 11


def test_beyond_100_classes_the_page_starts_on_the_most_confused(open_app, tmp_path):
    names = [f"class {index:03d}" for index in range(120)]
    labels = np.arange(120)
    predicted = (labels + (labels % 4 == 0)) % 120  # every fourth class taken for the next: 30 pairs
    write_fake_run(tmp_path, "wide", labels=labels, probabilities=np.eye(120)[predicted], class_names=names)
    app = open_app(tmp_path, "views/confusion_matrices.py")
    assert widget(app.radio, "Classes to show (of 120)").value == confusion.SHOW_MOST_CONFUSED
    (shown,) = matrix_classes(app)
    assert len(shown) == confusion.MOST_CONFUSED_DEFAULT and shown[:4] == ["class 000", "class 001", "class 004",
                                                                          "class 005"]
    assert figures(app)[0].data[0].texttemplate == "%{z:d}"  # cut to 20 classes, the cells read again
