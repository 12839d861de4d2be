"""Confusion matrices: as tables and figures, per-class scores, the most confused pairs, and clicked cells."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
from sklearn import metrics

from trainers.analysis import class_groups
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


def grouped_frame(counts: pd.DataFrame, groups: dict[str, str], *, normalise: bool = False) -> pd.DataFrame:
    """A confusion matrix of counts (`confusion_frame`) counted by class group: rows are true groups, columns
    predicted ones; `normalise`: each row as shares of its true group.

    Example:
        >>> counts = pd.DataFrame([[3, 1, 0], [2, 4, 1], [0, 1, 5]], index=["cat", "dog", "owl"],
        ...                       columns=["cat", "dog", "owl"])
        >>> grouped = grouped_frame(counts, {"cat": "mammal", "dog": "mammal", "owl": "bird"}, normalise=True)
        >>> grouped.round(3).to_dict("index")  # mammals: 10 of 11 images predicted as a mammal
        {'mammal': {'mammal': 0.909, 'bird': 0.091}, 'bird': {'mammal': 0.167, 'bird': 0.833}}
    """
    names = class_groups.group_names(groups)
    matrix = class_groups.grouped_matrix(counts.to_numpy(), list(counts.index), groups).astype(float if normalise
                                                                                             else int)
    if normalise:
        totals = matrix.sum(axis=1, keepdims=True)
        matrix = np.divide(matrix, totals, out=np.zeros_like(matrix), where=totals > 0)
    frame = pd.DataFrame(matrix, index=names, columns=names)
    frame.index.name, frame.columns.name = "true", "predicted"
    return frame


def group_table(grouped: pd.DataFrame, groups: dict[str, str], shown: list[str] | None = None) -> pd.DataFrame:
    """Per group (of `shown` only, if given): its classes, test images, and recall (the share predicted as a
    class of the group), from a grouped matrix of counts."""
    matrix = grouped.to_numpy()
    images = matrix.sum(axis=1)
    table = pd.DataFrame({"group": grouped.index, "classes": [list(groups.values()).count(g) for g in grouped.index],
                          "images": images,
                          "recall": np.divide(np.diag(matrix), images, out=np.zeros(len(images)), where=images > 0)})
    return table if shown is None else table[table["group"].isin(shown)].reset_index(drop=True)


# Classes up to which a matrix writes each cell's value in it: beyond, the numbers are too small to read and cost
# the browser a text element each; the colour and the hover tell the value.
MAX_WRITTEN_CLASSES = 20
# Classes up to which each cell can be clicked (an invisible marker per cell: 10,000 markers at 100 classes make
# each redraw of two matrices most of a second slower); beyond, the most confused pairs and the cell pickers lead
# to the images.
MAX_CLICKABLE_CLASSES = 50
# Classes up to which a page (and the report) shows every class at first; beyond, the most confused.
MAX_WHOLE_CLASSES = 100


# The width, in px, a page gives a matrix: two abreast beside the sidebar of a laptop's screen, one above the other
# on a narrower one. Its numbers are sized to fit its cells at this width.
MATRIX_WIDTH = 480
MARK_COLOUR = "#e8590c"  # the outline of a chosen cell: orange, apart from the matrix's blues


def confusion_figure(frame: pd.DataFrame, *, normalise: bool = False, title: str = "",
                     marked: tuple[str, str] | None = None) -> go.Figure:
    """A heatmap with every cell's value written in it (up to `MAX_WRITTEN_CLASSES`, and while the numbers fit
    their cells at `MATRIX_WIDTH`; else on hover only); clicking a cell selects (true, predicted), up to
    `MAX_CLICKABLE_CLASSES`.

    Args:
        frame: a confusion matrix, as `confusion_frame` returns it (or cut to some classes).
        normalise: its values are shares of each true class, written as percentages.
        title: above the matrix, if given.
        marked: the (true, predicted) cell to outline, the one whose images a page shows; ignored when its classes
            are not in the matrix.

    Plotly heatmaps send no selection events to Streamlit, so an invisible
    marker sits on each cell centre to be clicked instead.
    """
    size = len(frame)
    value = ".0%" if normalise else "d"
    if normalise:  # float32 shares: half the bytes sent (a 1,000-class matrix is megabytes), as exact as shown
        frame = frame.astype(np.float32)
    text_size = _text_size(frame, normalise) if size <= MAX_WRITTEN_CLASSES else None
    figure = px.imshow(
        frame, text_auto=value if text_size else False, color_continuous_scale="Blues",
        aspect="auto", zmin=0, zmax=1 if normalise else None,
        labels={"x": "predicted", "y": "true", "color": "share of true class" if normalise else "images"},
        title=title,
    )
    figure.update_traces(hovertemplate=f"true %{{y}}, predicted %{{x}}: %{{z:{value}}}<extra></extra>")
    # Cells about square at MATRIX_WIDTH, below the class names written at an angle.
    height = min(900, 130 + 40 * size)
    if size <= MAX_CLICKABLE_CLASSES:
        true, predicted = np.meshgrid(frame.index, frame.columns, indexing="ij")
        figure.add_trace(go.Scatter(
            x=predicted.ravel(), y=true.ravel(), mode="markers", showlegend=False, hoverinfo="none",
            marker={"size": min(30, (height - 130) / size), "symbol": "square", "opacity": 0},
        ))
    tick_font = {"size": 12 if size <= 20 else 10}
    figure.update_layout(
        height=height, coloraxis_showscale=False, clickmode="event+select",
        # Margins as small as the class names allow (automargin widens them): a narrow screen keeps its cells.
        margin={"t": 50 if title else 10, "l": 10, "r": 10, "b": 10},
        # The matrix's own ranges: the markers would pad them by half a marker each side.
        xaxis={"side": "bottom", "tickangle": -45 if size > 6 else 0, "range": [-0.5, size - 0.5],
               "automargin": True, "tickfont": tick_font},
        yaxis={"range": [size - 0.5, -0.5], "automargin": True, "tickfont": tick_font},
    )
    if text_size:
        figure.update_traces(textfont_size=text_size, selector={"type": "heatmap"})
    if marked is not None and marked[0] in frame.index and marked[1] in frame.columns:
        row, column = frame.index.get_loc(marked[0]), frame.columns.get_loc(marked[1])
        figure.add_shape(type="rect", x0=column - 0.5, x1=column + 0.5, y0=row - 0.5, y1=row + 0.5,
                         line={"color": MARK_COLOUR, "width": 3}, name="marked cell")
    return figure


def _text_size(frame: pd.DataFrame, normalise: bool) -> int | None:
    """The font size, in px, at which the widest value of the matrix fits its cell at `MATRIX_WIDTH` (up to 14);
    None below 8 px, too small to read: the values are then on hover only."""
    most = float(frame.to_numpy().max(initial=0))
    widest = len(f"{most:.0%}" if normalise else str(int(most)))
    label_margin = 90  # px, about, of class names beside the matrix
    cell = (MATRIX_WIDTH - label_margin) / len(frame)
    size = int(min(14, cell / (0.6 * widest + 0.4)))  # a digit is about 0.6 em wide; some room either side
    return size if size >= 8 else None


def per_class_table(metrics: dict, classes: list[str] | None = None) -> pd.DataFrame:
    """Precision, recall, F1 and support of each class (of `classes` only, if given), as the run's metrics.json
    holds them."""
    table = pd.DataFrame(metrics["per_class"], columns=["class", "precision", "recall", "f1", "support"])
    return table if classes is None else table[table["class"].isin(classes)].reset_index(drop=True)


def confused_pairs(counts: pd.DataFrame, *, top: int = 5) -> pd.DataFrame:
    """The off-diagonal cells with the most images: true class, predicted class, count, share of the true class.

    Args:
        counts: a confusion matrix of counts, as `confusion_frame` returns it.
        top: how many pairs to keep (None: every confused pair).

    Ties in count are ordered by share, then by position in the matrix. Only the non-zero cells are visited: a
    1,000-class matrix has a million cells and a few thousand confusions.
    """
    matrix = counts.to_numpy()
    true, predicted = np.nonzero(matrix * ~np.eye(len(matrix), dtype=bool))
    count = matrix[true, predicted]
    share = count / matrix.sum(axis=1)[true]
    order = np.lexsort((-share, -count))[:top]  # the last key sorts first; lexsort is stable
    return pd.DataFrame({"true": counts.index[true[order]], "predicted": counts.columns[predicted[order]],
                         "count": count[order], "share of true class": share[order]})


# How the confusion pages choose the classes they show: every class, those of the most confused pairs, or classes
# the user names.
SHOW_ALL = "every class"
SHOW_MOST_CONFUSED = "the most confused"
SHOW_NAMED = "classes I name"
SHOW_MODES = (SHOW_ALL, SHOW_MOST_CONFUSED, SHOW_NAMED)
MOST_CONFUSED_DEFAULT = 20  # classes, as many as a matrix shows with its numbers written


def most_confused_classes(counts: pd.DataFrame, count: int) -> list[str]:
    """The `count` classes that take part in the most confused pairs, in class order: the classes of the pair
    with most images first, then of the next pair, until there are `count` (fewer when fewer are confused).

    Example:
        >>> counts = pd.DataFrame([[5, 3, 0], [0, 6, 1], [2, 0, 7]], index=list("abc"), columns=list("abc"))
        >>> most_confused_classes(counts, 2), most_confused_classes(counts, 3)
        (['a', 'b'], ['a', 'b', 'c'])
    """
    chosen: dict[str, None] = {}
    for pair in confused_pairs(counts, top=None).itertuples():
        for name in (pair.true, pair.predicted):
            if len(chosen) < count:
                chosen.setdefault(name)
        if len(chosen) >= count:
            break
    return [name for name in counts.index if name in chosen]


def matching_classes(class_names: list[str], text: str) -> list[str]:
    """The classes whose name contains `text`, whatever the case (none for blank text).

    Example:
        >>> matching_classes(["Border terrier", "beagle", "Yorkshire Terrier"], "terrier")
        ['Border terrier', 'Yorkshire Terrier']
    """
    text = text.strip().casefold()
    return [name for name in class_names if text and text in name.casefold()] if text else []


def cut(frame: pd.DataFrame, classes: list[str]) -> pd.DataFrame:
    """The rows and columns of `classes` of a matrix (a normalised row keeps its shares of the whole true class)."""
    return frame.loc[classes, classes]


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


# The URL's query parameters that name a cell (?true=cat&predicted=dog), on the pages that show one: a link opens its
# images.
TRUE_PARAMETER, PREDICTED_PARAMETER = "true", "predicted"


def classes_named(named: dict[str, str | None], class_names: list[str]) -> tuple[dict[str, str], str]:
    """The names a link gives (by URL parameter) that are classes of `class_names`, and a note on those that are
    not ("" when every name is a class): a link from another data set, or mistyped, is ignored, not an error.

    Example:
        >>> classes_named({"true": "cat", "predicted": "emu", "page": None}, ["cat", "dog"])
        ({'true': 'cat'}, "Ignored from the link: 'emu' (predicted class) is no class of these runs.")
    """
    known = {parameter: name for parameter, name in named.items() if name in class_names}
    unknown = [f"'{name}' ({parameter} class)" for parameter, name in named.items()
               if name is not None and parameter not in known]
    if not unknown:
        return known, ""
    verb = "is no class" if len(unknown) == 1 else "are no classes"
    return known, f"Ignored from the link: {' and '.join(unknown)} {verb} of these runs."
