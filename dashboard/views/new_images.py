"""New images: how the runs do on a set of images beyond their test set (the sidebar's "Evaluated on"): whether test
accuracy carries over and which runs hold up better than it predicts, how often the runs agree and the accuracy that
estimates where the images have no labels, how well each tells images of none of its classes apart, and the images
they disagree on most, where a person's answer becomes the image's label."""

import streamlit as st

from dashboard.lib import gallery, label_review, new_images, page_guards, sidebar
from dashboard.lib.evaluation_choice import TEST_SET_LABEL, set_summary
from trainers.analysis import new_images as agreement
from trainers.analysis.on_set import run_on_test
from trainers.store import evaluation_sets, label_verdicts
from trainers.store.label_verdicts import AMBIGUOUS, WRONG, Verdict

PER_PAGE = 12

st.title("New images")
chosen = sidebar.selection()
if not chosen.evaluation:
    runs = page_guards.selected_runs("predictions")  # with no runs, says how to get some and stops
    names = evaluation_sets.set_names(chosen.store, runs[0].test_key)
    if names:
        st.info(f"Pick a set of new images under **Evaluated on** in the sidebar (now: {TEST_SET_LABEL}). The runs' "
                f"test set has {len(names)}: {', '.join(names)}.", icon=":material/arrow_back:")
    else:
        st.info("No set of new images yet. Evaluate runs on a folder of images: a class-per-folder tree (a folder "
                "named after no class holds images of none of them) or a flat folder without labels.")
        st.code("python -m trainers.evaluate artifacts/RUN ... --eval-set folder:PATH/TO/IMAGES", language="bash")
    st.stop()

set_name = chosen.evaluation
runs = page_guards.selected_runs("predictions", needs_labels=False)
store, test_key = runs[0].store, runs[0].test_key
described = evaluation_sets.set_description(store, test_key, set_name) or {}
every = runs[0].every_prediction
labels = every.labels
of_a_class = int((labels >= 0).sum())
unlabelled = int((labels == evaluation_sets.UNLABELLED).sum())
none = int((labels == evaluation_sets.NONE_OF_THESE).sum())
kinds = [f"{count:,} {what}" for count, what in ((of_a_class, "of the runs' classes"), (none, "of none of them"),
                                                  (unlabelled, "without a label yet")) if count]
st.caption(f"**{set_summary(store, test_key, set_name)}**, read from `{described.get('source', '?')}`: "
           f"{', '.join(kinds)}.")
colours = sidebar.run_colours()
test_runs = [run_on_test(run) for run in runs]
try:
    picks = new_images.picks(runs)
except ValueError as error:
    st.error(str(error))
    st.stop()

if of_a_class:
    st.subheader("Does test accuracy carry over?")
    st.markdown(new_images.carry_over_sentence(test_runs, runs, set_name))
    line, no_line = new_images.robustness(test_runs, runs)
    if line is not None:
        st.markdown(new_images.robustness_sentence(line, runs))
    st.plotly_chart(new_images.robustness_figure(test_runs, runs, set_name, line, colours))
    st.caption("A point per run. The solid line is fitted across the runs, straight on logit axes: Recht et al. "
               "(2019) and Taori et al. (2020) found that runs lie close to such a line, so a run above it holds up "
               "better than its test accuracy predicts (*effective robustness*). The dotted line: no change."
               + (f" No line: {no_line}." if line is None else ""))

st.subheader("Each run on the set" if of_a_class else "How the runs do without labels")
table = new_images.set_table(test_runs, runs, line if of_a_class else None)
percent = {column: st.column_config.NumberColumn(format="%.4f") for column in
           (new_images.TEST_ACCURACY, new_images.ON_SET, new_images.ESTIMATED, new_images.AUROC, new_images.FPR_95)}
percent.update({column: st.column_config.NumberColumn(format="%+.2f") for column in
                (new_images.CHANGE, new_images.ABOVE_LINE)})
st.dataframe(table, hide_index=True, column_config={"run": st.column_config.TextColumn(pinned=True), **percent})
notes = []
if new_images.ESTIMATED in table:
    notes.append("**Estimated from disagreement**: one minus a run's mean disagreement with the others (Jiang et al., "
                 "ICLR 2022), on the images not known to be of none of its classes. It holds when: "
                 + " ".join(agreement.ESTIMATE_CONDITIONS))
if new_images.AUROC in table:
    notes.append("**None of these**: how well a run's confidence (its largest probability) ranks the images of its "
                 "classes above those of none: AUROC 1 always, 0.5 a coin toss; the false-positive rate is the share "
                 "of images of none of its classes it would still answer for at a threshold that keeps 95% of the "
                 "others.")
for note in notes:
    st.caption(note)
if len(runs) > 1 and new_images.ESTIMATED in table:
    with st.expander("How well the estimate held where the labels are known"):
        test_ids = test_runs[0].predictions.ids
        check = agreement.estimate_check({run.label: run.predictions.in_order(test_ids).predicted for run in test_runs},
                                         test_runs[0].predictions.labels).reset_index()
        st.caption("On the test set, where every image has its class: the estimate beside the accuracy.")
        st.dataframe(check, hide_index=True, column_config={
            name: st.column_config.NumberColumn(format="%.4f") for name in agreement.CHECK_COLUMNS})

if len(runs) > 1:
    st.subheader("How often the runs agree")
    matrix = agreement.agreement_matrix(picks)
    agreed = agreement.image_agreement(picks)
    st.caption(f"The share of the set's {len(agreed):,} images each pair of runs gives the same class. All "
               f"{len(runs)} agree on {(agreed == 1).mean():.1%} of them.")
    st.plotly_chart(new_images.agreement_figure(matrix))

st.subheader("The images they disagree on most")
class_names = runs[0].class_names
verdicts, unreadable = label_review.read_verdicts(store, test_key, set_name)
if unreadable:
    st.warning(f"The labels given so far cannot be read: {unreadable}")
cannot_keep = unreadable or label_verdicts.cannot_keep(store, test_key, set_name)
cards = new_images.disagreement_cards(runs, picks)
only_unlabelled = st.toggle("Only images without a label", value=bool(unlabelled),
                            disabled=not unlabelled, help="Images of a class folder, or labelled by you, are left out.")
if only_unlabelled:
    cards = cards[cards["true"] == ""]
reviewer = "" if cannot_keep else label_review.reviewer_name(st.container())
if cannot_keep:
    st.info(f"Labels cannot be kept: {cannot_keep}.")
elif not reviewer:
    st.info("Type your name above, then press Enter, to label images: a class picker appears on each card.")


position_of = {image_id: position for position, image_id in enumerate(every.ids.tolist())}


def card(position, image) -> tuple[str, str]:
    at = position_of[image["id"]]
    said = new_images.picks_said({run.run_id: class_names[int(picks[run.label][at])] for run in runs})
    head = f"label **{image['true']}**" if image["true"] else "no label"
    share = f"{image['agreement']:.0%} agree" if len(runs) > 1 else f"{image['agreement']:.0%} sure"
    return f"{head} · {share}", f"`{image['id']}`  \n{said}"


def label_it(position, image) -> None:
    kept = verdicts.get(image["id"])
    if kept is not None:
        answer = new_images.NONE_OF_THESE if kept.verdict == AMBIGUOUS else kept.corrected
        st.caption(f"labelled **{answer}**" + (f" by {kept.reviewer}" if kept.reviewer else ""))
    if cannot_keep or not reviewer:
        return
    picked = st.selectbox("It is", [*class_names, new_images.NONE_OF_THESE], index=None, key=f"label:{set_name}:{image['id']}",
                          placeholder="its class…", label_visibility="collapsed")
    if picked is not None and st.button("Label it", key=f"give:{set_name}:{image['id']}", icon=":material/label:"):
        verdict = (Verdict(image["id"], AMBIGUOUS, reviewer=reviewer) if picked == new_images.NONE_OF_THESE
                   else Verdict(image["id"], WRONG, picked, reviewer))
        try:
            label_verdicts.record_verdict(store, test_key, verdict, set_name)
        except label_verdicts.VerdictsError as error:
            st.toast(f"Not kept: {error}")
        st.rerun()


st.caption(("Most disagreed first; ties by how unsure the runs are on average." if len(runs) > 1 else
            "The least sure first.") + " A label you give is the image's label "
           "from then on: the set is scored on it on every page, as on its class folders.")
gallery.gallery(cards.reset_index(drop=True), runs[0], runs, page_size=PER_PAGE, key=f"disagreed:{set_name}",
                describe=card, empty="Every image here has a label.", button=None, extra=label_it)
