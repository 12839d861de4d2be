"""How runs hold up under common corruptions (Hendrycks and Dietterich, "Benchmarking Neural Network Robustness to
Common Corruptions and Perturbations", ICLR 2019): the subset of test images they are corrupted on, each run's
accuracy per corruption and severity, and the paper's corruption errors against a baseline run.

With E(f, c, s) a run f's error rate on corruption c at severity s and E(f, clean) its error on the same images
uncorrupted:

    CE(f, c)          = sum_s E(f, c, s) / sum_s E(base, c, s)
    relative CE(f, c) = sum_s (E(f, c, s) - E(f, clean)) / sum_s (E(base, c, s) - E(base, clean))

and mCE and relative mCE are their means over the corruptions, in percent (the baseline's own mCE is 100). The
paper's baseline is AlexNet; here it is a run the user picks.
"""

from __future__ import annotations

import hashlib
import zlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from trainers.store import corruption_results
from trainers.store.corruption_results import CORRUPTIONS, SEVERITIES
from trainers.store.run_store import Predictions, Run

DEFAULT_IMAGES = 1000  # the subset's size unless told: see `balanced_subset`


def balanced_subset(ids, labels, images: int) -> np.ndarray:
    """The positions of a class-balanced subset of `images` test images, in the test set's order: the same share
    of each class (the first classes take one more when `images` does not divide evenly; a class with fewer images
    gives all it has), each class's images taken in the order of a hash of their ids, so the subset depends on
    nothing but the test set and its size.

    Why 1,000 by default (DEFAULT_IMAGES): a run's accuracy on 1,000 images is known to within about 3 points (the
    95% interval), each corruption's error sums 5,000 predictions, and 75 units of 1,000 images are what a 2-core
    CPU predicts in minutes rather than hours per run.
    """
    ids, labels = np.asarray(ids), np.asarray(labels)
    if images < 1:
        raise ValueError(f"a subset of {images} images: give at least 1")
    if images >= len(ids):
        return np.arange(len(ids))
    classes = np.unique(labels)
    share, extra = divmod(images, len(classes))
    order = np.argsort([zlib.crc32(str(image_id).encode()) for image_id in ids], kind="stable")
    chosen = []
    for rank, label in enumerate(classes):
        of_class = order[labels[order] == label]
        chosen.append(of_class[:share + (rank < extra)])
    return np.sort(np.concatenate(chosen))


def subset_digest(ids) -> str:
    """A short digest of a subset's ids, in order: units of the same subset have the same one."""
    return hashlib.sha256("\n".join(map(str, ids)).encode()).hexdigest()[:16]


def image_index(image_id) -> int:
    """The index an image's corrupted pixels are drawn by (`corruptions.corrupt(indices=)`): from its id alone, so
    an image gets the same pixels in any subset, shard or order."""
    return zlib.crc32(str(image_id).encode())


@dataclass(frozen=True)
class Robustness:
    """A run's accuracy on the corruption subset: clean (from its test predictions) and per unit it has."""

    clean: float
    accuracy: pd.DataFrame  # rows: corruptions (paper's order), columns: severities 1-5; NaN where not predicted
    images: int

    @property
    def complete(self) -> bool:
        return not self.accuracy.isna().any().any()


def accuracy(predictions: Predictions) -> float:
    return float((predictions.predicted == predictions.labels).mean())


def run_robustness(run: Run) -> Robustness | None:
    """A run's accuracy per corruption and severity, and clean on the same images (its test predictions of them);
    None when it has predictions on no unit. Units of another subset than its most recent one are left out."""
    done = corruption_results.units(run.path)
    if not done:
        return None
    read = {unit: corruption_results.read_unit(run.path, *unit) for unit in done}
    newest = max(read.values(), key=lambda pair: pair[1]["evaluated_at"])[1]["subset"]
    table = pd.DataFrame(np.nan, index=list(CORRUPTIONS), columns=list(SEVERITIES))
    subset_ids = None
    for (corruption, severity), (predictions, record) in read.items():
        if record["subset"] == newest:
            table.loc[corruption, severity] = accuracy(predictions)
            subset_ids = predictions.ids
    clean = accuracy(run.predictions.in_order(subset_ids))
    return Robustness(clean, table, len(subset_ids))


def corruption_errors(errors: pd.DataFrame, baseline: pd.DataFrame) -> pd.Series:
    """CE per corruption: a run's errors summed over severities over the baseline's (rows: corruptions, columns:
    severities, error rates in [0, 1]); NaN where the baseline makes no error."""
    base = baseline.sum(axis=1)
    return errors.sum(axis=1) / base.where(base > 0)


def relative_corruption_errors(errors: pd.DataFrame, clean_error: float, baseline: pd.DataFrame,
                               baseline_clean_error: float) -> pd.Series:
    """Relative CE per corruption: what corruption adds to a run's error, over what it adds to the baseline's; NaN
    where it adds nothing to the baseline's."""
    base = (baseline - baseline_clean_error).sum(axis=1)
    return (errors - clean_error).sum(axis=1) / base.where(base != 0)


def mean_corruption_error(errors: pd.DataFrame, baseline: pd.DataFrame) -> float:
    """mCE in percent: the mean CE over the corruptions."""
    return float(100 * corruption_errors(errors, baseline).mean())


def relative_mean_corruption_error(errors: pd.DataFrame, clean_error: float, baseline: pd.DataFrame,
                                   baseline_clean_error: float) -> float:
    """Relative mCE in percent: the mean relative CE over the corruptions."""
    return float(100 * relative_corruption_errors(errors, clean_error, baseline, baseline_clean_error).mean())


def summary(results: dict[str, Robustness], baseline: str) -> pd.DataFrame:
    """Per run (the keys of `results`, each with every unit): clean accuracy on the subset, mean accuracy over the
    75 units, mCE and relative mCE against `baseline`, and each run's rank by clean accuracy and by mCE (1 is the
    most accurate clean, and the lowest mCE)."""
    base = results[baseline]
    rows = {}
    for name, robustness in results.items():
        errors = 1 - robustness.accuracy
        rows[name] = {
            "clean accuracy": robustness.clean,
            "corrupted accuracy": float(robustness.accuracy.to_numpy().mean()),
            "mCE": mean_corruption_error(errors, 1 - base.accuracy),
            "relative mCE": relative_mean_corruption_error(errors, 1 - robustness.clean, 1 - base.accuracy,
                                                           1 - base.clean),
        }
    table = pd.DataFrame.from_dict(rows, orient="index")
    table["rank clean"] = table["clean accuracy"].rank(ascending=False, method="min").astype(int)
    table["rank mCE"] = table["mCE"].rank(ascending=True, method="min").astype(int)
    return table


def broken_by_corruption(clean: Predictions, corrupted: Predictions) -> np.ndarray:
    """The ids of the images a run gets right clean and wrong corrupted, in the corrupted predictions' order."""
    clean = clean.in_order(corrupted.ids)
    broken = (clean.predicted == clean.labels) & (corrupted.predicted != corrupted.labels)
    return corrupted.ids[broken]
