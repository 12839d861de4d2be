"""Head to head: being built."""

import streamlit as st

from dashboard.lib import state

st.title("Head to head")
runs = state.selected_runs()
