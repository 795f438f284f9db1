"""The sidebar every page shares: where AdvLab runs and which data it has."""

import streamlit as st

from advcore import data

from . import resources


def show() -> None:
    with st.sidebar:
        st.caption(f"Running on {resources.device_summary()}")
        for name, info in data.DATASETS.items():
            split = resources.test_split(name)
            if split.full:
                st.caption(f"{info.title}: full test set ({len(split):,} images)")
            else:
                st.caption(f"⚠️ {info.title}: only the shipped sample ({len(split)} images); "
                           "the full test set was not available")
        st.caption("Images are in [0, 1]; eps is in those pixel units (k/255 shown too).")
