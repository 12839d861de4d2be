"""dashboard.lib.process_settings: the dashboard's process-wide settings are applied once as it starts (Home.py),
never by importing a module."""

from __future__ import annotations

import subprocess
import sys

import pytest

from paths import REPO_ROOT

pytestmark = pytest.mark.slow  # fresh interpreters, each importing the libraries again

SETTINGS = """
from PIL import Image
from streamlit.runtime.scriptrunner import script_runner

def settings():
    return (Image.MAX_IMAGE_PIXELS, ".heic" in Image.registered_extensions(),
            hasattr(script_runner._clean_problem_modules, "replaced"))

pillows = settings()
"""


def printed(script: str) -> str:
    """What `script` prints last, run in a fresh interpreter from the repository root after `SETTINGS`."""
    result = subprocess.run([sys.executable, "-c", SETTINGS + script], capture_output=True, text=True, timeout=120,
                            cwd=REPO_ROOT)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def test_importing_the_dashboard_changes_no_process_setting_and_applying_them_does():
    script = """
import importlib, pkgutil
import dashboard.lib
for module in pkgutil.iter_modules(dashboard.lib.__path__):
    importlib.import_module(f"dashboard.lib.{module.name}")
assert settings() == pillows, settings()
from dashboard.lib import process_settings
process_settings.apply_process_settings()
process_settings.apply_process_settings()  # harmless again
print(pillows[1:], settings() == (process_settings.MAX_IMAGE_PIXELS, True, True))
"""
    assert printed(script) == "(False, False) True"


def test_the_entry_point_applies_them_before_serving():
    script = """
import runpy
runpy.run_path("dashboard/Home.py")
from dashboard.lib import process_settings
print(settings() == (process_settings.MAX_IMAGE_PIXELS, True, True))
"""
    assert printed(script) == "True"
