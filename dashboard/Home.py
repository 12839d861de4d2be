"""Entry point of the dashboard: `streamlit run dashboard/Home.py`.

Streamlit imports this file once per server process, finds `app` here and serves routes.py (the sidebar and the
pages) to every browser session; its lifespan starts the warm-up (dashboard/lib/warm_up.py) as the server starts,
so that the first visitor does not wait for imports, the store's summaries or the models. The process's settings
are applied here, before any session runs.
"""

import streamlit as st

from dashboard.lib import process_settings, warm_up

process_settings.apply_process_settings()
app = st.App("routes.py", lifespan=warm_up.lifespan)
