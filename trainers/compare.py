"""Compare runs on the same test images: is one really better, and what would their ensemble score?

    python -m trainers.compare artifacts/cnn_air-cifar10 artifacts/cnn_air-distilled-cifar10

For every pair of runs, the test images only one of them gets right and the
exact McNemar test on them: the chance of a split at least that uneven if
both models were equally good. Two runs of one recipe differ by 0.2 points
on 10,000 images by seed alone; the p-value says whether a gap is more than
that. With two runs or more, also the accuracy of their mean probabilities
(the ensemble a distillation learns from). Reads only the stored predictions:
no model is loaded.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from trainers import run_store


@dataclass(frozen=True)
class Disagreement:
    """Two runs' test images that exactly one of them classifies correctly."""
    only_first: int
    only_second: int

    @property
    def p_value(self) -> float:
        """Exact (binomial) McNemar test, two-sided; 1.0 when the runs never disagree."""
        discordant = self.only_first + self.only_second
        if discordant == 0:
            return 1.0
        from scipy import stats  # deferred: scipy.stats takes most of a second to import, the dashboard's start

        return float(stats.binomtest(self.only_first, discordant, 0.5).pvalue)


def disagreement(correct_first: np.ndarray, correct_second: np.ndarray) -> Disagreement:
    """Counts the images only the first, and only the second, gets right (boolean arrays over the same images)."""
    return Disagreement(int(np.sum(correct_first & ~correct_second)), int(np.sum(~correct_first & correct_second)))


def aligned_probabilities(runs: list[run_store.Run]) -> tuple[np.ndarray, list[np.ndarray]]:
    """The test labels and each run's probabilities, in the first run's image order.

    Raises ValueError unless every run was tested on the same images with the same classes.
    """
    first = runs[0]
    order = first.predictions.ids
    probabilities = []
    for run in runs:
        run_store.check_comparable(run, first.class_names, first.test_key, test_ids=order)
        position = {image_id: index for index, image_id in enumerate(run.predictions.ids)}
        probabilities.append(run.predictions.probabilities[[position[image_id] for image_id in order]])
    return first.predictions.labels, probabilities


def load_runs(paths: list[str | Path]) -> list[run_store.Run]:
    """The runs at `paths`; ValueError naming the first that cannot be read (or that none is named)."""
    if not paths:
        raise ValueError("name at least one run folder")
    runs = []
    for path in paths:
        try:
            runs.append(run_store.load_run(path))
        except run_store.RunError as error:
            raise ValueError(f"'{path}' is not a usable run: {error}") from None
    return runs


def compare_runs(paths: list[str | Path]) -> dict:
    """Accuracy of each run, the disagreement of each pair, and the ensemble's accuracy (two runs or more)."""
    runs = load_runs(paths)
    from trainers import ensemble  # it builds on this module's alignment

    labels, probabilities = aligned_probabilities(runs)
    correct = [p.argmax(axis=1) == labels for p in probabilities]
    names = [run.run_id for run in runs]
    return {
        "num_images": len(labels),
        "accuracy": {name: float(right.mean()) for name, right in zip(names, correct)},
        "pairs": [(names[i], names[j], disagreement(correct[i], correct[j]))
                  for i, j in itertools.combinations(range(len(runs)), 2)],
        "ensemble_accuracy": ensemble.Ensemble(runs).metrics["accuracy"] if len(runs) > 1 else None,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m trainers.compare", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dirs", nargs="+", type=Path, help="run folders of the store, tested on the same images")
    args = parser.parse_args(argv)
    try:
        result = compare_runs(args.run_dirs)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"Test accuracy on {result['num_images']} images:")
    for name, accuracy in result["accuracy"].items():
        print(f"  {name:<40} {accuracy:.4f}")
    if result["ensemble_accuracy"] is not None:
        print(f"  {'ensemble (mean probabilities)':<40} {result['ensemble_accuracy']:.4f}")
    for first, second, pair in result["pairs"]:
        print(f"{first} vs {second}: {pair.only_first} images only the first gets right, "
              f"{pair.only_second} only the second; exact McNemar p = {pair.p_value:.3g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
