"""A PyTorch team's environment: recording a run (from arrays, a predictions file, an ONNX model with its weights
beside it) needs nothing of requirements.txt, and neither it nor the dashboard on such runs imports TensorFlow.

Each check runs in a fresh interpreter, as a user's script or command would: one where the packages only
requirements.txt installs cannot be imported, as in an environment that installed requirements-record.txt alone;
and one where they can, which must still leave TensorFlow unimported.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from importlib.metadata import packages_distributions

import numpy as np
import pandas as pd
import pytest

from colour_images import COLOURS, make_image_folder
from paths import REPO_ROOT
from test_onnx_import import MEAN, STD, nchw_model, with_external_data
from test_project import requirement_names
from trainers.store import run_store

pytestmark = pytest.mark.slow  # fresh interpreters, each importing the libraries again

CLASSES = sorted(COLOURS)
FRAMEWORKS = ("tensorflow", "keras")


def modules_of(file_name: str) -> set[str]:
    """The top-level modules the distributions a requirements file names provide (`streamlit_cropper` for
    streamlit-cropper)."""
    names = requirement_names(file_name)
    return {module for module, distributions in packages_distributions().items()
            if any(distribution.lower() in names for distribution in distributions)}


def run_fresh(code: str, *, blocked: set[str] = frozenset()) -> dict:
    """Runs `code` in a new interpreter in which the modules `blocked` cannot be imported; returns what it printed
    last as JSON, with the frameworks it imported added under "imported"."""
    preamble = textwrap.dedent(f"""
        import json, sys
        sys.path[:0] = [{str(REPO_ROOT / 'tests')!r}, {str(REPO_ROOT)!r}]
        BLOCKED = {sorted(blocked)!r}

        class NotInstalled:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in BLOCKED:
                    raise ModuleNotFoundError(f"No module named {{name!r}} (not installed here)", name=name)

        sys.meta_path.insert(0, NotInstalled())
        result = {{}}
    """)
    ending = f"\nresult['imported'] = sorted(m for m in {FRAMEWORKS!r} if m in sys.modules)\nprint(json.dumps(result))\n"
    done = subprocess.run([sys.executable, "-c", preamble + textwrap.dedent(code) + ending], capture_output=True,
                          text=True, cwd=REPO_ROOT, timeout=600, env={"TF_CPP_MIN_LOG_LEVEL": "3", "PATH": ""})
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """A class-per-folder data set, a TensorBoard log as PyTorch's SummaryWriter writes one (the split in the tag),
    a predictions CSV naming images as `<class>/<file>`, and an ONNX model whose weights are in a file beside it."""
    import tensorflow as tf

    root = tmp_path_factory.mktemp("inputs")
    folder = make_image_folder(root / "colours", per_class=2, test_per_class=2)
    with tf.summary.create_file_writer(str(root / "log")).as_default():
        for step, (loss, accuracy) in enumerate([(1.0, 0.5), (0.5, 0.75)]):
            tf.summary.scalar("Loss/train", loss, step=step)
            tf.summary.scalar("Accuracy/val", accuracy, step=step)
    ids = sorted(str(path.relative_to(folder / "test")) for path in (folder / "test").rglob("*.png"))
    picks = [name.split("/")[0] for name in ids]
    pd.DataFrame({"id": ids, **{name: [0.9 if pick == name else 0.05 for pick in picks] for name in CLASSES}}).to_csv(
        root / "predictions.csv", index=False)
    model = with_external_data(nchw_model(root / "mine.onnx"))
    return {"folder": folder, "log": root / "log", "csv": root / "predictions.csv", "onnx": model,
            "store": root / "store", "cache": root / "cache"}


RECORD = """
    import numpy as np
    from trainers.evaluate import main
    from trainers.record import record_run
    inputs = {inputs!r}
    dataset = "folder:" + inputs["folder"]
    common = ["--dataset", dataset, "--artifacts", inputs["store"], "--cache-dir", inputs["cache"]]
    labels = [0, 0, 1, 1, 2, 2]
    record_run("arrays", labels=labels, probabilities=np.eye(3)[labels] * 0.8 + 0.1 / 1.5, class_names={classes!r},
               image_size=8, dataset=dataset, history=inputs["log"], store=inputs["store"], cache_dir=inputs["cache"])
    assert main(["--import-predictions", inputs["csv"], "--name", "csv", "--image-size", "8", *common]) == 0
    assert main(["--import", inputs["onnx"], "--name", "onnx", "--input-scale", "0-1", "--mean", {mean!r},
                 "--std", {std!r}, *common]) == 0
"""


def record_code(inputs, suffix: str) -> str:
    paths = {key: str(value) + (f"-{suffix}" if key == "store" else "") for key, value in inputs.items()}
    return RECORD.format(inputs=paths, classes=CLASSES, mean=",".join(map(str, MEAN)), std=",".join(map(str, STD)))


def test_recording_needs_nothing_requirements_txt_installs(inputs):
    blocked = modules_of("requirements.txt")
    assert {"tensorflow", "keras", "streamlit"} <= blocked
    assert run_fresh(record_code(inputs, "bare"), blocked=blocked)["imported"] == []
    store = inputs["store"].parent / "store-bare"
    runs = {run.run_id: run for run in run_store.list_runs(store)[0]}
    assert sorted(runs) == ["arrays", "csv", "onnx"]
    assert runs["arrays"].history[["loss", "val_accuracy"]].values.tolist() == [[1.0, 0.5], [0.5, 0.75]]
    assert {run.metrics["accuracy"] for run in runs.values()} == {1.0, 1 / 3}  # the ONNX model: the brightest channel
    assert len({run.test_key for run in runs.values()}) == 1  # all three on the folder's test set


def test_recording_and_the_dashboard_on_such_runs_leave_tensorflow_unimported_where_it_is_installed(inputs):
    record = record_code(inputs, "full").replace('history=inputs["log"], ', "")  # tbparse's reader imports it
    assert run_fresh(record)["imported"] == []
    pages = f"""
        import os
        os.environ["ARTIFACTS_DIR"] = {str(inputs['store']) + '-full'!r}
        from streamlit.testing.v1 import AppTest
        from dashboard_server import VIEWS
        app = AppTest.from_file("dashboard/routes.py", default_timeout=120).run()
        result["pages"] = {{}}
        for page in VIEWS:
            app.switch_page(page).run()
            result["pages"][page] = [str(error.value) for error in app.exception]
        # Live predictions (the last page): the ONNX run classifies a test image, and its map (occlusion) is drawn.
        picker = next(box for box in app.selectbox if box.label == "Or pick a test image")
        picker.set_value("test/red/000.png").run()
        result["live"] = [str(error.value) for error in app.exception] or [
            element.value for element in (*app.markdown, *app.caption, *app.dataframe) if isinstance(element.value, str)]
    """
    found = run_fresh(pages)
    assert found["imported"] == []
    assert all(errors == [] for errors in found["pages"].values()), found["pages"]
    assert any(text.startswith("**imported / onnx** picks **") for text in found["live"]), found["live"]
    assert any(text.startswith("Where each run looked, by occlusion") for text in found["live"]), found["live"]


def test_a_command_that_needs_tensorflow_starts_it_without_its_start_up_lines():
    """TensorFlow's C++ start-up lines (oneDNN, no CUDA driver, cuInit failed) bypass sys.stderr; a command starts it
    with standard error silenced, then writes to it as usual. Setting TF_CPP_MIN_LOG_LEVEL shows them again."""
    code = ("import sys\nfrom trainers.inference import machine\nmachine.start_tensorflow_quietly()\n"
            "import keras\nkeras.ops.ones(2)\nprint('ours', file=sys.stderr)\n")
    environment = {name: value for name, value in os.environ.items() if name != "TF_CPP_MIN_LOG_LEVEL"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO_ROOT,
                          env=environment, timeout=600)
    assert (done.returncode, done.stderr) == (0, "ours\n")
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO_ROOT,
                           env={**environment, "TF_CPP_MIN_LOG_LEVEL": "0"}, timeout=600)
    assert shown.returncode == 0 and shown.stderr.endswith("ours\n")
