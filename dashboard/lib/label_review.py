"""The Suspect labels page's review: every test image ranked by a label-quality score (one run's, or the
selected runs' ensemble score; from the probabilities as stored or at each run's fitted temperature), confident
learning's flag beside it, the verdicts kept in the store, the progress in words, what a card's verdict buttons and
its verdict say, and the accuracy on the reviewed test set that Home, Head to head and the report show."""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import streamlit as st

from dashboard.lib import calibration
from dashboard.lib.runs import computed_once
from dashboard.lib.samples import suspect_labels
from trainers.analysis import label_review
from trainers.analysis.ensemble import mean_probabilities
from trainers.analysis.label_review import SCORES
from trainers.store import label_verdicts
from trainers.store.label_verdicts import AMBIGUOUS, RIGHT, WRONG, Verdict
from trainers.store.run_store import Predictions, RunError

REVIEWED_FIRST = 100  # the progress counts the first this many of the order shown, as a review session would
# The score of each ranking, computed once per predictions.
_QUALITY = {method: computed_once(lambda predictions, method=method: label_review.label_quality(
    predictions.labels, predictions.probabilities, method)) for method in SCORES}


def ranking(predictions: Predictions, class_names: list[str], method: str,
            scores: np.ndarray | None = None) -> pd.DataFrame:
    """Every test image, the lowest label-quality score first (ties in the predictions' order): id, true (the
    given class), suspected (the most probable other class) and its probability, the given class's probability,
    the score, and whether confident learning flags the image.

    Args:
        scores: the scores to rank by (an ensemble's); by default `method`'s of these predictions.
    """
    scores = _QUALITY[method](predictions) if scores is None else scores
    labels = predictions.labels
    top_two = predictions.top_classes(2)
    suspected = np.where(top_two[:, 0] == labels, top_two[:, 1], top_two[:, 0])
    rows = np.arange(len(labels))
    names = np.asarray(class_names)
    table = pd.DataFrame({"id": predictions.ids, "true": names[labels], "suspected_name": names[suspected],
                          "suspected_probability": predictions.probabilities[rows, suspected].astype(float),
                          "given_probability": predictions.probabilities[rows, labels].astype(float),
                          "score": scores, "flagged": np.isin(rows, suspect_labels(predictions).index)},
                         index=pd.Index(rows, name="position"))
    return table.iloc[np.argsort(scores, kind="stable")]


def runs_together(predictions: list[Predictions], method: str) -> tuple[Predictions, np.ndarray]:
    """The runs' mean predictions (in the first's image order) and cleanlab's ensemble score of each image, each
    run weighted by its accuracy; computed once per set of predictions and score (see `_together`)."""
    return _together(tuple(predictions), method)


@functools.lru_cache(maxsize=2)  # keyed by the predictions objects (by identity), which the store's runs keep
def _together(predictions: tuple[Predictions, ...], method: str) -> tuple[Predictions, np.ndarray]:
    first = predictions[0]
    # float32 once (a large run is stored as float16, which every reader would convert again), for both.
    members = [member.in_order(first.ids).probabilities.astype(np.float32, copy=False) for member in predictions]
    return (Predictions(first.ids, first.labels, mean_probabilities(members)),
            label_review.ensemble_label_quality(first.labels, members, method))


def at_temperature(run) -> tuple[Predictions, str]:
    """The run's test predictions at the temperature fitted on its validation predictions (the Calibration page's
    fit), and what they are in words; as stored when it cannot have one, with why.

    A temperature keeps each image's predicted class but moves the probability of its label, and so its score:
    below 1 (an underconfident run) it sharpens the probabilities, above 1 it flattens them."""
    try:
        fit = calibration.temperature_fit(run)
    except RunError as error:
        return run.predictions, f"as stored: its validation predictions cannot be used ({error})"
    if fit is None:
        return run.predictions, "as stored: it stores no validation predictions to fit a temperature on"
    return fit.scaled, f"at T = {fit.temperature:.3f}, fitted on {fit.validation_images:,} validation images"


def progress(order: pd.DataFrame, verdicts: dict[str, Verdict]) -> str:
    """How far the review of `order` (a ranking) has gone, in one line: of its first REVIEWED_FIRST images, how many
    have a verdict, how many labels were judged wrong and their share of those reviewed; all reviewed on the set.

    Example:
        >>> order = pd.DataFrame({"id": ["a", "b", "c"]})
        >>> progress(order, {"a": Verdict("a", WRONG, "dog"), "c": Verdict("c", AMBIGUOUS)})
        '2 of the first 3 reviewed: 1 label judged wrong (50% of those reviewed), 1 ambiguous; 2 reviewed in all.'
    """
    first = order["id"].head(REVIEWED_FIRST).tolist()
    judged = [verdicts[image_id] for image_id in first if image_id in verdicts]
    wrong = sum(verdict.verdict == WRONG for verdict in judged)
    ambiguous = sum(verdict.verdict == AMBIGUOUS for verdict in judged)
    share = f" ({wrong / len(judged):.0%} of those reviewed)" if judged else ""
    return (f"{len(judged)} of the first {len(first)} reviewed: {wrong} label{'s' * (wrong != 1)} judged wrong"
            f"{share}, {ambiguous} ambiguous; {len(verdicts)} reviewed in all.")


def a_class(name: str) -> str:
    """The class name after "a" or "an", as a sentence says it.

    Example:
        >>> a_class("owl"), a_class("dog")
        ('an owl', 'a dog')
    """
    return f"{'an' if name[:1].lower() in 'aeiou' else 'a'} {name}"


def verdict_buttons(given: str, corrected: str) -> dict[str, tuple[str, str]]:
    """Each verdict's button on the card of an image labelled `given`, as (label, help): the label says what a
    click records, whatever class the card suspects; `corrected` is the class picked under "It is actually".

    Example:
        >>> [label for label, _ in verdict_buttons("cat", "owl").values()]
        ["'cat' is right", 'It is an owl', 'Unclear']
    """
    return {RIGHT: (f"'{given}' is right", f"Records that the given label is right: the image is {a_class(given)}."),
            WRONG: (f"It is {a_class(corrected)}", f"Records that the given label is wrong: the image is "
                                                   f"{a_class(corrected)} (picked above), not {a_class(given)}."),
            AMBIGUOUS: ("Unclear", "Records that the image fits no class, or more than one: it is left out of the "
                                   "reviewed accuracy.")}


def judged(verdict: Verdict, given: str) -> str:
    """What a card says of its image's verdict, naming the given class `given` so that the verdict cannot be read
    as one on another class.

    Example:
        >>> judged(Verdict("a", WRONG, "owl", "Ada"), "cat"), judged(Verdict("a", RIGHT), "cat")
        ("Judged: it is an owl (not 'cat'), by Ada", "Judged: 'cat' is right")
    """
    what = {RIGHT: f"'{given}' is right", WRONG: f"it is {a_class(verdict.corrected)} (not '{given}')",
            AMBIGUOUS: "unclear (fits no class, or more than one)"}[verdict.verdict]
    return f"Judged: {what}" + (f", by {verdict.reviewer}" if verdict.reviewer else "")


def reviewed_labels(run, predictions: Predictions | None = None
                    ) -> tuple[label_review.CorrectedLabels | None, str | None]:
    """The labels of the run's test set as its verdicts correct them, in the order of `predictions` (the run's by
    default); None before a review has begun, or with why the verdicts cannot be used (one line, for a warning)."""
    verdicts, unreadable = read_verdicts(run.store, run.test_key)
    if unreadable:
        return None, f"The verdicts given so far cannot be read: {unreadable}"
    if not verdicts:
        return None, None
    predictions = run.predictions if predictions is None else predictions
    try:
        return label_review.corrected_labels(predictions.ids, predictions.labels, run.class_names, verdicts), None
    except ValueError as error:
        return None, f"The verdicts on these test labels cannot be used: {error}"


def reviewed_accuracy(runs: list, corrected: label_review.CorrectedLabels) -> dict[str, float]:
    """Each run's accuracy (by label) on the test set `corrected` (in the first run's image order) makes; the runs
    share one test set."""
    ids = runs[0].predictions.ids
    return {run.label: label_review.corrected_accuracy(run.predictions.in_order(ids).predicted, corrected)
            for run in runs}


def accuracy_caption(corrected: label_review.CorrectedLabels) -> str:
    """What the reviewed test accuracy column is, under a comparison table (Home's, the report's)."""
    return f"Reviewed test accuracy: on the test set {corrected.sentence()}."


def ranking_swap(runs: list, reviewed: dict[str, float]) -> str | None:
    """`ranking_changes` between the runs' test accuracy and their `reviewed` accuracy (by label; runs without one
    are left out)."""
    return ranking_changes({run.label: run.metrics["accuracy"] for run in runs if run.label in reviewed}, reviewed)


def reviewed_pair(first: Predictions, second: Predictions, corrected: label_review.CorrectedLabels
                  ) -> tuple[Predictions, Predictions, str]:
    """Two runs' aligned predictions (in the order `corrected` was made for) on the reviewed test set, and a caption
    saying so: what Head to head and the report compare when asked."""
    first, second = (label_review.on_corrected_labels(predictions, corrected) for predictions in (first, second))
    return first, second, (f"On the reviewed test set: {len(first.labels):,} test images, {corrected.sentence()}; "
                           "true classes are the corrected ones.")


def ranking_changes(given: dict[str, float], corrected: dict[str, float]) -> str | None:
    """A sentence naming two runs whose order swaps between the given and the corrected labels (the first such pair
    in the given order); None when the order holds.

    Example:
        >>> ranking_changes({"a": 0.91, "b": 0.90}, {"a": 0.92, "b": 0.93})[:60]
        'On the reviewed test set b (0.9300) ranks above a (0.9200), '
        >>> ranking_changes({"a": 0.91, "b": 0.90}, {"a": 0.93, "b": 0.92}) is None
        True
    """
    ranked = sorted(given, key=given.get, reverse=True)
    for index, ahead in enumerate(ranked):
        for behind in ranked[index + 1:]:
            if given[ahead] > given[behind] and corrected[behind] > corrected[ahead]:
                return (f"On the reviewed test set {behind} ({corrected[behind]:.4f}) ranks above {ahead} "
                        f"({corrected[ahead]:.4f}), which is ahead on the given labels ({given[ahead]:.4f} against "
                        f"{given[behind]:.4f}).")
    return None


def read_verdicts(store, test_key: str, evaluation: str = "") -> tuple[dict[str, Verdict], str | None]:
    """The test set's verdicts (or its evaluation set's), and why they cannot be read (then none), in one line."""
    try:
        return label_verdicts.read_verdicts(store, test_key, evaluation), None
    except label_verdicts.VerdictsError as error:
        return {}, str(error)


# The reviewer's name: the text box's own state, and a copy kept for the browser session (Streamlit drops a widget's
# state when a page without it runs), so that every page taking verdicts starts on the name given.
REVIEWER, KEPT_REVIEWER = "reviewer", "reviewer_kept"


def reviewer_name(container) -> str:
    """Draws "Your name" in `container`, starting on the name given before on any page; the name, stripped."""
    if REVIEWER not in st.session_state:
        st.session_state[REVIEWER] = st.session_state.get(KEPT_REVIEWER, "")
    name = container.text_input(
        "Your name (kept with each verdict)", key=REVIEWER, max_chars=80,
        help="Who gave a verdict is kept with it and shown on its card. Kept while this browser tab is open.").strip()
    st.session_state[KEPT_REVIEWER] = name
    return name
