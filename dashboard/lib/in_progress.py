"""The store's runs being trained, shown apart from the ranking and re-read every few seconds."""

from __future__ import annotations

import streamlit as st

from dashboard.lib import curves
from dashboard.lib.store_location import store_path
from trainers.store import progress

REFRESH_SECONDS = 5  # how often a page re-reads the runs being trained


def runs_in_progress(*, curves_too: bool = False) -> None:
    """The store's runs being trained, re-read every few seconds: a table, and with `curves_too` their curves so far;
    then a line on each run that stopped without finishing (interrupted, see `progress.stopped_reason`).

    They are never ranked: a run joins the comparison only once it is committed complete. A page opened
    while nothing trains does not poll (a run started later shows on the next visit).
    """
    partial = progress.runs_in_progress(store_path())
    if any(run.stopped is None for run in partial):
        _runs_in_progress(curves_too)
    for run in partial:
        if run.stopped:
            st.caption(progress.stopped_line(run))


@st.fragment(run_every=REFRESH_SECONDS)
def _runs_in_progress(curves_too: bool) -> None:
    training = [run for run in progress.runs_in_progress(store_path()) if run.stopped is None]
    if not training:
        st.caption("No run is being trained any more: reload the page to see the finished ones.")
        return
    st.subheader("In progress")
    st.caption(f"Runs being trained, re-read every {REFRESH_SECONDS} s; not ranked until they are complete.")
    st.dataframe(progress.progress_table(training), hide_index=True,
                 column_config={name: st.column_config.NumberColumn(format="%.3f")
                                for name in ("validation accuracy", "train accuracy")})
    with_epochs = {run.label: run.history for run in training if len(run.history)}
    if curves_too and with_epochs:
        table = curves.curves_table(with_epochs)
        loss_column, accuracy_column = st.columns(2)
        loss_column.plotly_chart(curves.curves_figure(table, "loss"), key="in_progress_loss")
        accuracy_column.plotly_chart(curves.curves_figure(table, "accuracy"), key="in_progress_accuracy")
