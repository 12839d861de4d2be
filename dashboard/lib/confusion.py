"""Confusion matrices: as tables and figures, per-class scores, the most confused pairs, and a cell's images."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go


def confusion_frame(matrix, class_names: list[str], *, normalise: bool = False) -> pd.DataFrame:
    """Rows are true classes, columns predicted ones; `normalise` divides each row by its total.

    Example:
        >>> confusion_frame([[3, 1], [0, 0]], ["cat", "dog"], normalise=True).to_numpy().tolist()
        [[0.75, 0.25], [0.0, 0.0]]
    """
    counts = np.asarray(matrix, dtype=float if normalise else int)
    if normalise:
        totals = counts.sum(axis=1, keepdims=True)
        counts = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
    frame = pd.DataFrame(counts, index=list(class_names), columns=list(class_names))
    frame.index.name, frame.columns.name = "true", "predicted"
    return frame


def confusion_figure(frame: pd.DataFrame, *, normalise: bool = False, title: str = "") -> go.Figure:
    """A heatmap with every cell's value written in it; clicking a cell selects (true, predicted).

    Plotly heatmaps send no selection events to Streamlit, so an invisible
    marker sits on each cell centre to be clicked instead.
    """
    figure = px.imshow(
        frame, text_auto=".0%" if normalise else "d", color_continuous_scale="Blues", aspect="auto",
        zmin=0, zmax=1 if normalise else None,
        labels={"x": "predicted", "y": "true", "color": "share of true class" if normalise else "images"},
        title=title,
    )
    true, predicted = np.meshgrid(frame.index, frame.columns, indexing="ij")
    figure.add_trace(go.Scatter(
        x=predicted.ravel(), y=true.ravel(), mode="markers", showlegend=False, hoverinfo="none",
        marker={"size": 30, "symbol": "square", "opacity": 0},
    ))
    size = len(frame)
    figure.update_layout(
        height=min(900, 160 + 48 * size), coloraxis_showscale=False, clickmode="event+select",
        xaxis={"side": "bottom", "tickangle": -45 if size > 6 else 0}, margin={"t": 50 if title else 10},
    )
    figure.update_traces(textfont_size=14 if size <= 10 else 10, selector={"type": "heatmap"})
    return figure


def per_class_table(metrics: dict) -> pd.DataFrame:
    """Precision, recall, F1 and support of each class, as the run's metrics.json holds them."""
    return pd.DataFrame(metrics["per_class"], columns=["class", "precision", "recall", "f1", "support"])


def confused_pairs(matrix, class_names: list[str], *, top: int = 5) -> pd.DataFrame:
    """The off-diagonal cells with the most images: true class, predicted class, count, share of the true class.

    Ties in count are ordered by share, then by position in the matrix.
    """
    counts = np.asarray(matrix, dtype=int)
    totals = counts.sum(axis=1)
    rows = [
        {"true": class_names[t], "predicted": class_names[p], "count": int(counts[t, p]),
         "share of true class": counts[t, p] / totals[t]}
        for t in range(len(counts)) for p in range(len(counts))
        if t != p and counts[t, p] > 0
    ]
    pairs = pd.DataFrame(rows, columns=["true", "predicted", "count", "share of true class"])
    pairs = pairs.sort_values(["count", "share of true class"], ascending=False, kind="stable")
    return pairs.head(top).reset_index(drop=True)


def cell_samples(labels, probabilities, true_class: int, predicted_class: int) -> np.ndarray:
    """Positions of the test images of one cell, the model's most confident first."""
    probabilities = np.asarray(probabilities)
    predicted = probabilities.argmax(axis=1)
    positions = np.flatnonzero((np.asarray(labels) == true_class) & (predicted == predicted_class))
    confidence = probabilities[positions, predicted_class]
    return positions[np.argsort(-confidence, kind="stable")]


def selected_cell(selection: dict) -> tuple[str, str] | None:
    """The (true, predicted) class names of the first clicked cell of a `confusion_figure`, if any."""
    points = (selection or {}).get("points") or []
    for point in points:
        if "x" in point and "y" in point:
            return str(point["y"]), str(point["x"])
    return None
