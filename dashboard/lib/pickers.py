"""Run pickers: a selectbox of runs, and two columns that each choose one; the classes a confusion page shows.

Every page's pickers share two places: the first and the second run picked. They start on the best run and the
runner-up (by test accuracy), and a run picked on one page is picked on the next. The URL carries them
(`?run=A&run=B`), and a page's other choices where it says so (`url_choice`), so a view can be shared as a link.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard.lib import confusion
from trainers.store.run_store import Run

# Up to this many classes a page shows every class without asking: CIFAR-10's matrix is read whole.
CHOOSE_CLASSES_ABOVE = 10


PICKED_KEY = "picked_runs"  # session state: the run id picked in each place, shared by every page
RUN_PARAMETER = "run"  # the URL's query parameter, once per place: ?run=A&run=B


def best_first(runs: list[Run]) -> list[Run]:
    """The runs by test accuracy, best first (ties in the order given)."""
    return sorted(runs, key=lambda run: -run.metrics["accuracy"])


def _starting_run(runs: list[Run], place: int) -> Run:
    """The run a picker in `place` shows: the one the URL names (the pickers keep it equal to their picks, so it
    names another only when a link was followed or shared), else the one picked there last on any page, else the
    `place`-th best (the best, then the runner-up)."""
    by_id = {run.run_id: run for run in runs}
    named = st.query_params.get_all(RUN_PARAMETER)
    for run_id in (named[place] if place < len(named) else None, st.session_state.get(PICKED_KEY, {}).get(place)):
        if run_id in by_id:
            return by_id[run_id]
    ranked = best_first(runs)
    return ranked[min(place, len(ranked) - 1)]


def links_ignored(runs: list[Run]) -> str:
    """A note on the runs the URL names that are not among `runs` (a link to a run deselected or deleted); ""
    when there is none."""
    missing = [run_id for run_id in st.query_params.get_all(RUN_PARAMETER)
               if run_id not in {run.run_id for run in runs}]
    return (f"Ignored from the link: {', '.join(repr(run_id) for run_id in missing)} "
            f"{'is no run' if len(missing) == 1 else 'are no runs'} selected.") if missing else ""


def _to_url(parameter: str, key: str, default) -> None:
    """Writes a choice to the URL (none for its default), so that the view can be shared as a link."""
    if st.session_state[key] == default:
        st.query_params.pop(parameter, None)
    else:
        st.query_params[parameter] = str(st.session_state[key])


def url_choice(container, label: str, options: list, *, parameter: str, default, key: str):
    """A selectbox that the URL's `parameter` sets (a link, a reload) and that writes its choice there; its
    choice. The URL goes first: it is kept equal to the choice, so it differs only when a link was followed."""
    named = st.query_params.get(parameter)
    by_name = {str(option): option for option in options}
    if named in by_name:
        st.session_state[key] = by_name[named]
    elif st.session_state.get(key) not in options:  # new, or of another run's classes
        st.session_state[key] = default
    container.selectbox(label, options, key=key, on_change=_to_url, args=(parameter, key, default))
    _to_url(parameter, key, default)
    return st.session_state[key]


def _remember(place: int, run_id: str) -> None:
    """Keeps the run picked in `place` for every page, and every place's run in the URL."""
    picked = st.session_state.setdefault(PICKED_KEY, {})
    picked[place] = run_id
    # A place not picked yet in this session keeps what the URL names, for the next picker to read.
    named = st.query_params.get_all(RUN_PARAMETER)
    places = range(max(len(named), max(picked) + 1))
    st.query_params[RUN_PARAMETER] = [run for run in (picked.get(number, named[number] if number < len(named)
                                                                 else None) for number in places) if run]


def choose_run(runs: list[Run], *, label: str = "Run", key: str, place: int = 0, container=st) -> Run:
    """A selectbox of `runs` by their labels, in `container` (the page by default); the run chosen.

    Args:
        key: the widget's key on its page.
        place: 0 for a page's first (or only) run, 1 for its second: the picker shows the run a link names, else
            the one last picked there on any page, else the best run (0) or the runner-up (1).
    """
    by_label = {run.label: run for run in runs}
    # Set on every run, not only the first: a run picked on another page since is shown here too.
    st.session_state[key] = _starting_run(runs, place).label
    run = by_label[container.selectbox(label, list(by_label), key=key, on_change=lambda: _remember(
        place, by_label[st.session_state[key]].run_id))]
    _remember(place, run.run_id)
    return run


def runs_abreast(runs: list[Run], *, key: str, label: str = "Run") -> list[Run]:
    """Two runs of `runs`, each chosen in a column (the best and the runner-up to start with, or the runs picked
    last; one run for one run), to be shown side by side in columns of the caller's (`st.columns(len(chosen))`)."""
    columns = st.columns(2 if len(runs) > 1 else 1)
    return [choose_run(runs, label=label, place=side, key=f"{key}_{side}", container=column)
            for side, column in enumerate(columns)]


def classes_to_show(class_names: list[str], counts: list[pd.DataFrame], *, key: str) -> list[str]:
    """The classes a page's matrices, per-class tables and cell galleries are cut down to, as the user chooses
    them (beyond CHOOSE_CLASSES_ABOVE classes): every class, those of the most confused pairs of the runs shown
    (`counts`, their confusion matrices), or classes named, by picking them or by part of their name. Every class
    up to `confusion.MAX_WHOLE_CLASSES`, the most confused beyond. In class order; empty when none is named.
    """
    if len(class_names) <= CHOOSE_CLASSES_ABOVE:
        return list(class_names)
    whole = len(class_names) <= confusion.MAX_WHOLE_CLASSES
    default = confusion.SHOW_ALL if whole else confusion.SHOW_MOST_CONFUSED
    mode_column, choice_column = st.columns([1, 2])
    mode = mode_column.radio(f"Classes to show (of {len(class_names)})", confusion.SHOW_MODES,
                             index=confusion.SHOW_MODES.index(default), key=f"{key}_mode")
    if mode == confusion.SHOW_ALL:
        return list(class_names)
    if mode == confusion.SHOW_MOST_CONFUSED:
        count = choice_column.slider("How many classes", 2, min(100, len(class_names)),
                                     min(confusion.MOST_CONFUSED_DEFAULT, len(class_names)), key=f"{key}_count")
        return confusion.most_confused_classes(sum(counts), count) or list(class_names)
    named = choice_column.multiselect("Classes (type to search)", class_names, key=f"{key}_named")
    text = choice_column.text_input("and every class whose name contains", key=f"{key}_text",
                                    placeholder="terrier, say")
    chosen = set(named) | set(confusion.matching_classes(class_names, text))
    return [name for name in class_names if name in chosen]
