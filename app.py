"""AdvLab: see adversarial attacks happen. Entry point: navigation and the shared sidebar."""

import streamlit as st

from advcore.ui import server, sidebar

st.set_page_config(page_title="AdvLab", page_icon=":material/target:", layout="wide")
page = st.navigation([
    st.Page("pages/explore.py", title="Explore", icon=":material/search:", default=True),
    st.Page("pages/sweep.py", title="Sweep", icon=":material/show_chart:"),
    st.Page("pages/models.py", title="Models", icon=":material/inventory_2:"),
    st.Page("pages/train.py", title="Train", icon=":material/model_training:"),
])
server.mark_app_run()
sidebar.show()
page.run()
