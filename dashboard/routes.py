"""The script every browser session runs (served by Home.py's app): the sidebar's run selection, then the page
chosen in the navigation."""

import streamlit as st

from dashboard.lib import sidebar, warm_up

st.set_page_config(page_title="CNN comparison", page_icon=":material/compare:", layout="wide")

# The pages that score the runs on images, which take the sidebar's "Evaluated on" (the test set or new images).
ON_EVALUATION_SETS = ("Home", "Confusion matrices", "Misclassified samples", "Head to head", "Calibration",
                      "Suspect labels", "New images")

page = st.navigation([
    st.Page("views/home.py", title="Home", icon=":material/table:", default=True),
    st.Page("views/training_curves.py", title="Training curves", icon=":material/show_chart:"),
    st.Page("views/confusion_matrices.py", title="Confusion matrices", icon=":material/grid_on:"),
    st.Page("views/misclassified.py", title="Misclassified samples", icon=":material/image_search:"),
    st.Page("views/head_to_head.py", title="Head to head", icon=":material/compare_arrows:"),
    st.Page("views/calibration.py", title="Calibration", icon=":material/tune:"),
    st.Page("views/suspect_labels.py", title="Suspect labels", icon=":material/label_off:"),
    st.Page("views/new_images.py", title="New images", icon=":material/add_photo_alternate:"),
    st.Page("views/robustness.py", title="Robustness", icon=":material/blur_on:"),
    st.Page("views/projection.py", title="Test-set map", icon=":material/scatter_plot:", url_path="test_map"),
    st.Page("views/architecture.py", title="Architecture", icon=":material/account_tree:"),
    st.Page("views/live_predictions.py", title="Live predictions", icon=":material/photo_camera:"),
])
try:
    sidebar.draw_selection(takes_evaluation_set=page.title in ON_EVALUATION_SETS)
    page.run()
finally:  # st.stop() and reruns end a run by raising
    warm_up.page_served()
