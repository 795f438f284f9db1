"""Glossary: every term the app uses, with its paper."""

import streamlit as st

from advcore.i18n import _
from advcore.lessons import glossary, papers
from advcore.ui import lesson as L

lesson = L.header("learn_glossary")
query = st.text_input(_("Find a term"), key="glossary_find", placeholder=_("e.g. eps, BPDA, certified"))
entries = glossary.entries()
for term, text, _keys in entries:
    if query.lower() in (term + " " + text).lower():
        st.markdown(_("**{term}**: {text}", term=term, text=text))
cited = sorted({key for *_shown, keys in entries for key in keys})
L.footer(lesson, [papers.full(key) for key in cited])
