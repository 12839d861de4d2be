"""Run pickers on every page start on the best run and the runner-up, keep a pick from page to page, and carry the
picks in the URL (AppTest, constructed runs)."""

from __future__ import annotations

from app_pages import widget
from dashboard.lib import pickers

def test_head_to_head_opens_on_the_best_run_and_the_runner_up(open_app, outcome_store):
    app = open_app(outcome_store, "views/head_to_head.py")
    assert (widget(app.selectbox, "A").value, widget(app.selectbox, "B").value) == ("best", "close")
    assert app.query_params[pickers.RUN_PARAMETER] == ["best", "close"]


def test_a_run_picked_on_one_page_stays_picked_on_the_next(open_app, outcome_store):
    app = open_app(outcome_store, "views/misclassified.py")
    assert widget(app.selectbox, "Run").value == "best"
    widget(app.selectbox, "Run").set_value("weak").run()
    app.switch_page("views/calibration.py").run()
    assert widget(app.selectbox, "Run").value == "weak"
    app.switch_page("views/head_to_head.py").run()
    assert (widget(app.selectbox, "A").value, widget(app.selectbox, "B").value) == ("weak", "close")
    widget(app.selectbox, "B").set_value("best").run()
    app.switch_page("views/architecture.py").run()
    assert [box.value for box in app.selectbox if box.label == "Model"] == ["weak", "best"]
    assert app.query_params[pickers.RUN_PARAMETER] == ["weak", "best"]


def test_a_shared_link_opens_on_the_runs_it_names(open_app, outcome_store, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from paths import REPO_ROOT

    monkeypatch.setenv("ARTIFACTS_DIR", str(outcome_store))
    app = AppTest.from_file(str(REPO_ROOT / "dashboard" / "routes.py"), default_timeout=30)
    app.query_params[pickers.RUN_PARAMETER] = ["weak", "best"]
    app.run()
    app.switch_page("views/head_to_head.py").run()
    assert not app.exception
    assert (widget(app.selectbox, "A").value, widget(app.selectbox, "B").value) == ("weak", "best")


def test_a_link_to_a_run_no_longer_in_the_store_falls_back_to_the_best(open_app, outcome_store, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from paths import REPO_ROOT

    monkeypatch.setenv("ARTIFACTS_DIR", str(outcome_store))
    app = AppTest.from_file(str(REPO_ROOT / "dashboard" / "routes.py"), default_timeout=30)
    app.query_params[pickers.RUN_PARAMETER] = ["gone"]
    app.run()
    app.switch_page("views/misclassified.py").run()
    assert not app.exception
    assert widget(app.selectbox, "Run").value == "best"
