"""dashboard.lib.caches: loaded models keep their kernels across script runs."""

from __future__ import annotations

import sys


def test_the_dashboard_keeps_keras_session_across_script_runs(monkeypatch):
    """Streamlit clears Keras' session (and TensorFlow's kernel cache) after every script run; the dashboard,
    whose models are loaded once, keeps it, and still closes matplotlib's figures."""
    from keras.src.backend.common import global_state
    from streamlit.runtime.scriptrunner import script_runner

    from dashboard.lib import caches

    current = script_runner._clean_problem_modules
    streamlits = getattr(current, "replaced", current)
    monkeypatch.setattr(script_runner, "_clean_problem_modules", streamlits)
    global_state.set_global_attribute("probe", 1)
    streamlits()
    assert global_state.get_global_attribute("probe") is None  # what the dashboard undoes

    caches.keep_keras_session()
    caches.keep_keras_session()  # once is enough: a second call changes nothing
    assert script_runner._clean_problem_modules.replaced is streamlits
    global_state.set_global_attribute("probe", 1)
    closed = []
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot",
                        type("pyplot", (), {"close": staticmethod(closed.append)}))
    script_runner._clean_problem_modules()
    assert global_state.get_global_attribute("probe") == 1
    assert closed == ["all"]
