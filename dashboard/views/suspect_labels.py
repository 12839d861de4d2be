"""Suspect labels: every test image ranked by how much a run (or the selected runs together) doubts its label,
confident learning's suspects flagged, and a person's verdict on each, kept in the store."""

import os

import streamlit as st

from dashboard.lib import gallery, label_review, selection
from trainers.analysis.label_issues import at_confidence
from trainers.analysis.label_review import SCORES, export_table
from trainers.store import label_verdicts
from trainers.store.label_verdicts import AMBIGUOUS, RIGHT, WRONG, Verdict

DEFAULT_CONFIDENCE = 0.9
PER_ROW = 4
TOGETHER = "the selected runs together"
AS_STORED, SCALED = "as stored", "at each run's temperature"
# A card is a quarter of the page wide: a sign per verdict button, the words in its tooltip.
VERDICT_BUTTONS = {RIGHT: ("✓", "The given label is right"),
                   WRONG: ("✗", "The label is wrong: the image is of the class picked above"),
                   AMBIGUOUS: ("?", "The image fits no class, or more than one")}

st.title("Suspect labels")
st.caption("Every test image, the one whose label the run doubts most first, by cleanlab's label-quality score "
           "(self-confidence: the probability of the given label; normalized margin: that minus the largest other). "
           "Confident learning (Northcutt et al. 2021) flags an image when another class's probability reaches that "
           "class's threshold (its mean over the images labelled with it). Test predictions are out-of-sample, as "
           "both need.")
runs = selection.selected_runs("predictions")

run_column, score_column, probabilities_column, size_column = st.columns([3, 2, 2, 1])
by_label = {run.label: run for run in runs}
choices = [*by_label, *([TOGETHER] if len(runs) > 1 else [])]
chosen = run_column.selectbox("Run", choices)
method = score_column.selectbox("Score", list(SCORES), format_func=lambda name: name.replace("_", " "))
scaled = probabilities_column.selectbox(
    "Probabilities", (False, True), format_func=lambda scaled: SCALED if scaled else AS_STORED,
    help="At each run's temperature, fitted on its validation images (as the Calibration page fits it): the "
         "scores, the suspected probabilities and confident learning's flags move; the predicted classes do not.")
page_size = size_column.selectbox("Per page", (12, 24, 48))
flag_column, confidence_column = st.columns(2)
flagged_only = flag_column.toggle("Only confident learning's suspects")
min_confidence = confidence_column.slider(
    "Minimum confidence", 0.0, 1.0, DEFAULT_CONFIDENCE, 0.01, disabled=not flagged_only,
    help="With confident learning's suspects only: those whose suspected class has at least this probability.")

ranked = runs if chosen == TOGETHER else [by_label[chosen]]
run = ranked[0]
members = [member.predictions for member in ranked]
if scaled:
    members, said = zip(*(label_review.at_temperature(member) for member in ranked))
    st.caption("Probabilities: " + "; ".join(f"{member.label} {what}" for member, what in zip(ranked, said)) + ".")
predictions, scores = members[0], None
if chosen == TOGETHER:  # ranked by cleanlab's ensemble score, the rest of the runs' mean
    predictions, scores = label_review.runs_together(members, method)
order = label_review.ranking(predictions, run.class_names, method, scores)
shown = order
if flagged_only:
    shown = at_confidence(order[order["flagged"]].sort_values("suspected_probability", ascending=False,
                                                               kind="stable"), min_confidence)
    st.markdown(f"**{len(shown)}** test images whose label {chosen} doubts at confidence ≥ {min_confidence:.0%}: "
                "confident learning, Northcutt et al. 2021.")
else:
    st.markdown(f"All **{len(order)}** test images, ranked by {chosen}'s {method.replace('_', ' ')}, lowest first; "
                f"**{int(order['flagged'].sum())}** flagged by confident learning.")

verdicts, unreadable = label_review.read_verdicts(run.store, run.test_key)
if unreadable:
    st.warning(f"The verdicts given so far cannot be read: {unreadable}")
cannot_keep = unreadable or label_verdicts.cannot_keep(run.store, run.test_key)
if cannot_keep:
    st.info(f"Verdicts cannot be kept: {cannot_keep}.")
reviewer_column, progress_column = st.columns([1, 2])
reviewer = reviewer_column.text_input("Reviewer", value=os.environ.get("USER", ""), key="reviewer",
                                      help="Kept with each verdict you give.")
progress_column.markdown(label_review.progress(shown, verdicts))
if verdicts:
    table = export_table(verdicts, predictions.ids, predictions.labels, run.class_names)
    progress_column.download_button("Download the corrected labels (CSV)", table.to_csv(index=False),
                                    file_name=f"corrected-labels-{run.test_key}.csv", mime="text/csv",
                                    help="`python -m trainers.evaluate RUN --labels FILE` reads it.")


def card(position, image) -> tuple[str, str]:
    flag = " · flagged by confident learning" if image["flagged"] else ""
    return (f"given **{image['true']}** → suspected **{image['suspected_name']}** "
            f"({image['suspected_probability']:.0%})",
            f"`{image['id']}`  \nprobability of the given label: {image['given_probability']:.0%}  \n"
            f"{method.replace('_', ' ')} {image['score']:.3f}{flag}")


def give(image_id: str, verdict: str, corrected: str) -> None:
    try:
        label_verdicts.record_verdict(run.store, run.test_key, Verdict(image_id, verdict, corrected, reviewer))
    except label_verdicts.VerdictsError as error:
        st.toast(f"Not kept: {error}")


def review(position, image) -> None:
    """The image's verdict so far, and buttons that give one (a wrong label's class picked above them)."""
    given = verdicts.get(image["id"])
    if given is not None:
        what = f"wrong: it is a {given.corrected}" if given.verdict == WRONG else given.verdict
        st.caption(f"Judged {what}" + (f", by {given.reviewer}" if given.reviewer else ""))
    if cannot_keep:
        return
    classes = run.class_names
    start = classes.index(given.corrected if given is not None and given.verdict == WRONG
                          else image["suspected_name"])
    corrected = st.selectbox("It is a", classes, index=start, key=f"corrected:{image['id']}")
    for column, (verdict, (sign, meaning)) in zip(st.columns(3), VERDICT_BUTTONS.items()):
        column.button(sign, key=f"verdict:{verdict}:{image['id']}", help=meaning,
                      on_click=give, args=(image["id"], verdict, corrected if verdict == WRONG else ""),
                      type="primary" if given is not None and given.verdict == verdict else "secondary")


# Keyed by the order and filter, so a new one starts again at page 1.
gallery.gallery(shown, run, runs, page_size=page_size, describe=card, extra=review,
                key=f"suspect:{chosen}:{method}:{scaled}:{flagged_only}:{min_confidence}",
                empty="No test image's label is doubted at this confidence.", per_row=PER_ROW)
