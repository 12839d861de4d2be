"""The project's set-up files agree with the code: requirements cover its imports, Streamlit's config its limits."""

from __future__ import annotations

import ast
import re
import sys
import tomllib

from paths import REPO_ROOT

# Import name -> the distribution that provides it, where they differ.
DISTRIBUTIONS = {"sklearn": "scikit-learn", "PIL": "pillow", "streamlit_cropper": "streamlit-cropper",
                 "pillow_heif": "pillow-heif"}
# Folders of scripts that are not part of the installed packages: the tests, the benchmarks, other tools.
SCRIPT_FOLDERS = ("tests", "benchmarks", "scripts")
# Their scripts import their siblings, and the helpers of tests/, by name.
LOCAL_PACKAGES = {"trainers", "dashboard", *SCRIPT_FOLDERS,
                  *(path.stem for folder in SCRIPT_FOLDERS for path in (REPO_ROOT / folder).glob("*.py"))}


def requirement_names(file_name: str) -> set[str]:
    lines = (REPO_ROOT / file_name).read_text().splitlines()
    return {re.split(r"[<>=!~\[ ;]", line.strip(), maxsplit=1)[0].lower()
            for line in lines if line.strip() and not line.lstrip().startswith("#")}


def imported_packages(folder: str) -> set[str]:
    names = set()
    for path in (REPO_ROOT / folder).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module.split(".")[0])
    return {DISTRIBUTIONS.get(name, name).lower() for name in names - set(sys.stdlib_module_names) - LOCAL_PACKAGES}


RUN_REQUIREMENTS = ("requirements-record.txt", "requirements.txt")  # `pip install -e .` installs both


def test_requirements_name_every_package_the_code_imports():
    required = set().union(*map(requirement_names, RUN_REQUIREMENTS))
    assert imported_packages("trainers") | imported_packages("dashboard") <= required
    scripts = set().union(*(imported_packages(folder) for folder in SCRIPT_FOLDERS))
    assert scripts <= required | requirement_names("requirements-dev.txt")


def test_every_requirement_has_a_floor_and_a_cap():
    for file_name in (*RUN_REQUIREMENTS, "requirements-cloud.txt", "requirements-dev.txt"):
        for line in (REPO_ROOT / file_name).read_text().splitlines():
            if line.strip() and not line.startswith("#"):
                assert ">=" in line and "<" in line, line


def test_the_recorders_requirements_hold_no_framework_and_no_dashboard():
    """A PyTorch team installs requirements-record.txt alone: neither TensorFlow nor the dashboard is in it, and no
    package is in both files."""
    record, rest = requirement_names("requirements-record.txt"), requirement_names("requirements.txt")
    assert not record & {"tensorflow", "keras", "streamlit", "plotly"} and not record & rest


def test_pyproject_installs_both_packages_and_reads_the_requirements_files():
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    dynamic = project["tool"]["setuptools"]["dynamic"]
    assert dynamic["dependencies"]["file"] == list(RUN_REQUIREMENTS)
    assert dynamic["optional-dependencies"]["test"]["file"] == ["requirements-dev.txt"]
    assert dynamic["optional-dependencies"]["cloud"]["file"] == ["requirements-cloud.txt"]
    assert {"trainers", "dashboard"} <= set(project["tool"]["setuptools"]["packages"]["find"]["include"])


def test_pyproject_installs_every_subpackage():
    """`pip install -e .` finds each folder of the layers: a new one is not left out of an install."""
    from setuptools import find_packages

    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    found = set(find_packages(REPO_ROOT, include=project["tool"]["setuptools"]["packages"]["find"]["include"]))
    packages = {".".join(path.parent.relative_to(REPO_ROOT).parts)
                for root in ("trainers", "dashboard") for path in (REPO_ROOT / root).rglob("__init__.py")}
    assert {"trainers.store", "trainers.analysis", "trainers.inference", "trainers.training"} <= packages
    assert found == packages


def test_streamlit_config_matches_the_live_page_sends_nothing_and_skips_the_collection_per_click():
    from dashboard.lib import live

    config = tomllib.loads((REPO_ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["maxUploadSize"] == live.MAX_UPLOAD_MB
    assert config["server"]["address"] == "localhost"  # not offered to the whole network
    assert config["client"]["toolbarMode"] == "viewer"  # no "Deploy" button
    assert config["browser"]["gatherUsageStats"] is False
    assert config["runner"]["postScriptGC"] is False  # a full collection after each click costs more than the page
