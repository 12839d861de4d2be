"""Architecture: the study's summary table across runs, and two models' layers side by side."""

import streamlit as st

from dashboard.lib import architecture, state
from dashboard.lib.runs import run_label

st.title("Architecture")
runs = state.selected_runs()

st.dataframe(architecture.architecture_summary(runs), hide_index=True,
             column_config={"params": st.column_config.NumberColumn(format="localized"),
                            "trainable params": st.column_config.NumberColumn(format="localized")})

st.subheader("Layers")
by_label = {run_label(run): run for run in runs}
columns = st.columns(2 if len(runs) > 1 else 1)
for side, column in enumerate(columns):
    with column:
        label = st.selectbox("Model", list(by_label), index=side, key=f"architecture_model_{side}")
        layers = architecture.layer_table(by_label[label])
        st.caption(f"{len(layers)} top-level layers, input included; {layers['params'].sum():,} parameters")
        st.dataframe(layers, hide_index=True, height="content",
                     column_config={"params": st.column_config.NumberColumn(format="localized")})
