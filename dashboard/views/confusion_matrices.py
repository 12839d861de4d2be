"""Confusion matrices: two runs side by side, per-class scores, the most confused pairs, and a cell's images."""

import streamlit as st

from dashboard.lib import confusion, samples, state
from dashboard.lib.runs import run_label

CELL_KEYS = ("cell_run", "cell_true", "cell_predicted")

st.title("Confusion matrices")
runs = state.selected_runs()
by_label = {run_label(run): run for run in runs}


def pick_cell(run_name: str, chart_key: str) -> None:
    """Clicking a cell of a matrix chooses that run and cell in the selectboxes below."""
    cell = confusion.selected_cell(st.session_state[chart_key].selection)
    if cell:
        st.session_state.update(dict(zip(CELL_KEYS, (run_name, *cell))))


normalise = st.toggle("Normalise rows (share of each true class)", value=False)
columns = st.columns(2 if len(runs) > 1 else 1)
for side, column in enumerate(columns):
    with column:
        label = st.selectbox("Run", list(by_label), index=side, key=f"confusion_run_{side}")
        run = by_label[label]
        frame = confusion.confusion_frame(run.metrics["confusion_matrix"], run.class_names, normalise=normalise)
        chart_key = f"confusion_chart_{side}"
        st.plotly_chart(confusion.confusion_figure(frame, normalise=normalise), key=chart_key,
                        on_select=lambda label=label, chart_key=chart_key: pick_cell(label, chart_key),
                        selection_mode="points")
        st.markdown("**Per class**")
        st.dataframe(confusion.per_class_table(run.metrics), hide_index=True,
                     column_config={name: st.column_config.NumberColumn(format="%.3f")
                                    for name in ("precision", "recall", "f1")})
        st.markdown("**Most confused pairs**")
        pairs = confusion.confused_pairs(run.metrics["confusion_matrix"], run.class_names)
        if pairs.empty:
            st.success("No test image was confused.")
        else:
            st.dataframe(pairs, hide_index=True,
                         column_config={"share of true class": st.column_config.NumberColumn(format="percent")})

st.subheader("Images in a cell")
st.caption("Choose a cell here, or click one in a matrix above.")
run_column, true_column, predicted_column = st.columns(3)
label = run_column.selectbox("Run", list(by_label), key="cell_run")
run = by_label[label]
classes = run.class_names
# Start on the run's most confused cell (or any mistake); clicks and choices replace it.
pairs = confusion.confused_pairs(run.metrics["confusion_matrix"], classes, top=1)
first_true, first_predicted = (pairs.iloc[0]["true"], pairs.iloc[0]["predicted"]) if len(pairs) else classes[:2]
st.session_state.setdefault("cell_true", first_true)
st.session_state.setdefault("cell_predicted", first_predicted)
true_name = true_column.selectbox("True class", classes, key="cell_true")
predicted_name = predicted_column.selectbox("Predicted class", classes, key="cell_predicted")

images = state.test_images(run)
if images is not None:
    predictions = run.predictions
    positions = confusion.cell_samples(predictions.labels, predictions.probabilities,
                                       classes.index(true_name), classes.index(predicted_name))
    st.markdown(f"**{len(positions)}** test images of class **{true_name}** predicted as **{predicted_name}** "
                f"by {label}" + (", the most confident first." if len(positions) else "."))
    shown = positions[:24]
    index_of = images.by_id()
    grid = st.columns(6)
    for slot, position in enumerate(shown):
        image_id = str(predictions.ids[position])
        confidence = float(predictions.probabilities[position, classes.index(predicted_name)])
        grid[slot % 6].image(samples.upscale(images.images[index_of[image_id]]),
                             caption=f"{image_id} · {confidence:.0%}")
    if len(positions) > len(shown):
        st.caption(f"Showing {len(shown)} of {len(positions)}; the misclassified samples page shows them all.")
