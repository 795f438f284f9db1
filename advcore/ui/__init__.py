"""Shared Streamlit pieces of the AdvLab dashboard (the only part of advcore that imports streamlit)."""
