"""Training curves of several runs: long tables, TensorBoard smoothing, the train-validation gap, and figures."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.graph_objects import Figure

from dashboard.lib import figures

# history.csv column -> (metric, split) of the long table.
CURVE_COLUMNS = {
    "loss": ("loss", "train"),
    "val_loss": ("loss", "validation"),
    "accuracy": ("accuracy", "train"),
    "val_accuracy": ("accuracy", "validation"),
}


def smooth(values, weight: float) -> pd.Series:
    """Exponential moving average as TensorBoard draws it: debiased, so the first epochs are not pulled to 0.

    s[t] = sum_i w**(t-i) * v[i] / sum_i w**(t-i) over the finite values up to t. Non-finite values
    (NaN, inf) are drawn as they are and left out of the average, as TensorBoard does.

    Args:
        values: the series, in epoch order; or a DataFrame, each of its columns smoothed on its own.
        weight: 0 (no smoothing) up to, not including, 1.

    Example:
        >>> smooth([0, 10, 10], 0.5).round(4).tolist()
        [0.0, 6.6667, 8.5714]
    """
    if not 0 <= weight < 1:
        raise ValueError(f"Smoothing weight must be in [0, 1), got {weight}")
    values = values.astype(float) if isinstance(values, pd.DataFrame) else pd.Series(values, dtype=float)
    finite = np.isfinite(values)
    # pandas' adjusted EMA is TensorBoard's debiased one; ignore_na skips the masked values without decaying.
    smoothed = values.where(finite).ewm(alpha=1 - weight, adjust=True, ignore_na=True).mean()
    return smoothed.where(finite, values)


def _long(histories: dict[str, pd.DataFrame], series: dict[str, pd.Series | pd.DataFrame],
          smoothing: float) -> dict[str, np.ndarray]:
    """Columns of a long table, one row per run and epoch, runs in order: run, epoch (from 1), and each of
    `series` (a Series per run, by name) smoothed per run.

    Every run's series is smoothed at once, as the columns of one table (runs ended early are padded with NaN,
    which smoothing skips): a hundred runs cost about what one does.
    """
    lengths = np.array([len(history) for history in histories.values()])
    kept = np.arange(lengths.max(initial=0))[:, None] < lengths  # (epoch, run): the epochs each run has
    columns = {"run": np.repeat(list(histories), lengths),
               "epoch": np.concatenate([history["epoch"].to_numpy() + 1 for history in histories.values()]
                                       or [np.zeros(0, int)])}
    for name, per_run in series.items():
        wide = np.full(kept.shape, np.nan)
        for index, values in enumerate(per_run):
            wide[:len(values), index] = values
        columns[name] = smooth(pd.DataFrame(wide), smoothing).to_numpy().T[kept.T]  # run by run, epochs in order
    return columns


def curves_table(histories: dict[str, pd.DataFrame], *, smoothing: float = 0.0) -> pd.DataFrame:
    """Long table of run, epoch (counted from 1), metric, split and value, smoothed per run and series."""
    if not histories:
        return pd.DataFrame(columns=["run", "epoch", "metric", "split", "value"])
    parts = []
    for column, (metric, split) in CURVE_COLUMNS.items():
        long = _long(histories, {"value": [history[column] for history in histories.values()]}, smoothing)
        parts.append(pd.DataFrame({"run": long["run"], "epoch": long["epoch"], "metric": metric, "split": split,
                                   "value": long["value"]}))
    return pd.concat(parts, ignore_index=True)


def gap_table(histories: dict[str, pd.DataFrame], *, smoothing: float = 0.0) -> pd.DataFrame:
    """Per run and epoch, how much better the model does on train than on validation.

    Positive and growing gaps mean over-fitting: accuracy gap = train - validation
    accuracy, loss gap = validation - train loss.
    """
    if not histories:
        return pd.DataFrame(columns=["run", "epoch", "accuracy gap", "loss gap"])
    return pd.DataFrame(_long(histories, {
        "accuracy gap": [history["accuracy"] - history["val_accuracy"] for history in histories.values()],
        "loss gap": [history["val_loss"] - history["loss"] for history in histories.values()],
    }, smoothing))


def final_gaps(histories: dict[str, pd.DataFrame], kept_epochs: dict[str, int | None] | None = None) -> pd.DataFrame:
    """One row per run: last epoch's accuracies and gap, the epoch of best validation accuracy,
    and the epoch whose weights the run ships.

    Args:
        kept_epochs: per run, the 0-based epoch whose weights were kept (run.json's best_epoch,
            when trained with keep_best); missing or None means the last epoch.
    """
    rows = []
    for run, history in histories.items():
        kept = (kept_epochs or {}).get(run)
        last = history.iloc[-1]
        validated = history["val_accuracy"].dropna()  # an epoch whose validation failed is NaN: never the best
        rows.append({
            "run": run,
            "epochs": len(history),
            "train accuracy": last["accuracy"],
            "validation accuracy": last["val_accuracy"],
            "accuracy gap": last["accuracy"] - last["val_accuracy"],
            "loss gap": last["val_loss"] - last["loss"],
            "best validation epoch": int(history.loc[validated.idxmax(), "epoch"]) + 1 if len(validated) else None,
            "shipped epoch": len(history) if kept is None else kept + 1,
        })
    return pd.DataFrame(rows)


def _style(figure: Figure, epochs: pd.Series, title: str) -> Figure:
    """Whole-epoch ticks, a title, and the legend under the plot so side-by-side charts keep their width."""
    last_epoch = int(epochs.max()) if len(epochs) else 1
    figure.update_layout(
        title=title, legend={"title_text": "", "orientation": "h", "yanchor": "top", "y": -0.25},
        xaxis={"dtick": max(1, round(last_epoch / 10)), "tick0": 1}, margin={"t": 40},
    )
    return figure


SPLIT_DASHES = {"train": "solid", "validation": "dash"}


def curves_figure(curves: pd.DataFrame, metric: str, colours: dict[str, str] | None = None) -> Figure:
    """One metric of every run, train solid and validation dashed, each run in its colour (`colours`, by label:
    `figures.run_colours`); hover tells run, split, epoch and value.

    A line and a colour per run, up to `figures.MAX_COLOURED_RUNS` runs; more are drawn in one colour per split.
    """
    shown = curves[curves["metric"] == metric]
    if figures.many_runs(shown):
        figure = go.Figure([figures.runs_in_one_trace(shown[shown["split"] == split], "epoch", "value", name=split,
                                                      dash=dash, colour=colour)
                            for (split, dash), colour in zip(SPLIT_DASHES.items(), figures.MANY_RUNS_COLOURS)])
    else:
        figure = go.Figure(figures.lines_by_run(shown, "epoch", "value", dashes=SPLIT_DASHES,
                                                        colours=colours))
    figure.update_layout(xaxis_title="epoch", yaxis_title=metric)
    if metric == "accuracy":
        figure.update_layout(yaxis_tickformat=".0%")
    return _style(figure, shown["epoch"], metric.capitalize())


def _lines(table: pd.DataFrame, y: str, colours: dict[str, str] | None) -> Figure:
    """`y` per epoch, a line per run in its colour; or one line for all, for more runs than colours."""
    many = figures.many_runs(table)
    figure = go.Figure([figures.runs_in_one_trace(table, "epoch", y, name=y)] if many
                       else figures.lines_by_run(table, "epoch", y, colours=colours))
    return figure.update_layout(xaxis_title="epoch", yaxis_title=y, showlegend=not many)


def learning_rate_figure(histories: dict[str, pd.DataFrame], colours: dict[str, str] | None = None) -> Figure:
    """The learning rate each run used, per epoch, each run in its colour (`colours`, by label)."""
    rates = pd.DataFrame({"run": np.repeat(list(histories), [len(h) for h in histories.values()]),
                          "epoch": np.concatenate([h["epoch"].to_numpy() + 1 for h in histories.values()]),
                          "learning rate": np.concatenate([h["learning_rate"].to_numpy() for h in histories.values()])})
    figure = _lines(rates, "learning rate", colours)
    # From zero, so a constant rate reads as itself rather than centred in a range around it.
    figure.update_layout(yaxis={"exponentformat": "e", "rangemode": "tozero"})
    return _style(figure, rates["epoch"], "Learning rate")


def gap_figure(gaps: pd.DataFrame, column: str = "accuracy gap", colours: dict[str, str] | None = None) -> Figure:
    """The train-validation gap per epoch, each run in its colour (`colours`, by label); above zero the model
    fits train better than unseen data."""
    figure = _lines(gaps, column, colours)
    figure.add_hline(y=0, line_dash="dot", line_color="grey")
    if column == "accuracy gap":
        figure.update_layout(yaxis_tickformat=".0%")
    return _style(figure, gaps["epoch"], column.capitalize())
