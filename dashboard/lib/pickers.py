"""Run pickers: a selectbox of runs, and two columns that each choose one; the classes a confusion page shows."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard.lib import confusion
from trainers.store.run_store import Run

# Up to this many classes a page shows every class without asking: CIFAR-10's matrix is read whole.
CHOOSE_CLASSES_ABOVE = 10


def choose_run(runs: list[Run], *, label: str = "Run", key: str | None = None, index: int = 0, container=st) -> Run:
    """A selectbox of `runs` by their labels, in `container` (the page by default); the run chosen."""
    by_label = {run.label: run for run in runs}
    return by_label[container.selectbox(label, list(by_label), index=index, key=key)]


def runs_abreast(runs: list[Run], *, key: str, label: str = "Run") -> list[Run]:
    """Two runs of `runs`, each chosen in a column (the first and the second to start with; one run for one run),
    to be shown side by side in columns of the caller's (`st.columns(len(chosen))`)."""
    columns = st.columns(2 if len(runs) > 1 else 1)
    return [choose_run(runs, label=label, index=side, key=f"{key}_{side}", container=column)
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
