"""Home: the selected runs in the study's comparison table, and the study's own figures beside them."""

import streamlit as st

from dashboard.lib import comparison, state

st.title("Run comparison")
runs = state.selected_runs()
table = comparison.comparison_table(runs)

st.caption(f"{len(runs)} runs on **{state.selection().dataset}**. The best value of each metric column is "
           "highlighted; click a column header to sort.")
st.dataframe(comparison.styled_comparison(table), hide_index=True,
             column_config={"model": st.column_config.TextColumn(pinned=True),
                            "comment": st.column_config.TextColumn(width="large")})

show_reference = st.toggle("Show the figures reported by the study", value=False)
reference = comparison.study_reference() if show_reference else None
if reference is not None:
    st.subheader("Reported by the study (not measured here)")
    st.caption("The study's own figures for its models on CIFAR-10, for reference only; empty where it gave none.")
    st.dataframe(comparison.reference_for_display(reference), hide_index=True,
                 column_config={"test accuracy": st.column_config.NumberColumn(format="%.2f"),
                                "params": st.column_config.TextColumn(width=90)})

st.subheader("Test accuracy against parameters")
st.plotly_chart(comparison.accuracy_vs_params_figure(table, reference))
