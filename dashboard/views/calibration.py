"""Calibration: how far each run's confidence can be trusted, from its stored predictions, and the temperature
fitted on its validation predictions."""

import streamlit as st

from dashboard.lib import calibration, comparison, page_guards, pickers, sidebar
from trainers.store import evaluable
from trainers.store.run_store import RunError

st.title("Calibration")
runs = page_guards.with_probabilities(page_guards.selected_runs("predictions"), "calibration is measured on")

st.caption("Can a run's confidence be trusted? A calibrated run is right on 80% of the images it is 80% sure "
           "of; ECE, MCE and the Brier score measure how far each run is from that (lower is better, the best "
           "highlighted).")
with st.expander("How it is computed"):
    st.markdown(
        f"From the stored test predictions; confidence is the top-1 probability, in {calibration.BINNING}. "
        "**ECE** weighs each bin's |accuracy − confidence| by its share of the images. **MCE** is the largest "
        f"of those gaps among bins of at least {calibration.MIN_BIN_IMAGES} images: a bin's accuracy from n "
        f"images is uncertain by up to ±1/√n (95%), ±0.1 at {calibration.MIN_BIN_IMAGES}, so a bin of a few "
        "images would make the MCE; it is empty when no bin holds that many. The **Brier score** sums "
        "(p − y)² over the classes, 0 (certain and right) to 2 (certain and wrong).")
scores = calibration.calibration_table(runs)
st.dataframe(comparison.styled_comparison(scores).format("{:.4f}", subset=["mean confidence"]), hide_index=True)

st.subheader("Reliability diagram")
st.caption("Each point is a confidence bin: its images' mean confidence against their accuracy; below the "
           f"diagonal a run is overconfident, above it underconfident. Hollow points are {calibration.SMALL_BINS} "
           "(their count beside them), too few to trust and left out of MCE; the bars below count every bin.")
st.plotly_chart(calibration.reliability_figure(
    calibration.reliability_frame({run.label: run.predictions for run in runs}), sidebar.run_colours()))

st.subheader("Temperature scaling")
fits, without = {}, []
for run in runs:
    try:
        fit = calibration.temperature_fit(run)
    except RunError as error:
        st.warning(f"The validation predictions of {run.label} cannot be used: {error}")
        continue
    if fit is None:
        without.append(run)
    else:
        fits[run.label] = fit
if fits:
    st.caption("One temperature T per run rescales its confidence without changing any prediction: T > 1 softens "
               "it, T < 1 sharpens it. Before and after are on the test images.")
    with st.expander("How it is computed"):
        st.markdown("The logits are divided by T. Each T is the one of minimum log loss on the run's validation "
                    "images, never on the test images it is judged on; ECE in the bins above.")
    temperatures = calibration.temperature_table(fits)
    st.dataframe(temperatures.style.format("{:.4f}", subset=list(temperatures.columns[3:]))
                 .format("{:.3f}", subset=["temperature"]).format("{:,}", subset=["validation images"]),
                 hide_index=True)
for run in without:
    command = calibration.evaluate_command(run)
    st.info(f"{run.label} stores no validation predictions to fit a temperature on; "
            + (f"`{command}` adds them (it predicts the validation and test images again)." if command
               else f"no command adds them: {evaluable.evaluation_refusal(run)}."))

st.subheader("One run")
run = pickers.choose_run(runs, key="calibration_run")
left, right = st.columns(2)
with left:
    st.markdown("**Top-1 confidence of right and wrong test predictions**")
    st.plotly_chart(calibration.confidence_histogram(run.predictions))
with right:
    fit = fits.get(run.label)
    if fit is None:
        st.caption(f"With validation predictions, {run.label}'s reliability at its fitted temperature shows here.")
    else:
        st.markdown(f"**Reliability as stored and {calibration.temperature_label(fit.temperature)}**")
        st.caption(f"T = {fit.temperature:.3f} was fitted on {fit.validation_images:,} validation images of "
                   f"{run.label} (the predictions on them stored with it), never on the test images shown here.")
        overlap = evaluable.split_overlap_warning(run)
        if overlap:
            st.warning(overlap)
        st.plotly_chart(calibration.reliability_figure(calibration.reliability_frame(
            {"as stored": fit.stored, calibration.temperature_label(fit.temperature): fit.scaled})))
