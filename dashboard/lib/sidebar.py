"""The sidebar every page shares: the store and its broken runs, the data set, authors and runs chosen, the
ensemble of some and the report's download; the choice remembered for the page (`selection`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import streamlit as st

from dashboard.lib import figures
from dashboard.lib.ensemble_choice import ensemble_choice
from dashboard.lib.evaluation_choice import evaluation_choice, runs_on_set
from dashboard.lib.report_download import download_report
from dashboard.lib.runs import dataset_labels, group_by_dataset
from dashboard.lib.store_cache import readable_store
from dashboard.lib.store_location import store_path
from trainers.analysis.ensemble import Ensemble
from trainers.analysis.on_set import TEST_SET
from trainers.store import remote_store
from trainers.store.run_store import Run

SELECTION_KEY = "selection"
NO_AUTHOR = "(no author)"


@dataclass(frozen=True)
class Selection:
    """The sidebar's choice: runs of one data set (and the ensemble of some, if asked for), out of the store's
    readable and broken runs."""

    store: Path
    runs: list[Run | Ensemble] = field(default_factory=list)
    dataset: str = ""
    readable: int = 0
    broken: list[tuple[str, str]] = field(default_factory=list)
    colours: dict[str, str] = field(default_factory=dict)  # every run's of the data set, by label
    evaluation: str = TEST_SET  # the images the runs are scored on: the test set, or an evaluation set's name
    not_evaluated: list[Run] = field(default_factory=list)  # runs chosen that have no predictions on that set


def draw_selection(takes_evaluation_set: bool = False) -> Selection:
    """Draws the store, its broken runs, the data set, the images to score on (for a page that `takes_evaluation_set`)
    and the runs to show; remembers the choice for the page."""
    store = store_path()
    runs, broken = readable_store(store)
    groups = group_by_dataset(runs)
    selection = Selection(store, readable=len(runs), broken=broken)
    with st.sidebar:
        if groups:
            labels = dataset_labels(groups)
            test_key = next(iter(groups))
            if len(groups) > 1:
                # Runs of different test sets are never ranked together: one data set at a time.
                test_key = st.selectbox("Data set", list(groups), format_func=labels.get, key="dataset")
            evaluation = evaluation_choice(store, test_key) if takes_evaluation_set else TEST_SET
            shown, authors = _author_choice(test_key, groups[test_key])
            by_id = {run.run_id: run for run in shown}
            # Each choice of authors remembers its own runs; all authors keep the choice made before filtering.
            key = f"runs:{test_key}" + (f":{'|'.join(authors)}" if authors else "")
            _keep_choice_current(key, list(by_id))
            chosen = st.multiselect("Runs", list(by_id), key=key, format_func=lambda run_id: by_id[run_id].label)
            ensemble = ensemble_choice(store, test_key, by_id, evaluation)
            on_set, not_evaluated = runs_on_set([by_id[run_id] for run_id in chosen], evaluation)
            selection = Selection(store, on_set + ([ensemble] if ensemble else []),
                                  labels[test_key], len(runs), broken,
                                  # From every run of the data set: a run's colour stays when others are filtered.
                                  figures.run_colours([*groups[test_key], *([ensemble] if ensemble else [])]),
                                  evaluation, not_evaluated)
        if broken:
            st.warning("**Runs that cannot be read:**\n\n"
                       + "\n".join(f"- `{name}`: {reason}" for name, reason in broken))
        url = remote_store.mirrored_url(store)
        st.caption(f"Run store: `{url}`, mirrored at `{store}`" if url else f"Run store: `{store}`")
    if selection.runs:
        download_report(selection.runs, colours=selection.colours)
    st.session_state[SELECTION_KEY] = selection
    return selection


def _author_choice(test_key: str, runs: list[Run]) -> tuple[list[Run], list[str]]:
    """Draws "Authors" when the data set's runs have more than one; the runs of the authors picked, and the
    authors picked when some are left out (else an empty list)."""
    authors = sorted({run.author or NO_AUTHOR for run in runs}, key=str.casefold)
    if len(authors) < 2:
        return runs, []
    picked = st.multiselect("Authors", authors, default=authors, key=f"authors:{test_key}",
                            help="Who trained the runs (run.json's author): only theirs are offered below.")
    if set(picked) == set(authors):
        return runs, []
    return [run for run in runs if (run.author or NO_AUTHOR) in picked], sorted(picked)


def _keep_choice_current(key: str, run_ids: list[str]) -> None:
    """The runs chosen under `key`: all at first; later, the chosen ones that still exist, plus every run
    committed since the last script run (a new run shows up without a click; one deleted drops out)."""
    known_key = f"{key}:known"
    if key not in st.session_state:
        st.session_state[key] = run_ids
    else:
        known = set(st.session_state.get(known_key, run_ids))
        st.session_state[key] = [run_id for run_id in st.session_state[key] if run_id in run_ids] + [
            run_id for run_id in run_ids if run_id not in known]
    st.session_state[known_key] = run_ids


def selection() -> Selection:
    """The choice the sidebar made in this script run."""
    return st.session_state.get(SELECTION_KEY) or Selection(store_path())


def run_colours() -> dict[str, str]:
    """Each run's colour by label, the same on every page, figure and report (`figures.run_colours`)."""
    return selection().colours
