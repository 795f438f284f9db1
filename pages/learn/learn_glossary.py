"""Glossary: every term the app uses, with its paper."""

import streamlit as st

from advcore.lessons import glossary
from advcore.ui import lesson as L

lesson = L.header("learn_glossary")
query = st.text_input("Find a term", key="glossary_find", placeholder="e.g. eps, BPDA, certified")
for term, text, _ in glossary.entries():
    if query.lower() in (term + " " + text).lower():
        st.markdown(f"**{term}**: {text}")
L.footer(lesson)
