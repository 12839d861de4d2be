"""The test-set map: penultimate features, their 2-D projection, the file in the run folder, and the page."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

from dashboard.lib import projection as test_map
from fake_runs import OUTCOME_LABELS, OUTCOME_WRONG, write_fake_run, write_outcome_run
from trainers.inference import projection
from trainers.store import run_store
from trainers.evaluate import main as evaluate_main
from trainers.inference.predict import load_model


def test_features_are_the_input_of_the_logits_layer_worked_out_by_hand():
    import keras

    inputs = keras.Input((2, 2, 1))
    hidden = keras.layers.Dense(3, activation="relu", name="hidden")(keras.layers.Flatten()(inputs))
    logits = keras.layers.Dense(2, name="logits")(hidden)
    model = keras.Model(inputs, keras.layers.Activation("softmax")(logits))
    weights = np.array([[1, 0, -1], [0, 1, 0], [0, 0, 1], [1, 1, 1]], np.float32)
    model.get_layer("hidden").set_weights([weights, np.array([0, -1, 0], np.float32)])
    images = np.array([[[[1], [2]], [[3], [4]]], [[[0], [0]], [[0], [1]]]], np.float32)
    # relu(x . W + b): [1+4, 2+4-1, -1+3+4] and [0+1, 0+1-1, 0+0+1]
    expected = np.array([[5, 5, 6], [1, 0, 1]], np.float32)

    features, described = projection.penultimate_features(model, images)
    np.testing.assert_allclose(features, expected)
    assert described == "input of layer 'logits' (3 values)"


def test_features_of_a_tta_model_bypass_its_views(tiny_store):
    from trainers.inference.network import trained_network

    run = run_store.load_run(tiny_store / "fast")  # ships with shifted views
    model = load_model(run)
    images = run_store.load_test_images(tiny_store, run.test_key).images[:3]
    features, described = projection.penultimate_features(model, images)
    network = trained_network(model)
    assert network is not model and described.endswith("test-time views bypassed)")
    import keras
    direct = keras.Model(network.inputs, network.get_layer("logits").input).predict_on_batch(images)
    np.testing.assert_allclose(features, np.asarray(direct).reshape(3, -1), rtol=1e-5)


def test_a_model_without_a_dense_layer_has_no_map(tmp_path):
    import keras

    inputs = keras.Input((4, 4, 3))
    model = keras.Model(inputs, keras.layers.Softmax()(keras.layers.GlobalAveragePooling2D()(inputs)))
    with pytest.raises(ValueError, match="dense layer"):
        projection.penultimate_features(model, np.zeros((2, 4, 4, 3), np.float32))
    assert projection.add_test_map(tmp_path, model, ["a", "b"], np.zeros((2, 4, 4, 3))) is None
    assert not (tmp_path / run_store.TEST_MAP_FILE).exists()


def test_projection_keeps_separate_clusters_apart():
    rng = np.random.default_rng(0)
    # Three clusters far apart in 64 dimensions: every point's nearest neighbour on the map is of its cluster.
    centres = rng.normal(0, 10, (3, 64))
    cluster = np.repeat(np.arange(3), 40)
    features = centres[cluster] + rng.normal(0, 1, (120, 64))
    coordinates, method = projection.project(features)
    assert coordinates.shape == (120, 2)
    distances = np.linalg.norm(coordinates[:, None] - coordinates[None], axis=-1)
    np.fill_diagonal(distances, np.inf)
    assert (cluster[distances.argmin(axis=1)] == cluster).all()
    assert method["method"] == "t-SNE" and method["pca_components"] == 50 and method["perplexity"] == 30
    np.testing.assert_allclose(coordinates.mean(axis=0), 0, atol=1e-6)
    assert coordinates.std() == pytest.approx(1)


def test_projection_of_tiny_sets():
    coordinates, method = projection.project(np.arange(12.0).reshape(6, 2))
    assert coordinates.shape == (6, 2) and method["perplexity"] == pytest.approx(5 / 3)
    coordinates, method = projection.project(np.array([[0.0, 1, 2], [2, 1, 0]]))
    assert method["method"] == "PCA" and coordinates.shape == (2, 2)
    assert abs(coordinates[0, 0] - coordinates[1, 0]) == pytest.approx(np.sqrt(8))  # the two points' distance
    with pytest.raises(ValueError, match="no images"):
        projection.project(np.zeros((0, 4)))
    # A diverged network gives every image the same features: no map to draw (t-SNE would crash on them).
    coordinates, method = projection.project(np.ones((50, 8)))
    assert not coordinates.any() and method == {"method": "none", "reason": "the features are the same for every image"}


def test_map_file_is_written_and_read(tmp_path):
    ids = ["test/a/0", "test/b/1", "test/a/2"]
    coordinates = np.array([[0.5, -1.25], [2.0, 3.0], [-0.001, 100.0]])
    run_store.write_test_map(tmp_path, ids, coordinates, {"method": "t-SNE", "perplexity": 1.0})
    assert sorted(path.name for path in tmp_path.iterdir()) == [run_store.TEST_MAP_FILE]  # nothing left aside
    read = run_store.read_test_map(tmp_path / run_store.TEST_MAP_FILE)
    assert read.ids.tolist() == ids and read.coordinates.dtype == np.float16
    np.testing.assert_allclose(read.coordinates, coordinates, rtol=1e-3)
    assert read.method == {"method": "t-SNE", "perplexity": 1.0}

    with pytest.raises(ValueError, match=r"\(3, 2\)"):
        run_store.write_test_map(tmp_path, ids, coordinates[:2], {})
    np.savez(tmp_path / run_store.TEST_MAP_FILE, ids=np.array(ids), coordinates=np.full((3, 2), np.nan, np.float16),
             method=np.array("{}"))
    with pytest.raises(run_store.RunError, match="finite"):
        run_store.read_test_map(tmp_path / run_store.TEST_MAP_FILE)


@pytest.fixture
def mapped(tiny_store, tmp_path, capsys):
    """A copy of the tiny store's plain run, with its map as `trainers.evaluate --test-map` writes it, and what
    the command printed."""
    shutil.copytree(tiny_store, tmp_path / "store")
    path = tmp_path / "store" / "plain"
    (path / run_store.TEST_MAP_FILE).unlink()
    status = evaluate_main([str(path), "--test-map"])
    return run_store.load_run(path), status, capsys.readouterr().out


# How `trainers.evaluate --test-map` describes the map it writes.
MAP_METHOD = {"method": "t-SNE", "perplexity": 30.0, "pca_components": 50, "library": "scikit-learn 1.9.1",
              "features": "input of layer 'logits' (2 values)"}


@pytest.fixture
def mapped_store(tmp_path):
    """Hand-made runs first and second of the forty outcome images, wrong on four and on five, each with a map as
    `trainers.evaluate --test-map` writes one, and the test images. Their names sort as they are written, so that
    the store lists first first even when the two finish in the same second."""
    coordinates = np.random.default_rng(0).normal(size=(len(OUTCOME_LABELS), 2))
    for run_id, wrong in (("first", OUTCOME_WRONG["best"]), ("second", OUTCOME_WRONG["close"])):
        run = write_outcome_run(tmp_path, run_id, OUTCOME_LABELS, wrong)
        run_store.write_test_map(run.path, run.predictions.ids, coordinates, MAP_METHOD)
    run_store.save_test_images(tmp_path, run.test_key, run.predictions.ids, OUTCOME_LABELS,
                               np.zeros((len(OUTCOME_LABELS), 8, 8, 3), np.uint8))
    return tmp_path


@pytest.fixture
def mapped_run(mapped_store):
    return run_store.load_run(mapped_store / "first")


def test_evaluate_adds_the_map_of_every_test_image(mapped):
    mapped_run, status, printed = mapped
    assert status == 0 and "test-set map written (t-SNE of the input of layer 'logits'" in printed
    stored = mapped_run.test_map
    assert stored.ids.tolist() == mapped_run.predictions.ids.tolist()
    assert stored.coordinates.shape == (len(stored.ids), 2)
    assert stored.method["method"] == "t-SNE" and stored.method["random_state"] == mapped_run.config["seed"]


def test_every_trained_run_has_its_map(tiny_store):
    for run in run_store.list_runs(tiny_store)[0]:
        assert run.test_map.ids.tolist() == run.predictions.ids.tolist()
        assert run.info["test_map_seconds"] > 0


def test_map_table_aligns_the_map_with_the_predictions(mapped_run):
    table = test_map.map_table(mapped_run)
    predictions = mapped_run.predictions
    row = table.set_index("id").loc[predictions.ids[0]]
    assert row["true"] == mapped_run.class_names[predictions.labels[0]]
    assert row["predicted"] == mapped_run.class_names[predictions.probabilities[0].argmax()]
    assert row["confidence"] == pytest.approx(predictions.probabilities[0].max())
    assert row["outcome"] == ("right" if row["true"] == row["predicted"] else "wrong")

    # A map of other images than the predictions' is refused, naming the command that remakes it.
    run_store.write_test_map(mapped_run.path, ["other"] * len(table), np.zeros((len(table), 2)), {})
    with pytest.raises(run_store.RunError, match="--test-map"):
        test_map.map_table(run_store.load_run(mapped_run.path))


def test_selection_and_its_order():
    selection = {"points": [{"customdata": ["b"]}, {"customdata": ["a"]}, {"customdata": ["b"]}, {"x": 1}]}
    assert test_map.selected_ids(selection) == ["b", "a"]
    assert test_map.selected_ids(None) == [] and test_map.selected_ids({}) == []
    table = pd.DataFrame({"id": ["a", "b", "c", "d"], "outcome": ["right", "wrong", "wrong", "right"],
                          "confidence": [0.9, 0.6, 0.8, 0.5]})
    assert test_map.selected_rows(table, ["a", "b", "c"])["id"].tolist() == ["c", "b", "a"]


def test_method_in_one_line():
    method = {"method": "t-SNE", "perplexity": 30.0, "pca_components": 50, "library": "scikit-learn 1.9.1",
              "features": "input of layer 'logits' (256 values)"}
    assert test_map.describe_method(method) == ("t-SNE (perplexity 30) of PCA to 50 dimensions of the input of "
                                                "layer 'logits' (256 values), scikit-learn 1.9.1")
    assert test_map.describe_method({}) == "an unknown method"


def test_map_figure_marks_mistakes_and_carries_ids(mapped_run):
    table = test_map.map_table(mapped_run)
    for colour_by in test_map.COLOUR_BY:
        figure = test_map.map_figure(table, mapped_run.class_names, colour_by)
        points = {point_id: trace.marker.symbol for trace in figure.data
                  for point_id in np.asarray(trace.customdata)[:, 0]}
        assert len(points) == len(table)
        for row in table.itertuples():
            assert points[row.id] == ("x" if row.outcome == "wrong" else "circle")


def test_map_draws_exactly_the_mistakes_of_known_predictions_as_crosses(tmp_path):
    # Hand-made predictions: the dog (image 1) is called owl, the others are right, so both kinds of point are
    # drawn whatever a trained model gets right.
    run = write_fake_run(tmp_path, "known", probabilities=[[0.8, 0.1, 0.1], [0.1, 0.3, 0.6], [0.2, 0.2, 0.6]])
    run_store.write_test_map(run.path, run.predictions.ids, [[0, 0], [1, 1], [2, 0]], {"method": "t-SNE"})
    table = test_map.map_table(run_store.load_run(run.path))
    assert table["predicted"].tolist() == ["cat", "owl", "owl"]
    assert table["outcome"].tolist() == ["right", "wrong", "right"]
    assert table["confidence"].tolist() == pytest.approx([0.8, 0.6, 0.6])
    for colour_by in test_map.COLOUR_BY:
        figure = test_map.map_figure(table, run.class_names, colour_by)
        symbols = {point_id: trace.marker.symbol for trace in figure.data
                   for point_id in np.asarray(trace.customdata)[:, 0]}
        assert symbols == {"test/000.png": "circle", "test/001.png": "x", "test/002.png": "circle"}


def test_a_map_of_many_classes_colours_them_along_one_scale_in_two_traces(tmp_path):
    count = test_map.MAX_LEGEND_CLASSES + 1
    names = [f"class {index:02d}" for index in range(count)]
    labels = np.arange(count)
    predicted = np.where(labels == 3, 4, labels)  # one mistake: class 03 taken for 04
    run = write_fake_run(tmp_path, "wide", labels=labels, probabilities=np.eye(count)[predicted], class_names=names)
    run_store.write_test_map(run.path, run.predictions.ids, np.c_[labels, labels], {"method": "t-SNE"})
    table = test_map.map_table(run_store.load_run(run.path))
    for colour_by, column in (("true class", "true"), ("predicted class", "predicted")):
        figure = test_map.map_figure(table, names, colour_by)
        assert [trace.marker.symbol for trace in figure.data] == ["circle", "x"]  # not a trace per class
        hues = {point_id: hue for trace in figure.data
                for point_id, hue in zip(np.asarray(trace.customdata)[:, 0], trace.marker.color)}
        assert [hues[image_id] for image_id in table["id"]] == [names.index(name) for name in table[column]]
        assert figure.layout.coloraxis.showscale is False
    # At 24 classes, a trace per class and symbol: 23 classes of right points, and class 03's one cross.
    assert len(test_map.map_figure(table.iloc[:-1], names[:-1], "true class").data) == 24


def test_page_draws_the_map_and_names_runs_without_one(open_app, mapped_store):
    (mapped_store / "second" / run_store.TEST_MAP_FILE).unlink()
    app = open_app(mapped_store, "views/projection.py")
    assert app.title[0].value == "Test-set map"
    first = run_store.load_run(mapped_store / "first")
    second = run_store.load_run(mapped_store / "second")
    assert app.caption[0].value == (f"Not mapped: {second.label} has no test-set map: add it with "
                                    f"`python -m trainers.evaluate {second.path} --test-map`.")
    assert app.caption[1].value == (
        "One point per test image (40; 4 mistakes drawn as crosses): "
        "images the network finds alike lie close, and the axes mean nothing. Drag a box, or pick the lasso in the "
        "chart's toolbar, to see the images below.")
    (method,) = app.expander
    assert method.label == "How it is computed"
    assert method.markdown[0].value.startswith(f"Placed by {test_map.describe_method(first.test_map.method)}. ")
    assert method.markdown[0].value.startswith("Placed by t-SNE (perplexity ")
    assert len(app.get("plotly_chart")) == 1
    assert app.info[0].value.startswith("Select points on the map")
    next(box for box in app.selectbox if box.label == "Colour by").set_value("confidence").run()
    assert not app.exception and len(app.get("plotly_chart")) == 1


def test_page_reads_only_the_chosen_runs_map_and_names_one_it_cannot_read(open_app, mapped_store):
    (mapped_store / "second" / run_store.TEST_MAP_FILE).write_bytes(b"not a zip file")
    app = open_app(mapped_store, "views/projection.py")
    assert not app.error and len(app.get("plotly_chart")) == 1  # first's map: second's is not read
    second = run_store.load_run(mapped_store / "second")
    app.selectbox[0].set_value(second.label).run()
    assert not app.exception and not app.get("plotly_chart")
    assert app.error[0].value.startswith(f"The test-set map of {second.label} cannot be drawn: "
                                         f"unreadable {run_store.TEST_MAP_FILE}")


def test_page_without_any_map_says_how_to_add_one(open_app, mapped_store):
    for name in ("first", "second"):
        (mapped_store / name / run_store.TEST_MAP_FILE).unlink()
    app = open_app(mapped_store, "views/projection.py")
    assert app.info[0].value.startswith("None of the selected runs has a test-set map yet")
    store = mapped_store.resolve()
    assert app.code[0].value == f"python -m trainers.evaluate {store / 'first'} {store / 'second'} --test-map"
