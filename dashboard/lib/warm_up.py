"""What the server does as it starts (Home.py's lifespan), before anyone asks: the work a visitor's first page and
first upload would otherwise wait for.

One background thread, so that the server answers at once, in three stages:
1. `first_page`: what routes.py and Home import (read from their source), a first table and figure (plotly,
   pandas' Styler and Arrow load more on their first use), the store's runs read into the cache every session
   shares, and Home's ranking and table of the default selection (every run of the first data set, as the
   sidebar starts);
2. `other_pages`: every other module of dashboard.lib (scikit-learn, SciPy, Pillow's plugins), cleanlab, and the
   test images of the default selection's test set (the Live page and the galleries decode them). Not the crop box:
   streamlit-cropper declares its component on import, which Streamlit registers only inside a script run;
   imported here, the Live page would find it imported and never registered;
3. `models`: TensorFlow, then the models the Live page runs first (the default selection's first
   `caches.MAX_MODELS` with a model), each loaded into the shared model cache and run once, prediction and map,
   so that its functions are traced. Other runs' models are loaded when a page asks for them.
The last two wait until a first page has been served (or `FIRST_VISIT_WAIT_S` passed): on 2 cores, importing
TensorFlow beside a visitor's first page would slow it down. A stage that fails is logged, never raised: the
pages then do that work themselves and say what went wrong.
"""

from __future__ import annotations

import ast
import contextlib
import importlib
import importlib.util
import logging
import pkgutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import streamlit as st
from streamlit.logger import get_logger

import dashboard.lib

_LOGGER = get_logger(__name__)
THREAD_NAME = "dashboard-warm-up"
DASHBOARD = Path(__file__).resolve().parents[1]
FIRST_PAGE_SCRIPTS = (DASHBOARD / "routes.py", DASHBOARD / "views" / "home.py")
FIRST_VISIT_WAIT_S = 5.0  # after the first stage, for a visitor's first page to be served before the rest
# Cached functions called outside a script run warn that they have no script context: true, and expected here.
_CONTEXT_LOGGER = "streamlit.runtime.scriptrunner_utils.script_run_context"


@dataclass
class WarmUp:
    """What the warm-up did: seconds per finished stage, the runs whose models it loaded, errors by stage."""

    seconds: dict[str, float] = field(default_factory=dict)
    models: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    done: threading.Event = field(default_factory=threading.Event)


LAST = WarmUp()  # the server's warm-up, for its log and the tests
_page_served = threading.Event()


def page_served() -> None:
    """Called by routes.py at the end of every script run: a visitor has had a page."""
    _page_served.set()


class _FromThisThread(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.threadName != THREAD_NAME


@contextlib.asynccontextmanager
async def lifespan(app):
    """st.App's lifespan: starts the warm-up beside the server, which serves at once."""
    logging.getLogger(_CONTEXT_LOGGER).addFilter(_FromThisThread())
    threading.Thread(target=warm_up, name=THREAD_NAME, daemon=True).start()
    yield


def warm_up(report: WarmUp | None = None, first_visit_wait_s: float = FIRST_VISIT_WAIT_S) -> WarmUp:
    """Runs the three stages in this thread, each given the report it adds to; returns what they did (also in
    `LAST` unless `report` is given)."""
    report = LAST if report is None else report
    for stage in (first_page, other_pages, models):
        if stage is other_pages:
            _page_served.wait(first_visit_wait_s)
        started = time.perf_counter()
        try:
            outcome = stage(report)
        except Exception as error:  # noqa: BLE001 - the pages do the work then, and say what fails
            report.errors[stage.__name__] = f"{type(error).__name__}: {error}"
            _LOGGER.warning("Warm-up: %s failed (%s); the pages will do it when asked", stage.__name__, error)
            if stage is other_pages:
                continue
            break
        report.seconds[stage.__name__] = time.perf_counter() - started
        _LOGGER.info("Warm-up: %s in %.1f s%s", stage.__name__, report.seconds[stage.__name__],
                     f" ({outcome})" if outcome else "")
    report.done.set()
    return report


def imported_modules(script: Path) -> list[str]:
    """The modules a script imports at its top level, in order, as its source says."""
    modules = []
    for node in ast.parse(script.read_text()).body:
        if isinstance(node, ast.Import):
            modules += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules.append(node.module)
            if importlib.util.find_spec(node.module).submodule_search_locations:  # a package: names may be modules
                modules += [f"{node.module}.{alias.name}" for alias in node.names
                            if importlib.util.find_spec(f"{node.module}.{alias.name}")]
    return modules


def first_page(report: WarmUp) -> str:
    """What the first visitor's Home needs: its modules, a first table and figure, the store's runs and Home's
    table of the runs the sidebar selects at first."""
    for script in FIRST_PAGE_SCRIPTS:
        for module in imported_modules(script):
            importlib.import_module(module)
    import pandas as pd
    import plotly.express as px

    from dashboard.lib import comparison

    # Elements outside a script run go nowhere, but pay their first-use costs here: Streamlit's REPL check on the
    # first element of a process (through the source of every frame), pandas' Styler, Arrow, plotly's JSON.
    table = pd.DataFrame({"run": ["a", "b"], "accuracy": [0.5, 0.75]})
    st.dataframe(table.style.highlight_max(subset=["accuracy"]).format(precision=4))
    st.plotly_chart(px.scatter(table, x="run", y="accuracy"))
    runs = _default_runs()
    from trainers.analysis.ranking import rank

    # The answer above the table: SciPy's import, and the best run's lead over each next run (kept by outcomes).
    comparison.comparison_table(runs, ranking=rank(runs) if runs else None)
    return f"{len(runs)} runs"


def other_pages(report: WarmUp) -> str:
    """Every other module of dashboard.lib, the first heatmap (the confusion matrices'), and the default
    selection's test images, into the cache the galleries and the Live page share."""
    for module in pkgutil.iter_modules(dashboard.lib.__path__):
        importlib.import_module(f"dashboard.lib.{module.name}")
    importlib.import_module("cleanlab.rank")  # the Suspect labels page's scores, imported on their first use
    import plotly.express as px

    from dashboard.lib import caches

    st.plotly_chart(px.imshow([[1, 2], [3, 4]], text_auto=True))
    runs = _default_runs()
    images = caches.test_images(runs[0]) if runs else None
    return f"{len(images.ids)} test images" if images is not None else ""


def models(report: WarmUp) -> str:
    """Imports TensorFlow and loads the models the Live page runs first, each run once on a blank image."""
    import numpy as np

    from dashboard.lib import caches
    from trainers.inference.explain import class_activation_map
    from trainers.inference.predict import predict

    with_model = [run for run in _default_runs() if not caches.no_model(run)][:caches.MAX_MODELS]
    for run in with_model:
        model = caches.model(run)
        blank = np.zeros((1, run.image_size, run.image_size, 3), np.uint8)
        predict(model, blank)
        class_activation_map(model, blank[0], 0)
        report.models.append(run.run_id)
    return f"{len(with_model)} models"


def _default_runs():
    """The runs the sidebar selects when a session starts: every readable run of the store's first data set."""
    from dashboard.lib.runs import group_by_dataset
    from dashboard.lib.store_cache import readable_store
    from dashboard.lib.store_location import store_path

    runs, _ = readable_store(store_path())
    groups = group_by_dataset(runs)
    return next(iter(groups.values()), [])

