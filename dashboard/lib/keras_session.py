"""Keeps Keras' session between script runs, which Streamlit clears after each one.

Streamlit offers no public way to do this: no config option, no `st.App` argument, no hook around a script run
(looked for in Streamlit 1.67's config options, `st.App` and its docs and issues). So this module replaces its
private `streamlit.runtime.scriptrunner.script_runner._clean_problem_modules`, and is the only place that touches
Streamlit's internals; tests/test_keras_session.py fails when Streamlit renames that function or stops calling it.
"""

from __future__ import annotations

import sys

from streamlit.logger import get_logger

_LOGGER = get_logger(__name__)


def keep_keras_session() -> None:
    """Stops Streamlit from clearing Keras' session after every script run; harmless again.

    Streamlit's `_clean_problem_modules` calls `keras.backend.clear_session()` at the end of each run, which
    empties TensorFlow's kernel cache (every cached model then builds its kernels again on its next call: most of
    a second per model on a 2-core CPU) and runs a full garbage collection after every click. The dashboard
    builds no model in a script run, it loads each once (`caches.model`), so the clean-up only costs; matplotlib's
    part of it is kept. On a Streamlit without that function, logs a warning and changes nothing.
    """
    from streamlit.runtime.scriptrunner import script_runner

    streamlits = getattr(script_runner, "_clean_problem_modules", None)
    if streamlits is None:
        _LOGGER.warning("This Streamlit has no script_runner._clean_problem_modules: Keras' session is left as "
                        "Streamlit handles it (dashboard/lib/keras_session.py needs updating).")
        return
    if hasattr(streamlits, "replaced"):
        return

    def clean_matplotlib_only() -> None:
        if "matplotlib.pyplot" in sys.modules:
            sys.modules["matplotlib.pyplot"].close("all")

    clean_matplotlib_only.replaced = streamlits
    script_runner._clean_problem_modules = clean_matplotlib_only
