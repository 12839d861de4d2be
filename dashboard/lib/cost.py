"""Home's accuracy against cost: each run's stored cost (cost.json) beside its accuracy, the Pareto frontier on the
cost chosen, drawn and named in plain words, and the runs without a cost or measured on another machine."""

from __future__ import annotations

import shlex
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from trainers.analysis.cost import CostAxis, pareto_frontier
from trainers.inference.machine import processor_name
from trainers.store import costs, evaluable
from trainers.store.run_store import RunError

COST_COMMAND = "python -m trainers.evaluate {paths} --cost"
RUN, ACCURACY = "run", "accuracy"
# A cost's axis is drawn logarithmic when its runs' values span more than this factor.
LOG_SPAN = 10
# How a point's hover shows its cost, by Cost field (plotly's d3 formats); whole numbers otherwise.
HOVER_FORMATS = {"latency_median_ms": ".2f"}


@dataclass(frozen=True)
class RunCosts:
    """The selected runs' costs: a row per run with one (its accuracy and every field of its cost, flat), and what
    the others lack."""

    table: pd.DataFrame
    unmeasured: list = field(default_factory=list)  # runs with a model and no cost.json
    without_model: list[str] = field(default_factory=list)  # labels of runs with no model to time
    unreadable: list[str] = field(default_factory=list)  # "label: why its cost.json cannot be read"


def run_costs(runs) -> RunCosts:
    """Each run's cost as its cost.json says, beside its accuracy (on the images it is evaluated on)."""
    rows, unmeasured, without_model, unreadable = [], [], [], []
    for run in runs:
        if (run.metrics or {}).get("accuracy") is None:  # on a set none of whose images it scored: nothing to place
            continue
        if getattr(run, "path", None) is None or run.model_path is None:  # an ensemble of the sidebar has neither
            without_model.append(run.label)
            continue
        try:
            cost = costs.read_cost(run.path)
        except RunError as error:
            unreadable.append(f"{run.label}: {error}")
            continue
        if cost is None:
            unmeasured.append(run)
            continue
        values = asdict(cost)
        machine = values.pop("machine")
        rows.append({RUN: run.label, ACCURACY: run.metrics["accuracy"], **values, **machine})
    return RunCosts(pd.DataFrame(rows), unmeasured, without_model, unreadable)


def _on_axis(table: pd.DataFrame, axis: CostAxis) -> pd.DataFrame:
    """The rows of `table` that have a value of `axis` (multiply-adds may not have been counted)."""
    return table[table[axis.field].notna()] if not table.empty else table


def frontier(table: pd.DataFrame, axis: CostAxis) -> list[str]:
    """The runs on the Pareto frontier of accuracy against `axis`, cheapest first (`pareto_frontier`)."""
    drawn = _on_axis(table, axis)
    return pareto_frontier(dict(zip(drawn[RUN], drawn[axis.field].astype(float))),
                           dict(zip(drawn[RUN], drawn[ACCURACY].astype(float))), higher_is_better=axis.higher_is_better)


def frontier_figure(table: pd.DataFrame, axis: CostAxis, colours: dict[str, str], accuracy: str) -> go.Figure:
    """Accuracy against `axis`, a point per run in its colour (filled on the frontier, hollow off it), the frontier
    as a step line: everything below and beyond it is beaten by a run on it."""
    drawn = _on_axis(table, axis)
    on = frontier(table, axis)
    figure = with_frontier(go.Figure(), table, axis)
    shown = HOVER_FORMATS.get(axis.field, ",.0f")
    for row in drawn.to_dict("records"):
        label, colour = row[RUN], colours.get(row[RUN])
        figure.add_trace(go.Scatter(
            x=[row[axis.field]], y=[row[ACCURACY]], mode="markers", name=label,
            marker={"size": 12, "color": colour, "symbol": "circle" if label in on else "circle-open",
                    "line": {"width": 2, "color": colour}},
            hovertemplate=f"<b>{label}</b><br>{axis.name} %{{x:{shown}}}<br>{accuracy} %{{y:.4f}}<br>on "
                          f"{row['processor']} ({row['device']}, {row['runtime']})<extra></extra>"))
    logarithmic = log_scale(drawn[axis.field])
    figure.update_layout(xaxis_title=axis.name + (" (log scale)" if logarithmic else ""), yaxis_title=accuracy,
                         xaxis_type="log" if logarithmic else "linear", height=460, margin={"t": 30},
                         legend={"orientation": "h", "yanchor": "top", "y": -0.18})
    return figure


def with_frontier(figure: go.Figure, table: pd.DataFrame, axis: CostAxis) -> go.Figure:
    """`figure` with the Pareto frontier of `table`'s runs on `axis` as a grey step line."""
    steps = _on_axis(table, axis).set_index(RUN).loc[frontier(table, axis)]
    # Cheapest first: the frontier rises in accuracy as the cost grows; a step goes across, then up (across from the
    # right for throughput, whose axis grows the other way).
    return figure.add_trace(go.Scatter(
        x=steps[axis.field], y=steps[ACCURACY], mode="lines", name="Pareto frontier", hoverinfo="skip",
        line={"color": "grey", "width": 1.5, "shape": "vh" if axis.higher_is_better else "hv"}))


def recorded_parameters(comparison_table: pd.DataFrame, labels: dict[str, str]) -> pd.DataFrame:
    """Home's comparison table as rows of the parameters axis: every run that records its parameter count (trained,
    imported, or recorded with `parameters=`), its cost measured or not; named by `labels` (run id -> label), as
    on the other axes."""
    rows = comparison_table.dropna(subset=["params"])
    return pd.DataFrame({RUN: rows["run"].map(labels), ACCURACY: rows["test accuracy"].astype(float),
                         "parameters": rows["params"].astype(float)})


def frontier_sentence(table: pd.DataFrame, axis: CostAxis) -> str:
    """The frontier in plain words (markdown): the runs on it, cheapest first, and those off it."""
    drawn = _on_axis(table, axis)
    on = frontier(table, axis)
    if len(drawn) < 2:
        return f"Only **{on[0]}** has its {axis.name} measured: measure others to compare." if on else ""
    off = [label for label in drawn[RUN] if label not in on]
    said = (f"On the frontier: **{'**, **'.join(on)}**: no other run is both {axis.better} and more accurate than "
            f"{'it' if len(on) == 1 else 'any of them'}.")
    return said + (f" Off it: {', '.join(off)} (a run on it is as good or better on both, and better on one)."
                   if off else " Every run is on it: each buys accuracy with cost.")


def notes(measured: RunCosts, axis: CostAxis) -> list[str]:
    """The lines below the figure: runs not drawn (no cost yet, with the command that measures them; no model; an
    unreadable cost.json; no value on this axis), multiply-adds left out, and runs measured on another machine than
    this one; markdown."""
    lines = []
    if measured.unmeasured:
        paths = " ".join(shlex.quote(evaluable.command_path(run)) for run in measured.unmeasured)
        lines.append(f"No cost measured yet for {', '.join(run.label for run in measured.unmeasured)}: "
                     f"`{COST_COMMAND.format(paths=paths)}` measures it on this machine.")
    if measured.without_model:
        lines.append(f"No model to time: {', '.join(measured.without_model)}.")
    lines += [f"The cost of {line}." for line in measured.unreadable]
    table = measured.table
    if table.empty:
        return lines
    uncounted = table[table[axis.field].isna()][RUN].tolist()
    if uncounted:
        lines.append(f"Not drawn, with no {axis.name} counted: {', '.join(uncounted)}.")
    if axis.field == "macs":
        left_out = sorted({name for names in table["macs_not_counted"] for name in names})
        lines.append("Multiply-adds per image of the convolutions and dense layers (ONNX: Conv, Gemm, MatMul), each "
                     "network once per test-time view; layers without weights are not counted"
                     + (f", nor {', '.join(left_out)}." if left_out else "."))
    here = processor_name()
    elsewhere = table[table["processor"] != here]
    if not elsewhere.empty:
        lines.append(f"Measured on another machine than this one ({here}): "
                     + ", ".join(f"{row.run} ({row.processor})" for row in elsewhere.itertuples(index=False))
                     + ": latency and throughput are that machine's.")
    return lines


def log_scale(values) -> bool:
    """Whether values span more than LOG_SPAN, so that a logarithmic axis shows them apart."""
    values = np.asarray(values, float)
    return len(values) > 1 and values.min() > 0 and values.max() / values.min() > LOG_SPAN
