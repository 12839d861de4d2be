"""The sidebar's "Download report" button: the selected runs' report as one self-contained HTML file."""

from __future__ import annotations

import streamlit as st

from dashboard.lib.runs import split_readable
from trainers.analysis.ensemble import Ensemble
from trainers.store import label_verdicts
from trainers.store.run_store import Run


def download_report(runs: list[Run | Ensemble], *, colours: dict[str, str]) -> None:
    """Draws "Download report" in the sidebar: the runs' report, built only when the button is clicked (see
    `dashboard.lib.report`).

    Args:
        colours: each run's colour by label, as the pages draw it (`figures.run_colours`).
    """
    reviewed = bool(runs) and not runs[0].evaluation and label_verdicts.review_begun(runs[0].store, runs[0].test_key) and (
        st.sidebar.toggle("Report on the reviewed test set", key="report_reviewed",
                          help="The reviewed test accuracy in its table, and head to head on the labels the "
                               "verdicts (Suspect labels) correct."))

    def report() -> str:
        # Imported on a click: what the report imports (scikit-learn, SciPy) would slow the first page of every
        # session that never asks for it.
        from dashboard.lib.report import report_html

        # The pages name the runs left out.
        return report_html(split_readable(runs, "predictions", "history")[0], reviewed=reviewed, colours=colours)

    st.sidebar.download_button("Download report", data=report, file_name="report.html",
                               mime="text/html", on_click="ignore", icon=":material/download:",
                               help="The comparison table, curves, confusion matrices, head to head (two runs) and "
                                    "calibration of the selected runs, in one HTML file that opens offline.")
