"""Suspect labels: test images a run confidently puts in another class than their label (confident learning)."""

import numpy as np
import streamlit as st

from dashboard.lib import gallery, pickers, samples, selection
from trainers.analysis.label_issues import at_confidence

DEFAULT_CONFIDENCE = 0.9
PER_ROW = 4

st.title("Suspect labels")
st.caption("A test image is suspect when the run's probability of another class reaches that class's threshold "
           "(its mean probability over the images labelled with it) and is the highest of those that do: "
           "confident learning (Northcutt et al. 2021). Test predictions are out-of-sample, as the method needs.")
runs = selection.selected_runs("predictions")

run_column, confidence_column, size_column = st.columns(3)
run = pickers.choose_run(runs, container=run_column)
min_confidence = confidence_column.slider("Minimum confidence", 0.0, 1.0, DEFAULT_CONFIDENCE, 0.01,
                                          help="Keep the images whose suspected class has at least this probability.")
page_size = size_column.selectbox("Per page", (12, 24, 48))

predictions = run.predictions
names = np.asarray(run.class_names)
issues = at_confidence(samples.suspect_labels(predictions), min_confidence)
issues = issues.assign(id=predictions.ids[issues.index], true=names[issues["given"]],
                       suspected_name=names[issues["suspected"]])
st.markdown(f"**{len(issues)}** test images whose label {run.label} doubts at confidence ≥ {min_confidence:.0%}: "
            "confident learning, Northcutt et al. 2021.")


def card(position, issue) -> tuple[str, str]:
    return (f"given **{issue['true']}** → suspected **{issue['suspected_name']}** "
            f"({issue['suspected_probability']:.0%})",
            f"`{issue['id']}`  \nprobability of the given label: {issue['given_probability']:.0%}")


# Keyed by the threshold, so a new threshold starts again at page 1.
gallery.gallery(issues, run, runs, page_size=page_size, key=f"suspect:{run.run_id}:{min_confidence}",
                describe=card, empty="No test image's label is doubted at this confidence.", per_row=PER_ROW)
