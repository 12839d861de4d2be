"""Head to head: two runs on the same test images, from their stored predictions (no model is loaded)."""

import streamlit as st

from dashboard.lib import confusion, gallery, head_to_head, label_review, page_guards, pickers, samples
from trainers.analysis.on_set import images_named
from trainers.store import label_verdicts

PER_ROW = 4

st.title("Head to head")
runs = page_guards.selected_runs("predictions")
if len(runs) < 2:
    st.info("Head to head compares two runs: select at least two in the sidebar.")
    st.stop()

a_column, b_column = st.columns(2)
a = pickers.choose_run(runs, label="A", key="head_to_head_a", container=a_column)
b = pickers.choose_run(runs, label="B", key="head_to_head_b", place=1, container=b_column)
if a.label == b.label:
    st.info("A and B are the same run: choose another for one of them.")
    st.stop()
try:
    first, second = head_to_head.aligned_predictions(a, b)
except ValueError as error:
    st.error(f"A and B cannot be compared: {error}")
    st.stop()
classes = a.class_names
on_reviewed = False
# When asked: the test set as people's verdicts (Suspect labels) correct it.
if not a.evaluation and label_verdicts.review_begun(a.store, a.test_key):
    corrected, problem = label_review.reviewed_labels(a, first)
    if problem:
        st.warning(problem)
    elif corrected is not None:
        on_reviewed = st.toggle("On the reviewed test set", key="head_to_head_reviewed",
                                help=f"Everything below on the test set {corrected.sentence()}.")
    if on_reviewed:
        first, second, caption = label_review.reviewed_pair(first, second, corrected)
        st.caption(caption)

st.subheader("Right and wrong")
pair = head_to_head.disagreement(first, second)
st.markdown(head_to_head.mcnemar_sentence(pair))
outcomes = head_to_head.outcome_table(first, second)
table_column, note_column = st.columns([1, 2])
table_column.dataframe(outcomes)
note_column.caption(
    f"Of {len(first.labels):,} {images_named(a)}, A gets {outcomes.loc['A right'].sum():,} right and B "
    f"{outcomes['B right'].sum():,}. The table splits them by who gets each right.")
with note_column.expander("How it is computed"):
    st.markdown(f"An exact McNemar test, two-sided, on the images only one of them gets right: p = "
                f"{pair.p_value:.3g}, the chance of a split at least this uneven between two equally good models. "
                "`python -m trainers.compare` gives the same.")

st.subheader("Where B confuses classes more or less often than A")
difference = head_to_head.confusion_difference(first, second, classes)
st.markdown(head_to_head.confusion_change_sentence(difference))
shown_classes = pickers.classes_to_show(
    classes, [confusion.confusion_frame(p, classes) for p in (first, second)], key="head_to_head_classes")
if not shown_classes:
    st.info("Pick classes, or type part of a name, to see their rows and columns.")
matrix_column, recall_column = st.columns([3, 2])
with matrix_column:
    if shown_classes:
        st.plotly_chart(head_to_head.difference_figure(confusion.cut(difference, shown_classes)))
    st.caption("B's confusion rates minus A's, in points of each true class: blue where B makes a confusion less "
               "often, red where more often.")
    with st.expander("How it is computed"):
        st.markdown("Each run's confusion matrix is divided by the images of each true class (its rows), then A's "
                    "is subtracted from B's. The diagonal, each class's change in recall, is written without "
                    "colour.")
recall = head_to_head.recall_table(first, second, classes)
recall_column.dataframe(
    recall[recall["class"].isin(shown_classes)], hide_index=True,
    column_config={"A recall (%)": st.column_config.NumberColumn(format="%.1f"),
                   "B recall (%)": st.column_config.NumberColumn(format="%.1f"),
                   "B − A (points)": st.column_config.NumberColumn(format="%+.1f")})

st.subheader("Images only one gets right, or both get wrong differently")
kind_column, size_column = st.columns([3, 1])
galleries = {kind: head_to_head.gallery(first, second, classes, kind) for kind in head_to_head.GALLERIES}
kind = kind_column.radio("Gallery", list(galleries), horizontal=True,
                         format_func=lambda kind: f"{kind} ({len(galleries[kind])})")
page_size = size_column.selectbox("Per page", (12, 24, 48))
shown = galleries[kind]
st.caption(f"{len(shown)} images, sorted by {head_to_head.GALLERIES[kind]}.")
gallery.gallery(shown, a, runs, page_size=page_size, key=f"{a.label}:{b.label}:{kind}:{on_reviewed}",
                button="Every run's view",
                describe=lambda position, sample: (
                    f"true **{sample['true']}** · A **{sample['A']}** · B **{sample['B']}**",
                    f"`{sample['id']}`  \nA: {samples.image_top_k(first, position, classes)}  \n"
                    f"B: {samples.image_top_k(second, position, classes)}"),
                empty="No test image in this gallery.", per_row=PER_ROW)
