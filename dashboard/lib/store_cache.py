"""The store's runs read once per change of the store and shared by every session, and the file versions that
key the dashboard's caches (a file written again is read again)."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from dashboard.lib.runs import readable_runs
from trainers.store import run_store
from trainers.store.run_store import Run


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
