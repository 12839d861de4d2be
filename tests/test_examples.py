"""The examples/ scripts, run as a user runs them, on the colour folder: each records a run that keeps the contract,
on the same test set as the presets trained on that folder."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from paths import REPO_ROOT
from run_checks import check_complete_run

pytestmark = pytest.mark.slow  # fresh interpreters, one of them training


@pytest.mark.parametrize("script, options", [("keras_callback.py", ["--epochs", "2"]),
                                             ("predictions_from_arrays.py", [])])
def test_an_example_records_a_run_compared_with_the_presets_of_its_folder(script, options, image_folder, tiny_runs,
                                                                          tmp_path):
    environment = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    done = subprocess.run([sys.executable, str(REPO_ROOT / "examples" / script), str(image_folder), "--store",
                           str(tmp_path), "--size", "16", "--name", "mine", *options],
                          capture_output=True, text=True, env=environment, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    run = check_complete_run(tmp_path / "mine")
    assert run.test_key == tiny_runs["plain"].test_key
    assert run.info["command"].startswith("python ") and script in run.info["command"]
