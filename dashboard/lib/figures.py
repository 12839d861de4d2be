"""What the figures of many runs share: how many runs get a line and a colour of their own, and how more are drawn.

A line per run is what a comparison of a few runs wants; past a palette's worth of colours the runs can no longer
be told apart by colour, a legend of a hundred names helps nobody, and plotly spends about a millisecond per line
building the figure, then as long again serialising it. More runs are drawn as one line per series, broken
between runs, each point naming its run on hover.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

PALETTE = px.colors.qualitative.Plotly  # plotly's default colours, a run each
# Runs that each get their own line (and colour).
MAX_COLOURED_RUNS = len(PALETTE)
# Translucent, so that where many runs cross shows; a second series (validation) in the second colour.
MANY_RUNS_COLOURS = ("rgba(31, 119, 180, 0.45)", "rgba(255, 127, 14, 0.45)")


def run_colours(runs) -> dict[str, str]:
    """Each run's colour, by its label: the palette in the order the runs were started (run.json's started_at,
    then the name; runs without one, such as an unsaved ensemble, after them).

    Given every run of a data set, not only those shown, a run keeps its colour on every page, every figure and
    the report, whichever runs are selected, filtered out or reordered; a run started later takes the next colour
    without moving the others'. Past the palette's length colours repeat (figures of that many runs draw them in
    one trace anyway).
    """
    started = sorted(runs, key=lambda run: (run.info.get("started_at") is None, str(run.info.get("started_at")),
                                            run.label))
    labels = dict.fromkeys(run.label for run in started)  # a run given twice (read twice) counts once
    return {label: PALETTE[number % len(PALETTE)] for number, label in enumerate(labels)}


def many_runs(table: pd.DataFrame, column: str = "run") -> bool:
    """Whether `table` holds more runs than get a line of their own."""
    return table[column].nunique() > MAX_COLOURED_RUNS


def lines_by_run(table: pd.DataFrame, x: str, y: str, *, run: str = "run", dashes: dict[str, str] | None = None,
                 split: str = "split", colours: dict[str, str] | None = None) -> list[go.Scatter]:
    """A line per run of `table`, in its colour (`colours`, by run label, as `run_colours` gives them; else the
    palette in table order), with markers; with `dashes` (split -> dash), a line per run and split, named
    "run, split", the run's lines sharing its colour.

    Built from graph objects: plotly express takes about as long for a few lines as this does for hundreds.
    """
    traces = []
    for number, (name, rows) in enumerate(table.groupby(run, sort=False)):
        line = {"color": (colours or {}).get(name, PALETTE[number % len(PALETTE)])}
        for part, points in rows.groupby(split, sort=False) if dashes else [(None, rows)]:
            label = name if part is None else f"{name}, {part}"
            traces.append(go.Scatter(
                x=points[x].to_numpy(), y=points[y].to_numpy(), mode="lines+markers", name=label, legendgroup=name,
                line={**line, "dash": dashes[part]} if dashes else line,
                hovertemplate=f"{label}<br>{x} %{{x}}<br>{y} %{{y}}<extra></extra>"))
    return traces


def runs_in_one_trace(table: pd.DataFrame, x: str, y: str, *, name: str, run: str = "run", dash: str = "solid",
                      colour: str = MANY_RUNS_COLOURS[0], hover: str = "%{y}") -> go.Scatter:
    """Every run's line of `table` in one trace, broken between runs (rows in order of run, then `x`).

    Args:
        name: the trace's name in the legend (a split, a metric).
        hover: what the hover says under the run's name, in plotly's template language.
    """
    runs = table[run].to_numpy(object)
    breaks = np.flatnonzero(runs[1:] != runs[:-1]) + 1  # where a run starts, but the first
    return go.Scatter(
        x=np.insert(table[x].to_numpy(float), breaks, np.nan), y=np.insert(table[y].to_numpy(float), breaks, np.nan),
        text=np.insert(runs, breaks, ""), mode="lines", name=name, connectgaps=False,
        line={"dash": dash, "width": 1, "color": colour},
        hovertemplate=f"%{{text}}<br>{x} %{{x}}<br>{hover}<extra>{name}</extra>")
