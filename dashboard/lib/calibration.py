"""Calibration of runs from their stored predictions: scores, reliability diagram, top-1 confidence of right and
wrong predictions, and temperature scaling fitted on the validation predictions.

A run is anything with `.label`, `.class_names`, `.predictions` and, optionally, `.validation_predictions`
(None or absent when it stores none) and `.metrics` (whose recorded calibration scores are taken when it has
them), so ensembles are treated like runs.
"""

from __future__ import annotations


import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dashboard.lib import figures
from dashboard.lib.runs import computed_once
from trainers.analysis import calibration
from trainers.analysis.calibration import BINS, MIN_BIN_IMAGES
from trainers.analysis.calibration import TemperatureFit
from trainers.store import evaluable
from trainers.store.run_store import Predictions

# Column names, shared with the Home table; all three are lower-is-better.
ECE = f"ECE ({BINS} bins)"
MCE = f"MCE ({BINS} bins)"
BRIER = "Brier score"
BINNING = f"{BINS} equal-width bins of top-1 confidence over (0, 1]"
SMALL_BINS = f"bins of fewer than {MIN_BIN_IMAGES} images"  # drawn hollow, left out of the MCE
SMALL_BINS_LEGEND = f"hollow: {SMALL_BINS}, left out of MCE"
PREDICTION_COLOURS = {"right": "#2ca02c", "wrong": "#d62728"}


# The column of each score a run's metrics.json records.
SCORE_KEYS = {ECE: "ece", MCE: "mce", BRIER: "brier"}


@computed_once
def calibration_scores(predictions: Predictions) -> dict[str, float]:
    """ECE, MCE and Brier score of stored predictions, under their column names (computed once per predictions)."""
    scores = calibration.calibration_scores(predictions.labels, predictions.probabilities)
    return {column: scores[key] for column, key in SCORE_KEYS.items()}


def recorded_scores(metrics: dict) -> dict[str, float] | None:
    """The calibration scores a run's metrics.json records, under their column names; None for a run recorded
    before they were, in other bins, or before its MCE left out bins of fewer than `MIN_BIN_IMAGES` images (such a
    run's scores are computed from its predictions)."""
    if (metrics.get("calibration_bins") != BINS or metrics.get("calibration_min_bin_images") != MIN_BIN_IMAGES
            or not all(key in metrics for key in SCORE_KEYS.values())):
        return None
    return {column: metrics[key] for column, key in SCORE_KEYS.items()}


def run_scores(run) -> dict[str, float]:
    """ECE, MCE and Brier score of a run under their column names: as its metrics.json records them (exact: from
    the probabilities before they were stored), else from its stored predictions."""
    return recorded_scores(getattr(run, "metrics", {})) or calibration_scores(run.predictions)


def calibration_table(runs) -> pd.DataFrame:
    """One row per run: test accuracy, mean top-1 confidence, ECE, MCE and Brier score on the test images."""
    rows = []
    for run in runs:
        predictions = run.predictions
        rows.append({"run": run.label, "test accuracy": (predictions.predicted == predictions.labels).mean(),
                     "mean confidence": float(predictions.confidence.mean()), **run_scores(run)})
    return pd.DataFrame(rows)


@computed_once
def _reliability(predictions: Predictions) -> calibration.ReliabilityTable:
    # From the exact top-1 confidence: no copy of the whole probability array.
    return calibration.confidence_reliability(predictions.confidence, predictions.predicted == predictions.labels)


def reliability_frame(predictions: dict[str, Predictions]) -> pd.DataFrame:
    """The reliability table of each named set of predictions, long: one row per name and bin, empty bins too.

    Columns: run, bin ("0.93-1.00"), lower, upper, count, confidence (mean top-1 confidence), accuracy.
    """
    tables = [_reliability(shown) for shown in predictions.values()]
    columns = {name: np.concatenate([getattr(table, name) for table in tables])
               for name in ("lower", "upper", "count", "confidence", "accuracy")}
    bins = [f"{lower:.2f}-{upper:.2f}" for lower, upper in zip(tables[0].lower, tables[0].upper)]
    return pd.DataFrame({"run": np.repeat(list(predictions), [len(table.count) for table in tables]),
                         "bin": bins * len(tables), **columns})


def reliability_figure(frame: pd.DataFrame, colours: dict[str, str] | None = None) -> go.Figure:
    """Above: accuracy against mean confidence per non-empty bin, a line per run, beside the diagonal of a perfectly
    calibrated run; `SMALL_BINS` are hollow, off the line, their image count written beside them. Below, on the
    same confidence axis: each bin's image count (log scale), with the `MIN_BIN_IMAGES` line. Each run in its
    colour (`colours`, by label: `figures.run_colours`).

    More runs than `figures.MAX_COLOURED_RUNS` are drawn as one line per panel, each point naming its run on hover.
    """
    shown = frame[frame["count"] > 0].assign(centre=lambda rows: (rows["lower"] + rows["upper"]) / 2,
                                             small=lambda rows: rows["count"] < MIN_BIN_IMAGES)
    figure = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.74, 0.26], vertical_spacing=0.06)
    if figures.many_runs(shown):
        figure.add_trace(figures.runs_in_one_trace(shown[~shown["small"]], "confidence", "accuracy", name="runs",
                                                   hover="accuracy %{y:.3f}"), row=1, col=1)
        figure.add_trace(figures.runs_in_one_trace(shown, "centre", "count", name="images per bin",
                                                   hover="%{y:,} images"), row=2, col=1)
        _add_small_bins(figure, shown[shown["small"]], figures.MANY_RUNS_COLOURS[0], name=None)
    else:
        for number, (name, rows) in enumerate(shown.groupby("run", sort=False)):
            colour = (colours or {}).get(name, figures.PALETTE[number % len(figures.PALETTE)])
            kept = rows[~rows["small"]]
            figure.add_trace(go.Scatter(
                x=kept["confidence"], y=kept["accuracy"], mode="lines+markers", name=name, legendgroup=name,
                line={"color": colour, "width": 1.5}, marker={"size": 7}, customdata=kept[["bin", "count"]],
                hovertemplate=f"{name}<br>bin %{{customdata[0]}}: %{{customdata[1]:,}} images<br>"
                              "confidence %{x:.3f}<br>accuracy %{y:.3f}<extra></extra>"), row=1, col=1)
            _add_small_bins(figure, rows[rows["small"]], colour, name=name)
            figure.add_trace(go.Bar(
                x=rows["centre"], y=rows["count"], name=name, legendgroup=name, showlegend=False, offsetgroup=name,
                marker={"color": colour, "opacity": np.where(rows["small"], 0.45, 0.9)},
                customdata=rows[["bin"]], hovertemplate=f"{name}<br>bin %{{customdata[0]}}: %{{y:,}} images"
                                                        "<extra></extra>"), row=2, col=1)
    # In the legend: what a hollow point is.
    figure.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=SMALL_BINS_LEGEND,
                                marker={"symbol": "circle-open", "size": 9, "color": "grey", "line": {"width": 2}}),
                     row=1, col=1)
    figure.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="perfectly calibrated", hoverinfo="skip",
                                line={"dash": "dash", "color": "grey", "width": 1}), row=1, col=1)
    figure.add_hline(y=MIN_BIN_IMAGES, row=2, col=1, line={"dash": "dot", "color": "grey", "width": 1})
    # On a log axis an annotation's y is the power of ten.
    figure.add_annotation(x=0, y=np.log10(MIN_BIN_IMAGES), xref="x2", yref="y2", text=f"{MIN_BIN_IMAGES} images",
                          showarrow=False, xanchor="left", yanchor="bottom", font={"size": 11, "color": "grey"})
    counts = shown["count"]
    figure.update_xaxes(range=[0, 1.02], tickformat=".0%")
    figure.update_xaxes(title_text="top-1 confidence", row=2, col=1)
    figure.update_yaxes(title_text="accuracy in the bin", range=[-0.03, 1.05], tickformat=".0%", row=1, col=1)
    # Log: a bin of one image shows beside one of thousands; the range holds the MIN_BIN_IMAGES line.
    top = max(int(counts.max()) if len(counts) else 1, MIN_BIN_IMAGES) * 2
    figure.update_yaxes(title_text="images in the bin", type="log", range=[np.log10(0.5), np.log10(top)], dtick=1,
                        row=2, col=1)
    figure.update_layout(height=640, margin={"t": 60}, bargap=0.15,
                         legend={"title_text": "", "orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0})
    return figure


def _add_small_bins(figure: go.Figure, rows: pd.DataFrame, colour: str, *, name: str | None) -> None:
    """The bins of `rows` as hollow points, each with its image count beside it (`name`: the run, None when the
    rows are of many runs)."""
    runs = rows["run"].to_numpy(object)
    figure.add_trace(go.Scatter(
        x=rows["confidence"], y=rows["accuracy"], mode="markers+text", text=[f"{count:,}" for count in rows["count"]],
        textposition="middle right", textfont={"size": 11, "color": colour}, name=name or "runs", legendgroup=name,
        showlegend=False, marker={"symbol": "circle-open", "size": 9, "color": colour, "line": {"width": 2}},
        customdata=np.c_[runs, rows["bin"], rows["count"]],
        hovertemplate="%{customdata[0]}<br>bin %{customdata[1]}: %{customdata[2]:,} images, too few for MCE<br>"
                      "confidence %{x:.3f}<br>accuracy %{y:.3f}<extra></extra>"), row=1, col=1)


def confidence_frame(predictions: Predictions) -> pd.DataFrame:
    """Per test image: its top-1 confidence and whether that prediction is right or wrong."""
    correct = predictions.predicted == predictions.labels
    return pd.DataFrame({"confidence": predictions.confidence, "prediction": np.where(correct, "right", "wrong")})


def confidence_histogram(predictions: Predictions) -> go.Figure:
    """The top-1 confidence of right and of wrong predictions, each as shares of its own count (in the legend),
    in the bins of the reliability table."""
    frame = confidence_frame(predictions)
    counts = frame["prediction"].value_counts()
    figure = px.histogram(frame, x="confidence", color="prediction", histnorm="percent", barmode="overlay",
                          color_discrete_map=PREDICTION_COLOURS, category_orders={"prediction": ["right", "wrong"]},
                          labels={"confidence": "top-1 confidence", "prediction": ""})
    figure.update_traces(xbins={"start": 0, "end": 1, "size": 1 / BINS}, opacity=0.6)
    figure.for_each_trace(lambda trace: trace.update(name=f"{trace.name} ({counts.get(trace.name, 0):,})"))
    figure.update_layout(xaxis_range=[0, 1], xaxis_tickformat=".0%", yaxis_title="share of its predictions (%)",
                         height=380, margin={"t": 30})
    return figure


# Fitted once per run object: the Calibration page, Home's table and the report all ask for it on every rerun.
temperature_fit = computed_once(calibration.temperature_fit)


def temperature_table(fits: dict[str, TemperatureFit]) -> pd.DataFrame:
    """Per run: the fitted temperature, the validation images it was fitted on, and the test ECE and Brier score
    as stored (before) and at that temperature (after)."""
    rows = []
    for name, fit in fits.items():
        before, after = calibration_scores(fit.stored), calibration_scores(fit.scaled)
        rows.append({"run": name, "temperature": fit.temperature, "validation images": fit.validation_images,
                     **{f"{score} {when}": scores[score] for score in (ECE, BRIER)
                        for when, scores in (("before", before), ("after", after))}})
    return pd.DataFrame(rows)


def temperature_label(temperature: float) -> str:
    """How predictions at a temperature are named in a legend or a heading."""
    return f"at T = {temperature:.2f}"


def evaluate_command(run) -> str | None:
    """The command, run from the working folder, that adds validation predictions to a stored run; None when
    `trainers.evaluate` cannot predict the run again (`evaluable.evaluation_refusal` says why)."""
    return None if evaluable.evaluation_refusal(run) is not None else evaluable.evaluate_command(run)
