"""Write a report to share: the dashboard's tables and figures of some runs in one self-contained HTML file.

    python -m dashboard.report artifacts/cnn_v3-cifar10 artifacts/cnn_v4-cifar10 -o report.html [--reviewed]
    python -m dashboard.report cnn_v3-cifar10 cnn_v4-cifar10   # runs named in the store ($ARTIFACTS_DIR, artifacts/)

What the report holds, and how it is built: `dashboard.lib.report`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dashboard.lib.label_review import reviewed_labels
from dashboard.lib.report import report_html
from trainers.store import run_store


def load_runs(paths: list[str | Path]) -> list[run_store.Run]:
    """The runs at `paths`; ValueError saying which cannot be read or was tested on other images than the first."""
    runs = run_store.load_runs(paths)
    first = runs[0]
    for run in runs[1:]:
        run_store.check_comparable(run, first.class_names, first.test_key, test_ids=first.predictions.ids)
    return runs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dashboard.report", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dirs", nargs="+", type=Path, metavar="RUN",
                        help="runs tested on the same images: their folders, or their names in the store in use "
                             "($ARTIFACTS_DIR, else artifacts/)")
    parser.add_argument("-o", "--output", type=Path, default=Path("report.html"),
                        help="the HTML file to write (default: report.html)")
    parser.add_argument("--reviewed", action="store_true",
                        help="on the test set as its verdicts (the Suspect labels page's) correct it: the reviewed "
                             "test accuracy in the comparison table, head to head on the corrected labels")
    args = parser.parse_args(argv)
    try:
        runs = load_runs(args.run_dirs)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.reviewed:
        corrected, problem = reviewed_labels(runs[0])
        if corrected is None:
            print(f"error: --reviewed: {problem or 'the test set has no verdicts yet (the Suspect labels page)'}",
                  file=sys.stderr)
            return 2
    try:
        args.output.write_text(report_html(runs, reviewed=args.reviewed), encoding="utf-8")
    except OSError as error:
        print(f"error: cannot write {args.output}: {error}", file=sys.stderr)
        return 2
    print(f"Wrote {args.output} ({args.output.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
