"""Ensembles: the mean of runs' probabilities worked out by hand, saved as a run folder, and shown on every page."""

from __future__ import annotations

import io
import math
import shutil

import numpy as np
import pytest

from app_pages import PAGES, figures, widget
from colour_images import COLOURS, colour_image
from fake_runs import write_fake_run
from trainers import compare
from trainers.store import run_store
from trainers.inference.pixels import image_to_pixels
from trainers.analysis.ensemble import Ensemble
from trainers.inference.ensemble_model import mean_model, save_ensemble
from trainers.inference.predict import load_model

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
    from dashboard.lib.runs import check_run

    runs = {run.run_id: run for run in run_store.list_runs(store_copy)[0]}
    ensemble = Ensemble((runs["plain"], runs["fast"]))

    saved = save_ensemble(ensemble, store_copy, "duo")

    assert saved.path == store_copy / "duo" and not (store_copy / run_store.PARTIAL_DIR).exists()
    check_run(saved)  # every part a page reads
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

    with pytest.raises(FileExistsError, match="already exists"):
        save_ensemble(ensemble, store_copy, "duo")
    with pytest.raises(ValueError, match="Invalid run name"):
        save_ensemble(ensemble, store_copy, "../duo")
    assert not (store_copy / run_store.PARTIAL_DIR).exists()


# ---------------------------------------------------------------- the dashboard


def mean_of_members(tiny_runs) -> np.ndarray:
    """plain's and fast's stored probabilities averaged by hand, in plain's image order."""
    plain, fast = tiny_runs["plain"].predictions, tiny_runs["fast"].predictions
    position = {image_id: index for index, image_id in enumerate(fast.ids)}
    return (plain.probabilities + fast.probabilities[[position[image_id] for image_id in plain.ids]]) / 2


def with_ensemble(app, tiny_runs):
    key = f"ensemble:{tiny_runs['plain'].test_key}"
    app.multiselect(key=key).set_value(["plain", "fast"]).run()
    assert not app.exception, app.exception
    return app


def test_no_file_is_written_until_the_ensemble_is_saved_from_the_sidebar(open_app, store_copy, tiny_runs):
    before = sorted(path.relative_to(store_copy) for path in store_copy.rglob("*"))
    app = with_ensemble(open_app(store_copy), tiny_runs)

    table = app.dataframe[0].value.set_index("run")
    row = table.loc["ensemble of plain + fast"]
    mean = mean_of_members(tiny_runs)
    assert row["test accuracy"] == pytest.approx((mean.argmax(axis=1) == tiny_runs["plain"].predictions.labels).mean())
    assert row["params"] == sum(run.architecture["summary"]["total_params"] for run in tiny_runs.values())
    assert row["model"] == "ensemble"
    assert sorted(path.relative_to(store_copy) for path in store_copy.rglob("*")) == before

    widget(app.sidebar.text_input, "Run folder name").set_value("duo")
    widget(app.sidebar.button, "Save as a run folder").click().run()
    assert not app.exception and not app.sidebar.error
    assert app.sidebar.success[0].value == "Saved ensemble of plain + fast as the run `duo`."
    assert "duo" in widget(app.sidebar.multiselect, "Runs").value  # the store lists it, chosen as every new run is
    assert widget(app.sidebar.multiselect, "Ensemble of").value == []  # the saved run replaces the ensemble
    assert sorted(app.dataframe[0].value["run"]) == ["duo", "fast", "plain"]


@pytest.mark.parametrize("page", PAGES[1:-1])
def test_every_page_opens_with_an_ensemble_selected(open_app, tiny_store, tiny_runs, page):
    app = with_ensemble(open_app(tiny_store, page), tiny_runs)
    label = "ensemble of plain + fast"
    if page in ("views/training_curves.py", "views/architecture.py"):
        assert any(label in caption.value for caption in app.caption)  # left out, and said so
        assert all(label not in str(frame.value) for frame in app.dataframe)
    elif page == "views/confusion_matrices.py":
        app.selectbox(key="confusion_run_1").set_value(label).run()
        mean, labels = mean_of_members(tiny_runs), tiny_runs["plain"].predictions.labels
        expected = np.zeros((3, 3), int)
        np.add.at(expected, (labels, mean.argmax(axis=1)), 1)
        assert figures(app)[1].data[0].z.tolist() == expected.tolist()
    elif page == "views/misclassified.py":
        widget(app.selectbox, "Run").set_value(label).run()
        mean, labels = mean_of_members(tiny_runs), tiny_runs["plain"].predictions.labels
        wrong = int((mean.argmax(axis=1) != labels).sum())
        assert app.caption[0].value.startswith(f"{label} got {wrong} of {len(labels)} test images wrong")
    assert not app.exception, app.exception


def test_the_live_page_averages_the_members_outputs(open_app, tiny_store, tiny_runs):
    image = colour_image(COLOURS["red"], (40, 30), seed=7)
    outputs = []
    for run in tiny_runs.values():
        pixels = image_to_pixels(image, run.image_size)[None].astype(np.float32)
        outputs.append(load_model(run).predict(pixels, verbose=0)[0])
    mean = np.mean(outputs, axis=0)
    data = io.BytesIO()
    image.save(data, format="PNG")

    app = with_ensemble(open_app(tiny_store, "views/live_predictions.py", timeout=120), tiny_runs)
    app.file_uploader[0].set_value(("red.png", data.getvalue(), "image/png")).run()

    assert not app.exception and not app.error
    picks = app.dataframe[0].value.set_index("run")
    row = picks.loc["ensemble of plain + fast"]
    assert row["picks"] == ["blue", "green", "red"][int(mean.argmax())]
    assert row["probability"] == pytest.approx(float(mean.max()), abs=1e-5)
