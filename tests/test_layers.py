"""The layers of pyproject.toml's import contracts hold on the real import graph, and an upward import breaks them."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from paths import REPO_ROOT

PACKAGES = ("trainers", "dashboard")


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    """import-linter on the packages under `root`, found there first, with its cache kept out of the tree."""
    environment = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run([sys.executable, "-c", "import sys; from importlinter.cli import lint_imports_command; "
                           "sys.exit(lint_imports_command())", "--no-cache", "--no-logo", "pyproject.toml"],
                          cwd=root, env=environment, capture_output=True, text=True, timeout=120)


@pytest.fixture
def tree_copy(tmp_path) -> Path:
    """The two packages and pyproject.toml, copied where a test may add an import."""
    for package in PACKAGES:
        shutil.copytree(REPO_ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO_ROOT / "pyproject.toml", tmp_path)
    return tmp_path


@pytest.mark.slow  # import-linter in a fresh interpreter
def test_every_contract_is_kept_by_the_code():
    result = lint_imports(REPO_ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    contracts = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    assert len(contracts) == 3
    for contract in contracts:
        assert re.search(rf"{re.escape(contract['name'][:60])}.*KEPT", result.stdout, re.S), result.stdout


def test_every_module_of_the_packages_sits_in_a_layer():
    """A new module is in a layer, so the contract covers it: the layers name every subpackage and top module."""
    layers = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"][0]
    named = {name.strip() for layer in layers["layers"] for name in layer.split("|")}
    present = {f"{package}.{path.stem if path.is_file() else path.name}"
               for package in PACKAGES for path in (REPO_ROOT / package).iterdir()
               if (path.suffix == ".py" and path.stem != "__init__") or (path / "__init__.py").is_file()}
    assert present == named


@pytest.mark.slow  # import-linter in a fresh interpreter
@pytest.mark.parametrize("module, upward", [
    ("trainers/store/run_store.py", "from trainers.analysis import metrics"),  # the store reads analysis
    ("trainers/analysis/metrics.py", "from trainers.inference import predict"),  # analysis runs a model
    ("trainers/inference/explain.py", "from trainers.training import models"),  # inference builds a model
    ("trainers/training/data.py", "from trainers import train"),  # training calls a command line
    ("dashboard/lib/figures.py", "from dashboard.views import home"),  # the library lays out a page
])
def test_an_upward_import_breaks_the_layers(tree_copy, module, upward):
    path = tree_copy / module
    # Inside a function, as the code defers heavy imports: those count as imports too.
    path.write_text(path.read_text() + f"\n\ndef _upward():\n    {upward}\n")
    result = lint_imports(tree_copy)
    assert result.returncode == 1
    assert "Imports only point down BROKEN" in result.stdout
    importer = module.removesuffix(".py").replace("/", ".")
    assert f"{importer} ->" in result.stdout


@pytest.mark.slow  # import-linter in a fresh interpreter
@pytest.mark.parametrize("module, forbidden, contract", [
    # The store and the analysis stay light: the dashboard starts without TensorFlow.
    ("trainers/store/progress.py", "import keras", r"never import TensorFlow"),
    # Even below the layer it sits on: the dashboard runs shipped models and never trains one.
    ("dashboard/lib/live.py", "from trainers.training import fit", r"never imports training or the command\s+lines"),
])
def test_a_forbidden_import_breaks_its_contract(tree_copy, module, forbidden, contract):
    path = tree_copy / module
    path.write_text(path.read_text() + f"\n\ndef _forbidden():\n    {forbidden}\n")
    result = lint_imports(tree_copy)
    assert result.returncode == 1
    assert re.search(rf"{contract}\s+BROKEN", result.stdout), result.stdout
