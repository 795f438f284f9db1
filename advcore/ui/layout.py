"""A page's frame: title with the Presenter switch, the page style, the share link, a lazy expander."""

from __future__ import annotations

from urllib.parse import urlencode

import streamlit as st

from advcore.i18n import _
from advcore.view import ExploreView

from .qr import qr_png
from .view_state import page_view


def lazy_expander(label: str, key: str):
    """A closed expander whose contents are built only while it is open: returns the container when open, else
    None. Opening it reruns the page (or the fragment it is in); a closed one costs nothing per slider move."""
    box = st.expander(label, expanded=False, key=key, on_change="rerun")
    return box if box.open else None


def share_link(query: dict[str, str], key: str) -> None:
    """A popover with this view's link (copyable) and its QR code, made only when asked (no cost per move)."""
    with st.popover(_("Share this view"), icon=":material/qr_code_2:"):
        if st.button(_("Make the link and QR code"), key=f"{key}_share"):
            base = (st.context.url or "").split("?")[0]
            link = f"{base}?{urlencode(query)}"
            st.code(link, language=None, wrap_lines=True)
            st.caption(_("Copy it with the button at the code's right, or scan the code:"))
            st.image(qr_png(link, scale=5), width=220)


PAGE_CSS = """
<style>
.block-container { padding-top: 3.6rem; padding-bottom: 2rem; padding-left: 2rem; padding-right: 2rem; }
[data-testid="stHeading"] h1 { padding-top: 0; padding-bottom: 0; font-size: 2rem; }
[data-testid="stMetricValue"] { font-size: 1.45rem; line-height: 1.15; }
[data-testid="stMetricValue"] p, [data-testid="stMetricLabel"] p, [data-testid="stMetricDelta"] div {
  white-space: normal; overflow: visible; text-overflow: clip; overflow-wrap: break-word; }
@media (max-width: 1100px) {  /* a 1024-pixel projector: room for whole model names in the pickers */
  .block-container { padding-left: 1rem; padding-right: 1rem; }
  [data-testid="stSelectbox"] input { font-size: 0.8rem; padding-right: 0; }
  [data-testid="stSelectbox"] [role="group"] { padding-left: 0.1rem; }
  [data-testid="stPopoverButton"] { padding-left: 0.4rem; padding-right: 0.4rem; }
}
</style>
"""
PRESENTER_CSS = """
<style>
/* radio options keep their size: six image sources in 20 px wrapped to three rows and pushed the pictures down */
.stMarkdown p, .stCaption p, [data-testid="stWidgetLabel"] p { font-size: 20px !important; }
[data-testid="stHeading"] h1 { font-size: 2.4rem; }
[data-testid="stMetricValue"] { font-size: 2.4rem; }
[data-testid="stMetricLabel"] p { font-size: 1.2rem !important; }
</style>
"""


def presenter_toggle(where) -> bool:
    """A 'Presenter' switch (large type; secondary panels folded) that stays on across pages."""
    if "presenter_mode" not in st.session_state:
        st.session_state.presenter_mode = False
    on = where.toggle(_("Presenter"), value=st.session_state.presenter_mode, key="presenter",
                      help=_("large type for a projector; the secondary panels fold away (collapse the sidebar "
                             "with « for more room)"))
    st.session_state.presenter_mode = on
    return on


def page_header(title: str, intro: str, model_ids_for) -> tuple[bool, ExploreView]:
    """Title with the Presenter switch, the page style, the introduction (hidden when presenting) and the
    page's view (the link's on a session's first run, its messages shown); returns (presenter, view)."""
    left, right = st.columns([4, 1], vertical_alignment="center")
    left.title(title)
    presenter = presenter_toggle(right)
    page_style(presenter)
    if not presenter:
        st.markdown(intro)
    view, messages = page_view(model_ids_for)
    for message in messages:
        st.warning(message)
    arrived_from = st.session_state.get("view_page")
    if arrived_from not in (None, title) and view.image is not None:  # the image picker's own state is per page
        st.session_state.update(image_index=view.image, image_dataset=view.dataset)
    st.session_state["view_page"] = title
    return presenter, view


def page_style(presenter: bool) -> None:
    """Compact page top and metric values that wrap instead of being cut; larger type for presenting."""
    st.html(PAGE_CSS + (PRESENTER_CSS if presenter else ""))
