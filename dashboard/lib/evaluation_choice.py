"""The sidebar's "Evaluated on": the test set, or one of the evaluation sets of the runs' test set (new images, see
`trainers.store.evaluation_sets`), kept from page to page and carried in the URL (`?set=NAME`); the runs on the set
chosen, read once per file version, and the set's images for the galleries."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from dashboard.lib.store_cache import file_mtime
from trainers.analysis.on_set import TEST_SET, run_on_set, stored_images
from trainers.store import evaluable, evaluation_sets, label_verdicts, run_store
from trainers.store.run_store import Run, RunError, TestImages

SET_PARAMETER = "set"
KEPT_KEY = "evaluated_on"  # the choice, kept while a page without the control is shown
TEST_SET_LABEL = "test set"


def set_summary(store: Path, test_key: str, name: str) -> str:
    """How a set reads in the choice: its name, image count and whether it has labels."""
    described = evaluation_sets.set_description(store, test_key, name) or {}
    kind = "labelled" if described.get("labelled") else "unlabelled"
    return f"{name} ({described.get('images', '?'):,} images, {kind})"


def evaluation_choice(store: Path, test_key: str) -> str:
    """Draws "Evaluated on" when the test set has evaluation sets; the set chosen (TEST_SET for the test set)."""
    names = evaluation_sets.set_names(store, test_key)
    if not names:
        return TEST_SET
    options = [TEST_SET, *names]
    widget_key = f"evaluated_on:{test_key}"
    named = st.query_params.get(SET_PARAMETER)
    if widget_key in st.session_state:  # drawn in the last script run: the person's latest pick
        kept = st.session_state[widget_key]
    elif named in names:  # a link that names a set opens on it
        kept = named
    else:  # Streamlit forgets a widget's value on a page that does not draw it: the choice kept is set again
        kept = st.session_state.get(KEPT_KEY, {}).get(test_key, TEST_SET)
    st.session_state[widget_key] = kept if kept in options else TEST_SET
    chosen = st.selectbox(
        "Evaluated on", options, key=widget_key,
        format_func=lambda name: TEST_SET_LABEL if name == TEST_SET else set_summary(store, test_key, name),
        help="The images this page scores the runs on: their test set, or a set of new images they were "
             "evaluated on (`python -m trainers.evaluate RUN --eval-set folder:PATH`).")
    st.session_state[KEPT_KEY] = {**st.session_state.get(KEPT_KEY, {}), test_key: chosen}
    if chosen == TEST_SET:
        st.query_params.pop(SET_PARAMETER, None)
    else:
        st.query_params[SET_PARAMETER] = chosen
    return chosen


@st.cache_resource(show_spinner=False, max_entries=256)
def _on_set(_run: Run, run_path: str, set_name: str, mtimes: tuple[int, ...]) -> Run:
    # Shared like the runs of the store: read-only, it keeps its predictions on the set once read.
    return run_on_set(_run, set_name)


def on_set(run: Run, set_name: str) -> Run:
    """`run` on the set `set_name` (itself for the test set), read once per version of its predictions on it;
    RunError when it has none."""
    if set_name == TEST_SET:
        return run
    # Read again when its predictions on the set, its run.json or the verdicts on the set's images change.
    files = (run.path / evaluation_sets.EVALUATIONS_DIR / f"{set_name}.npz", run.path / run_store.RUN_FILE,
             label_verdicts.verdicts_path(run.store, run.test_key, set_name))
    return _on_set(run, str(run.path), set_name, tuple(file_mtime(path) for path in files))


def runs_on_set(runs: list[Run], set_name: str) -> tuple[list[Run], list[Run]]:
    """The runs on the set, and those with no predictions on it."""
    kept, missing = [], []
    for run in runs:
        try:
            kept.append(on_set(run, set_name))
        except RunError:
            missing.append(run)
    return kept, missing


def not_evaluated_note(runs: list[Run], set_name: str) -> str:
    """One line naming the runs with no predictions on the set, and the command that adds them."""
    if not runs:
        return ""
    first = runs[0]
    source = (evaluation_sets.set_description(first.store, first.test_key, set_name) or {}).get("source", "folder:PATH")
    with_model = [run for run in runs if not run.no_model]
    command = (f" Add them with `{evaluable.evaluate_command(with_model[0], '--eval-set', source)}`"
               + (" (and the others alike)" if len(with_model) > 1 else "") + "." if with_model else "")
    without = [run.label for run in runs if run.no_model]
    recorded = (f" {', '.join(without)} {'has' if len(without) == 1 else 'have'} no model: record "
                f"{'its' if len(without) == 1 else 'their'} predictions with `record_run(..., eval_set=...)`."
                if without else "")
    return f"Not shown: {', '.join(run.label for run in runs)}, not evaluated on {set_name}.{command}{recorded}"


@st.cache_resource(show_spinner="Loading the set's images…", max_entries=4)
def _set_images(store: str, test_key: str, set_name: str, mtime: int) -> TestImages:
    return stored_images(store, test_key, set_name)


def set_images(store: Path, test_key: str, set_name: str) -> TestImages:
    """An evaluation set's images, as the test images are handed to the galleries; RunError when unreadable."""
    path = evaluation_sets.set_folder(store, test_key, set_name) / evaluation_sets.IMAGES_FILE
    return _set_images(str(store), test_key, set_name, file_mtime(path))
