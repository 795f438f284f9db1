"""AdvLab: see adversarial attacks happen. Entry point: navigation and the shared sidebar."""

import streamlit as st

from advcore.ui import sidebar

st.set_page_config(page_title="AdvLab", page_icon="🎯", layout="wide")
page = st.navigation([
    st.Page("pages/explore.py", title="Explore", icon="🔍", default=True),
    st.Page("pages/sweep.py", title="Sweep", icon="📉"),
    st.Page("pages/models.py", title="Models", icon="🗂️"),
    st.Page("pages/train.py", title="Train", icon="🏋️"),
])
sidebar.show()
page.run()
