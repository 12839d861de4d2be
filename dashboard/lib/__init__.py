"""What the dashboard's pages show, computed without Streamlit (except `state`)."""
