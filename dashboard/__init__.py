"""Streamlit dashboard over the run store: `streamlit run dashboard/Home.py`."""
