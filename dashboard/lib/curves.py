"""Training curves of several runs: long tables, TensorBoard smoothing, the train-validation gap, and figures."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.express as px
from plotly.graph_objects import Figure

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
        values: the series, in epoch order.
        weight: 0 (no smoothing) up to, not including, 1.

    Example:
        >>> smooth([0, 10, 10], 0.5).round(4).tolist()
        [0.0, 6.6667, 8.5714]
    """
    if not 0 <= weight < 1:
        raise ValueError(f"Smoothing weight must be in [0, 1), got {weight}")
    values = pd.Series(values, dtype=float)
    finite = np.isfinite(values)
    # pandas' adjusted EMA is TensorBoard's debiased one; ignore_na skips the masked values without decaying.
    smoothed = values.where(finite).ewm(alpha=1 - weight, adjust=True, ignore_na=True).mean()
    return smoothed.where(finite, values)


def curves_table(histories: dict[str, pd.DataFrame], *, smoothing: float = 0.0) -> pd.DataFrame:
    """Long table of run, epoch (counted from 1), metric, split and value, smoothed per run and series."""
    parts = []
    for run, history in histories.items():
        for column, (metric, split) in CURVE_COLUMNS.items():
            parts.append(pd.DataFrame({
                "run": run, "epoch": history["epoch"].to_numpy() + 1, "metric": metric, "split": split,
                "value": smooth(history[column], smoothing).to_numpy(),
            }))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
        columns=["run", "epoch", "metric", "split", "value"])


def gap_table(histories: dict[str, pd.DataFrame], *, smoothing: float = 0.0) -> pd.DataFrame:
    """Per run and epoch, how much better the model does on train than on validation.

    Positive and growing gaps mean over-fitting: accuracy gap = train - validation
    accuracy, loss gap = validation - train loss.
    """
    parts = []
    for run, history in histories.items():
        parts.append(pd.DataFrame({
            "run": run, "epoch": history["epoch"].to_numpy() + 1,
            "accuracy gap": smooth(history["accuracy"] - history["val_accuracy"], smoothing).to_numpy(),
            "loss gap": smooth(history["val_loss"] - history["loss"], smoothing).to_numpy(),
        }))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
        columns=["run", "epoch", "accuracy gap", "loss gap"])


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


def curves_figure(curves: pd.DataFrame, metric: str) -> Figure:
    """One metric of every run, train solid and validation dashed; hover tells run, split, epoch and value."""
    shown = curves[curves["metric"] == metric]
    figure = px.line(
        shown, x="epoch", y="value", color="run", line_dash="split", markers=True,
        labels={"value": metric}, line_dash_map={"train": "solid", "validation": "dash"},
    )
    if metric == "accuracy":
        figure.update_layout(yaxis_tickformat=".0%")
    return _style(figure, shown["epoch"], metric.capitalize())


def learning_rate_figure(histories: dict[str, pd.DataFrame]) -> Figure:
    """The learning rate each run used, per epoch."""
    rates = pd.concat(
        [pd.DataFrame({"run": run, "epoch": h["epoch"].to_numpy() + 1, "learning rate": h["learning_rate"].to_numpy()})
         for run, h in histories.items()],
        ignore_index=True,
    )
    figure = px.line(rates, x="epoch", y="learning rate", color="run", markers=True)
    # From zero, so a constant rate reads as itself rather than centred in a range around it.
    figure.update_layout(yaxis={"exponentformat": "e", "rangemode": "tozero"})
    return _style(figure, rates["epoch"], "Learning rate")


def gap_figure(gaps: pd.DataFrame, column: str = "accuracy gap") -> Figure:
    """The train-validation gap per epoch; above zero the model fits train better than unseen data."""
    figure = px.line(gaps, x="epoch", y=column, color="run", markers=True)
    figure.add_hline(y=0, line_dash="dot", line_color="grey")
    if column == "accuracy gap":
        figure.update_layout(yaxis_tickformat=".0%")
    return _style(figure, gaps["epoch"], column.capitalize())
