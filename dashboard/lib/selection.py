"""The run store and the sidebar's run selection, shared by every page through Streamlit: the store (a bucket's
local mirror), the data set and runs chosen, the ensemble of some and its saving, the report's download; and the
page guards that read the choice (`selected_runs`, `readable`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import streamlit as st

from dashboard.lib import figures
from dashboard.lib.runs import TRAIN_COMMAND, dataset_labels, group_by_dataset, readable_runs, split_readable
from trainers.store import label_verdicts, remote_store, run_store
from trainers.analysis.ensemble import Ensemble
from trainers.inference.ensemble_model import save_ensemble
from trainers.store.run_store import Run, RunError

REPO_ROOT = Path(__file__).resolve().parents[2]
SELECTION_KEY = "selection"
SAVED_ENSEMBLE_KEY = "saved_ensemble"


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


def store_path() -> Path:
    """The run store; a relative path is taken from the repository root, whatever the working folder. A bucket's URL
    (s3://, gs://) gives the local folder that mirrors it, brought up to date at most every REMOTE_SYNC_SECONDS."""
    url = remote_store.store_url()
    if url:
        try:
            return Path(_mirrored(url))
        except remote_store.StoreError as error:
            st.error(str(error))
            st.stop()
    store = run_store.resolve_store()
    return store if store.is_absolute() else REPO_ROOT / store


# How long the dashboard shows a bucket's runs as it last listed them: a rerun does not list the bucket each time.
REMOTE_SYNC_SECONDS = 30


@st.cache_data(ttl=REMOTE_SYNC_SECONDS, show_spinner="Downloading new runs from the bucket…")
def _mirrored(url: str) -> str:
    return str(remote_store.mirror(url))


def file_mtime(path: Path) -> int:
    """The file's modification time in nanoseconds, 0 when it is missing: part of a cache key, so that a file
    written again is read again."""
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return 0


def store_signature(store: Path) -> tuple:
    """Changes whenever a run folder appears, goes, or has its run.json rewritten."""
    if not store.is_dir():
        return ()
    return tuple(sorted((path.name, file_mtime(path / run_store.RUN_FILE))
                        for path in store.iterdir() if path.is_dir()))


@st.cache_resource(show_spinner="Reading the run store…", max_entries=4)
def _readable_runs(store: str, signature: tuple) -> tuple[list[Run], list[tuple[str, str]]]:
    # Shared by every session: Run objects are read-only and keep their arrays once a page has read them.
    return readable_runs(store)


def readable_store(store: Path) -> tuple[list[Run], list[tuple[str, str]]]:
    """The store's readable runs and its broken ones (name, why), read once per change of the store and shared by
    every session."""
    return _readable_runs(str(store), store_signature(store))


def sidebar_selection() -> Selection:
    """Draws the store, its broken runs, the data set and the runs to show; remembers the choice for the page."""
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
            shown, authors = _author_choice(test_key, groups[test_key])
            by_id = {run.run_id: run for run in shown}
            # Each choice of authors remembers its own runs; all authors keep the choice made before filtering.
            key = f"runs:{test_key}" + (f":{'|'.join(authors)}" if authors else "")
            _keep_choice_current(key, list(by_id))
            chosen = st.multiselect("Runs", list(by_id), key=key, format_func=lambda run_id: by_id[run_id].label)
            ensemble = _ensemble_choice(store, test_key, by_id)
            selection = Selection(store, [by_id[run_id] for run_id in chosen] + ([ensemble] if ensemble else []),
                                  labels[test_key], len(runs), broken,
                                  # From every run of the data set: a run's colour stays when others are filtered.
                                  figures.run_colours([*groups[test_key], *([ensemble] if ensemble else [])]))
        if broken:
            st.warning("**Runs that cannot be read:**\n\n"
                       + "\n".join(f"- `{name}`: {reason}" for name, reason in broken))
        url = remote_store.mirrored_url(store)
        st.caption(f"Run store: `{url}`, mirrored at `{store}`" if url else f"Run store: `{store}`")
    if selection.runs:
        download_report(selection.runs)
    st.session_state[SELECTION_KEY] = selection
    return selection


NO_AUTHOR = "(no author)"


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


def download_report(runs: list[Run | Ensemble]) -> None:
    """Draws "Download report" in the sidebar: the runs' report as one self-contained HTML file, built only when
    the button is clicked (see `dashboard.lib.report`)."""
    reviewed = bool(runs) and label_verdicts.review_begun(runs[0].store, runs[0].test_key) and (
        st.sidebar.toggle("Report on the reviewed test set", key="report_reviewed",
                          help="The reviewed test accuracy in its table, and head to head on the labels the "
                               "verdicts (Suspect labels) correct."))

    def report() -> str:
        # Imported on a click: what the report imports (scikit-learn, SciPy) would slow the first page of every
        # session that never asks for it.
        from dashboard.lib.report import report_html

        # The pages name the runs left out.
        return report_html(split_readable(runs, "predictions", "history")[0], reviewed=reviewed,
                           colours=run_colours())

    st.sidebar.download_button("Download report", data=report, file_name="report.html",
                               mime="text/html", on_click="ignore", icon=":material/download:",
                               help="The comparison table, curves, confusion matrices, head to head (two runs) and "
                                    "calibration of the selected runs, in one HTML file that opens offline.")


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


@st.cache_resource(show_spinner=False, max_entries=8)
def _ensemble(_members: tuple[Run, ...], store: str, signature: tuple, run_ids: tuple[str, ...]) -> Ensemble:
    # Shared like the runs it is made of; read-only, it keeps its mean probabilities once computed.
    return Ensemble(_members)


def _ensemble_choice(store: Path, test_key: str, by_id: dict[str, Run]) -> Ensemble | None:
    """Draws "Ensemble of" and, with two runs or more picked, how to save their ensemble; the ensemble, if any.

    Saving is the dashboard's only write to the store. The saved run replaces the ensemble in the selection:
    the picks are cleared, and the page runs again so that the store lists the new run.
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
    members, unreadable = split_readable([by_id[run_id] for run_id in picked], "predictions")
    try:
        if unreadable:
            raise ValueError("; ".join(f"{label}: {reason}" for label, reason in unreadable))
        ensemble = _ensemble(tuple(members), str(store), store_signature(store), tuple(picked))
    except ValueError as error:
        st.error(f"These runs make no ensemble: {error}")
        return None
    members_name = "+".join(picked)
    name = st.text_input("Run folder name", value=f"ensemble-{members_name}", key=f"ensemble_name:{members_name}")
    if st.button("Save as a run folder", icon=":material/save:",
                 help="Writes the ensemble into the run store, with a model.keras that averages its members."):
        try:
            with st.spinner("Saving the ensemble…"):
                run = save_ensemble(ensemble, store, name.strip())
        except (ValueError, OSError, RunError) as error:
            st.error(f"Not saved: {error}")
        else:
            st.session_state[SAVED_ENSEMBLE_KEY] = f"Saved {ensemble.label} as the run `{run.run_id}`."
            st.rerun()
    return ensemble


def selection() -> Selection:
    """The choice the sidebar made in this script run."""
    return st.session_state.get(SELECTION_KEY) or Selection(store_path())


def run_colours() -> dict[str, str]:
    """Each run's colour by label, the same on every page, figure and report (`figures.run_colours`)."""
    return selection().colours


def selected_runs(*parts: str) -> list[Run | Ensemble]:
    """The runs chosen in the sidebar, then the ensemble picked there (if any); with none, says how to get some and
    stops the page.

    Args:
        parts: what the page reads of each run besides its JSON files ("predictions", "history"): read now, and
            a run whose parts cannot be read is left out, named in a warning with the reason.
    """
    chosen = selection()
    if not chosen.readable:
        st.info(f"No runs in `{chosen.store}` yet. Train one from the repository root with:")
        st.code(TRAIN_COMMAND, language="bash")
        st.caption("`python -m trainers.train --list` shows every preset. To read another store, "
                   "set `ARTIFACTS_DIR` before `streamlit run dashboard/Home.py`.")
        st.stop()
    if not chosen.runs:
        st.info("Select at least one run in the sidebar.")
        st.stop()
    runs = readable(chosen.runs, *parts, left_out="Not shown on this page")
    if not runs:
        st.info("None of the selected runs can be shown on this page.")
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
