"""Misclassified samples: the test images a run got wrong, most confident mistakes first."""

import streamlit as st

from dashboard.lib import samples, state
from dashboard.lib.runs import run_label

ANY = "any"
PER_ROW = 4

st.title("Misclassified samples")
runs = state.selected_runs()
by_label = {run_label(run): run for run in runs}

run_column, true_column, predicted_column, size_column = st.columns(4)
label = run_column.selectbox("Run", list(by_label))
run = by_label[label]
classes = run.class_names
true_name = true_column.selectbox("True class", [ANY, *classes])
predicted_name = predicted_column.selectbox("Predicted class", [ANY, *classes])
page_size = size_column.selectbox("Per page", (12, 24, 48))

predictions = run.predictions
mistakes = samples.misclassified_samples(
    predictions, classes,
    true_class=None if true_name == ANY else classes.index(true_name),
    predicted_class=None if predicted_name == ANY else classes.index(predicted_name),
)
wrong = int((predictions.predicted != predictions.labels).sum())
st.caption(f"{label} got {wrong} of {len(predictions.labels)} test images wrong; "
           f"{len(mistakes)} match the filters.")
if mistakes.empty:
    st.success("No mistakes match these filters.")
    st.stop()
images = state.test_images(run)
if images is None:
    st.stop()

pages = samples.page_count(len(mistakes), page_size)
page = 1
if pages > 1:
    # Keyed by the filters, so a new filter starts again at page 1.
    page = st.number_input(f"Page (of {pages})", 1, pages, 1,
                           key=f"page:{label}:{true_name}:{predicted_name}:{page_size}")
index_of = images.by_id()


@st.dialog("Test image", width="large")
def open_large(image_id: str, true_class: str) -> None:
    st.image(samples.upscale(images.images[index_of[image_id]], 384))
    st.markdown(f"`{image_id}`, true class **{true_class}**. What every selected run predicted:")
    st.dataframe(samples.predictions_for_image(runs, image_id), hide_index=True,
                 column_config={"confidence": st.column_config.NumberColumn(format="percent")})


shown = mistakes.iloc[samples.page_slice(page, page_size)]
for start in range(0, len(shown), PER_ROW):
    for column, (position, mistake) in zip(st.columns(PER_ROW), shown.iloc[start:start + PER_ROW].iterrows()):
        with column, st.container(border=True):
            st.image(samples.upscale(images.images[index_of[mistake["id"]]]))
            st.markdown(f"true **{mistake['true']}** → predicted **{mistake['predicted']}** "
                        f"({mistake['confidence']:.0%})")
            top_3 = samples.format_top_k(predictions.probabilities[position], classes)
            st.caption(f"`{mistake['id']}`  \ntop 3: {top_3}")
            if st.button("Open", key=f"open:{mistake['id']}", icon=":material/zoom_in:"):
                open_large(mistake["id"], mistake["true"])
