"""The dashboard starting in a fresh interpreter: what its pages import."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from app_pages import MODEL_FREE_PAGES
from fake_runs import write_fake_run
from paths import REPO_ROOT

pytestmark = pytest.mark.slow  # each test opens the dashboard in a fresh interpreter

# What every session runs (Home.py serves it); AppTest runs no server, so no warm-up: the pages' own imports.
ROUTES = str(REPO_ROOT / "dashboard" / "routes.py")


def last_line_printed(script: str, store) -> str:
    """What `script` prints last, run in a fresh interpreter after opening the dashboard on `store` under AppTest
    (as `app`)."""
    opening = f"""
import sys
sys.path.insert(0, {str(REPO_ROOT)!r})
from streamlit.testing.v1 import AppTest
app = AppTest.from_file({ROUTES!r}, default_timeout=60).run()
assert not app.exception, app.exception
"""
    result = subprocess.run([sys.executable, "-c", opening + script], capture_output=True, text=True, timeout=120,
                            env={**os.environ, "ARTIFACTS_DIR": str(store)})
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def test_the_dashboard_starts_without_tensorflow(tiny_store):
    """Importing the library and showing every page but the live one never imports TensorFlow or Keras."""
    script = f"""
import dashboard.lib.architecture, dashboard.lib.comparison, dashboard.lib.confusion, dashboard.lib.curves
import dashboard.lib.live, dashboard.lib.runs, dashboard.lib.samples
import dashboard.lib.caches, dashboard.lib.gallery, dashboard.lib.in_progress, dashboard.lib.model_outputs
import dashboard.lib.pickers, dashboard.lib.sidebar, dashboard.lib.page_guards, dashboard.lib.ensemble_choice
import dashboard.lib.report_download, dashboard.lib.process_settings, dashboard.lib.keras_session
for page in {MODEL_FREE_PAGES[1:]!r}:
    app.switch_page(page).run()
    assert not app.exception, (page, app.exception)
print(sorted(name for name in sys.modules if name.split(".")[0] in ("tensorflow", "keras")))
"""
    assert last_line_printed(script, tiny_store) == "[]"


def test_the_home_page_imports_neither_the_live_uploads_nor_grad_cam(tmp_path):
    """routes.py and views/home.py import only what they show: not the Live page's upload module, nor Grad-CAM."""
    write_fake_run(tmp_path, "cnn_v3-1")
    script = """
assert app.title[0].value == "Run comparison"
print(sorted(name for name in ("dashboard.lib.live", "trainers.inference.explain") if name in sys.modules))
"""
    assert last_line_printed(script, tmp_path) == "[]"
