"""Compare runs on the same test images: is one really better, and what would their ensemble score?

    python -m trainers.compare artifacts/cnn_air-cifar10 artifacts/cnn_air-distilled-cifar10

For every pair of runs, the test images only one of them gets right and the
exact McNemar test on them: the chance of a split at least that uneven if both
models were equally good. Two runs of one recipe differ by their seed alone;
the p-value says whether a gap is more than such noise. With two runs or more,
also the accuracy of their mean probabilities (the ensemble a distillation
learns from). Reads only the stored predictions: no model is loaded.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

from trainers.analysis.ensemble import Ensemble
from trainers.analysis.pairs import aligned_probabilities, disagreement
from trainers.store.run_store import load_runs


def compare_runs(paths: list[str | Path]) -> dict:
    """Accuracy of each run, the disagreement of each pair, and the ensemble's accuracy (two runs or more)."""
    runs = load_runs(paths)
    labels, probabilities = aligned_probabilities(runs)
    correct = [p.argmax(axis=1) == labels for p in probabilities]
    names = [run.run_id for run in runs]
    return {
        "num_images": len(labels),
        "accuracy": {name: float(right.mean()) for name, right in zip(names, correct)},
        "pairs": [(names[i], names[j], disagreement(correct[i], correct[j]))
                  for i, j in itertools.combinations(range(len(runs)), 2)],
        "ensemble_accuracy": Ensemble(runs).metrics["accuracy"] if len(runs) > 1 else None,
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
