"""Home: which run is best, by how much and whether that is real, above the selected runs in the study's comparison
table (best first); their seed groups, the study's own figures beside them, accuracy against what each costs to run
(its Pareto frontier), and the configuration fields that set the runs apart."""

import streamlit as st

from dashboard.lib import caches, comparison, cost, groups, in_progress, label_review, new_images, page_guards, sidebar
from trainers.analysis.cost import COST_AXES
from trainers.analysis.groups import config_differences, seed_groups
from trainers.analysis.on_set import images_named
from trainers.analysis.ranking import ACCURACY, REVIEWED, TOP_5, rank
from trainers.analysis.uncertainty import ACCURACY_METHOD, LEAD_METHOD, SEEDS_METHOD
from trainers.store import label_verdicts
from trainers.presets import CONFIG_FIELDS

st.title("Run comparison")
if not sidebar.selection().readable:  # nothing complete to rank yet: the runs being trained are all there is
    in_progress.runs_in_progress()
runs = page_guards.selected_runs()
on_set = sidebar.selection().evaluation  # "" for the test set
images = images_named(runs[0])
shown_metric = comparison.SET_ACCURACY_PREFIX + on_set if on_set else None  # what the ranked accuracy is of
# The ranking compares the runs image by image (and runs recorded before metrics.json held their calibration have
# it computed from them): their predictions are read.
ranked = page_guards.readable(runs, "predictions", left_out="Not ranked, and calibration columns left empty")
answer_box = st.container(border=True)  # filled once the metric is chosen, so that the answer comes first
# The accuracy on the test set as people's verdicts correct it (Suspect labels), once a review has begun.
reviewed, corrected = {}, None
if ranked and not ranked[0].evaluation and label_verdicts.review_begun(ranked[0].store, ranked[0].test_key):
    corrected, problem = label_review.reviewed_labels(ranked[0])
    if problem:
        st.warning(problem)
    reviewed = label_review.reviewed_accuracy(ranked, corrected) if corrected is not None else {}
metrics = [ACCURACY, *([TOP_5] if any("top_5_accuracy" in run.metrics for run in runs) else []),
           *([REVIEWED] if corrected is not None else [])]
metric_column, author_column, more_column = st.columns([2, 1, 2], vertical_alignment="bottom")
metric = metric_column.radio("Best by", metrics, horizontal=True, key="rank_metric") if len(metrics) > 1 else ACCURACY
ranking = None
scored = len(ranked[0].predictions.labels) if ranked else 0
if on_set and ranked and scored < 2:  # a set whose images are being labelled on New images
    answer_box.info(f"{scored} image of {on_set} shows one of the runs' classes: too few to rank the runs on. "
                    "Label more of its images on **New images**.")
    ranked = []
try:
    ranking = rank(ranked, metric, corrected) if ranked else None
except ValueError as error:
    answer_box.error(f"These runs cannot be ranked together: {error}")
if ranking is not None:
    answer_box.markdown(comparison.answer(ranking, images, shown_metric if metric == ACCURACY else None))
    answer_box.caption(f"Intervals: {ACCURACY_METHOD} for an accuracy, {LEAD_METHOD} for a lead."
                       .replace("the test images", f"the {images}"))
# On the test set, the accuracy on each labelled evaluation set beside the test accuracy.
table = comparison.comparison_table(runs, caches.class_groups(runs[0]), reviewed, ranking,
                                    {} if on_set else new_images.set_accuracy_columns(runs))
authors = table[comparison.AUTHOR].nunique()
grouped = authors > 1 and author_column.toggle(
    "Group by author", help="Each author's runs together, their best first; a summary per author below.")
if grouped:
    table = comparison.by_author(table, metric)
more = more_column.multiselect("More columns", comparison.more_columns(table), placeholder="model, loss, F1, ECE…",
                               help="The table starts on the columns that rank the runs; add any others.")

st.caption(f"{len(runs)} run{'s' * (len(runs) != 1)} on **{sidebar.selection().dataset}**"
           + (f", by {authors} authors" if authors > 1 else
              f", by {table[comparison.AUTHOR].iloc[0]}" if table[comparison.AUTHOR].iloc[0] else "")
           + f", best first by {shown_metric if on_set and metric == ACCURACY else metric}"
           + (f", scored on the {len(runs[0].predictions.labels):,} images of {on_set} that show one of their "
              "classes" if on_set
              else "") + ". The best value of each column is highlighted; hover a header for what it means, click it "
           "to sort.")
column_config = {column: st.column_config.Column(help=text) for column, text in comparison.COLUMN_HELP.items()}
column_config["run"] = st.column_config.TextColumn(pinned=True, help=comparison.COLUMN_HELP["run"])
column_config["comment"] = st.column_config.TextColumn(width="large", help=comparison.COLUMN_HELP["comment"])
column_config[comparison.INTERVAL] = st.column_config.Column(
    help=f"Of {metric}. " + comparison.COLUMN_HELP[comparison.INTERVAL])
if on_set:  # the table's figures are the set's: the accuracy column says so
    column_config[ACCURACY] = st.column_config.Column(shown_metric, help=f"The share of the images of {on_set} of "
                                                      "the runs' classes each run gets right.")
for column in comparison.set_accuracy_columns(table):
    column_config[column] = st.column_config.Column(
        help=f"On the images of the evaluation set {column.removeprefix(comparison.SET_ACCURACY_PREFIX)} of the "
             "runs' classes (New images shows more); empty for a run not evaluated on it.")
if corrected is not None:
    # The count of changed labels in the header; the column keeps the name the highlighting goes by.
    column_config[REVIEWED] = st.column_config.Column(
        f"reviewed ({corrected.changed} changed)", help=f"The test accuracy on the test set {corrected.sentence()}.")
# Blank, not "None", where a run does not record a value (the Styler's na_rep does not reach a null cell).
st.dataframe(comparison.styled_comparison(table), hide_index=True, column_config=column_config, placeholder="",
             # One author's name on every row says nothing: the caption names them.
             column_order=[column for column in [*comparison.key_columns(table), *more]
                           if authors > 1 or column != comparison.AUTHOR])
if corrected is not None:
    st.caption(label_review.accuracy_caption(corrected))
    swap = label_review.ranking_swap(ranked, reviewed)
    if swap:
        st.markdown(swap)
if grouped:
    st.dataframe(comparison.author_summary(table), hide_index=True,
                 column_config={name: st.column_config.NumberColumn(format="%.4f")
                                for name in ("best test accuracy", "mean test accuracy")})

in_progress.runs_in_progress()  # below the answer and its table: runs not yet complete are never ranked

st.subheader("Seed groups")
noise = st.multiselect("Fields that may differ within a group (noise)", list(CONFIG_FIELDS), default=["seed"],
                       help="Runs whose configurations are equal on every other field form a group.")
found = seed_groups(runs, noise_fields=noise)
if not found:
    st.caption(f"No two selected runs differ only in {', '.join(noise) or 'nothing'}: train one recipe with "
               "several seeds (`--seed`) to see how much a seed alone moves it.")
else:
    st.caption(f"Mean ± sample standard deviation over each group's runs; n runs per group. Intervals: "
               f"{SEEDS_METHOD}.")
    st.dataframe(groups.groups_table(found), hide_index=True,
                 column_config={"group": st.column_config.TextColumn(pinned=True, width="large")})
    if len(found) > 1:
        st.markdown("**Does one recipe beat another across seeds?**")
        st.caption("The probability that a run of the recipe has a higher test accuracy than a run of the other "
                   "(ties count half; Agarwal et al., NeurIPS 2021): 50% is a coin toss.")
        st.dataframe(groups.improvement_table(found), hide_index=True,
                     column_config={"probability it is better": st.column_config.NumberColumn(format="percent")})
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

st.subheader(f"{(shown_metric or ACCURACY).capitalize()} against cost")
colours = sidebar.run_colours()
cost_axis = COST_AXES[st.radio("Cost", list(COST_AXES), horizontal=True, key="cost_axis",
                               help="Parameters as each run records them; the others as `--cost` measured them. "
                                    "Throughput: more is better; every other cost: less is.")]
if cost_axis.field == "parameters":  # recorded by every kind of run, beside the study's reported figures
    sized = cost.recorded_parameters(table, {run.run_id: run.label for run in runs})
    left_out = comparison.left_out_of_chart(table)
    if len(left_out) < len(table) or reference is not None:  # an empty chart says nothing
        st.plotly_chart(cost.with_frontier(groups.with_group_spread(comparison.accuracy_vs_params_figure(
            table, reference, {run.run_id: colours.get(run.label) for run in runs}), found), sized, cost_axis)
            .update_layout(yaxis_title=shown_metric or ACCURACY))
    st.markdown(cost.frontier_sentence(sized, cost_axis))
    st.caption(("Each run in its colour on every page" + ("; hollow diamonds: the study's reported figures"
                                                          if reference is not None else "") + ".")
               if len(left_out) < len(table) else "No selected run records its parameter count.")
    if left_out and len(left_out) < len(table):
        st.caption(f"Not drawn, as they record no parameter count: {', '.join(left_out)}.")
measured = cost.run_costs(runs)
if cost_axis.field != "parameters" and not measured.table.empty:
    st.plotly_chart(cost.frontier_figure(measured.table, cost_axis, colours, shown_metric or ACCURACY))
    st.markdown(cost.frontier_sentence(measured.table, cost_axis))
for line in cost.notes(measured, cost_axis):
    st.caption(line)

st.subheader("Configurations that differ")
differences = config_differences(runs)
without = [run.label for run in runs if run.label not in differences.index]
if without:
    st.caption("No training configuration of this tool's trainer (an ensemble, an imported or recorded model): " + ", ".join(without) + ".")
if differences.columns.empty and len(without) < len(runs) - 1:
    st.caption("The selected runs with a training configuration share every field of it.")
elif differences.columns.empty:
    st.caption("Fewer than two selected runs have a training configuration to compare.")
else:
    st.dataframe(groups.differences_for_display(differences), hide_index=True,
                 column_config={"run": st.column_config.TextColumn(pinned=True)})
    fields = st.multiselect("Fields against test accuracy", list(differences.columns),
                            default=list(differences.columns[:4]))
    if fields:
        st.plotly_chart(groups.parallel_coordinates_figure(differences, runs, fields))
