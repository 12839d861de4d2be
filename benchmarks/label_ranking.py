"""What temperature scaling does to the label-review ranking of the Suspect labels page, measured on stored runs.

    python benchmarks/label_ranking.py artifacts/*-cifar10 [--labels docs/label_review_first_100.csv]

For each run, and for the runs together (cleanlab's ensemble score), and each label-quality score: the images
ranked first with the probabilities as stored against at each run's temperature (fitted on its validation
predictions, as the Calibration page fits it), as the overlap of the first 100 and 250, Spearman's rank
correlation over every image, and confident learning's flags before and after. With `--labels` (an exported
review), how many of the images judged wrong there rank in the first 100 each way. Reads only the store.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
from scipy.stats import spearmanr  # noqa: E402

from trainers.analysis.calibration import temperature_fit  # noqa: E402
from trainers.analysis.label_issues import label_issues  # noqa: E402
from trainers.analysis.label_review import (SCORES, ensemble_label_quality, label_quality,  # noqa: E402
                                            read_verdicts_csv)
from trainers.inference.machine import processor_name  # noqa: E402
from trainers.store import run_store  # noqa: E402
from trainers.store.label_verdicts import WRONG  # noqa: E402

FIRST = (100, 250)


def _first(scores: np.ndarray, count: int) -> set[int]:
    return set(np.argsort(scores, kind="stable")[:count].tolist())


def compare(name: str, method: str, ids: np.ndarray, labels: np.ndarray, stored: list, scaled: list,
            wrong: set[str]) -> dict:
    """One row: the ranking of `stored` probabilities (a list, one per run) against `scaled` ones."""
    def scores(members):
        return (label_quality(labels, members[0], method) if len(members) == 1
                else ensemble_label_quality(labels, members, method))

    before, after = scores(stored), scores(scaled)
    row = {"ranking": name, "score": method, "spearman": spearmanr(before, after).statistic}
    for count in FIRST:
        row[f"first {count} shared"] = len(_first(before, count) & _first(after, count))
    row["flags before"] = len(label_issues(labels, np.mean(stored, axis=0)))
    row["flags after"] = len(label_issues(labels, np.mean(scaled, axis=0)))
    if wrong:
        judged = {index for index, image_id in enumerate(ids.tolist()) if image_id in wrong}
        row["wrong in first 100 before"] = len(judged & _first(before, 100))
        row["wrong in first 100 after"] = len(judged & _first(after, 100))
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dirs", nargs="+", type=Path)
    parser.add_argument("--labels", type=Path, help="an exported review (id, verdict, ...): its wrong labels")
    args = parser.parse_args()
    print(f"CPU: {processor_name()} ({os.cpu_count()} cores)", flush=True)
    runs = run_store.load_runs(args.run_dirs)
    wrong = ({image_id for image_id, verdict in read_verdicts_csv(args.labels).items() if verdict.verdict == WRONG}
             if args.labels else set())
    first = runs[0].predictions
    stored, scaled = [], []
    for run in runs:
        fit = temperature_fit(run)
        if fit is None:
            sys.exit(f"{run.label} stores no validation predictions to fit a temperature on")
        print(f"{run.label}: T = {fit.temperature:.3f} on {fit.validation_images} validation images")
        stored.append(fit.stored.in_order(first.ids).probabilities)
        scaled.append(fit.scaled.in_order(first.ids).probabilities)
    rows = []
    for method in SCORES:
        for index, run in enumerate(runs):
            rows.append(compare(run.label, method, first.ids, first.labels, [stored[index]], [scaled[index]], wrong))
        if len(runs) > 1:
            rows.append(compare("together", method, first.ids, first.labels, stored, scaled, wrong))
    columns = list(rows[0])
    print("| " + " | ".join(columns) + " |\n|" + "---|" * len(columns))
    for row in rows:
        print("| " + " | ".join(f"{value:.4f}" if isinstance(value, float) else str(value) for value in row.values())
              + " |")


if __name__ == "__main__":
    main()
