"""What a model costs to run, without running one: the Pareto frontier worked out by hand, the timing figures of
the harness, and cost.json written and read through its one contract (a damaged one refused in one line)."""

from __future__ import annotations

import json
import re

import pytest

from fake_runs import fake_cost, write_fake_run
from trainers.analysis.cost import COST_AXES, images_per_second, latency_ms, pareto_frontier
from trainers.store import costs
from trainers.store.run_store import RunError


@pytest.mark.parametrize("costs_of, accuracies, higher_is_better, frontier", [
    # b is dearer and less accurate than a: off; c is dearest and most accurate: on.
    ({"a": 1, "b": 2, "c": 3}, {"a": 0.5, "b": 0.4, "c": 0.9}, False, ["a", "c"]),
    # One cost, two accuracies: only the more accurate; one accuracy, two costs: only the cheaper.
    ({"a": 1, "b": 1, "c": 2}, {"a": 0.5, "b": 0.6, "c": 0.6}, False, ["b"]),
    # The same point twice: neither beats the other, both are on it.
    ({"a": 1, "b": 1, "c": 0.5}, {"a": 0.7, "b": 0.7, "c": 0.2}, False, ["c", "a", "b"]),
    # Throughput: more is better, so the fastest comes first and the slow, inaccurate b is off.
    ({"a": 900, "b": 100, "c": 300}, {"a": 0.5, "b": 0.4, "c": 0.9}, True, ["a", "c"]),
    # The same numbers read as a cost where less is better: b is now the cheapest.
    ({"a": 900, "b": 100, "c": 300}, {"a": 0.5, "b": 0.4, "c": 0.9}, False, ["b", "c"]),
    ({"only": 5}, {"only": 0.1}, False, ["only"]),
])
def test_the_pareto_frontier_keeps_the_runs_no_other_beats_on_both(costs_of, accuracies, higher_is_better,
                                                                     frontier):
    assert pareto_frontier(costs_of, accuracies, higher_is_better=higher_is_better) == frontier


def test_throughput_is_the_only_cost_where_more_is_better():
    assert [axis.name for axis in COST_AXES.values() if axis.higher_is_better] == ["throughput (images/s)"]
    assert {axis.field for axis in COST_AXES.values()} <= set(costs.Cost.__dataclass_fields__)


def test_the_latency_figures_are_the_median_and_the_90th_percentile_in_milliseconds():
    seconds = [0.001 * value for value in range(1, 11)]  # 1 to 10 ms
    median, p90 = latency_ms(seconds)
    assert median == pytest.approx(5.5)
    assert p90 == pytest.approx(9.1)  # linear interpolation: 9 + 0.1 * (10 - 9)
    # A batch of 64 whose median call takes 0.032 s: 2,000 images per second, the slow outlier aside.
    assert images_per_second(64, [0.030, 0.032, 0.034, 5.0, 0.031]) == pytest.approx(2000)


def test_cost_json_is_read_back_as_written(tmp_path):
    run = write_fake_run(tmp_path, "a")
    assert costs.read_cost(run.path) is None
    written = fake_cost(macs=None, macs_not_counted=["LSTM"])
    path = costs.write_cost(run.path, written)
    assert path == run.path / costs.COST_FILE
    assert json.loads(path.read_text())["version"] == costs.COST_VERSION
    assert costs.read_cost(run.path) == written
    assert "multiply-adds not counted" in written.summary()


@pytest.mark.parametrize("change, message", [
    (lambda values: values.pop("latency_p90_ms"), "damaged cost.json: latency_p90_ms is missing"),
    (lambda values: values.update(images_per_second=-3), "damaged cost.json: images_per_second is -3, not a positive "
                                                         "number"),
    (lambda values: values["machine"].pop("processor"), "damaged cost.json: machine: processor is missing"),
    (lambda values: values.update(macs=1.5), "damaged cost.json: macs is 1.5, not a whole number >= 0 or null"),
    (lambda values: values.update(latency_p90_ms=1.0), "damaged cost.json: its 90th percentile of latency is below "
                                                       "its median"),
    (lambda values: values.update(version=2), "cost.json is of version 2, newer than this tool reads (1): update it"),
])
def test_a_damaged_cost_json_is_refused_in_one_line(tmp_path, change, message):
    run = write_fake_run(tmp_path, "a")
    path = costs.write_cost(run.path, fake_cost())
    values = json.loads(path.read_text())
    change(values)
    path.write_text(json.dumps(values))
    with pytest.raises(RunError, match=f"^{re.escape(message)}$"):
        costs.read_cost(run.path)


def test_a_cost_that_breaks_the_contract_is_never_written(tmp_path):
    with pytest.raises(ValueError, match="file_bytes is -1"):
        costs.write_cost(tmp_path, fake_cost(file_bytes=-1))
    assert not (tmp_path / costs.COST_FILE).exists()
