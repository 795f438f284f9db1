"""The sidebar every page shares: the menu (``navigation.sidebar_links``), and where AdvLab runs and which
data it has folded into an "About this server" expander; and the accessibility style sheet (``a11y.CSS``)."""

import streamlit as st

from advcore import data

from . import a11y, navigation, resources

SIDEBAR_CSS = ('<style>section[data-testid="stSidebar"] { width: 256px !important; min-width: 256px !important; }'
               '@media (max-width: 1100px) { section[data-testid="stSidebar"] { width: 236px !important; '
               'min-width: 236px !important; } }</style>')

def show(current: str | None = None) -> None:
    """The sidebar: the menu above, a narrow width (the pages need the room on a 1024-pixel projector), and
    the server's facts folded away. ``current``: the URL path of the page shown (its menu link is marked)."""
    st.html(SIDEBAR_CSS + a11y.CSS)
    with st.sidebar:
        navigation.sidebar_links(current)
        with st.expander("About this server", icon=":material/dns:"):
            st.caption(f"Running on {resources.device_summary()}")
            for name, info in data.DATASETS.items():
                split = resources.test_split(name)
                if split.full:
                    st.caption(f"{info.title}: full test set ({len(split):,} images)")
                else:
                    st.caption(f":material/warning: {info.title}: only the shipped sample ({len(split)} images); "
                               "the full test set was not available")
            st.caption("Images are in [0, 1]; eps is in those pixel units (k/255 shown too).")
