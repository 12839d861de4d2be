"""Home: the selected runs in the study's comparison table, their seed groups, the study's own figures beside them,
and the configuration fields that set the runs apart."""

import streamlit as st

from dashboard.lib import caches, comparison, groups, in_progress, label_review, selection
from trainers.analysis.groups import config_differences, seed_groups
from trainers.store import label_verdicts
from trainers.presets import CONFIG_FIELDS

st.title("Run comparison")
in_progress.runs_in_progress()
runs = selection.selected_runs()
# Only runs recorded before metrics.json held their calibration have their predictions read, for it.
selection.readable([run for run in runs if not comparison.calibration_recorded(run)], "predictions",
                   left_out="Calibration columns left empty")
# The accuracy on the test set as people's verdicts correct it (Suspect labels), once a review has begun.
reviewed, corrected = {}, None
if label_verdicts.review_begun(runs[0].store, runs[0].test_key):
    reviewable = selection.readable(runs, "predictions", left_out="Reviewed test accuracy left empty")
    corrected, problem = label_review.reviewed_labels(reviewable[0]) if reviewable else (None, None)
    if problem:
        st.warning(problem)
    reviewed = label_review.reviewed_accuracy(reviewable, corrected) if corrected is not None else {}
table = comparison.comparison_table(runs, caches.class_groups(runs[0]), reviewed)
authors = table[comparison.AUTHOR].nunique()
grouped = authors > 1 and st.toggle("Group by author",
                                   help="Each author's runs together, their best first; a summary per author below.")
if grouped:
    table = comparison.by_author(table)

st.caption(f"{len(runs)} runs on **{selection.selection().dataset}**"
           + (f", by {authors} authors" if authors > 1 else "")
           + ". The best value of each metric column is highlighted; click a column header to sort.")
st.dataframe(comparison.styled_comparison(table), hide_index=True,
             column_config={"model": st.column_config.TextColumn(pinned=True),
                            "comment": st.column_config.TextColumn(width="large"),
                            # The count of changed labels in the header; the column keeps the name the
                            # highlighting goes by.
                            **({comparison.REVIEWED: st.column_config.Column(
                                f"{comparison.REVIEWED} ({corrected.changed} changed)",
                                help=f"The test accuracy on the test set {corrected.sentence()}.")}
                               if corrected is not None else {})})
if corrected is not None:
    st.caption(label_review.accuracy_caption(corrected))
    swap = label_review.ranking_swap(runs, reviewed)
    if swap:
        st.markdown(swap)
if grouped:
    st.dataframe(comparison.author_summary(table), hide_index=True,
                 column_config={name: st.column_config.NumberColumn(format="%.4f")
                                for name in ("best test accuracy", "mean test accuracy")})

st.subheader("Seed groups")
noise = st.multiselect("Fields that may differ within a group (noise)", list(CONFIG_FIELDS), default=["seed"],
                       help="Runs whose configurations are equal on every other field form a group.")
found = seed_groups(runs, noise_fields=noise)
if not found:
    st.caption(f"No two selected runs differ only in {', '.join(noise) or 'nothing'}: train one recipe with "
               "several seeds (`--seed`) to see how much a seed alone moves it.")
else:
    st.caption("Mean ± sample standard deviation over each group's runs; n runs per group.")
    st.dataframe(groups.groups_table(found), hide_index=True,
                 column_config={"group": st.column_config.TextColumn(pinned=True, width="large")})
    for group in found:
        with st.expander(group.label):
            st.dataframe(groups.group_runs_table(group), hide_index=True)

show_reference = st.toggle("Show the figures reported by the study", value=False)
reference = comparison.study_reference() if show_reference else None
if reference is not None:
    st.subheader("Reported by the study (not measured here)")
    st.caption("The study's own figures for its models on CIFAR-10, for reference only; empty where it gave none.")
    st.dataframe(comparison.reference_for_display(reference), hide_index=True,
                 column_config={"test accuracy": st.column_config.NumberColumn(format="%.2f"),
                                "params": st.column_config.TextColumn(width=90)})

st.subheader("Test accuracy against parameters")
st.plotly_chart(groups.with_group_spread(comparison.accuracy_vs_params_figure(table, reference), found))

st.subheader("Configurations that differ")
differences = config_differences(runs)
without = [run.label for run in runs if run.label not in differences.index]
if without:
    st.caption("No training configuration of this tool's trainer (an ensemble, an imported or recorded model): " + ", ".join(without) + ".")
if differences.columns.empty:
    st.caption("The selected runs with a training configuration share every field of it.")
else:
    st.dataframe(groups.differences_for_display(differences), hide_index=True,
                 column_config={"run": st.column_config.TextColumn(pinned=True)})
    fields = st.multiselect("Fields against test accuracy", list(differences.columns),
                            default=list(differences.columns[:4]))
    if fields:
        st.plotly_chart(groups.parallel_coordinates_figure(differences, runs, fields))
