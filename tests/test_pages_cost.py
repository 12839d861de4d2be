"""Home's accuracy against cost under Streamlit's AppTest, on hand-written cost.json files: the frontier drawn and
named on the cost chosen, runs without a cost named with the command that measures them, and figures from another
machine said to be."""

from __future__ import annotations

import pytest

from app_pages import figures, widget
from fake_runs import OUTCOME_LABELS, fake_cost, write_outcome_run, write_outcome_store
from trainers.store import costs, run_store

# The outcome store's runs (accuracy: weak 0.5, close 0.875, best 0.9) at costs chosen so that the frontier differs
# by axis: on multiply-adds every run is on it; on latency and throughput close is beaten by best.
COSTS = {"weak": {"macs": 1000, "latency_median_ms": 1.0, "latency_p90_ms": 1.5, "images_per_second": 3000.0},
         "close": {"macs": 2000, "latency_median_ms": 3.0, "latency_p90_ms": 4.0, "images_per_second": 1000.0},
         "best": {"macs": 5000, "latency_median_ms": 2.0, "latency_p90_ms": 2.5, "images_per_second": 2000.0}}


@pytest.fixture
def cost_store(tmp_path):
    """The outcome store, each run's cost written (close's on another machine), and "plain", a run without one."""
    write_outcome_store(tmp_path)
    for run_id, fields in COSTS.items():
        costs.write_cost(tmp_path / run_id, fake_cost("Other CPU" if run_id == "close" else None, **fields))
    write_outcome_run(tmp_path, "plain", OUTCOME_LABELS, range(10, 40),
                      info={"finished_at": "2026-01-01T00:00:09+00:00"})
    return tmp_path


def cost_figure(app):
    return next(figure for figure in figures(app) if any(trace.name == "Pareto frontier" for trace in figure.data))


def test_home_draws_and_names_the_frontier_on_the_cost_chosen(open_app, cost_store):
    app = open_app(cost_store)
    assert any(header.value == "Test accuracy against cost" for header in app.subheader)
    # Parameters as the runs record them (the outcome runs all record the same count): the most accurate alone is
    # on the frontier, drawn on the chart that also shows the study's figures.
    recorded = {run.run_id: run.architecture["summary"]["total_params"] for run in run_store.list_runs(cost_store)[0]}
    assert len(set(recorded.values())) == 1
    steps = next(trace for trace in cost_figure(app).data if trace.name == "Pareto frontier")
    assert list(steps.x) == [next(iter(recorded.values()))] and list(steps.y) == [0.9]
    assert any(text.value.startswith("On the frontier: **best**: no other run is both smaller and more accurate")
               for text in app.markdown)

    widget(app.radio, "Cost").set_value("multiply-adds").run()
    figure = cost_figure(app)
    steps = next(trace for trace in figure.data if trace.name == "Pareto frontier")
    assert list(steps.x) == [1000, 2000, 5000] and steps.line.shape == "hv"
    assert {trace.name: trace.marker.symbol for trace in figure.data if trace.mode == "markers"} == {
        "weak": "circle", "close": "circle", "best": "circle"}
    assert any("On the frontier: **weak**, **close**, **best**" in text.value for text in app.markdown)

    widget(app.radio, "Cost").set_value("latency (ms)").run()
    figure = cost_figure(app)
    assert list(next(trace for trace in figure.data if trace.name == "Pareto frontier").x) == [1.0, 2.0]
    assert {trace.name: trace.marker.symbol for trace in figure.data if trace.mode == "markers"}["close"] == \
        "circle-open"
    assert any(text.value.startswith("On the frontier: **weak**, **best**: no other run is both faster and more "
                                     "accurate") and "Off it: close" in text.value for text in app.markdown)

    # Throughput: more is better, so the fastest run comes first and the steps go down across.
    widget(app.radio, "Cost").set_value("throughput (images/s)").run()
    steps = next(trace for trace in cost_figure(app).data if trace.name == "Pareto frontier")
    assert list(steps.x) == [3000.0, 2000.0] and steps.line.shape == "vh"


def test_home_names_the_runs_without_a_cost_and_those_measured_elsewhere(open_app, cost_store):
    app = open_app(cost_store)
    captions = [caption.value for caption in app.caption]
    assert any(caption.startswith("No cost measured yet for plain: `python -m trainers.evaluate ")
               and caption.endswith(" --cost` measures it on this machine.") for caption in captions)
    assert any(caption.startswith("Measured on another machine than this one") and "close (Other CPU)" in caption
               and "weak" not in caption for caption in captions)


def test_a_damaged_cost_json_is_named_and_the_others_still_drawn(open_app, cost_store):
    (cost_store / "weak" / costs.COST_FILE).write_text("{}")
    app = open_app(cost_store)
    assert any(caption.value == "The cost of weak: damaged cost.json: version is None, not a whole number."
               for caption in app.caption)
    widget(app.radio, "Cost").set_value("latency (ms)").run()
    assert {trace.name for trace in cost_figure(app).data if trace.mode == "markers"} == {"close", "best"}
