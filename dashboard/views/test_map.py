"""Test-set map: each test image where a run's penultimate features put it; a box or lasso shows the images."""

import streamlit as st

from dashboard.lib import state, test_map
from trainers.ensemble import Ensemble
from trainers.run_store import RunError

PER_ROW = 4

st.title("Test-set map")
runs = state.selected_runs()
tables, unmapped = {}, []
for run in runs:
    if isinstance(run, Ensemble):
        unmapped.append(f"{run.label}: an ensemble has no features of its own to map")
        continue
    try:
        tables[run.run_id] = (run, test_map.map_table(run))
    except RunError as error:
        unmapped.append(str(error))
if unmapped:
    st.caption("Not mapped: " + "; ".join(unmapped) + ".")
if not tables:
    st.info("None of the selected runs has a test-set map yet. Add one to a run (a minute per 10,000 images) with:")
    st.code(test_map.MAP_COMMAND.format(path="artifacts/RUN"), language="bash")
    st.stop()

run_column, colour_column, size_column = st.columns(3)
run = state.choose_run([run for run, _ in tables.values()], container=run_column)
table = tables[run.run_id][1]
colour_by = colour_column.selectbox("Colour by", list(test_map.COLOUR_BY))
page_size = size_column.selectbox("Per page", (12, 24, 48))
mistakes = int((table["outcome"] == "wrong").sum())
st.caption(f"One point per test image ({len(table)}; {mistakes} mistakes drawn as crosses), placed by "
           f"{test_map.describe_method(run.test_map.method)}. Images the network finds alike lie close; the axes "
           "mean nothing. Drag a box, or pick the lasso in the chart's toolbar, to see the images below.")

event = st.plotly_chart(test_map.map_figure(table, run.class_names, colour_by), on_select="rerun",
                        selection_mode=("box", "lasso"), key=f"test_map:{run.run_id}")
ids = test_map.selected_ids(event.selection if event else None)
chosen = test_map.selected_rows(table, ids)
if not ids:
    st.info("Select points on the map to see their images here.")
    st.stop()
st.markdown(f"**{len(chosen)}** images selected, {int((chosen['outcome'] == 'wrong').sum())} of them mistakes.")


def card(position, row) -> tuple[str, str]:
    verdict = f"→ predicted **{row['predicted']}**" if row["outcome"] == "wrong" else "right"
    return f"true **{row['true']}** {verdict} ({row['confidence']:.0%})", f"`{row['id']}`"


# Keyed by the selection, so a new one starts again at page 1.
state.gallery(chosen, run, runs, page_size=page_size, key=f"map:{run.run_id}:{hash(tuple(ids))}", describe=card,
              empty="No test image in the selection.", per_row=PER_ROW)
