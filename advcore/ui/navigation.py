"""The dashboard's pages, grouped in sections: the one list app.py hands to ``st.navigation``.

Each section is a subfolder of ``pages/`` of the same name (lower case); a page's URL is its
file name (``pages/explore/sweep.py`` -> ``/sweep``), so file names are unique across sections.

The menu in the sidebar is AdvLab's own (``sidebar_links``: a heading per section and an ``st.page_link``
per page), not Streamlit's: Streamlit's sidebar navigation (``stSidebarNav``, 1.67) puts each section's
links in a ``<ul>`` whose children are ``<div>`` wrappers around the ``<li>`` items, which breaks the list
semantics screen readers rely on (axe-core rules ``list`` and ``listitem``, WCAG 1.3.1; 20 serious
findings on every page). ``st.navigation`` still owns the pages and their URLs, with ``position="hidden"``.
See docs/accessibility.md.
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

PAGES_DIR = Path(__file__).resolve().parents[2] / "pages"


@dataclass(frozen=True)
class PageSpec:
    path: str  # relative to pages/
    title: str
    icon: str
    default: bool = False

    @property
    def url_path(self) -> str:
        return Path(self.path).stem


SECTIONS: dict[str, list[PageSpec]] = {
    "Explore": [
        PageSpec("explore/explore.py", "Explore", ":material/search:", default=True),
        PageSpec("explore/compare.py", "Compare", ":material/compare:"),
        PageSpec("explore/sweep.py", "Sweep", ":material/show_chart:"),
    ],
    "Learn": [
        PageSpec("learn/learn_what.py", "1. First example: FGSM", ":material/looks_one:"),
        PageSpec("learn/learn_direction.py", "2. Direction", ":material/looks_two:"),
        PageSpec("learn/learn_linearity.py", "3. Linearity", ":material/looks_3:"),
        PageSpec("learn/learn_features.py", "4. Feature space", ":material/looks_4:"),
        PageSpec("learn/learn_pgd.py", "5. PGD", ":material/looks_5:"),
        PageSpec("learn/learn_targeted.py", "6. Targeted, minimal", ":material/looks_6:"),
        PageSpec("learn/learn_blackbox.py", "7. Black-box", ":material/filter_7:"),
        PageSpec("learn/learn_training.py", "8. Robust training", ":material/filter_8:"),
        PageSpec("learn/learn_masking.py", "9. False robustness", ":material/filter_9:"),
        PageSpec("learn/learn_certified.py", "10. Certificates", ":material/verified:"),
        PageSpec("learn/learn_glossary.py", "Glossary", ":material/menu_book:"),
    ],
    "Models": [
        PageSpec("models/models.py", "Models", ":material/inventory_2:"),
        PageSpec("models/train.py", "Train", ":material/model_training:"),
    ],
    "Defences": [
        PageSpec("defences/defences.py", "Defences", ":material/shield:"),
    ],
    "Classroom": [
        PageSpec("classroom/teach.py", "Teach", ":material/co_present:"),
        PageSpec("classroom/join.py", "Join", ":material/groups:"),
    ],
}


def all_pages() -> list[PageSpec]:
    return [spec for specs in SECTIONS.values() for spec in specs]


NAV_KEY = "advlab-nav"  # the menu's container: its CSS class is ``st-key-advlab-nav``
NAV_CURRENT = "advlab-nav-current"  # the current page's link's container


def build():
    """``st.navigation`` over SECTIONS (call from app.py only), its own menu hidden: ``sidebar_links`` draws
    the menu instead (the module docstring says why)."""
    import streamlit as st
    return st.navigation({section: [st.Page(str(PAGES_DIR / spec.path), title=spec.title, icon=spec.icon,
                                            default=spec.default) for spec in specs]
                          for section, specs in SECTIONS.items()}, position="hidden")


def sidebar_links(current: str | None = None) -> None:
    """The menu (call inside ``st.sidebar``): each section's name, then a link per page, every page listed (a
    deep link into a later section, ``/teach``, shows where the visitor is). ``current``: the URL path of the
    page shown (``st.navigation``'s page's ``url_path``); its link sits in a container of key ``NAV_CURRENT``,
    drawn shaded by Streamlit and in bold by ``a11y.CSS`` (more than a colour)."""
    import streamlit as st
    with st.container(key=NAV_KEY, gap=None):
        for section, specs in SECTIONS.items():
            st.markdown(section)
            for spec in specs:
                here = current is not None and current == ("" if spec.default else spec.url_path)
                with st.container(key=NAV_CURRENT) if here else nullcontext():
                    st.page_link(str(PAGES_DIR / spec.path), label=spec.title, icon=spec.icon)
