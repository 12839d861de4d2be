"""Architecture: the study's summary table across runs, and two models' layers side by side."""

import streamlit as st

from dashboard.lib import architecture, page_guards, pickers

st.title("Architecture")
runs = page_guards.selected_runs()
for reason, labels in architecture.without_layers(runs).items():
    st.caption(f"No layers to show ({reason}): {', '.join(labels)}.")
runs = [run for run in runs if run.architecture["layers"]]
if not runs:
    st.info("None of the selected runs has layers of its own to show.")
    st.stop()

st.dataframe(architecture.architecture_summary(runs), hide_index=True,
             column_config={"params": st.column_config.NumberColumn(format="localized"),
                            "trainable params": st.column_config.NumberColumn(format="localized")})

st.subheader("Layers")
chosen = pickers.runs_abreast(runs, label="Model", key="architecture_model")
for column, run in zip(st.columns(len(chosen)), chosen):
    layers = architecture.layer_table(run)
    column.caption(f"{len(layers)} top-level layers, input included; {layers['params'].sum():,} parameters")
    column.dataframe(layers, hide_index=True, height="content",  # wide enough for a Dense layer's 2,048,832
                     column_config={"params": st.column_config.NumberColumn(format="localized", width=90)})
