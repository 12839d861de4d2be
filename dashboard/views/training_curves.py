"""Training curves: loss, accuracy and learning rate of the selected runs, and their train-validation gap."""

import streamlit as st

from dashboard.lib import curves, in_progress, page_guards, sidebar

st.title("Training curves")
in_progress.runs_in_progress(curves_too=True)
runs = page_guards.selected_runs("history")
without = [run.label for run in runs if run.history.empty]
if without:
    st.caption("No training history (an imported model, an ensemble, a run recorded without one): " + ", ".join(without) + ".")
runs = [run for run in runs if not run.history.empty]
if not runs:
    st.info("None of the selected runs has a training history to draw.")
    st.stop()
histories = {run.label: run.history for run in runs}

smoothing = st.slider("Smoothing (exponential moving average weight)", 0.0, 0.95, 0.0, 0.05,
                      help="0 shows the raw values; higher values smooth noisy curves more. "
                           "The same debiased moving average as TensorBoard's smoothing slider.")
colours = sidebar.run_colours()
table = curves.curves_table(histories, smoothing=smoothing)
loss_column, accuracy_column = st.columns(2)
loss_column.plotly_chart(curves.curves_figure(table, "loss", colours))
accuracy_column.plotly_chart(curves.curves_figure(table, "accuracy", colours))

st.subheader("Over-fitting: the train-validation gap")
st.caption("Train accuracy minus validation accuracy, and validation loss minus train loss. "
           "A gap that keeps growing means the model learns its training images rather than the classes.")
gaps = curves.gap_table(histories, smoothing=smoothing)
accuracy_gap_column, loss_gap_column = st.columns(2)
accuracy_gap_column.plotly_chart(curves.gap_figure(gaps, "accuracy gap", colours))
loss_gap_column.plotly_chart(curves.gap_figure(gaps, "loss gap", colours))
kept_epochs = {run.label: run.info.get("best_epoch") for run in runs}
st.dataframe(curves.final_gaps(histories, kept_epochs), hide_index=True,
             column_config={name: st.column_config.NumberColumn(format="%.3f")
                            for name in ("train accuracy", "validation accuracy", "accuracy gap", "loss gap")})

st.plotly_chart(curves.learning_rate_figure(histories, colours))
