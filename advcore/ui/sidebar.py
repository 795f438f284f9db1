"""The sidebar every page shares: the menu (``navigation.sidebar_links``), and where AdvLab runs and which
data it has folded into an "About this server" expander; and the accessibility style sheet (``a11y.CSS``)."""

import streamlit as st

from advcore import data
from advcore.i18n import _, ngettext

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
        with st.expander(_("About this server"), icon=":material/dns:"):
            st.caption(_("Running on {device}", device=resources.device_summary()))
            for name, info in data.DATASETS.items():
                split = resources.test_split(name)
                if split.full:
                    st.caption(ngettext("{title}: full test set ({n:,} image)", "{title}: full test set ({n:,} images)",
                                        len(split), title=_(info.title)))
                else:
                    st.caption(":material/warning: " + ngettext(
                        "{title}: only the shipped sample ({n} image); the full test set was not available",
                        "{title}: only the shipped sample ({n} images); the full test set was not available",
                        len(split), title=_(info.title)))
            st.caption(_("Images are in [0, 1]; eps is in those pixel units (k/255 shown too)."))
