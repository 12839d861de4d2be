"""Calibration: how far each run's confidence can be trusted, from its stored predictions, and the temperature
fitted on its validation predictions."""

import streamlit as st

from dashboard.lib import calibration, comparison, pickers, selection
from trainers.store.run_store import RunError

st.title("Calibration")
runs = selection.selected_runs("predictions")

st.caption("All from the stored test predictions; confidence is the top-1 probability. ECE and MCE use "
           f"{calibration.BINNING}: ECE weighs each bin's |accuracy - confidence| by its share of the images; MCE "
           "is the largest, however few images its bin holds (the diagram's hover gives the counts). The Brier "
           "score sums (p - y)² over the classes, 0 (certain and right) to 2 (certain and wrong). Lower is better "
           "for all three; the best is highlighted.")
scores = calibration.calibration_table(runs)
st.dataframe(comparison.styled_comparison(scores).format("{:.4f}", subset=["mean confidence"]), hide_index=True)

st.subheader("Reliability diagram")
st.caption("Each point is one confidence bin: the mean confidence of its images against their accuracy; its area "
           "grows with its image count (hover for the bin and the count). Below the diagonal, a run is "
           "overconfident; above it, underconfident.")
st.plotly_chart(calibration.reliability_figure(
    calibration.reliability_frame({run.label: run.predictions for run in runs}), selection.run_colours()))

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
    st.caption("Dividing the logits by one temperature T changes no prediction, only the confidence: T > 1 "
               "softens it, T < 1 sharpens it. Each T is fitted on the run's validation images (minimum log "
               "loss), never on the test images; before and after are on the test images, ECE in "
               f"{calibration.BINS} equal-width bins.")
    temperatures = calibration.temperature_table(fits)
    st.dataframe(temperatures.style.format("{:.4f}", subset=list(temperatures.columns[3:]))
                 .format("{:.3f}", subset=["temperature"]).format("{:,}", subset=["validation images"]),
                 hide_index=True)
for run in without:
    command = calibration.evaluate_command(run)
    st.info(f"{run.label} stores no validation predictions to fit a temperature on"
            + (f"; `{command}` adds them (it predicts the validation and test images again)." if command else "."))

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
                   f"{run.label}, never on the test images shown here.")
        st.plotly_chart(calibration.reliability_figure(calibration.reliability_frame(
            {"as stored": fit.stored, calibration.temperature_label(fit.temperature): fit.scaled})))
