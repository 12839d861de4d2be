"""What every page shares through Streamlit: the run store, the sidebar's run selection, run pickers, and cached
loads."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import streamlit as st

from dashboard.lib.runs import TRAIN_COMMAND, dataset_labels, group_by_dataset, readable_runs
from trainers import run_store
from trainers.run_store import Run, RunError, TestImages

REPO_ROOT = Path(__file__).resolve().parents[2]
SELECTION_KEY = "selection"


@dataclass(frozen=True)
class Selection:
    """The sidebar's choice: runs of one data set, out of the store's readable and broken runs."""

    store: Path
    runs: list[Run] = field(default_factory=list)
    dataset: str = ""
    readable: int = 0
    broken: list[tuple[str, str]] = field(default_factory=list)


def store_path() -> Path:
    """The run store; a relative path is taken from the repository root, whatever the working folder."""
    store = run_store.resolve_store()
    return store if store.is_absolute() else REPO_ROOT / store


def _mtime(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return 0


def store_signature(store: Path) -> tuple:
    """Changes whenever a run folder appears, goes, or has its run.json rewritten."""
    if not store.is_dir():
        return ()
    return tuple(sorted((path.name, _mtime(path / run_store.RUN_FILE)) for path in store.iterdir() if path.is_dir()))


@st.cache_resource(show_spinner="Reading the run store…", max_entries=4)
def _readable_runs(store: str, signature: tuple) -> tuple[list[Run], list[tuple[str, str]]]:
    # Shared by every session: Run objects are read-only and keep their arrays once read.
    return readable_runs(store)


def sidebar_selection() -> Selection:
    """Draws the store, its broken runs, the data set and the runs to show; remembers the choice for the page."""
    store = store_path()
    runs, broken = _readable_runs(str(store), store_signature(store))
    groups = group_by_dataset(runs)
    selection = Selection(store, readable=len(runs), broken=broken)
    with st.sidebar:
        if groups:
            labels = dataset_labels(groups)
            test_key = next(iter(groups))
            if len(groups) > 1:
                # Runs of different test sets are never ranked together: one data set at a time.
                test_key = st.selectbox("Data set", list(groups), format_func=labels.get, key="dataset")
            by_id = {run.run_id: run for run in groups[test_key]}
            key = f"runs:{test_key}"
            _keep_choice_current(key, list(by_id))
            chosen = st.multiselect("Runs", list(by_id), key=key, format_func=lambda run_id: by_id[run_id].label)
            selection = Selection(store, [by_id[run_id] for run_id in chosen], labels[test_key], len(runs), broken)
        if broken:
            st.warning("**Runs that cannot be read:**\n\n"
                       + "\n".join(f"- `{name}`: {reason}" for name, reason in broken))
        st.caption(f"Run store: `{store}`")
    st.session_state[SELECTION_KEY] = selection
    return selection


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


def selected_runs() -> list[Run]:
    """The runs chosen in the sidebar; with none, says how to get some and stops the page."""
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
    return chosen.runs


def choose_run(runs: list[Run], *, label: str = "Run", key: str | None = None, index: int = 0, container=st) -> Run:
    """A selectbox of `runs` by their labels, in `container` (the page by default); the run chosen."""
    by_label = {run.label: run for run in runs}
    return by_label[container.selectbox(label, list(by_label), index=index, key=key)]


def side_by_side(runs: list[Run], *, key: str, label: str = "Run") -> Iterator[Run]:
    """Two columns, each choosing one of `runs` (the first and the second to start with; one column for one run).

    Yields each column's run while inside that column, so what the caller draws for it lands there.
    """
    for side, column in enumerate(st.columns(2 if len(runs) > 1 else 1)):
        with column:
            yield choose_run(runs, label=label, index=side, key=f"{key}_{side}")


@st.cache_data(show_spinner="Loading test images…", max_entries=2)
def _test_images(store: str, test_key: str, mtime: int) -> TestImages:
    return run_store.load_test_images(store, test_key)


def test_images(run: Run) -> TestImages | None:
    """The stored test images of a run's test set; None, with a warning shown, when they cannot be used."""
    store = run.path.parent
    try:
        images = _test_images(str(store), run.test_key, _mtime(run_store.test_images_path(store, run.test_key)))
    except RunError as error:
        st.warning(f"The test images of {run.dataset.get('name', run.test_key)} cannot be read: {error}")
        return None
    missing = images.missing(run.predictions.ids)
    if missing:
        st.warning(f"The stored test images lack {missing} of the images {run.label} predicted: "
                   "its test set has changed since. Re-evaluate the run with `python -m trainers.evaluate`.")
        return None
    return images


@st.cache_resource(show_spinner=False, max_entries=8)
def _model(_run: Run, model_path: str, mtime: int):
    # Keyed by path and modification time, so a retrained run is loaded again.
    return run_store.load_model(_run)


def model(run: Run):
    """The run's Keras model, loaded once per process (shared: never change it)."""
    return _model(run, str(run.model_path), _mtime(run.model_path))
