"""What a page checks of the sidebar's runs before showing them: that there are some, that the parts it reads can
be read, that they have probabilities; the runs left out are named with the reason, and a page left with none
stops."""

from __future__ import annotations

import streamlit as st

from dashboard.lib.evaluation_choice import not_evaluated_note
from dashboard.lib.runs import TRAIN_COMMAND, split_readable
from dashboard.lib.sidebar import selection
from trainers.analysis.ensemble import Ensemble
from trainers.store.run_store import Run


def selected_runs(*parts: str, needs_labels: bool = True) -> list[Run | Ensemble]:
    """The runs chosen in the sidebar, then the ensemble picked there (if any), on the images chosen under "Evaluated
    on"; with none, says how to get some and stops the page.

    Args:
        parts: what the page reads of each run besides its JSON files ("predictions", "history"): read now, and
            a run whose parts cannot be read is left out, named in a warning with the reason.
        needs_labels: the page scores the runs against true classes, so an evaluation set without images of a
            class stops it, saying where such a set is shown.
    """
    chosen = selection()
    if not chosen.readable:
        st.info(f"No runs in `{chosen.store}` yet. Train one from the repository root with:")
        st.code(TRAIN_COMMAND, language="bash")
        st.caption("`python -m trainers.train --list` shows every preset. To read another store, "
                   "set `ARTIFACTS_DIR` before `streamlit run dashboard/Home.py`.")
        st.stop()
    note = not_evaluated_note(chosen.not_evaluated, chosen.evaluation)
    if note:
        st.info(note, icon=":material/add_photo_alternate:")
    if not chosen.runs:
        st.info("Select at least one run in the sidebar." if not note else
                f"Pick runs evaluated on {chosen.evaluation}, or the test set under \"Evaluated on\".")
        st.stop()
    runs = readable(chosen.runs, *parts, left_out="Not shown on this page")
    if not runs:
        st.info("None of the selected runs can be shown on this page.")
        st.stop()
    if needs_labels and chosen.evaluation and not len(runs[0].predictions.labels):
        st.info(f"{chosen.evaluation} has no image of the runs' classes with a label, and this page needs true "
                "classes. **New images** shows how often the runs agree on it, and takes your labels.")
        st.stop()
    return runs


def with_probabilities(runs: list[Run | Ensemble], needed_for: str) -> list[Run | Ensemble]:
    """The runs that have probabilities; those of predicted labels alone are named in one line saying what the page
    needs probabilities for, and the page stops when no run is left."""
    kept = [run for run in runs if not run.no_probabilities]
    left_out = [run.label for run in runs if run.no_probabilities]
    if left_out:
        st.info(f"Not shown: {', '.join(left_out)}, recorded from predicted labels alone, without the "
                f"probabilities {needed_for}.")
    if not kept:
        st.stop()
    return kept


def readable(runs: list[Run | Ensemble], *parts: str, left_out: str) -> list[Run | Ensemble]:
    """The runs whose `parts` ("predictions", "history") can be read, read now; the others are named in one
    warning that starts with `left_out` and gives each reason."""
    kept, unreadable = split_readable(runs, *parts)
    if unreadable:
        st.warning(f"{left_out}: runs whose files cannot be read.\n\n"
                   + "\n".join(f"- {label}: {reason}" for label, reason in unreadable))
    return kept
