"""Confusion matrices: as tables and figures, per-class scores, the most confused pairs, and clicked cells."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
from sklearn import metrics

from trainers.store.run_store import Predictions


def confusion_frame(predictions: Predictions, class_names: list[str], *, normalise: bool = False) -> pd.DataFrame:
    """A run's confusion matrix from its stored predictions: rows are true classes, columns predicted ones.

    Args:
        predictions: the run's stored test predictions.
        class_names: names of the class indices; every class gets a row and a column.
        normalise: each row as shares of its true class (a class with no test image is a row of zeros).

    Example:
        >>> predictions = Predictions(np.array(["a", "b", "c", "d"]), np.array([0, 0, 0, 0]),
        ...                           np.array([[0.9, 0.1], [0.8, 0.2], [0.6, 0.4], [0.3, 0.7]]))
        >>> confusion_frame(predictions, ["cat", "dog"], normalise=True).to_numpy().tolist()
        [[0.75, 0.25], [0.0, 0.0]]
    """
    matrix = metrics.confusion_matrix(predictions.labels, predictions.predicted, labels=range(len(class_names)),
                                      normalize="true" if normalise else None)
    frame = pd.DataFrame(matrix, index=list(class_names), columns=list(class_names))
    frame.index.name, frame.columns.name = "true", "predicted"
    return frame


# Classes up to which a matrix writes each cell's value in it: beyond, the numbers are too small to read and cost
# the browser a text element each; the colour and the hover tell the value.
MAX_WRITTEN_CLASSES = 20
# Classes up to which each cell can be clicked (an invisible marker per cell); beyond, the most confused pairs
# lead to the images.
MAX_CLICKABLE_CLASSES = 100


def confusion_figure(frame: pd.DataFrame, *, normalise: bool = False, title: str = "") -> go.Figure:
    """A heatmap with every cell's value written in it (up to `MAX_WRITTEN_CLASSES`, then on hover only);
    clicking a cell selects (true, predicted), up to `MAX_CLICKABLE_CLASSES`.

    Plotly heatmaps send no selection events to Streamlit, so an invisible
    marker sits on each cell centre to be clicked instead.
    """
    size = len(frame)
    value = ".0%" if normalise else "d"
    figure = px.imshow(
        frame, text_auto=value if size <= MAX_WRITTEN_CLASSES else False, color_continuous_scale="Blues",
        aspect="auto", zmin=0, zmax=1 if normalise else None,
        labels={"x": "predicted", "y": "true", "color": "share of true class" if normalise else "images"},
        title=title,
    )
    figure.update_traces(hovertemplate=f"true %{{y}}, predicted %{{x}}: %{{z:{value}}}<extra></extra>")
    if size <= MAX_CLICKABLE_CLASSES:
        true, predicted = np.meshgrid(frame.index, frame.columns, indexing="ij")
        figure.add_trace(go.Scatter(
            x=predicted.ravel(), y=true.ravel(), mode="markers", showlegend=False, hoverinfo="none",
            marker={"size": 30, "symbol": "square", "opacity": 0},
        ))
    figure.update_layout(
        height=min(900, 160 + 48 * size), coloraxis_showscale=False, clickmode="event+select",
        xaxis={"side": "bottom", "tickangle": -45 if size > 6 else 0}, margin={"t": 50 if title else 10},
    )
    figure.update_traces(textfont_size=14 if size <= 10 else 10, selector={"type": "heatmap"})
    return figure


def per_class_table(metrics: dict) -> pd.DataFrame:
    """Precision, recall, F1 and support of each class, as the run's metrics.json holds them."""
    return pd.DataFrame(metrics["per_class"], columns=["class", "precision", "recall", "f1", "support"])


def confused_pairs(counts: pd.DataFrame, *, top: int = 5) -> pd.DataFrame:
    """The off-diagonal cells with the most images: true class, predicted class, count, share of the true class.

    Args:
        counts: a confusion matrix of counts, as `confusion_frame` returns it.
        top: how many pairs to keep.

    Ties in count are ordered by share, then by position in the matrix.
    """
    cells = counts.rename_axis(index="true", columns="predicted").stack().rename("count").reset_index()
    cells["share of true class"] = cells["count"] / cells["true"].map(counts.sum(axis=1))
    pairs = cells[(cells["true"] != cells["predicted"]) & (cells["count"] > 0)]
    pairs = pairs.sort_values(["count", "share of true class"], ascending=False, kind="stable")
    return pairs.head(top).reset_index(drop=True)


def most_confused_cell(counts: pd.DataFrame) -> tuple[str, str]:
    """The (true, predicted) class names of the off-diagonal cell with the most images; the first two
    classes' cell when no image was confused."""
    pairs = confused_pairs(counts, top=1)
    if pairs.empty:
        return str(counts.index[0]), str(counts.columns[1])
    return pairs.at[0, "true"], pairs.at[0, "predicted"]


def selected_cell(selection: dict) -> tuple[str, str] | None:
    """The (true, predicted) class names of the first clicked cell of a `confusion_figure`, if any."""
    points = (selection or {}).get("points") or []
    for point in points:
        if "x" in point and "y" in point:
            return str(point["y"]), str(point["x"])
    return None
