"""ONNX models as runs: tiny classifiers built here with onnx.helper, whose pick for each colour image is known,
imported, run as evaluation and the Live page run them, explained by occlusion, or refused in one line."""

from __future__ import annotations

import contextlib
import io
import json
import shutil

import numpy as np
import pytest
import onnx
from onnx import TensorProto, helper, numpy_helper
from scipy.special import softmax

from colour_images import COLOURS, colour_image
from trainers.analysis.ensemble import Ensemble
from trainers.evaluate import main as evaluate
from trainers.inference.ensemble_model import mean_model, save_ensemble
from trainers.inference.explain import OCCLUSION, class_activation_map
from trainers.inference.onnx_model import OnnxClassifier, open_session
from trainers.inference.pixels import image_to_pixels
from trainers.inference.preprocessing import Preprocessing
from trainers.inference.predict import load_model, predict
from trainers.inference.projection import ONNX_HAS_NO_FEATURES
from trainers.store import run_store
from trainers.training.model_import import import_onnx

SIZE = 8
# torchvision's ImageNet normalisation: the NCHW model undoes it, so it sees 0-1 pixels only when it was applied.
MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def onnx_classifier(path, dims, *, layout="NCHW", weights=np.eye(3), mean=(0, 0, 0), std=(1, 1, 1),
                    probabilities=False, input_type=TensorProto.FLOAT, inputs=1):
    """Scores = each channel's mean (after `x * std + mean`, in the model) times `weights` (3, outputs): logits, or
    probabilities through a Softmax. An NHWC input is transposed first; a second input is added and ignored."""
    weights = np.asarray(weights, np.float32)
    nodes = [helper.make_node("Cast", ["pixels"], ["floats"], to=TensorProto.FLOAT)]
    if layout == "NHWC":
        nodes.append(helper.make_node("Transpose", ["floats"], ["nchw"], perm=[0, 3, 1, 2]))
    nodes += [helper.make_node("Mul", ["nchw" if layout == "NHWC" else "floats", "std"], ["scaled"]), helper.make_node("Add", ["scaled", "mean"], ["x"]),
              helper.make_node("GlobalAveragePool", ["x"], ["pooled"]), helper.make_node("Flatten", ["pooled"], ["flat"]),
              helper.make_node("Gemm", ["flat", "weights", "bias"], ["scores" if probabilities else "out"])]
    if probabilities:
        nodes.append(helper.make_node("Softmax", ["scores"], ["out"], axis=1))
    constants = [numpy_helper.from_array(np.asarray(values, np.float32).reshape(1, 3, 1, 1), name)
                 for name, values in (("std", std), ("mean", mean))]
    constants += [numpy_helper.from_array(weights, "weights"),
                  numpy_helper.from_array(np.zeros(weights.shape[1], np.float32), "bias")]
    graph_inputs = [helper.make_tensor_value_info("pixels", input_type, list(dims))]
    graph_inputs += [helper.make_tensor_value_info(f"extra{n}", TensorProto.FLOAT, ["N", 1]) for n in range(1, inputs)]
    graph = helper.make_graph(nodes, "colours", graph_inputs,
                              [helper.make_tensor_value_info("out", TensorProto.FLOAT, ["N", weights.shape[1]])],
                              constants)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8  # what every ONNX Runtime of the last years reads
    path.write_bytes(model.SerializeToString())
    return path


def nchw_model(path, **options):
    """NCHW, dynamic batch, logits in the order red, green, blue: the brightest channel of 0-1 pixels wins once
    the ImageNet normalisation was applied (the model undoes it)."""
    return onnx_classifier(path, ["N", 3, SIZE, SIZE], mean=MEAN, std=STD, **options)


def nhwc_model(path):
    """NHWC, a batch of 1 fixed, probabilities: softmax(4 x channel means) in the data set's order, blue, green,
    red."""
    return onnx_classifier(path, [1, SIZE, SIZE, 3], layout="NHWC", weights=4 * np.eye(3)[::-1], probabilities=True)


def with_external_data(path, location=None):
    """The model at `path` saved again as `torch.onnx.export(..., dynamo=True)` writes it: the graph at `path`,
    every weight in one file beside it (`location`, default the model's name + .data)."""
    onnx.save_model(onnx.load(str(path)), str(path), save_as_external_data=True, all_tensors_to_one_file=True,
                    location=location or f"{path.name}.data", size_threshold=0)
    return path


def without_its_weights(path):
    """An NCHW model whose weights file beside it is gone."""
    with_external_data(nchw_model(path)).with_name(f"{path.name}.data").unlink()
    return path


def with_weights_outside(path):
    """An NCHW model whose graph names a weights file outside its folder (refused whether it is there or not)."""
    with_external_data(nchw_model(path))
    model = onnx.load(str(path), load_external_data=False)
    for tensor in model.graph.initializer:
        for entry in tensor.external_data:
            if entry.key == "location":
                entry.value = "../stolen.data"
    path.write_bytes(model.SerializeToString())
    return path


def channel_means(images, scale=1 / 255, offset=0.0):
    """Each image's mean red, green and blue, as the model sees them (N, 3)."""
    return (np.asarray(images, np.float64) * scale + offset).reshape(len(images), -1, 3).mean(axis=1)


@pytest.fixture(scope="module")
def imported(tmp_path_factory, image_folder):
    """A store of two ONNX runs on the colour folder: `nchw` through the command line, `nhwc` through import_onnx;
    and what the import said on stderr."""
    root = tmp_path_factory.mktemp("onnx")
    store, cache = root / "store", root / "cache"
    said = io.StringIO()
    with contextlib.redirect_stderr(said):
        assert evaluate(["--import", str(nchw_model(root / "nchw.onnx")), "--dataset", f"folder:{image_folder}",
                         "--name", "nchw", "--artifacts", str(store), "--cache-dir", str(cache), "--input-scale",
                         "0-1", "--mean", ",".join(map(str, MEAN)), "--std", ",".join(map(str, STD)),
                         "--class-names", "red,green,blue"]) == 0
    import_onnx(nhwc_model(root / "nhwc.onnx"), f"folder:{image_folder}", store, "nhwc", input_scale="-1-1",
                cache_dir=cache)
    runs = {run.run_id: run for run in run_store.list_runs(store)[0]}
    images = run_store.load_test_images(store, runs["nchw"].test_key).select(runs["nchw"].predictions.ids)
    return {"root": root, "store": store, "cache": cache, "runs": runs, "images": images, "stderr": said.getvalue()}


def test_an_onnx_model_becomes_a_run_that_predicts_as_its_preprocessing_says(imported):
    nchw, nhwc = imported["runs"]["nchw"], imported["runs"]["nhwc"]
    assert run_store.list_runs(imported["store"])[1] == []
    assert nchw.kind == "imported" and nchw.info["model_file"] == run_store.ONNX_MODEL_FILE
    # Stored as it came: the preprocessing is in run.json, not in the graph.
    assert (nchw.path / "model.onnx").read_bytes() == (imported["root"] / "nchw.onnx").read_bytes()
    assert {key: nchw.config[key] for key in ("image_size", "input_scale", "layout", "mean", "std", "logits")} == {
        "image_size": SIZE, "input_scale": "0-1", "layout": "NCHW", "mean": list(MEAN), "std": list(STD),
        "logits": True}
    assert {key: nhwc.config[key] for key in ("input_scale", "layout", "mean", "std", "logits")} == {
        "input_scale": "-1-1", "layout": "NHWC", "mean": [0, 0, 0], "std": [1, 1, 1], "logits": False}
    assert nchw.info["versions"]["onnxruntime"] and nchw.architecture["layers"] == []
    # Its parameters: the float initializers std and mean (3 each), weights (3 x 3) and bias (3); the Cast's type
    # and the Transpose's order are attributes, not parameters.
    assert nchw.architecture["summary"]["total_params"] == nhwc.architecture["summary"]["total_params"] == 18
    # Each colour image's brightest channel is its class: every test image right (the outputs put in the data
    # set's order: in the model's, only green would be).
    assert nchw.metrics["accuracy"] == nhwc.metrics["accuracy"] == 1.0
    images = imported["images"]
    means = channel_means(images)
    np.testing.assert_allclose(nchw.predictions.probabilities, softmax(means, axis=1)[:, ::-1], atol=1e-5)
    np.testing.assert_allclose(nhwc.predictions.probabilities, softmax(4 * (2 * means - 1), axis=1)[:, ::-1],
                               atol=1e-5)
    # Loaded again, as the pages load it, it predicts what the run stores; the fixed batch of 1 image by image.
    for run in (nchw, nhwc):
        model = load_model(run)
        assert isinstance(model, OnnxClassifier) and model.input_shape == (None, SIZE, SIZE, 3)
        np.testing.assert_allclose(predict(model, images), run.predictions.probabilities, atol=1e-6)
    # No test-set map, said in one line; the run is complete without it.
    assert f"nchw: no test-set map: {ONNX_HAS_NO_FEATURES}" in imported["stderr"]
    assert nchw.test_map is None


def test_an_onnx_run_is_explained_by_occlusion(imported):
    model = load_model(imported["runs"]["nchw"])
    pixels = np.full((SIZE, SIZE, 3), 127.5, np.float32)
    pixels[:4, :4] = COLOURS["red"]  # a red corner on grey: hiding any of it lowers red's probability
    heatmap, method = class_activation_map(model, pixels, 2)  # red, in the data set's order
    assert method == OCCLUSION and heatmap.shape == (SIZE, SIZE)
    assert heatmap[:4, :4].min() > 0 and heatmap[5:].max() == heatmap[:, 5:].max() == 0  # patches of 2, stride 1


def test_an_ensemble_with_an_onnx_member_is_saved_without_a_model_and_predicts_live(imported, tmp_path):
    runs = imported["runs"]
    ensemble = Ensemble((runs["nchw"], runs["nhwc"]))
    saved = save_ensemble(ensemble, tmp_path, "both")
    assert saved.model_path is None and "nchw has no Keras model to average" in saved.no_model
    mean = (runs["nchw"].predictions.probabilities + runs["nhwc"].predictions.probabilities) / 2
    np.testing.assert_allclose(saved.predictions.probabilities, mean, atol=1e-6)
    np.testing.assert_allclose(predict(mean_model(ensemble), imported["images"]), mean, atol=1e-5)


def test_the_live_page_preprocesses_an_onnx_run_as_evaluation_did(imported, open_app):
    app = open_app(imported["store"], "views/live_predictions.py", timeout=120)
    image = colour_image(COLOURS["red"], (40, 30), seed=7)
    upload = io.BytesIO()
    image.save(upload, format="PNG")
    app.file_uploader[0].set_value(("red.png", upload.getvalue(), "image/png")).run()
    assert not app.exception and not app.error
    means = channel_means(image_to_pixels(image, SIZE)[None])[0]
    expected = {"nchw": softmax(means)[::-1], "nhwc": softmax(4 * (2 * means - 1))[::-1]}  # blue, green, red
    picks = app.dataframe[0].value.set_index("run")
    for run_id, probabilities in expected.items():
        label = imported["runs"][run_id].label
        assert picks.loc[label, "picks"] == "red"
        assert picks.loc[label, "probability"] == pytest.approx(probabilities.max(), abs=1e-5)
    captions = [shown.caption for element in app.get("image") for shown in element.proto.imgs]
    assert captions.count("its pick: red") == 2
    # An ONNX model has no layers to take gradients through: its maps are drawn by occlusion, said once.
    assert any(text.value.startswith("Where each run looked, by occlusion") for text in [*app.caption, *app.markdown])

    # A test image: the probabilities the run stores from its evaluation.
    app.file_uploader[0].set_value([]).run()
    image_id = "test/green/001.png"
    app.selectbox[0].set_value(image_id).run()
    assert not app.exception and not app.error
    picks = app.dataframe[0].value.set_index("run")
    for run in imported["runs"].values():
        stored = run.predictions.probabilities[list(run.predictions.ids).index(image_id)]
        assert picks.loc[run.label, "picks"] == "green"
        assert picks.loc[run.label, "probability"] == pytest.approx(float(stored.max()), abs=1e-6)


def test_the_pages_say_in_one_line_what_an_onnx_run_has_not(imported, open_app):
    app = open_app(imported["store"], "views/projection.py")
    assert f"nchw has no test-set map: {ONNX_HAS_NO_FEATURES}" in app.caption[0].value
    assert "None of the selected runs has a test-set map yet" in app.info[0].value
    app = open_app(imported["store"], "views/architecture.py")
    assert "No layers to show (an ONNX model: ONNX Runtime does not list its layers)" in app.caption[0].value


def test_an_onnx_run_is_evaluated_again_and_refuses_what_needs_keras_in_one_line(imported, capsys):
    run = imported["runs"]["nhwc"]
    assert evaluate([str(run.path), "--cache-dir", str(imported["cache"])]) == 0
    assert "test accuracy 1.0000" in capsys.readouterr().out
    np.testing.assert_allclose(run_store.load_run(run.path).predictions.probabilities, run.predictions.probabilities,
                               atol=1e-6)
    for flag, message in (("--test-map", ONNX_HAS_NO_FEATURES), ("--compare-tta", "is not a Keras model")):
        assert evaluate([str(run.path), flag]) == 2
        error = capsys.readouterr().err.strip()
        assert message in error and len(error.splitlines()) == 1


def test_an_onnx_model_with_its_weights_beside_it_is_imported_whole(imported, image_folder, tmp_path):
    (tmp_path / "export").mkdir()
    exported = with_external_data(nchw_model(tmp_path / "export" / "mine.onnx"))
    assert (tmp_path / "export" / "mine.onnx.data").is_file()
    store = tmp_path / "store"
    assert evaluate(["--import", str(exported), "--dataset", f"folder:{image_folder}", "--name", "mine",
                     "--artifacts", str(store), "--cache-dir", str(imported["cache"]), "--input-scale", "0-1",
                     "--mean", ",".join(map(str, MEAN)), "--std", ",".join(map(str, STD)),
                     "--class-names", "red,green,blue"]) == 0
    run = run_store.load_run(store / "mine")
    # The weights folded into the run's one model file: nothing beside it.
    assert sorted(path.name for path in run.path.glob("model.onnx*")) == ["model.onnx"]
    assert not onnx.load(str(run.path / "model.onnx"), load_external_data=False).graph.initializer[0].external_data
    images = imported["images"]
    original = OnnxClassifier(open_session(exported), Preprocessing.from_config(run.config), image_size=SIZE,
                              logits=True, order=[2, 1, 0])
    np.testing.assert_allclose(run.predictions.probabilities, predict(original, images), atol=1e-6)
    np.testing.assert_allclose(run.predictions.probabilities, imported["runs"]["nchw"].predictions.probabilities,
                               atol=1e-6)
    # As the Live page loads it.
    np.testing.assert_allclose(predict(load_model(run), images), run.predictions.probabilities, atol=1e-6)


def test_a_run_whose_model_keeps_its_weights_beside_it_loads_and_predicts(imported, tmp_path):
    source = imported["runs"]["nchw"]
    shutil.copytree(source.path, tmp_path / "nchw")
    with_external_data(tmp_path / "nchw" / run_store.ONNX_MODEL_FILE)
    assert (tmp_path / "nchw" / "model.onnx.data").is_file()
    run = run_store.load_run(tmp_path / "nchw")
    np.testing.assert_allclose(predict(load_model(run), imported["images"]), source.predictions.probabilities,
                               atol=1e-6)


def write_not_onnx(path):
    path.write_bytes(b"not a model at all")
    return path


@pytest.mark.parametrize("write, flags, message", [
    (write_not_onnx, [], "'model.onnx' cannot be read as an ONNX model: [ONNXRuntimeError]"),
    (lambda path: onnx_classifier(path, ["N", "C", "H", "W"]), [],
     "the model's input shape (N, C, H, W) does not say where the colour channels are: give --layout NCHW or NHWC"),
    (lambda path: onnx_classifier(path, ["N", 3, 3, 3]), [],
     "the model's input shape (N, 3, 3, 3) does not say where the colour channels are"),
    (nchw_model, ["--layout", "NHWC"], "with --layout NHWC, the model's input (N, 3, 8, 8) has 8 channels, not 3"),
    (lambda path: onnx_classifier(path, ["N", 3, "H", "W"]), [],
     "the model takes images of any size (input (N, 3, H, W)): give --image-size"),
    (nchw_model, ["--image-size", "16"], "the model takes 8 x 8 images (input (N, 3, 8, 8)), not --image-size 16"),
    (lambda path: onnx_classifier(path, ["N", 3, 8, 6]), [], "the model takes 8 x 6 images"),
    (lambda path: onnx_classifier(path, ["N", 3, 8]), [], "the model's input has shape (N, 3, 8), not a batch of images"),
    (lambda path: onnx_classifier(path, ["N", 3, 8, 8], inputs=2), [], "the model takes 2 inputs (pixels, extra1)"),
    (lambda path: onnx_classifier(path, ["N", 3, 8, 8], input_type=TensorProto.UINT8), [],
     "the model takes tensor(uint8) input, not float pixels"),
    (lambda path: onnx_classifier(path, ["N", 3, 8, 8], weights=np.eye(3, 2)), [],
     "the model returns 2 outputs, but 3 classes are named (blue, green, red)"),
    (nchw_model, ["--class-names", "red,green,owl"],
     "the model's classes (red, green, owl) are not the data set's (blue, green, red)"),
    (nchw_model, ["--mean", "0.5,0.5"], "--mean wants three numbers R,G,B (such as 0.485,0.456,0.406), got '0.5,0.5'"),
    (nchw_model, ["--std", "1,0,1"], "--std must be positive for every channel, got 1.0,0.0,1.0"),
    (without_its_weights, [], "the model keeps its weights in a file beside it that is missing: "),
    (with_weights_outside, [], "the model's weights file '../stolen.data' (tensor std) is not inside its folder"),
])
def test_a_model_that_does_not_fit_is_refused_in_one_line(image_folder, imported, tmp_path, capsys, write, flags,
                                                           message):
    model_file = write(tmp_path / "model.onnx")
    store = tmp_path / "store"
    assert evaluate(["--import", str(model_file), "--dataset", f"folder:{image_folder}", "--name", "mine",
                     "--artifacts", str(store), "--cache-dir", str(imported["cache"]), *flags]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith(f"error: {model_file}: ") and message in error and len(error.splitlines()) == 1
    if write is without_its_weights:
        assert error.endswith(str(tmp_path / "model.onnx.data"))
    assert run_store.list_runs(store) == ([], []) and not (store / run_store.PARTIAL_DIR).exists()


@pytest.mark.parametrize("file_name, flags, message", [
    ("model.pt", [], "--import takes a .keras or .onnx file, not .pt"),
    ("model.keras", ["--layout", "NCHW"], "--layout, --mean and --std are for an ONNX model"),
])
def test_the_command_line_refuses_other_files_and_onnx_flags_for_keras(tmp_path, capsys, file_name, flags, message):
    (tmp_path / file_name).write_bytes(b"")
    assert evaluate(["--import", str(tmp_path / file_name), "--dataset", "folder:nowhere", "--name", "mine",
                     "--artifacts", str(tmp_path / "store"), *flags]) == 2
    error = capsys.readouterr().err.strip()
    assert message in error and len(error.splitlines()) == 1


def test_a_run_json_without_the_preprocessing_is_refused_in_one_line(imported, tmp_path):
    info = json.loads((imported["runs"]["nhwc"].path / run_store.RUN_FILE).read_text())
    del info["config"]["layout"]
    run = run_store.Run(imported["runs"]["nhwc"].path, info)
    with pytest.raises(run_store.RunError, match="model.onnx of 'nhwc' cannot be run: its run.json's config lacks "
                                                 "'layout'"):
        load_model(run)
