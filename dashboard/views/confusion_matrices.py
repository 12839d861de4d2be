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
shown_runs = pickers.runs_abreast(runs, key="confusion_run")
class_names = shown_runs[0].class_names
groups = caches.class_groups(shown_runs[0])
by_group = groups is not None and st.radio(
    "Count by", (False, True), horizontal=True, key="confusion_by_group",
    format_func=lambda grouped: f"class group ({len(set(groups.values()))})" if grouped else "class") is True
class_counts = {run.label: confusion.confusion_frame(run.predictions, class_names) for run in shown_runs}
counts = ({label: confusion.grouped_frame(frame, groups) for label, frame in class_counts.items()} if by_group
          else class_counts)
rows = list(next(iter(counts.values())).index)  # the classes, or their groups
classes = pickers.classes_to_show(rows, list(counts.values()), key=f"confusion_classes_{by_group}")
if not classes:
    st.info("Pick classes, or type part of a name, to see their rows and columns.")
    st.stop()
for side, (column, run) in enumerate(zip(st.columns(len(shown_runs)), shown_runs)):
    with column:
        run_counts = confusion.cut(counts[run.label], classes)
        if not normalise:
            shown = run_counts
        elif by_group:
            shown = confusion.cut(confusion.grouped_frame(class_counts[run.label], groups, normalise=True), classes)
        else:
            shown = confusion.cut(confusion.confusion_frame(run.predictions, class_names, normalise=True), classes)
        chart_key = f"confusion_chart_{side}"
        # A group's cell holds several classes' cells: clicks choose a class's cell only.
        on_select = "ignore" if by_group else (lambda label=run.label, key=chart_key: pick_cell(label, key))
        st.plotly_chart(confusion.confusion_figure(shown, normalise=normalise), key=chart_key, on_select=on_select,
                        selection_mode="points")
        if by_group:
            st.markdown("**Per group**")
            st.dataframe(confusion.group_table(counts[run.label], groups, classes), hide_index=True,
                         column_config={"recall": st.column_config.NumberColumn(format="%.3f")})
        else:
            st.markdown("**Per class**")
            st.dataframe(confusion.per_class_table(run.metrics, classes), hide_index=True,
                         column_config={name: st.column_config.NumberColumn(format="%.3f")
                                        for name in ("precision", "recall", "f1")})
        st.markdown("**Most confused pairs**")
        pairs = confusion.confused_pairs(run_counts)
        if pairs.empty:
            st.success("No test image of these classes was confused with another of them.")
        else:
            st.dataframe(pairs, hide_index=True,
                         column_config={"share of true class": st.column_config.NumberColumn(format="percent")})

st.subheader("Images in a cell")
st.caption("Choose a cell here, or click one in a matrix above.")
run_column, true_column, predicted_column = st.columns(3)
run = pickers.choose_run(runs, key="cell_run", place=None, container=run_column)
# The cells of classes, all of them when the matrices count by group.
classes = run.class_names if by_group else classes
# Start on the run's most confused cell of the classes shown; clicks and choices replace it.
if not {st.session_state.get("cell_true"), st.session_state.get("cell_predicted")} <= set(classes):
    cell_counts = confusion.cut(confusion.confusion_frame(run.predictions, run.class_names), classes)
    first_true, first_predicted = confusion.most_confused_cell(cell_counts)
    st.session_state.update(cell_true=first_true, cell_predicted=first_predicted)
true_name = true_column.selectbox("True class", classes, key="cell_true")
predicted_name = predicted_column.selectbox("Predicted class", classes, key="cell_predicted")

images = caches.test_images(run)
if images is not None:
    cell = samples.samples_by_class(run.predictions, class_names, true_class=class_names.index(true_name),
                                    predicted_class=class_names.index(predicted_name))
    st.markdown(f"**{len(cell)}** test images of class **{true_name}** predicted as **{predicted_name}** "
                f"by {run.label}" + (", the most confident first." if len(cell) else "."))
    shown = cell.head(24)
    grid = st.columns(6)
    for slot, (pixels, sample) in enumerate(zip(images.select(shown["id"].tolist()), shown.itertuples())):
        grid[slot % 6].image(samples.upscale(pixels), caption=f"{sample.id} · {sample.confidence:.0%}")
    if len(cell) > len(shown):
        st.caption(f"Showing {len(shown)} of {len(cell)}; the misclassified samples page shows them all.")
