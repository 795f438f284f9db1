"""Glossary: every term the app uses, with its paper."""

import streamlit as st

from advcore.lessons import glossary, papers
from advcore.ui import lesson as L

lesson = L.header("learn_glossary")
query = st.text_input("Find a term", key="glossary_find", placeholder="e.g. eps, BPDA, certified")
for term, text, _ in glossary.entries():
    if query.lower() in (term + " " + text).lower():
        st.markdown(f"**{term}**: {text}")
cited = sorted({key for _, _, keys in glossary.entries() for key in keys})
L.footer(lesson, [papers.full(key) for key in cited])
