"""A run as seen on one of its evaluation sets (`trainers.store.evaluation_sets`): the same run, whose predictions,
metrics and confusion matrix are those of the set's images of its classes, so that every page and report that reads
a run's test predictions reads the set's instead when a person picks it ("Evaluated on").

The set's images of no class of the run (NONE_OF_THESE) and those without a label (UNLABELLED) are left out of
`predictions`: accuracy, confusion and calibration need a true class. `every_prediction` keeps them, for what needs
none (agreement between runs, the "none of these" scores).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from trainers.analysis.ensemble import Ensemble
from trainers.analysis.recording import test_metrics
from trainers.store import evaluation_sets, label_verdicts
from trainers.store.run_store import LABELS_ONLY, Predictions, Run, RunError, TestImages, load_test_images

TEST_SET = ""  # what `Run.evaluation` is for a run's own test set


@dataclass(frozen=True, eq=False)
class RunOnSet(Run):
    """`run` with the predictions of the evaluation set `set_name` in place of its test predictions."""

    set_name: str = ""

    @property
    def evaluation(self) -> str:
        return self.set_name

    @cached_property
    def every_prediction(self) -> Predictions:
        """Its predictions on every image of the set, labels as the set has them (NONE_OF_THESE, UNLABELLED) or as
        a person's verdicts on them say (`labels_from_verdicts`)."""
        stored = evaluation_sets.read_evaluation(self.path, self.set_name)[0]
        try:
            verdicts = label_verdicts.read_verdicts(self.store, self.test_key, self.set_name)
        except label_verdicts.VerdictsError as error:
            raise RunError(f"the verdicts on {self.set_name} cannot be read: {error}") from None
        if not verdicts:
            return stored
        labels = labels_from_verdicts(stored.ids, stored.labels, self.class_names, verdicts)
        return Predictions(stored.ids, labels, stored.probabilities, stored.stored_top_classes,
                           stored.stored_top_probabilities)

    @cached_property
    def predictions(self) -> Predictions:
        every = self.every_prediction
        keep = np.flatnonzero(every.labels >= 0)
        if len(keep) == len(every.labels):
            return every
        top = [None if part is None else part[keep]
               for part in (every.stored_top_classes, every.stored_top_probabilities)]
        return Predictions(every.ids[keep], every.labels[keep], every.probabilities[keep], *top)

    @cached_property
    def metrics(self) -> dict:
        """The test metrics' fields, computed on the set's images of its classes; empty for a set without any."""
        predictions = self.predictions
        if not len(predictions.labels):
            return {}
        return test_metrics(predictions.labels, predictions.probabilities, self.class_names,
                            labels_only=bool(self.info.get(LABELS_ONLY)))

    @property
    def confusion_matrix(self) -> np.ndarray:
        return np.asarray(self.metrics["confusion_matrix"])

    @property
    def test_map(self) -> None:
        """No map: the test-set map places the test images."""
        return None


def images_named(run) -> str:
    """What a page or report calls the images a run is scored on: "test images", or "images of <set>"."""
    return f"images of {run.evaluation}" if run.evaluation else "test images"


def run_on_set(run: Run, set_name: str) -> Run:
    """`run` on the evaluation set `set_name` (its test set for TEST_SET); RunError when it has no predictions on it.
    An ensemble is made again of its members on the set."""
    if set_name == TEST_SET:
        return run
    if isinstance(run, Ensemble):  # the mean of its members' predictions on the set
        return Ensemble(tuple(run_on_set(member, set_name) for member in run.members))
    if set_name not in evaluation_sets.evaluation_names(run.path):
        raise RunError(f"{run.label} has no predictions on '{set_name}'")
    return RunOnSet(run.path, run.info, run.written_version, set_name)


def labels_from_verdicts(ids, labels, class_names: list[str], verdicts: dict) -> np.ndarray:
    """An evaluation set's labels as a person's verdicts on its images say: the class of a WRONG one ("it is a
    [class]"), NONE_OF_THESE for an AMBIGUOUS one (it shows no one class of the runs), the set's own otherwise."""
    index = {name: position for position, name in enumerate(class_names)}
    labels = np.array(labels, copy=True)
    for position, image_id in enumerate(np.asarray(ids).tolist()):
        verdict = verdicts.get(image_id)
        if verdict is None or verdict.verdict == label_verdicts.RIGHT:
            continue
        if verdict.verdict == label_verdicts.AMBIGUOUS:
            labels[position] = evaluation_sets.NONE_OF_THESE
        elif verdict.corrected in index:
            labels[position] = index[verdict.corrected]
    return labels


def run_on_test(run: Run) -> Run:
    """`run` on its test set: itself, or the run whose predictions `run_on_set` replaced."""
    if isinstance(run, Ensemble):
        return run if not run.evaluation else Ensemble(tuple(run_on_test(member) for member in run.members))
    if isinstance(run, RunOnSet):
        return Run(run.path, run.info, run.written_version)
    return run


def stored_images(store, test_key: str, evaluation: str = TEST_SET) -> TestImages:
    """The stored images a run's predictions are of: its test set's, or those of the evaluation set `evaluation`;
    RunError when they cannot be read."""
    if evaluation == TEST_SET:
        return load_test_images(store, test_key)
    found = evaluation_sets.load_set(store, test_key, evaluation)
    return TestImages(found.ids, found.labels, found.images)
