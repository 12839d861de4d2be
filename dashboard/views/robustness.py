"""Robustness: which run holds up best under common corruptions (noise, blur, weather, digital), and whether it is
the one that is best on clean images; the images a corruption breaks. From the units `python -m trainers.evaluate
RUN --corruptions` stores; no model is loaded."""

import streamlit as st

from dashboard.lib import caches, page_guards, pickers, samples, sidebar
from dashboard.lib import robustness as page
from trainers.analysis.ensemble import Ensemble
from trainers.store.corruption_results import CORRUPTIONS, SEVERITIES
from trainers.store.run_store import RunError

PER_PAGE = 12
CARD_WIDTH = 230  # px: the pair of images, 2 x 96 px and the gap, with the card's padding
BASELINE_KEY = "robustness_baseline"

st.title("Robustness")
selected = page_guards.selected_runs("predictions")
ensembles = [run.label for run in selected if isinstance(run, Ensemble)]
runs = {run.label: run for run in selected if not isinstance(run, Ensemble)}
results, profiles, unreadable = page.read_results(list(runs.values()))
if unreadable:
    st.warning("Corruption results that cannot be read:\n\n"
               + "\n".join(f"- {label}: {reason}" for label, reason in unreadable))
if ensembles:
    st.info(f"Not shown: {', '.join(ensembles)}. An ensemble is not evaluated on corrupted images; its members are.")
if not results:
    command = page.corruptions_command(list(runs.values()))
    st.info("None of the selected runs has been evaluated on corrupted images yet."
            + (" Predict the 75 corrupted versions of a subset of their test images with:" if command else
               " None of them has a model to predict them with."))
    if command:
        st.code(command, language="bash")
    st.stop()

compared, _ = page.split_by_units(results)
first = next(iter(compared.values()), next(iter(results.values())))
profile = profiles[next(iter(compared or results))]
st.caption(f"Each run on {first.images:,} of its test images (the same share of each class), corrupted 15 ways at 5 "
           f"severities with {page.PROFILES.get(profile, profile)}, as Hendrycks and Dietterich (ICLR 2019) "
           "benchmark robustness.")
answer_slot = st.container()

if len(compared) >= 2:
    options = list(compared)
    if st.session_state.get(BASELINE_KEY) not in options:
        st.session_state[BASELINE_KEY] = page.default_baseline(compared)
    baseline = st.selectbox("Baseline", options, key=BASELINE_KEY, width=400,
                            help="mCE is in percent of this run's errors: the paper's baseline is AlexNet; here, "
                                 "the run you pick. It starts on the least accurate clean.")
    table = page.summary_table(compared, baseline)
    answer_slot.markdown(page.answer(table, baseline))
    st.dataframe(table, hide_index=True, column_config={
        "run": st.column_config.TextColumn(pinned=True),
        **{column: st.column_config.NumberColumn(format="%.4f") for column in (page.CLEAN, page.CORRUPTED)},
        **{column: st.column_config.NumberColumn(format="%.1f") for column in (page.MCE, page.RELATIVE_MCE)}})
    st.caption(f"Clean accuracy is on the same {first.images:,} images; corrupted accuracy, the mean over the 75 "
               f"units. **mCE**: a run's errors summed over the severities of a corruption, in percent of "
               f"{baseline}'s, averaged over the 15 corruptions (lower is better; {baseline}'s is 100). "
               "**Relative mCE** does the same with what corruption adds to each run's clean error.")
    with st.expander("The corruption error of each corruption (mCE is their mean)"):
        st.dataframe(page.corruption_error_table(compared, baseline), hide_index=True, column_config={
            name: st.column_config.NumberColumn(format="%.1f") for name in map(page.corruption_label, CORRUPTIONS)})
elif compared:
    only = next(iter(compared))
    answer_slot.markdown(f"Only **{only}** has all 75 units: mCE measures runs against a baseline run, so it needs "
                         f"two. Its accuracy falls from {compared[only].clean:.4f} clean to "
                         f"{compared[only].accuracy.to_numpy().mean():.4f} corrupted, on average.")
else:
    answer_slot.markdown("No selected run has all 75 units yet, so no mCE: the figure below shows what they have.")
note = page.missing_units_note(runs, results, compared)
if note:
    st.info(note, icon=":material/hourglass_top:")

st.subheader("Accuracy per corruption and severity")
st.plotly_chart(page.accuracy_figure(results, sidebar.run_colours()))
st.caption("A line per run, from its clean accuracy on the subset to severity 5; a row per family (noise, blur, "
           "weather, digital). The first panel is the mean of the 15 corruptions. Click a run in the legend to hide "
           "it.")

st.subheader("The images a corruption breaks")
with_units = [runs[label] for label in results]
choices = st.container(horizontal=True)
run = pickers.choose_run(with_units, key="robustness_run", container=choices.container(width=300))
accuracy = results[run.label].accuracy
corruptions = [name for name in CORRUPTIONS if accuracy.loc[name].notna().any()]
corruption = choices.selectbox("Corruption", corruptions, format_func=page.corruption_label, width=250,
                               key="robustness_corruption")
severities = [severity for severity in SEVERITIES if accuracy.notna().loc[corruption, severity]]
severity = choices.segmented_control("Severity", severities, default=severities[-1], key="robustness_severity")
severity = severity or severities[-1]  # a click on the chosen one deselects it
try:
    corrupted = page.unit_predictions(run, corruption, severity)
except RunError as error:
    st.warning(f"{run.label}'s predictions under {page.corruption_label(corruption)} at severity {severity} cannot "
               f"be read: {error}")
    st.stop()
broken = page.broken_table(run, corrupted)
st.markdown(page.broken_sentence(run, corrupted, len(broken), corruption, severity))
if broken.empty:
    st.stop()
images = caches.test_images(run)
if images is None:
    st.stop()
pages = samples.page_count(len(broken), PER_PAGE)
number = st.number_input(f"Page (of {pages})", 1, pages, 1, width=200,
                         key=f"robustness_page:{run.run_id}:{corruption}:{severity}") if pages > 1 else 1
shown = broken.iloc[samples.page_slice(number, PER_PAGE)]
st.caption("The most confident mistakes first. Left, the clean image; right, the same image as the run saw it "
           "corrupted (the very pixels it was evaluated on, made again).")
clean = images.select(shown["id"])
corrupted_images = page.corrupted_pixels(clean, run, shown["id"], corruption, severity)
cards = st.container(horizontal=True)
for before, after, (_, image) in zip(clean, corrupted_images, shown.iterrows()):
    with cards.container(border=True, width=CARD_WIDTH):
        st.image(page.side_by_side(before, after))
        st.markdown(f"true **{image['true']}** → **{image['called']}** ({image['confidence']:.0%})")
        st.caption(f"`{image['id']}`")
