"""The review of a test set's labels: label-quality scores that rank every test image (cleanlab's), and what
people's verdicts (`trainers.store.label_verdicts`) make of the test set: its corrected labels, each run's
accuracy on them, and the CSV they are exported as.

cleanlab is the standard package for label quality and its scores are tested there; it is imported when a score
is asked for (its import takes seconds). On the corrected test set, as Northcutt, Athalye and Mueller ("Pervasive
Label Errors in Test Sets", 2021) count it, an image judged mislabelled counts with its corrected class and an
ambiguous one is left out; an image whose verdict was withdrawn (UNDONE) counts with its given label, as one never
reviewed.
"""

from __future__ import annotations

import csv
import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from trainers.analysis.metrics import checked_predictions
from trainers.store.label_verdicts import AMBIGUOUS, KINDS, RIGHT, UNDONE, WRONG, Verdict
from trainers.store.run_store import Predictions

# cleanlab's label-quality scores: low for an image whose given label the probabilities doubt.
SCORES = {
    "self_confidence": "the probability of the given label",
    "normalized_margin": "the probability of the given label minus the largest other, from 0 to 1",
}
EXPORT_COLUMNS = ("id", "given", "corrected", "verdict", "reviewer")


def label_quality(labels, probabilities, method: str = "self_confidence") -> np.ndarray:
    """Each image's label-quality score (a key of SCORES) from one run's out-of-sample probabilities.

    Example:
        >>> label_quality([0, 2, 1], [[0.7, 0.2, 0.1], [0.1, 0.6, 0.3], [0.5, 0.3, 0.2]], "normalized_margin")
        array([0.75, 0.35, 0.4 ])
    """
    from cleanlab.rank import get_label_quality_scores

    labels, probabilities = checked_predictions(labels, probabilities, np.float32)
    return get_label_quality_scores(labels, probabilities, method=_method(method))


def ensemble_label_quality(labels, probabilities: list, method: str = "self_confidence") -> np.ndarray:
    """Each image's label-quality score from several runs' probabilities: cleanlab's ensemble score, each run
    weighted by its accuracy."""
    from cleanlab.rank import get_label_quality_ensemble_scores

    checked = [checked_predictions(labels, member, np.float32)[1] for member in probabilities]
    return get_label_quality_ensemble_scores(np.asarray(labels), checked, method=_method(method), verbose=False)


def _method(method: str) -> str:
    if method not in SCORES:
        raise ValueError(f"Unknown label-quality score '{method}'. Known: {', '.join(SCORES)}")
    return method


@dataclass(frozen=True)
class CorrectedLabels:
    """A test set's labels after review: `labels` with each WRONG image's corrected class, `kept` False for the
    AMBIGUOUS ones (left out), and how many labels changed."""

    labels: np.ndarray
    kept: np.ndarray
    changed: int
    left_out: int
    reviewed: int  # the verdicts given: right, wrong or ambiguous

    def sentence(self) -> str:
        """What the review did to the test set, in words, for a caption.

        Example:
            >>> CorrectedLabels(np.array([0, 1]), np.array([True, False]), 1, 1, 3).sentence()
            'as 3 verdicts (Suspect labels) correct it: 1 label changed and 1 ambiguous image left out'
        """
        return (f"as {self.reviewed} verdict{'s' * (self.reviewed != 1)} (Suspect labels) correct it: "
                f"{self.changed} label{'s' * (self.changed != 1)} changed and {self.left_out} ambiguous "
                f"image{'s' * (self.left_out != 1)} left out")


def corrected_labels(ids, labels, class_names: list[str], verdicts: dict[str, Verdict]) -> CorrectedLabels:
    """The labels of images `ids` (given `labels`) corrected by `verdicts`; a verdict on an image not among them, or
    naming a class not among `class_names`, is refused in one line (ValueError). An UNDONE verdict is no verdict.

    Example:
        >>> verdicts = {"b": Verdict("b", WRONG, "dog"), "c": Verdict("c", AMBIGUOUS)}
        >>> corrected = corrected_labels(["a", "b", "c"], [0, 0, 1], ["cat", "dog"], verdicts)
        >>> corrected.labels.tolist(), corrected.kept.tolist(), corrected.changed, corrected.left_out
        ([0, 1, 1], [True, True, False], 1, 1)
    """
    verdicts = standing(verdicts)
    position = {image_id: index for index, image_id in enumerate(np.asarray(ids).tolist())}
    corrected = np.array(labels, dtype=np.int64)
    kept = np.ones(len(corrected), dtype=bool)
    unknown = [image_id for image_id in verdicts if image_id not in position]
    if unknown:
        raise ValueError(f"{len(unknown)} reviewed images are not in this test set (the first: '{unknown[0]}')")
    for verdict in verdicts.values():
        at = position[verdict.id]
        if verdict.verdict == WRONG:
            if verdict.corrected not in class_names:
                raise ValueError(f"'{verdict.id}' is corrected to '{verdict.corrected}', not one of the classes")
            corrected[at] = class_names.index(verdict.corrected)
        elif verdict.verdict == AMBIGUOUS:
            kept[at] = False
    changed = int((kept & (corrected != np.asarray(labels))).sum())
    return CorrectedLabels(corrected, kept, changed, int((~kept).sum()), len(verdicts))


def corrected_accuracy(predicted, corrected: CorrectedLabels) -> float:
    """The accuracy of `predicted` classes (in the test set's order) on the corrected test set.

    Example:
        >>> corrected = CorrectedLabels(np.array([0, 1, 1]), np.array([True, True, False]), 1, 1, 2)
        >>> corrected_accuracy(np.array([0, 1, 0]), corrected)  # the third image is left out
        1.0
    """
    return float((np.asarray(predicted)[corrected.kept] == corrected.labels[corrected.kept]).mean())


def on_corrected_labels(predictions: Predictions, corrected: CorrectedLabels) -> Predictions:
    """The predictions of the images the review keeps (`corrected` is in their order), each with its corrected
    label: what Head to head and the report compare when asked for the reviewed test set.

    Example:
        >>> predictions = Predictions(np.array(["a", "b", "c"]), np.array([0, 0, 1]), np.eye(2)[[0, 1, 1]])
        >>> corrected = CorrectedLabels(np.array([0, 1, 1]), np.array([True, True, False]), 1, 1, 2)
        >>> reviewed = on_corrected_labels(predictions, corrected)
        >>> reviewed.ids.tolist(), reviewed.labels.tolist()
        (['a', 'b'], [0, 1])
    """
    if len(corrected.labels) != len(predictions.labels):
        raise ValueError(f"{len(corrected.labels)} corrected labels for {len(predictions.labels)} predictions")
    kept = predictions.in_order(predictions.ids[corrected.kept])
    return dataclasses.replace(kept, labels=corrected.labels[corrected.kept])


def export_table(verdicts: dict[str, Verdict], ids, labels, class_names: list[str]) -> pd.DataFrame:
    """The verdicts as the CSV exports them: id, given class, corrected class (the given one unless judged wrong,
    empty when ambiguous), verdict, reviewer; in the order reviewed. A withdrawn (UNDONE) verdict has no row."""
    given = dict(zip(np.asarray(ids).tolist(), np.asarray(labels).tolist()))
    rows = []
    for verdict in standing(verdicts).values():
        name = class_names[given[verdict.id]]
        corrected = {RIGHT: name, WRONG: verdict.corrected, AMBIGUOUS: ""}[verdict.verdict]
        rows.append({"id": verdict.id, "given": name, "corrected": corrected, "verdict": verdict.verdict,
                     "reviewer": verdict.reviewer})
    return pd.DataFrame(rows, columns=list(EXPORT_COLUMNS))


def read_verdicts_csv(path: str | Path) -> dict[str, Verdict]:
    """The verdicts of an exported CSV (EXPORT_COLUMNS; at least id and verdict, and corrected for a wrong label),
    by id; ValueError naming the first row that does not fit. As in the store, an image's last row counts, and an
    UNDONE row (never exported, but a hand-made file may have one) withdraws its verdict."""
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8-sig") as file:
            rows = list(csv.DictReader(file))
    except (OSError, UnicodeDecodeError) as error:
        raise ValueError(f"'{path}' cannot be read: {error}") from None
    if not rows or not {"id", "verdict"} <= set(rows[0]):
        raise ValueError(f"'{path}' is not a CSV with id and verdict columns (as the Suspect labels page exports)")
    verdicts = {}
    for number, row in enumerate(rows, 2):  # the header is line 1
        verdict = (row.get("verdict") or "").strip()
        corrected = (row.get("corrected") or "").strip() if verdict == WRONG else ""
        try:
            verdicts[row["id"]] = Verdict(row["id"], verdict, corrected, (row.get("reviewer") or "").strip())
        except ValueError as error:
            raise ValueError(f"'{path}' line {number}: {error} (verdicts: {', '.join(KINDS)})") from None
    return standing(verdicts)


def standing(verdicts: dict[str, Verdict]) -> dict[str, Verdict]:
    """The verdicts that stand: all but the withdrawn (UNDONE) ones, which `read_verdicts` never returns but a
    hand-made dict or file may hold.

    Example:
        >>> list(standing({"a": Verdict("a", RIGHT), "b": Verdict("b", UNDONE)}))
        ['a']
    """
    return {image_id: verdict for image_id, verdict in verdicts.items() if verdict.verdict != UNDONE}
