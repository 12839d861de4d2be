"""Calibration of runs from their stored predictions: scores, reliability diagram, top-1 confidence of right and
wrong predictions, and temperature scaling fitted on the validation predictions.

A run is anything with `.label`, `.class_names`, `.predictions` and, optionally, `.validation_predictions`
(None or absent when it stores none) and `.metrics` (whose recorded calibration scores are taken when it has
them), so ensembles are treated like runs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from dashboard.lib import figures
from dashboard.lib.runs import computed_once
from trainers.analysis import calibration
from trainers.analysis.calibration import BINS
from trainers.analysis.calibration import TemperatureFit
from trainers.store.run_store import Predictions

# Column names, shared with the Home table; all three are lower-is-better.
ECE = f"ECE ({BINS} bins)"
MCE = f"MCE ({BINS} bins)"
BRIER = "Brier score"
BINNING = f"{BINS} equal-width bins of top-1 confidence over (0, 1]"
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
    before they were (or in other bins)."""
    if metrics.get("calibration_bins") != BINS or not all(key in metrics for key in SCORE_KEYS.values()):
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
    """Accuracy against mean confidence per non-empty bin, one trace per run, beside the diagonal of a perfectly
    calibrated run; a point's area grows with its bin's image count, which shows on hover with the bin. Each run
    in its colour (`colours`, by label: `figures.run_colours`).

    More runs than `figures.MAX_COLOURED_RUNS` are drawn as one line, each point naming its run on hover.
    """
    shown = frame[frame["count"] > 0]
    if figures.many_runs(shown):
        figure = go.Figure([figures.runs_in_one_trace(shown, "confidence", "accuracy", name="runs",
                                                      hover="accuracy %{y:.3f}")])
        figure.update_layout(xaxis_title="mean top-1 confidence in the bin", yaxis_title="accuracy in the bin")
    else:
        figure = px.scatter(shown, x="confidence", y="accuracy", color="run", size="count", size_max=18,
                            color_discrete_map=colours or {},
                            hover_data={"bin": True, "count": ":,", "confidence": ":.3f", "accuracy": ":.3f"},
                            labels={"confidence": "mean top-1 confidence in the bin", "accuracy": "accuracy in the bin"})
        # A bin of one image stays visible; the line joins a run's bins in order of confidence.
        figure.update_traces(mode="lines+markers", marker_sizemin=4, line_width=1)
    figure.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="perfectly calibrated", hoverinfo="skip",
                                line={"dash": "dash", "color": "grey", "width": 1}))
    figure.update_layout(xaxis_range=[0, 1.02], yaxis_range=[0, 1.02], xaxis_tickformat=".0%",
                         yaxis_tickformat=".0%", legend_title_text="", height=480, margin={"t": 30})
    return figure


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
    """The command that adds validation predictions to a stored run; None for what is not a run folder."""
    path = getattr(run, "path", None)
    if path is None:
        return None
    try:
        path = Path(path).resolve().relative_to(Path.cwd())
    except ValueError:
        pass  # outside the working folder: the absolute path
    return f"python -m trainers.evaluate {path}"
