"""Ensembles: the mean of runs' probabilities worked out by hand, saved as a run folder, and shown on every page."""

from __future__ import annotations

import io
import math
import shutil

import numpy as np
import pytest

from app_pages import PAGES, figures, widget
from colour_images import COLOURS, colour_image
from fake_runs import write_constant_model, write_fake_run
from trainers import compare
from trainers.store import run_store
from trainers.analysis.ensemble import Ensemble
from trainers.inference.ensemble_model import mean_model, save_ensemble
from trainers.inference.predict import load_model

TEST_KEY = "pets-8px-0000"  # write_fake_run's
IDS = ["test/000.png", "test/001.png", "test/002.png"]
LABELS = [0, 1, 2]
# `a` is right on images 0 and 2, wrong on 1 (0.5 for cat); `b` right on 1 and 2, wrong on 0 (0.4 for dog).
A = [[0.8, 0.1, 0.1], [0.5, 0.4, 0.1], [0.1, 0.1, 0.8]]
B = [[0.3, 0.4, 0.3], [0.1, 0.8, 0.1], [0.3, 0.3, 0.4]]
# Their mean, image by image: right on all three.
MEAN = [[0.55, 0.25, 0.2], [0.3, 0.6, 0.1], [0.2, 0.2, 0.6]]


@pytest.fixture
def pair(tmp_path):
    """Two hand-made runs of the same three images; `b` stores them in reverse order."""
    a = write_fake_run(tmp_path, "a-run", labels=LABELS, ids=IDS, probabilities=A, summary={"total_params": 1000},
                       metrics={"accuracy": 2 / 3})
    b = write_fake_run(tmp_path, "b-run", labels=LABELS[::-1], ids=IDS[::-1], probabilities=B[::-1],
                       summary={"total_params": 234}, metrics={"accuracy": 2 / 3},
                       info={"training_seconds": 5.0, "images_per_second": 300.0})
    return a, b


def test_an_ensemble_is_the_mean_of_its_members_probabilities_worked_out_by_hand(pair):
    ensemble = Ensemble(pair)

    assert ensemble.predictions.ids.tolist() == IDS
    assert ensemble.predictions.labels.tolist() == LABELS
    np.testing.assert_allclose(ensemble.predictions.probabilities, MEAN, atol=1e-6)
    # Each member gets 2 of 3 right; where they disagree the more confident wins, so the mean gets all 3.
    assert ensemble.metrics["accuracy"] == 1.0
    assert ensemble.metrics["log_loss"] == pytest.approx(-(math.log(0.55) + 2 * math.log(0.6)) / 3, rel=1e-5)
    assert ensemble.metrics["confusion_matrix"] == [[1, 0, 0], [0, 1, 0], [0, 0, 1]]
    assert compare.compare_runs([run.path for run in pair])["ensemble_accuracy"] == ensemble.metrics["accuracy"]


def test_an_ensemble_reads_as_a_run_named_for_its_members(pair):
    ensemble = Ensemble(pair)

    assert ensemble.run_id == ensemble.label == "ensemble of a-run + b-run"
    assert ensemble.preset == ensemble.kind == "ensemble"
    assert (ensemble.class_names, ensemble.test_key, ensemble.image_size) == (pair[0].class_names, pair[0].test_key, 8)
    assert ensemble.config == {"image_size": 8, "flip_tta": False, "shift_tta": 0, "kind": "ensemble"}
    # Each hand-made member holds 2 layers, 1 of them Dense.
    assert ensemble.architecture == {"summary": {"total_layers": 4, "conv_layers": 0, "dense_layers": 2,
                                                 "total_params": 1234, "trainable_params": 579 + 579,
                                                 "batch_norm": False, "epochs": None},
                                     "layers": []}
    assert ensemble.info["epochs_run"] is None
    assert ensemble.info["training_seconds"] == 15.0
    # Every image goes through both: 1/100 + 1/300 s per image.
    assert ensemble.info["images_per_second"] == pytest.approx(75.0)
    assert [member["run_id"] for member in ensemble.info["members"]] == ["a-run", "b-run"]
    assert ensemble.history.empty and list(ensemble.history.columns) == list(run_store.HISTORY_COLUMNS)


@pytest.mark.parametrize("other, message", [
    (dict(test_key="pets-8px-9999"), "was tested on other images"),
    (dict(ids=["test/x.png", "test/001.png", "test/002.png"]), "was tested on other images"),
    (dict(class_names=["cat", "dog", "emu"]), "knows the classes cat, dog, emu"),
])
def test_members_of_other_test_sets_are_refused_with_the_compare_message(tmp_path, other, message):
    a = write_fake_run(tmp_path, "a-run")
    b = write_fake_run(tmp_path, "b-run", **other)
    with pytest.raises(ValueError, match=message):
        Ensemble((a, b))


def test_an_ensemble_takes_two_runs_or_more_each_once(tmp_path):
    a = write_fake_run(tmp_path, "a-run")
    with pytest.raises(ValueError, match="two runs or more, got 1"):
        Ensemble((a,))
    with pytest.raises(ValueError, match="each run once"):
        Ensemble((a, a))


def test_the_mean_model_averages_its_members_outputs(pair):
    class Constant:
        output_shape = (None, 3)

        def __init__(self, vector):
            self.vector = np.asarray(vector, np.float32)

        def predict_on_batch(self, images):
            return np.tile(self.vector, (len(images), 1))

    from trainers.inference.predict import predict

    outputs = {"a-run": A[1], "b-run": B[1]}
    model = mean_model(Ensemble(pair), model_of=lambda run: Constant(outputs[run.run_id]))
    np.testing.assert_allclose(predict(model, np.zeros((2, 8, 8, 3), np.uint8)), [MEAN[1], MEAN[1]], atol=1e-6)


# ---------------------------------------------------------------- saved as a run folder, on trained runs


@pytest.fixture
def store_copy(tiny_store, tmp_path):
    return shutil.copytree(tiny_store, tmp_path / "store")


def test_a_saved_ensemble_is_a_run_whose_model_reproduces_the_mean_in_safe_mode(store_copy):
    runs = {run.run_id: run for run in run_store.list_runs(store_copy)[0]}
    ensemble = Ensemble((runs["plain"], runs["fast"]))

    saved = save_ensemble(ensemble, store_copy, "duo")

    assert saved.path == store_copy / "duo" and not (store_copy / run_store.PARTIAL_DIR).exists()
    run_store.check_run(saved)  # every part a reader reads
    assert saved.preset == saved.kind == "ensemble" and saved.history.empty
    assert [(member["run_id"], member["path"]) for member in saved.info["members"]] == [
        ("plain", str(runs["plain"].path)), ("fast", str(runs["fast"].path))]
    np.testing.assert_allclose(saved.predictions.probabilities, ensemble.predictions.probabilities, atol=1e-6)
    assert saved.metrics["accuracy"] == ensemble.metrics["accuracy"]
    # Its model holds its members' models whole, test-time views included: their parameters, and more layers.
    assert saved.architecture["summary"]["total_params"] == ensemble.architecture["summary"]["total_params"]
    assert [layer["name"] for layer in saved.architecture["layers"]] == ["pixels", "plain", "fast", "mean"]
    model = load_model(saved)  # safe mode
    images = run_store.load_test_images(store_copy, saved.test_key).select(saved.predictions.ids.tolist())
    np.testing.assert_allclose(model.predict(images.astype(np.float32), verbose=0), saved.predictions.probabilities,
                               atol=1e-4)

    with pytest.raises(FileExistsError, match="A run named 'duo' is already in .*: name this one 'duo-2'$"):
        save_ensemble(ensemble, store_copy, "duo")
    with pytest.raises(ValueError, match="Invalid run name"):
        save_ensemble(ensemble, store_copy, "../duo")
    assert not (store_copy / run_store.PARTIAL_DIR).exists()


# ---------------------------------------------------------------- the dashboard, on runs that answer alike for every image

# Whatever the image, a-run picks cat, b-run owl and their mean dog: each gets one of the three test images right.
ANSWER_A, ANSWER_B, ANSWER_MEAN = [0.5, 0.4, 0.1], [0.1, 0.4, 0.5], [0.3, 0.4, 0.3]
LABEL = "ensemble of a-run + b-run"


@pytest.fixture
def answers_store(tmp_path):
    """a-run and b-run of ANSWER_A and ANSWER_B on the three test images (cat, dog, owl), and the images; their
    models are written by `with_models` where a test needs them."""
    for run_id, answer, params in (("a-run", ANSWER_A, 1000), ("b-run", ANSWER_B, 234)):
        run = write_fake_run(tmp_path, run_id, labels=LABELS, ids=IDS, probabilities=[answer] * len(IDS),
                             metrics={"accuracy": 1 / 3}, summary={"total_params": params})
    run_store.save_test_images(tmp_path, run.test_key, IDS, LABELS, np.zeros((len(IDS), 8, 8, 3), np.uint8))
    return tmp_path


def with_models(store):
    """Gives a-run and b-run real Keras models that answer as their stored predictions do."""
    for run_id, answer in (("a-run", ANSWER_A), ("b-run", ANSWER_B)):
        write_constant_model(run_store.load_run(store / run_id), answer)


def with_ensemble(app):
    app.multiselect(key=f"ensemble:{TEST_KEY}").set_value(["a-run", "b-run"]).run()
    assert not app.exception, app.exception
    return app


def test_no_file_is_written_until_the_ensemble_is_saved_from_the_sidebar(open_app, answers_store):
    with_models(answers_store)
    before = sorted(path.relative_to(answers_store) for path in answers_store.rglob("*"))
    app = with_ensemble(open_app(answers_store))

    row = app.dataframe[0].value.set_index("run").loc[LABEL]
    assert row["test accuracy"] == pytest.approx(1 / 3)  # the mean picks dog for every image
    assert row["params"] == 1000 + 234
    assert row["model"] == "ensemble"
    assert sorted(path.relative_to(answers_store) for path in answers_store.rglob("*")) == before

    widget(app.sidebar.text_input, "Run folder name").set_value("duo")
    widget(app.sidebar.button, "Save as a run folder").click().run()
    assert not app.exception and not app.sidebar.error
    assert app.sidebar.success[0].value == f"Saved {LABEL} as the run `duo`."
    assert "duo" in widget(app.sidebar.multiselect, "Runs").value  # the store lists it, chosen as every new run is
    assert widget(app.sidebar.multiselect, "Ensemble of").value == []  # the saved run replaces the ensemble
    assert sorted(app.dataframe[0].value["run"]) == ["a-run", "b-run", "duo"]


@pytest.mark.parametrize("page", PAGES[1:-1])
def test_every_page_opens_with_an_ensemble_selected(open_app, answers_store, page):
    app = with_ensemble(open_app(answers_store, page))
    if page in ("views/training_curves.py", "views/architecture.py"):
        assert any(LABEL in caption.value for caption in app.caption)  # left out, and said so
        assert all(LABEL not in str(frame.value) for frame in app.dataframe)
    elif page == "views/confusion_matrices.py":
        app.selectbox(key="confusion_run_1").set_value(LABEL).run()
        assert figures(app)[1].data[0].z.tolist() == [[0, 1, 0]] * 3  # every image called a dog
    elif page == "views/misclassified.py":
        widget(app.selectbox, "Run").set_value(LABEL).run()
        assert app.caption[0].value.startswith(f"{LABEL} got 2 of 3 test images wrong")
    assert not app.exception, app.exception


def test_the_live_page_averages_the_members_outputs(open_app, answers_store):
    with_models(answers_store)
    data = io.BytesIO()
    colour_image(COLOURS["red"], (40, 30), seed=7).save(data, format="PNG")

    app = with_ensemble(open_app(answers_store, "views/live_predictions.py", timeout=120))
    app.file_uploader[0].set_value(("red.png", data.getvalue(), "image/png")).run()

    assert not app.exception and not app.error
    row = app.dataframe[0].value.set_index("run").loc[LABEL]
    assert (row["picks"], row["probability"]) == ("dog", pytest.approx(max(ANSWER_MEAN), abs=1e-5))
