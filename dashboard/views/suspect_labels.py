"""Suspect labels: every test image ranked by how much a run (or the selected runs together) doubts its label,
confident learning's suspects flagged, and a person's verdict on each, kept in the store with their name."""

import streamlit as st

from dashboard.lib import gallery, label_review, page_guards
from trainers.analysis.on_set import images_named
from trainers.analysis.label_issues import at_confidence
from trainers.analysis.label_review import SCORES, export_table
from trainers.store import evaluable, label_verdicts
from trainers.store.label_verdicts import AMBIGUOUS, RIGHT, WRONG, Verdict

DEFAULT_CONFIDENCE = 0.9
PER_ROW = 4
TOGETHER = "the selected runs together"
AS_STORED, SCALED = "as stored", "at each run's temperature"

st.title("Suspect labels")
st.caption("The test images whose label the runs doubt most come first. Say whether each label is right: your "
           "verdicts are kept, and Home shows every run's accuracy on the labels they correct.")
with st.expander("How images are ranked, and what a verdict does"):
    st.markdown(
        "- **Score**: cleanlab's label-quality score, lowest first. *Self-confidence* is the probability a run gives "
        "the given label; *normalized margin* is that minus the largest other class's probability.\n"
        "- **Flagged**: confident learning (Northcutt et al. 2021) flags an image when another class's probability "
        "reaches that class's threshold, its mean over the test images labelled with it.\n"
        "- Both need out-of-sample probabilities, which test predictions are. *The selected runs together*: "
        "cleanlab's ensemble score, each run weighted by its accuracy.\n"
        "- **Verdicts**: *'cat' is right* keeps the label; *It is a dog* corrects it to the class picked; *Unclear* "
        "(no class fits, or several) leaves the image out of the reviewed accuracy; *Undo* withdraws a verdict. An "
        "image's last verdict counts, whoever gave it; several people can review at once.")
runs = page_guards.with_probabilities(page_guards.selected_runs("predictions"),
                                      "label-quality scores are computed from")

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
    st.markdown(f"**{len(shown)}** {images_named(run)} whose label {chosen} doubts at confidence ≥ {min_confidence:.0%}: "
                "confident learning, Northcutt et al. 2021.")
else:
    st.markdown(f"All **{len(order)}** {images_named(run)}, ranked by {chosen}'s {method.replace('_', ' ')}, lowest first; "
                f"**{int(order['flagged'].sum())}** flagged by confident learning.")

verdicts, unreadable = label_review.read_verdicts(run.store, run.test_key, run.evaluation)
if unreadable:
    st.warning(f"The verdicts given so far cannot be read: {unreadable}")
cannot_keep = unreadable or label_verdicts.cannot_keep(run.store, run.test_key, run.evaluation)
if cannot_keep:
    st.info(f"Verdicts cannot be kept: {cannot_keep}.")
reviewer_column, progress_column = st.columns([1, 2])
reviewer = "" if cannot_keep else label_review.reviewer_name(reviewer_column)
progress_column.markdown(label_review.progress(shown, verdicts))
if verdicts:
    table = export_table(verdicts, predictions.ids, predictions.labels, run.class_names)
    progress_column.download_button("Download the corrected labels (CSV)", table.to_csv(index=False),
                                    file_name=f"corrected-labels-{run.test_key}.csv", mime="text/csv",
                                    help=f"`{evaluable.evaluate_command(run, '--labels', 'FILE')}` prints the "
                                         "test accuracy on these labels.")
if not cannot_keep and not reviewer:
    st.info("Type your name above, then press Enter, to give verdicts: the buttons appear on each card.")


def card(position, image) -> tuple[str, str]:
    flag = " · flagged by confident learning" if image["flagged"] else ""
    return (f"given **{image['true']}** → suspected **{image['suspected_name']}** "
            f"({image['suspected_probability']:.0%})",
            f"`{image['id']}`  \nprobability of the given label: {image['given_probability']:.0%}  \n"
            f"{method.replace('_', ' ')} {image['score']:.3f}{flag}")


def give(image_id: str, verdict: str, corrected: str, reviewer: str) -> None:
    try:
        label_verdicts.record_verdict(run.store, run.test_key, Verdict(image_id, verdict, corrected, reviewer),
                                      run.evaluation)
    except label_verdicts.VerdictsError as error:
        st.toast(f"Not kept: {error}")


def withdraw(image_id: str, reviewer: str) -> None:
    try:
        label_verdicts.undo_verdict(run.store, run.test_key, image_id, reviewer, run.evaluation)
    except label_verdicts.VerdictsError as error:
        st.toast(f"Not undone: {error}")


def review(position, image) -> None:
    """The image's verdict so far, and, once the reviewer is named, a button per verdict labelled with what it
    records (a wrong label's class picked just above its button), and Undo."""
    given, kept = image["true"], verdicts.get(image["id"])
    if kept is not None:
        st.caption(label_review.judged(kept, given))
    if cannot_keep or not reviewer:
        return

    def button(verdict: str, corrected: str = "") -> None:
        label, meaning = label_review.verdict_buttons(given, corrected)[verdict]
        recorded = kept is not None and (kept.verdict, kept.corrected) == (verdict, corrected)
        st.button(label, key=f"verdict:{verdict}:{image['id']}", help=meaning, width="stretch", on_click=give,
                  args=(image["id"], verdict, corrected, reviewer), type="primary" if recorded else "secondary")

    button(RIGHT)
    others = [name for name in run.class_names if name != given]
    start = (kept.corrected if kept is not None and kept.verdict == WRONG and kept.corrected in others
             else image["suspected_name"])
    # Above its button, which names the class picked: the label follows the pick.
    picked = st.selectbox("It is actually", others, index=others.index(start), key=f"corrected:{image['id']}",
                          help=f"The class the image is, if not {label_review.a_class(given)}; type to search.")
    button(WRONG, picked)
    button(AMBIGUOUS)
    if kept is not None:
        st.button("Undo", key=f"undo:{image['id']}", icon=":material/undo:", width="stretch", on_click=withdraw,
                  args=(image["id"], reviewer),
                  help="Withdraws the verdict: the image counts with its given label again.")


# Keyed by the order and filter, so a new one starts again at page 1.
gallery.gallery(shown, run, runs, page_size=page_size, describe=card, extra=review,
                key=f"suspect:{chosen}:{method}:{scaled}:{flagged_only}:{min_confidence}",
                empty="No test image's label is doubted at this confidence.", per_row=PER_ROW)
