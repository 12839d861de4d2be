"""Run pickers: a selectbox of runs, and two columns that each choose one."""

from __future__ import annotations

from collections.abc import Iterator

import streamlit as st

from trainers.store.run_store import Run


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
