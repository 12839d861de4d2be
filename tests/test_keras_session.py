"""dashboard.lib.keras_session: loaded models keep their kernels across script runs, through the one private
function of Streamlit the dashboard replaces; these tests fail when a Streamlit upgrade renames or stops calling it."""

from __future__ import annotations

import sys


def test_streamlit_still_clears_keras_session_through_the_function_the_dashboard_replaces(monkeypatch):
    """Fails on a Streamlit that renames or removes `_clean_problem_modules`, or no longer calls it after a script
    run: keras_session.py then needs updating (or is no longer needed)."""
    from streamlit.runtime.scriptrunner import script_runner
    from streamlit.testing.v1 import AppTest

    calls = []
    monkeypatch.setattr(script_runner, "_clean_problem_modules", lambda: calls.append("cleaned"))  # raises if gone
    assert not AppTest.from_string("import streamlit as st\nst.write('a script run')").run().exception
    assert calls == ["cleaned"]


def test_the_dashboard_keeps_keras_session_across_script_runs(monkeypatch):
    """Streamlit clears Keras' session (and TensorFlow's kernel cache) after every script run; the dashboard,
    whose models are loaded once, keeps it, and still closes matplotlib's figures."""
    from keras.src.backend.common import global_state
    from streamlit.runtime.scriptrunner import script_runner

    from dashboard.lib import keras_session

    current = script_runner._clean_problem_modules
    streamlits = getattr(current, "replaced", current)
    monkeypatch.setattr(script_runner, "_clean_problem_modules", streamlits)
    global_state.set_global_attribute("probe", 1)
    streamlits()
    assert global_state.get_global_attribute("probe") is None  # what the dashboard undoes

    keras_session.keep_keras_session()
    keras_session.keep_keras_session()  # once is enough: a second call changes nothing
    assert script_runner._clean_problem_modules.replaced is streamlits
    global_state.set_global_attribute("probe", 1)
    closed = []
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot",
                        type("pyplot", (), {"close": staticmethod(closed.append)}))
    script_runner._clean_problem_modules()
    assert global_state.get_global_attribute("probe") == 1
    assert closed == ["all"]
