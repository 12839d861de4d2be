"""Ensembles: runs of one test set whose mean probabilities act as one more run.

An `Ensemble` is computed from its members' stored test predictions (no model
is loaded) and presents what the pages read of a run: its predictions,
metrics, parameter count and data set. Its models are run, and it is saved as
a run folder, by `trainers.inference.ensemble_model`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from trainers.analysis.recording import test_metrics
from trainers.analysis.pairs import aligned_probabilities
from trainers.store import run_store
from trainers.store.run_store import Predictions, Run

PRESET = "ensemble"


def ensemble_name(members: Sequence[Run]) -> str:
    """How an ensemble is named wherever one string names it: its members' run ids.

    Example:
        >>> ensemble_name([cnn_v3_run, cnn_v4_run])
        'ensemble of cnn_v3-cifar10 + cnn_v4-cifar10'
    """
    return "ensemble of " + " + ".join(member.run_id for member in members)


def _sum_or_none(values) -> float | None:
    """The sum, or None when any value is unknown: a partial sum would read as the whole."""
    values = list(values)
    return None if any(value is None for value in values) else sum(values)


def mean_probabilities(probabilities: list[np.ndarray]) -> np.ndarray:
    """The image-by-image mean of several runs' probabilities (N, C), in float32, summed in place: no stack of
    every member's array (100 MB each at 50,000 images of 1,000 classes)."""
    mean = np.zeros(probabilities[0].shape, np.float32)
    for member in probabilities:
        mean += member
    return mean / len(probabilities)


@dataclass(frozen=True, eq=False)
class Ensemble:
    """The mean of the probabilities of two runs or more, tested on the same images, as a run the pages can show.

    It has the attributes the pages read of a `run_store.Run`. Its `config` holds only the fields the pages
    read: `image_size` (its members'), and `flip_tta` False and `shift_tta` 0, for the ensemble adds no view of
    its own (each member's model keeps its test-time augmentation inside). It has no layers and no training
    history of its own; its parameter count and training time are its members' sums.

    Args:
        members: the runs, tested on the same images with the same classes and image size.

    Raises:
        ValueError: fewer than two members, or members tested on other images, classes or image sizes
            (in `run_store.check_comparable`'s words).

    Example:
        >>> ensemble = Ensemble((cnn_v3_run, cnn_v4_run))
        >>> ensemble.label, ensemble.metrics["accuracy"]
        ('ensemble of cnn_v3-cifar10 + cnn_v4-cifar10', 0.8989)
    """

    members: tuple[Run, ...]

    def __post_init__(self):
        object.__setattr__(self, "members", tuple(self.members))
        if len(self.members) < 2:
            raise ValueError(f"an ensemble needs two runs or more, got {len(self.members)}")
        run_ids = [member.run_id for member in self.members]
        if len(set(run_ids)) < len(run_ids):
            raise ValueError(f"an ensemble takes each run once, got {', '.join(run_ids)}")
        without = next((member.no_probabilities for member in self.members if member.no_probabilities), None)
        if without:
            raise ValueError(f"{without}, and an ensemble is the mean of its members' probabilities")
        first = self.members[0]
        self.predictions  # noqa: B018 - refuses members tested on other images now, not on a page later
        for member in self.members:
            run_store.check_comparable(member, first.class_names, first.test_key, image_size=first.image_size)

    @property
    def run_id(self) -> str:
        return ensemble_name(self.members)

    @property
    def label(self) -> str:
        return self.run_id

    @property
    def evaluation(self) -> str:
        """The images its predictions are of: its members' (`Run.evaluation`)."""
        return self.members[0].evaluation

    @property
    def no_probabilities(self) -> None:
        """None: every member has probabilities (a member without them is refused)."""
        return None

    @property
    def preset(self) -> str:
        return PRESET

    @property
    def kind(self) -> str:
        return run_store.KIND_ENSEMBLE

    @cached_property
    def finished(self) -> dict:
        """The fields of `run_store.finished_fields` an ensemble has: no epochs; its members' training time and, as
        each image goes through every member, the throughput of their times added; its test accuracy."""
        members = self.members
        throughputs = [member.info.get("images_per_second") for member in members]
        seconds_per_image = _sum_or_none(1 / value if value else None for value in throughputs)
        return dict(epochs_run=None, test_accuracy=self.metrics["accuracy"],
                    training_seconds=_sum_or_none(member.info.get("training_seconds") for member in members),
                    images_per_second=1 / seconds_per_image if seconds_per_image else None)

    @cached_property
    def info(self) -> dict:
        """What a run.json holds of a run, as far as an ensemble has it (`finished` among it)."""
        members = self.members
        return {
            "preset": PRESET,
            "config": self.config,
            "dataset": self.dataset,
            "members": [{"run_id": member.run_id, "path": str(member.path)} for member in members],
            "author": ", ".join(dict.fromkeys(str(member.info.get("author") or "") for member in members)),
            "comment": f"mean of the test probabilities of {len(members)} runs",
            **run_store.finished_fields(**self.finished),
        }

    @cached_property
    def config(self) -> dict:
        return {"image_size": self.image_size, **run_store.NO_TEST_TIME_AUGMENTATION, "kind": self.kind}

    @property
    def dataset(self) -> dict:
        """The test set's record, which its members share (summary, sizes): the first member's."""
        return self.members[0].dataset

    @property
    def class_names(self) -> list[str]:
        return self.members[0].class_names

    @property
    def test_key(self) -> str:
        return self.members[0].test_key

    @property
    def store(self) -> Path:
        """Where the test images are: its first member's store (every member was tested on them)."""
        return self.members[0].store

    @property
    def image_size(self) -> int:
        return self.members[0].image_size

    @cached_property
    def predictions(self) -> Predictions:
        """The mean of the members' probabilities, image by image, in the first member's order."""
        labels, probabilities = aligned_probabilities(list(self.members))
        return Predictions(self.members[0].predictions.ids, labels, mean_probabilities(probabilities))

    @cached_property
    def metrics(self) -> dict:
        return test_metrics(self.predictions.labels, self.predictions.probabilities, self.class_names)

    @property
    def confusion_matrix(self) -> np.ndarray:
        """As a run's (`Run.confusion_matrix`)."""
        return np.asarray(self.metrics["confusion_matrix"])

    @cached_property
    def architecture(self) -> dict:
        """No layer table of its own; the study's summary row adds up its members' (layers, parameters)."""
        summaries = [member.architecture["summary"] for member in self.members]
        totals = {key: _sum_or_none(summary.get(key) for summary in summaries)
                  for key in ("total_layers", "conv_layers", "dense_layers", "total_params", "trainable_params")}
        return run_store.without_layers(**totals, batch_norm=any(summary.get("batch_norm") for summary in summaries),
                                        epochs=None)

    @cached_property
    def history(self) -> pd.DataFrame:
        return pd.DataFrame(columns=list(run_store.HISTORY_COLUMNS))
