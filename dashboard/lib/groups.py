"""Seed groups and configurations as tables and figures: each group's mean ± standard deviation, its spread on
the accuracy-against-parameters chart, the fields that differ between runs, and those fields against accuracy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.graph_objects import Figure

from trainers.analysis import uncertainty
from trainers.analysis.groups import SeedGroup
from trainers.store.run_store import Run

# metrics.json key -> the comparison table's column, and how many decimals it shows.
STATISTICS = {"accuracy": ("test accuracy", 4), "macro_f1": ("macro F1", 4), "log_loss": ("test log loss", 4)}
ACCURACY = "test accuracy"


def _mean_and_spread(mean: float, std: float, decimals: int) -> str:
    """'0.8200 ± 0.0200'; a group's standard deviation is always defined (two runs or more)."""
    return f"{mean:.{decimals}f} ± {std:.{decimals}f}"


MEAN_INTERVAL = "mean test accuracy: 95% interval"


def _accuracies(group: SeedGroup) -> list[float]:
    return [run.metrics["accuracy"] for run in group.runs]


def groups_table(groups: list[SeedGroup]) -> pd.DataFrame:
    """One row per group: its name, model, n, each statistic as 'mean ± sample standard deviation', and the 95%
    interval of its mean test accuracy over its runs (`uncertainty.mean_interval`)."""
    rows = []
    for group in groups:
        summary = group.summary
        low, high = uncertainty.mean_interval(_accuracies(group))
        rows.append({"group": group.label, "model": group.runs[0].preset, "n": len(group.runs),
                     **{column: _mean_and_spread(summary.loc[key, "mean"], summary.loc[key, "std"], decimals)
                        for key, (column, decimals) in STATISTICS.items()},
                     MEAN_INTERVAL: f"{low:.4f} – {high:.4f}"})
    return pd.DataFrame(rows, columns=["group", "model", "n", *(column for column, _ in STATISTICS.values()),
                                       MEAN_INTERVAL])


def improvement_table(groups: list[SeedGroup]) -> pd.DataFrame:
    """Per ordered pair of groups (recipes), the probability that a run of the first has a higher test accuracy
    than a run of the second, ties counted half, with its stratified bootstrap 95% interval; the pairs whose first
    recipe has the higher mean, the most likely improvement first."""
    rows = []
    for first in groups:
        for second in groups:
            if first is second or np.mean(_accuracies(first)) < np.mean(_accuracies(second)):
                continue
            probability = uncertainty.probability_of_improvement(_accuracies(first), _accuracies(second))
            low, high = uncertainty.improvement_interval(_accuracies(first), _accuracies(second))
            rows.append({"recipe": first.label, "against": second.label, "probability it is better": probability,
                         "95% interval": f"{low:.0%} – {high:.0%}"})
    table = pd.DataFrame(rows, columns=["recipe", "against", "probability it is better", "95% interval"])
    return table.sort_values("probability it is better", ascending=False, kind="stable").reset_index(drop=True)


def group_runs_table(group: SeedGroup) -> pd.DataFrame:
    """The runs of a group: the fields that vary within it, and each run's statistics."""
    return pd.DataFrame([{"run": run.run_id, **{name: _shown(run.config.get(name)) for name in group.noise_fields},
                          **{column: run.metrics[key] for key, (column, _) in STATISTICS.items()}}
                         for run in group.runs])


def _group_params(group: SeedGroup) -> float | None:
    params = [run.architecture["summary"].get("total_params") for run in group.runs]
    return None if None in params else float(np.mean(params))


def with_group_spread(figure: Figure, groups: list[SeedGroup]) -> Figure:
    """`figure` (accuracy against parameters) with each group's mean test accuracy and its sample standard
    deviation as an error bar, at the group's parameter count; groups of unknown size are left out."""
    for group in groups:
        params = _group_params(group)
        if params is None:
            continue
        accuracy = group.summary.loc["accuracy"]
        figure.add_trace(go.Scatter(
            x=[params], y=[accuracy["mean"]], mode="markers", name=f"{group.label} (mean ± std)",
            error_y={"type": "data", "array": [accuracy["std"]], "visible": True, "thickness": 2, "width": 8},
            marker={"symbol": "line-ew", "size": 22, "line": {"width": 3}},
            hovertemplate=f"{group.label}<br>n = {len(group.runs)}<br>mean %{{y:.4f}} ± {accuracy['std']:.4f}"
                          "<extra></extra>"))
    return figure


def _shown(value) -> object:
    """A configuration value as a table cell: lists and tuples as one string ('64, 192, 224')."""
    return ", ".join(map(str, value)) if isinstance(value, (list, tuple)) else value


def differences_for_display(differences: pd.DataFrame) -> pd.DataFrame:
    """The differing fields, one column per field, with lists written out and the run as a column."""
    return differences.map(_shown).astype(object).reset_index()


def _dimension(name: str, values: pd.Series) -> dict:
    """A parallel-coordinates axis: numbers on a scale; anything else (text, booleans, lists) as tick labels."""
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return {"label": name, "values": values.astype(float).tolist()}
    shown = values.map(lambda value: str(_shown(value)))
    categories = sorted(shown.unique())
    return {"label": name, "values": shown.map(categories.index).tolist(),
            "tickvals": list(range(len(categories))), "ticktext": categories,
            "range": [-0.5, len(categories) - 0.5] if len(categories) == 1 else [0, len(categories) - 1]}


def parallel_coordinates_figure(differences: pd.DataFrame, runs: list[Run], fields: list[str]) -> Figure:
    """One line per run across the chosen configuration `fields`, ending at its test accuracy (also its colour).

    Args:
        differences: `trainers.analysis.groups.config_differences(runs)`, indexed by run label.
        runs: the runs, for their accuracy.
        fields: columns of `differences`, in the order of the axes.
    """
    accuracy = pd.Series({run.label: run.metrics["accuracy"] for run in runs}, name=ACCURACY)
    table = differences[fields].join(accuracy)
    dimensions = [_dimension(name, table[name]) for name in fields]
    dimensions.append({"label": ACCURACY, "values": table[ACCURACY].tolist(), "tickformat": ".2%"})
    # The last axis is the accuracy the colour shows: no colour bar beside it.
    figure = go.Figure(go.Parcoords(dimensions=dimensions,
                                    line={"color": table[ACCURACY].tolist(), "colorscale": "Viridis"}))
    figure.update_layout(margin={"t": 60, "l": 100, "r": 60})
    return figure
