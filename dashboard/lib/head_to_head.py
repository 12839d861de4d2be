"""Two runs, A and B, on the same test images: who gets which right, McNemar's test in words, the images only one
gets right, and where B confuses classes more or less often than A.

Everything comes from the stored predictions of two "run-like" objects (a run or an ensemble): only their
`label`, `class_names`, `test_key` and `predictions` are read.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.express as px
from plotly.graph_objects import Figure
from sklearn import metrics

from dashboard.lib.confusion import MAX_WRITTEN_CLASSES, confusion_frame
from trainers.analysis import pairs
from trainers.store.run_store import Predictions, Run

ONLY_A = "only A right"
ONLY_B = "only B right"
BOTH_WRONG = "both wrong, different answers"
# Gallery -> what orders it, most confident first.
GALLERIES = {
    ONLY_A: "A's confidence in its right answer",
    ONLY_B: "B's confidence in its right answer",
    BOTH_WRONG: "the larger of the two runs' confidences in their wrong answers",
}
# Fewer confusions in blue, more in red: the colour of a cell says which way B moved it from A.
DIFFERENCE_SCALE = "RdBu_r"


def aligned_predictions(a: Run, b: Run) -> tuple[Predictions, Predictions]:
    """A's and B's predictions on the same images, both in A's image order.

    Raises ValueError (from `trainers.pairs.aligned_probabilities`) unless both were tested on the same
    images with the same classes.
    """
    first, second = pairs.aligned_predictions([a, b])  # exact top classes kept, so each pick is as stored
    return first, second


def _right(predictions: Predictions) -> np.ndarray:
    return predictions.predicted == predictions.labels


def disagreement(first: Predictions, second: Predictions) -> pairs.Disagreement:
    """The images only A, and only B, gets right, with McNemar's exact p-value (aligned predictions)."""
    return pairs.disagreement(_right(first), _right(second))


def outcome_table(first: Predictions, second: Predictions) -> pd.DataFrame:
    """The 2x2 table of image counts: A right or wrong (rows) against B right or wrong (columns).

    Example:
        >>> labels, ids = np.array([0, 0, 1]), np.array(["x", "y", "z"])
        >>> a = Predictions(ids, labels, np.array([[0.9, 0.1], [0.8, 0.2], [0.7, 0.3]]))
        >>> b = Predictions(ids, labels, np.array([[0.6, 0.4], [0.3, 0.7], [0.2, 0.8]]))
        >>> outcome_table(a, b).to_numpy().tolist()
        [[1, 1], [1, 0]]
    """
    right_a, right_b = _right(first), _right(second)
    counts = [[int(np.sum(row & column)) for column in (right_b, ~right_b)] for row in (right_a, ~right_a)]
    return pd.DataFrame(counts, index=["A right", "A wrong"], columns=["B right", "B wrong"])


def chance(p_value: float) -> str:
    """A probability as a percentage with as many digits as it deserves.

    Example:
        >>> [chance(p) for p in (0.41, 0.034, 0.00841, 0.00005)]
        ['41%', '3.4%', '0.8%', 'less than 0.01%']
    """
    percent = 100 * p_value
    if percent < 0.01:
        return "less than 0.01%"
    if percent < 1:
        return f"{percent:.1g}%"
    return f"{percent:.1f}%" if percent < 10 else f"{percent:.0f}%"


def _images(count: int) -> str:
    return f"{count} image" if count == 1 else f"{count} images"


def mcnemar_sentence(pair: pairs.Disagreement) -> str:
    """McNemar's exact test in words: who is ahead, the split of the images only one run gets right, and how often
    two equally good models would split that unevenly.

    Example:
        >>> mcnemar_sentence(pairs.Disagreement(only_first=0, only_second=6))
        'B is ahead by 6 images: it gets 6 right that A gets wrong, A 0 the other way; between two equally good models a split this uneven happens 3.1% of the time.'
    """
    if pair.only_first == pair.only_second:
        if pair.only_first == 0:
            return "A and B get exactly the same test images right: there is no difference to test."
        return (f"A and B each get {_images(pair.only_first)} right that the other gets wrong: an even split, "
                "as expected of two equally good models.")
    leader, ahead, other, behind = ("B", pair.only_second, "A", pair.only_first) \
        if pair.only_second > pair.only_first else ("A", pair.only_first, "B", pair.only_second)
    return (f"{leader} is ahead by {_images(ahead - behind)}: it gets {ahead} right that {other} gets wrong, "
            f"{other} {behind} the other way; between two equally good models a split this uneven happens "
            f"{chance(pair.p_value)} of the time.")


def gallery(first: Predictions, second: Predictions, class_names: list[str], kind: str) -> pd.DataFrame:
    """The images of one gallery (ONLY_A, ONLY_B or BOTH_WRONG), the most confident first (see GALLERIES).

    Returns:
        One row per image, indexed by position in the aligned predictions: id, true class, each run's answer,
        confidence in it (a card's top 3: `samples.image_top_k`, for the images shown only: at 1,000 classes,
        those of thousands of images take seconds); ties keep the order of the predictions.
    """
    if kind not in GALLERIES:
        raise ValueError(f"Unknown gallery '{kind}'. Known galleries: {', '.join(GALLERIES)}")
    right_a, right_b = _right(first), _right(second)
    confidence_a, confidence_b = first.confidence, second.confidence
    kept, order = {
        ONLY_A: (right_a & ~right_b, confidence_a),
        ONLY_B: (~right_a & right_b, confidence_b),
        BOTH_WRONG: (~right_a & ~right_b & (first.predicted != second.predicted),
                     np.maximum(confidence_a, confidence_b)),
    }[kind]
    positions = np.flatnonzero(kept)
    names = np.asarray(class_names)
    table = pd.DataFrame({
        "id": first.ids[positions],
        "true": names[first.labels[positions]],
        "A": names[first.predicted[positions]],
        "A confidence": confidence_a[positions].astype(float),
        "B": names[second.predicted[positions]],
        "B confidence": confidence_b[positions].astype(float),
    }, index=pd.Index(positions, name="position"))
    return table.iloc[np.argsort(-order[positions], kind="stable")]


def confusion_difference(first: Predictions, second: Predictions, class_names: list[str]) -> pd.DataFrame:
    """B's row-normalised confusion matrix minus A's: how much more often (in shares of the true class) B
    predicts each column for each true class."""
    return (confusion_frame(second, class_names, normalise=True)
            - confusion_frame(first, class_names, normalise=True))


def difference_figure(difference: pd.DataFrame) -> Figure:
    """The difference matrix in diverging colours centred on zero, each cell's signed change written in it (up to
    `confusion.MAX_WRITTEN_CLASSES`, then on hover only).

    The diagonal (each class's change in recall, where more is better) is written but not coloured, so
    that blue always reads as B confusing a pair less often and red as more often.
    """
    # float32: half the bytes sent of a 1,000-class matrix, as exact as a point to one decimal needs.
    confusions = (difference.mask(np.eye(len(difference), dtype=bool)) * 100).astype(np.float32)
    limit = max(float(np.nanmax(np.abs(confusions.to_numpy()), initial=0)), 1.0)
    figure = px.imshow(
        confusions, color_continuous_scale=DIFFERENCE_SCALE, color_continuous_midpoint=0, zmin=-limit, zmax=limit,
        aspect="auto", labels={"x": "predicted", "y": "true", "color": "points (B − A)"},
    )
    size = len(difference)
    if size <= MAX_WRITTEN_CLASSES:
        figure.update_traces(text=[[_signed_points(value) for value in row] for row in difference.to_numpy()],
                             texttemplate="%{text}", textfont_size=14 if size <= 10 else 10,
                             hovertemplate="true %{y}, predicted %{x}: %{text} (B − A)<extra></extra>")
    else:  # a text per cell would be a million strings at 1,000 classes: the hover reads the colour's value
        figure.update_traces(hovertemplate="true %{y}, predicted %{x}: %{z:+.1f} points (B − A)<extra></extra>")
    figure.update_layout(height=min(900, 160 + 48 * size), margin={"t": 10},
                         xaxis={"side": "bottom", "tickangle": -45 if size > 6 else 0})
    return figure


def _signed_points(share: float) -> str:
    return "0" if share == 0 else f"{100 * share:+.1f}"


def confusion_change_sentence(difference: pd.DataFrame) -> str:
    """Names the confusion (true class taken for another) that B makes least often compared with A, and the one
    it makes most often; off the diagonal only, ties to the first in the matrix.

    Example:
        >>> difference = pd.DataFrame([[0.031, -0.031], [0.012, -0.012]], index=["cat", "dog"],
        ...                           columns=["cat", "dog"])
        >>> confusion_change_sentence(difference)
        'B confuses cat as dog 3.1 points less often than A, and dog as cat 1.2 points more often.'
    """
    changes = difference.to_numpy().copy()
    np.fill_diagonal(changes, 0)  # off the diagonal only; argmin and argmax take the first in the matrix
    removed = np.unravel_index(changes.argmin(), changes.shape)
    added = np.unravel_index(changes.argmax(), changes.shape)
    if changes[removed] == 0 and changes[added] == 0:
        return "B confuses every pair of classes exactly as often as A."
    names = difference.index
    less = (f"{names[removed[0]]} as {names[removed[1]]} {-100 * changes[removed]:.1f} points less often than A"
            if changes[removed] < 0 else "no pair less often than A")
    more = (f"{names[added[0]]} as {names[added[1]]} {100 * changes[added]:.1f} points more often"
            if changes[added] > 0 else "no pair more often")
    return f"B confuses {less}, and {more}."


def recall_table(first: Predictions, second: Predictions, class_names: list[str]) -> pd.DataFrame:
    """Each class's recall for A and B, and B's gain, all in percent (a class with no test image has recall 0)."""
    classes = range(len(class_names))
    recall_a, recall_b = (100 * metrics.recall_score(p.labels, p.predicted, labels=classes, average=None,
                                                     zero_division=0) for p in (first, second))
    return pd.DataFrame({"class": list(class_names), "A recall (%)": recall_a, "B recall (%)": recall_b,
                         "B − A (points)": recall_b - recall_a})
