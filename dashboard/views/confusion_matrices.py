"""Confusion matrices: two runs side by side, the images of a cell clicked on either, per-class scores and the most
confused pairs.

The URL carries the runs (?run=A&run=B) and the cell shown (&cell_run=B&true=cat&predicted=dog): a reload, or a
link shared, opens on it.
"""

import streamlit as st

from dashboard.lib import caches, confusion, gallery, page_guards, pickers, samples
from trainers.analysis.on_set import images_named

CELL_KEY = "confusion_cell"  # session state: (run id, true class, predicted class) of the cell shown, on every page
CELL_RUN_PARAMETER = "cell_run"  # the URL's run of the cell, one of the runs shown
TRUE, PREDICTED = confusion.TRUE_PARAMETER, confusion.PREDICTED_PARAMETER
CELL_PAGE_SIZE = 8  # images: two rows of cards under two matrices on a laptop's screen (half beside one matrix)
WIDTH = confusion.MATRIX_WIDTH

st.title("Confusion matrices")
runs = page_guards.selected_runs("predictions")


def choose_cell(run_id: str, true: str, predicted: str) -> None:
    """Shows this cell's images, on this page and when it is opened again, from the session or from the URL. The
    session and the URL are kept equal, so that a URL naming another cell is a link (or a reload) to follow."""
    st.session_state[CELL_KEY] = (run_id, true, predicted)
    st.query_params.update({CELL_RUN_PARAMETER: run_id, TRUE: true, PREDICTED: predicted})


def pick_cell(run_id: str, chart_key: str) -> None:
    """Clicking a cell of a run's matrix shows that run's cell."""
    cell = confusion.selected_cell(st.session_state[chart_key].selection)
    if cell:
        choose_cell(run_id, *cell)


def cell_chosen() -> None:
    """The run's radio or a class's selectbox chose the cell."""
    choose_cell(st.session_state["cell_run"], st.session_state["cell_true"], st.session_state["cell_predicted"])


def cell_shown(shown_runs: list, classes: list[str]) -> tuple:
    """The cell whose images show: the URL's (a link, a reload, or this page's own last choice), else the one
    chosen last in the session, else the first run's most confused cell; always of a run and classes shown. Then
    notes on what the URL names that is not here."""
    by_id = {run.run_id: run for run in shown_runs}
    run_id, true, predicted = st.session_state.get(CELL_KEY, (None, None, None))
    linked_run = st.query_params.get(CELL_RUN_PARAMETER)
    named, note = confusion.classes_named({TRUE: st.query_params.get(TRUE),
                                           PREDICTED: st.query_params.get(PREDICTED)}, shown_runs[0].class_names)
    notes = [note] if note else []
    if linked_run is not None and all(run.run_id != linked_run for run in runs):
        notes.insert(0, f"Ignored from the link: '{linked_run}' is no run selected.")
    run = by_id.get(linked_run if linked_run in by_id else run_id, shown_runs[0])
    true, predicted = named.get(TRUE, true), named.get(PREDICTED, predicted)
    if not {true, predicted} <= set(classes):
        counts = confusion.cut(confusion.confusion_frame(run.predictions, run.class_names), classes)
        true, predicted = confusion.most_confused_cell(counts)
    choose_cell(run.run_id, true, predicted)
    return run, true, predicted, notes


def cell_images(run, true_name: str, predicted_name: str) -> None:
    """The cell's images, the most confident first, in pages of cards that open every run's view of an image; a
    link to all of them on the Misclassified samples page."""
    cell = samples.samples_by_class(run.predictions, run.class_names, true_class=run.class_names.index(true_name),
                                    predicted_class=run.class_names.index(predicted_name))
    st.markdown(f"**{len(cell)}** {images_named(run)} of class **{true_name}** predicted as **{predicted_name}** "
                f"by {run.label}" + (", the most confident first." if len(cell) else "."))
    if cell.empty:
        return
    page_size = CELL_PAGE_SIZE if len(shown_runs) > 1 else CELL_PAGE_SIZE // 2
    gallery.gallery(cell, run, runs, page_size=page_size, key=f"cell:{run.run_id}:{true_name}:{predicted_name}",
                    describe=lambda position, sample: (f"{predicted_name} at **{sample['confidence']:.0%}**",
                                                       f"`{sample['id']}`"),
                    empty="", per_row=4)
    if true_name != predicted_name:  # Misclassified samples shows mistakes: a diagonal cell has none
        others = [shown.run_id for shown in shown_runs if shown is not run]
        st.page_link("views/misclassified.py", label=f"See all {len(cell)} on the Misclassified samples page",
                     icon=":material/image_search:",
                     query_params={pickers.RUN_PARAMETER: [run.run_id, *others], TRUE: true_name,
                                   PREDICTED: predicted_name})


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
# The cells of classes: of every class when the matrices count by group (a group's cell holds several classes').
cell_classes = class_names if by_group else classes
cell_run, cell_true, cell_predicted, link_notes = cell_shown(shown_runs, cell_classes)
for note in link_notes:
    st.info(note, icon=":material/link_off:")

# Fixed widths that wrap: two matrices abreast on a laptop's screen, one above the other on a narrower one. One run's
# cell images sit beside its matrix, two runs' under both.
matrices = st.container(horizontal=True)
for side, run in enumerate(shown_runs):
    with matrices.container(width=WIDTH):
        if not normalise:
            shown = confusion.cut(counts[run.label], classes)
        elif by_group:
            shown = confusion.cut(confusion.grouped_frame(class_counts[run.label], groups, normalise=True), classes)
        else:
            shown = confusion.cut(confusion.confusion_frame(run.predictions, class_names, normalise=True), classes)
        chart_key = f"confusion_chart_{side}"
        marked = (cell_true, cell_predicted) if run is cell_run and not by_group else None
        # A group's cell holds several classes' cells: clicks choose a class's cell only.
        on_select = "ignore" if by_group else (lambda run_id=run.run_id, key=chart_key: pick_cell(run_id, key))
        if len(shown_runs) > 1:
            st.markdown(f"**{run.label}**")
        st.plotly_chart(confusion.confusion_figure(shown, normalise=normalise, marked=marked), key=chart_key,
                        on_select=on_select, selection_mode="points")

with matrices.container(width=WIDTH) if len(shown_runs) == 1 else st.container():
    st.subheader("Images in a cell")
    # The keyboard's way to a cell; set on every run, as a click or a link may have chosen another.
    st.session_state.update(cell_run=cell_run.run_id, cell_true=cell_true, cell_predicted=cell_predicted)
    choices = st.container(horizontal=True, vertical_alignment="bottom")
    if len(shown_runs) > 1:
        labels = {run.run_id: run.label for run in shown_runs}
        choices.radio("Of the run", list(labels), format_func=labels.get, key="cell_run", on_change=cell_chosen)
    choices.selectbox("True class", cell_classes, key="cell_true", on_change=cell_chosen, width=200)
    choices.selectbox("Predicted class", cell_classes, key="cell_predicted", on_change=cell_chosen, width=200)
    st.caption("Click a cell of a matrix, or choose one here.")
    cell_images(cell_run, cell_true, cell_predicted)

tables = st.container(horizontal=True)
for run in shown_runs:
    with tables.container(width=WIDTH):
        if by_group:
            st.markdown(f"**{run.label}, per group**")
            st.dataframe(confusion.group_table(counts[run.label], groups, classes), hide_index=True,
                         column_config={"recall": st.column_config.NumberColumn(format="%.3f")})
        else:
            st.markdown(f"**{run.label}, per class**")
            st.dataframe(confusion.per_class_table(run.metrics, classes), hide_index=True,
                         column_config={name: st.column_config.NumberColumn(format="%.3f")
                                        for name in ("precision", "recall", "f1")})
        st.markdown("**Most confused pairs**")
        pairs = confusion.confused_pairs(confusion.cut(counts[run.label], classes))
        if pairs.empty:
            st.success("No test image of these classes was confused with another of them.")
        else:
            st.dataframe(pairs, hide_index=True,
                         column_config={"share of true class": st.column_config.NumberColumn(format="percent")})
