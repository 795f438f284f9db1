"""AdvLab: see adversarial attacks happen. Entry point: navigation (advcore.ui.navigation) and the sidebar."""

import streamlit as st

from advcore.ui import navigation, sidebar

st.set_page_config(page_title="AdvLab", page_icon=":material/target:", layout="wide")
page = navigation.build()
sidebar.show()
page.run()
