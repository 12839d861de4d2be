"""Entry point of the dashboard: `streamlit run dashboard/Home.py`.

Streamlit finds `app` here and serves routes.py (the sidebar and the pages) to every browser session; its lifespan
starts the warm-up (dashboard/lib/warm_up.py) as the server starts, so that the first visitor does not wait for
imports, the store's summaries or the models.
"""

import streamlit as st

from dashboard.lib import warm_up

app = st.App("routes.py", lifespan=warm_up.lifespan)
