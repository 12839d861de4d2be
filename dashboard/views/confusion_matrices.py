"""Confusion matrices: two runs side by side, per-class scores, the most confused pairs, and a cell's images."""

import streamlit as st

from dashboard.lib import caches, confusion, pickers, samples, selection

CELL_KEYS = ("cell_run", "cell_true", "cell_predicted")

st.title("Confusion matrices")
runs = selection.selected_runs("predictions")


def pick_cell(run_name: str, chart_key: str) -> None:
    """Clicking a cell of a matrix chooses that run and cell in the selectboxes below."""
    cell = confusion.selected_cell(st.session_state[chart_key].selection)
    if cell:
        st.session_state.update(dict(zip(CELL_KEYS, (run_name, *cell))))


normalise = st.toggle("Normalise rows (share of each true class)", value=False)
for side, run in enumerate(pickers.side_by_side(runs, key="confusion_run")):
    counts = confusion.confusion_frame(run.predictions, run.class_names)
    shown = confusion.confusion_frame(run.predictions, run.class_names, normalise=True) if normalise else counts
    chart_key = f"confusion_chart_{side}"
    st.plotly_chart(confusion.confusion_figure(shown, normalise=normalise), key=chart_key,
                    on_select=lambda label=run.label, chart_key=chart_key: pick_cell(label, chart_key),
                    selection_mode="points")
    st.markdown("**Per class**")
    st.dataframe(confusion.per_class_table(run.metrics), hide_index=True,
                 column_config={name: st.column_config.NumberColumn(format="%.3f")
                                for name in ("precision", "recall", "f1")})
    st.markdown("**Most confused pairs**")
    pairs = confusion.confused_pairs(counts)
    if pairs.empty:
        st.success("No test image was confused.")
    else:
        st.dataframe(pairs, hide_index=True,
                     column_config={"share of true class": st.column_config.NumberColumn(format="percent")})

st.subheader("Images in a cell")
st.caption("Choose a cell here, or click one in a matrix above.")
run_column, true_column, predicted_column = st.columns(3)
run = pickers.choose_run(runs, key="cell_run", container=run_column)
classes = run.class_names
# Start on the run's most confused cell; clicks and choices replace it.
first_true, first_predicted = confusion.most_confused_cell(confusion.confusion_frame(run.predictions, classes))
st.session_state.setdefault("cell_true", first_true)
st.session_state.setdefault("cell_predicted", first_predicted)
true_name = true_column.selectbox("True class", classes, key="cell_true")
predicted_name = predicted_column.selectbox("Predicted class", classes, key="cell_predicted")

images = caches.test_images(run)
if images is not None:
    cell = samples.samples_by_class(run.predictions, classes, true_class=classes.index(true_name),
                                    predicted_class=classes.index(predicted_name))
    st.markdown(f"**{len(cell)}** test images of class **{true_name}** predicted as **{predicted_name}** "
                f"by {run.label}" + (", the most confident first." if len(cell) else "."))
    shown = cell.head(24)
    grid = st.columns(6)
    for slot, (pixels, sample) in enumerate(zip(images.select(shown["id"].tolist()), shown.itertuples())):
        grid[slot % 6].image(samples.upscale(pixels), caption=f"{sample.id} · {sample.confidence:.0%}")
    if len(cell) > len(shown):
        st.caption(f"Showing {len(shown)} of {len(cell)}; the misclassified samples page shows them all.")
