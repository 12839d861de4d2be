"""Calibration: being built."""

import streamlit as st

from dashboard.lib import state

st.title("Calibration")
runs = state.selected_runs()
