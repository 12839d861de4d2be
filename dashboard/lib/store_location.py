"""Where the dashboard reads its run store: the folder `ARTIFACTS_DIR` names (the repository's `artifacts/` by
default), or the local mirror of a bucket's store (s3://, gs://), brought up to date at most every
`REMOTE_SYNC_SECONDS`."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from trainers.store import remote_store, run_store

REPO_ROOT = Path(__file__).resolve().parents[2]
# How long the dashboard shows a bucket's runs as it last listed them: a rerun does not list the bucket each time.
REMOTE_SYNC_SECONDS = 30


def store_path() -> Path:
    """The run store; a relative path is taken from the repository root, whatever the working folder. A bucket's URL
    gives the local folder that mirrors it; a bucket that cannot be read is said, and the page stops."""
    url = remote_store.store_url()
    if url:
        try:
            return Path(_mirrored(url))
        except remote_store.StoreError as error:
            st.error(str(error))
            st.stop()
    store = run_store.resolve_store()
    return store if store.is_absolute() else REPO_ROOT / store


@st.cache_data(ttl=REMOTE_SYNC_SECONDS, show_spinner="Downloading new runs from the bucket…")
def _mirrored(url: str) -> str:
    return str(remote_store.mirror(url))
