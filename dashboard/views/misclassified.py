"""Misclassified samples: the test images a run got wrong, most confident mistakes first."""

import streamlit as st

from dashboard.lib import samples, state

ANY = "any"
PER_ROW = 4

st.title("Misclassified samples")
runs = state.selected_runs()

run_column, true_column, predicted_column, size_column = st.columns(4)
run = state.choose_run(runs, container=run_column)
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
                           key=f"page:{run.run_id}:{true_name}:{predicted_name}:{page_size}")


@st.dialog("Test image", width="large")
def open_large(image_id: str, true_class: str) -> None:
    st.image(samples.upscale(images.select([image_id])[0], 384))
    st.markdown(f"`{image_id}`, true class **{true_class}**. What every selected run predicted:")
    st.dataframe(samples.predictions_for_image(runs, image_id), hide_index=True,
                 column_config={"confidence": st.column_config.NumberColumn(format="percent")})


shown = mistakes.iloc[samples.page_slice(page, page_size)]
for start in range(0, len(shown), PER_ROW):
    row = shown.iloc[start:start + PER_ROW]
    for column, pixels, (position, mistake) in zip(st.columns(PER_ROW), images.select(row["id"]), row.iterrows()):
        with column, st.container(border=True):
            st.image(samples.upscale(pixels))
            st.markdown(f"true **{mistake['true']}** → predicted **{mistake['predicted']}** "
                        f"({mistake['confidence']:.0%})")
            top_3 = samples.format_top_k(predictions.probabilities[position], classes, k=3)
            st.caption(f"`{mistake['id']}`  \ntop 3: {top_3}")
            if st.button("Open", key=f"open:{mistake['id']}", icon=":material/zoom_in:"):
                open_large(mistake["id"], mistake["true"])
