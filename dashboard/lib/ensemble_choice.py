"""The sidebar's "Ensemble of": the mean of some runs' probabilities, joining the runs on every page, and its
saving as a run folder (the dashboard's only write to the store)."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from dashboard.lib.evaluation_choice import runs_on_set
from dashboard.lib.runs import split_readable
from dashboard.lib.store_cache import store_signature
from trainers.analysis.ensemble import Ensemble
from trainers.analysis.on_set import TEST_SET
from trainers.inference.ensemble_model import save_ensemble
from trainers.store.run_store import Run, RunError

SAVED_ENSEMBLE_KEY = "saved_ensemble"


@st.cache_resource(show_spinner=False, max_entries=8)
def _ensemble(_members: tuple[Run, ...], store: str, signature: tuple, run_ids: tuple[str, ...],
              evaluation: str) -> Ensemble:
    # Shared like the runs it is made of; read-only, it keeps its mean probabilities once computed.
    return Ensemble(_members)


def ensemble_choice(store: Path, test_key: str, by_id: dict[str, Run], evaluation: str = TEST_SET) -> Ensemble | None:
    """Draws "Ensemble of" and, with two runs or more picked, how to save their ensemble; the ensemble, if any, of
    their predictions on `evaluation` (the test set, or an evaluation set's name).

    The saved run replaces the ensemble in the selection: the picks are cleared, and the page runs again so that
    the store lists the new run.
    """
    key = f"ensemble:{test_key}"
    saved = st.session_state.pop(SAVED_ENSEMBLE_KEY, None)
    if saved:
        st.session_state[key] = []
        st.success(saved)
    elif key in st.session_state:  # runs deleted since the last script run drop out
        st.session_state[key] = [run_id for run_id in st.session_state[key] if run_id in by_id]
    picked = st.multiselect("Ensemble of", list(by_id), key=key, format_func=lambda run_id: by_id[run_id].label,
                            help="Two runs or more: the mean of their probabilities joins the runs above on every "
                                 "page. Nothing is written unless you save it.")
    if len(picked) < 2:
        return None
    try:
        on_set, not_evaluated = runs_on_set([by_id[run_id] for run_id in picked], evaluation)
        if not_evaluated:
            raise ValueError(f"not evaluated on {evaluation}: {', '.join(run.label for run in not_evaluated)}")
        members, unreadable = split_readable(on_set, "predictions")
        if unreadable:
            raise ValueError("; ".join(f"{label}: {reason}" for label, reason in unreadable))
        ensemble = _ensemble(tuple(members), str(store), store_signature(store), tuple(picked), evaluation)
    except ValueError as error:
        st.error(f"These runs make no ensemble: {error}")
        return None
    members_name = "+".join(picked)
    name = st.text_input("Run folder name", value=f"ensemble-{members_name}", key=f"ensemble_name:{members_name}")
    if st.button("Save as a run folder", icon=":material/save:",
                 help="Writes the ensemble into the run store, with a model.keras that averages its members."):
        try:
            with st.spinner("Saving the ensemble…"):
                # A run folder holds test predictions: the ensemble of the members on their test set.
                on_test = ensemble if evaluation == TEST_SET else Ensemble(tuple(by_id[run_id] for run_id in picked))
                run = save_ensemble(on_test, store, name.strip())
        except (ValueError, OSError, RunError) as error:
            st.error(f"Not saved: {error}")
        else:
            st.session_state[SAVED_ENSEMBLE_KEY] = f"Saved {ensemble.label} as the run `{run.run_id}`."
            st.rerun()
    return ensemble
