"""Test-set map: each test image where a run's penultimate features put it; a box or lasso shows the images."""

import streamlit as st

from dashboard.lib import caches, gallery, page_guards, pickers, projection
from trainers.analysis.ensemble import Ensemble
from trainers.store.run_store import RunError

PER_ROW = 4

st.title("Test-set map")
runs = page_guards.selected_runs("predictions")
mapped, unmapped = [], []
for run in runs:
    # Only the chosen run's map is read: the others' files are only looked for.
    missing = f"{run.label}: an ensemble has no features of its own to map" if isinstance(run, Ensemble) \
        else projection.missing_map(run)
    if missing:
        unmapped.append(missing)
    else:
        mapped.append(run)
if unmapped:
    st.caption("Not mapped: " + "; ".join(unmapped) + ".")
if not mapped:
    command = projection.map_command(runs)
    if command:
        st.info("None of the selected runs has a test-set map yet. Add one to each that can have one (a minute "
                "per 10,000 images) with:")
        st.code(command, language="bash")
    else:
        st.info("None of the selected runs has a test-set map yet, and none can have one: see why above.")
    st.stop()

run_column, colour_column, size_column = st.columns(3)
run = pickers.choose_run(mapped, key="test_map_run", container=run_column)
colour_by = colour_column.selectbox("Colour by", list(projection.COLOUR_BY))
page_size = size_column.selectbox("Per page", (12, 24, 48))
try:
    table, figure = caches.test_map_and_figure(run, colour_by)
except RunError as error:
    st.error(f"The test-set map of {run.label} cannot be drawn: {error}")
    st.stop()
mistakes = int((table["outcome"] == "wrong").sum())
st.caption(f"One point per test image ({len(table):,}; {mistakes:,} mistakes drawn as crosses): images the "
           "network finds alike lie close, and the axes mean nothing. Drag a box, or pick the lasso in the chart's "
           "toolbar, to see the images below.")
with st.expander("How it is computed"):
    st.markdown(f"Placed by {projection.describe_method(run.test_map.method)}. Each image's nearest neighbours in "
                "those features stay near it; the distances between far groups, and the axes, mean nothing.")

event = st.plotly_chart(figure, on_select="rerun",
                        selection_mode=("box", "lasso"), key=f"test_map:{run.run_id}")
ids = projection.selected_ids(event.selection if event else None)
chosen = projection.selected_rows(table, ids)
if not ids:
    st.info("Select points on the map to see their images here.")
    st.stop()
st.markdown(f"**{len(chosen)}** images selected, {int((chosen['outcome'] == 'wrong').sum())} of them mistakes.")


def card(position, row) -> tuple[str, str]:
    verdict = f"→ predicted **{row['predicted']}**" if row["outcome"] == "wrong" else "right"
    return f"true **{row['true']}** {verdict} ({row['confidence']:.0%})", f"`{row['id']}`"


# Keyed by the selection, so a new one starts again at page 1.
gallery.gallery(chosen, run, runs, page_size=page_size, key=f"map:{run.run_id}:{hash(tuple(ids))}", describe=card,
                empty="No test image in the selection.", per_row=PER_ROW)
