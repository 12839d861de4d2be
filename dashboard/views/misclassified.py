"""Misclassified samples: the test images a run got wrong, most confident mistakes first."""

import streamlit as st

from dashboard.lib import gallery, pickers, samples, selection

ANY = "any"
PER_ROW = 4

st.title("Misclassified samples")
runs = selection.selected_runs("predictions")

run_column, true_column, predicted_column, size_column = st.columns(4)
run = pickers.choose_run(runs, key="misclassified_run", container=run_column)
classes = run.class_names
true_name = true_column.selectbox("True class", [ANY, *classes])
predicted_name = predicted_column.selectbox("Predicted class", [ANY, *classes])
page_size = size_column.selectbox("Per page", (12, 24, 48))

predictions = run.predictions
mistakes = samples.samples_by_class(
    predictions, classes, mistakes_only=True,
    true_class=None if true_name == ANY else classes.index(true_name),
    predicted_class=None if predicted_name == ANY else classes.index(predicted_name),
)
wrong = int((predictions.predicted != predictions.labels).sum())
st.caption(f"{run.label} got {wrong} of {len(predictions.labels)} test images wrong; "
           f"{len(mistakes)} match the filters.")


def card(position, mistake) -> tuple[str, str]:
    top_3 = samples.image_top_k(predictions, position, classes)
    return (f"true **{mistake['true']}** → predicted **{mistake['predicted']}** ({mistake['confidence']:.0%})",
            f"`{mistake['id']}`  \ntop 3: {top_3}")


if not wrong:
    st.success(f"{run.label} got every test image right.")
    st.stop()
# Keyed by the filters, so a new filter starts again at page 1.
gallery.gallery(mistakes, run, runs, page_size=page_size, key=f"{run.run_id}:{true_name}:{predicted_name}",
                describe=card, empty="No mistakes match these filters.", per_row=PER_ROW)
