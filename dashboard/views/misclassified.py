"""Misclassified samples: the test images a run got wrong, most confident mistakes first.

The URL carries the run (?run=A, the pickers' first place), the filters (&true=cat&predicted=dog&per_page=24) and the
gallery's page (&page=2): a link from the confusion matrices' cell, or one shared, opens on them.
"""

import streamlit as st

from dashboard.lib import confusion, gallery, page_guards, pickers, samples
from trainers.analysis.on_set import images_named

ANY = "any"
PER_ROW = 4
PAGE_SIZES = (12, 24, 48)
TRUE, PREDICTED = confusion.TRUE_PARAMETER, confusion.PREDICTED_PARAMETER
FILTER_WIDTH = 220  # px: the filters wrap on a narrow screen

st.title("Misclassified samples")
runs = page_guards.selected_runs("predictions")

notes = [pickers.links_ignored(runs)]
filters = st.container(horizontal=True)
run = pickers.choose_run(runs, key="misclassified_run", container=filters.container(width=FILTER_WIDTH))
classes = run.class_names
# A class the URL names that is no class of the run's is noted, and left out of the filters (and the URL).
notes.append(confusion.classes_named({parameter: st.query_params.get(parameter) for parameter in (TRUE, PREDICTED)
                                      if st.query_params.get(parameter) != ANY}, classes)[1])
true_name = pickers.url_choice(filters.container(width=FILTER_WIDTH), "True class", [ANY, *classes],
                               parameter=TRUE, default=ANY, key="misclassified_true")
predicted_name = pickers.url_choice(filters.container(width=FILTER_WIDTH), "Predicted class", [ANY, *classes],
                                    parameter=PREDICTED, default=ANY, key="misclassified_predicted")
page_size = pickers.url_choice(filters.container(width=120), "Per page", list(PAGE_SIZES), parameter="per_page",
                               default=PAGE_SIZES[0], key="misclassified_per_page")
for text in filter(None, notes):
    st.info(text, icon=":material/link_off:")

predictions = run.predictions
mistakes = samples.samples_by_class(
    predictions, classes, mistakes_only=True,
    true_class=None if true_name == ANY else classes.index(true_name),
    predicted_class=None if predicted_name == ANY else classes.index(predicted_name),
)
wrong = int((predictions.predicted != predictions.labels).sum())
st.caption(f"{run.label} got {wrong} of {len(predictions.labels)} {images_named(run)} wrong; "
           f"{len(mistakes)} match the filters" + (f". {run.no_probabilities}: the mistakes are in test-set order."
                                                    if run.no_probabilities else "."))


def card(position, mistake) -> tuple[str, str]:
    if run.no_probabilities:  # its one-hot rows would read as 100% sure
        return f"true **{mistake['true']}** → predicted **{mistake['predicted']}**", f"`{mistake['id']}`"
    top_3 = samples.image_top_k(predictions, position, classes)
    return (f"true **{mistake['true']}** → predicted **{mistake['predicted']}** ({mistake['confidence']:.0%})",
            f"`{mistake['id']}`  \ntop 3: {top_3}")


if not wrong:
    st.success(f"{run.label} got every test image right.")
    st.stop()
# Keyed by the filters, so a new filter starts again at page 1.
gallery.gallery(mistakes, run, runs, page_size=page_size, key=f"{run.run_id}:{true_name}:{predicted_name}",
                describe=card, empty="No mistakes match these filters.", per_row=PER_ROW, url_parameter="page")
