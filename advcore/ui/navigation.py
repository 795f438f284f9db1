"""The dashboard's pages, grouped in sections: the one list app.py hands to ``st.navigation``.

Each section is a subfolder of ``pages/`` of the same name (lower case); a page's URL is its
file name (``pages/explore/sweep.py`` -> ``/sweep``), so file names are unique across sections.
"""

from __future__ import annotations

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
        PageSpec("explore/sweep.py", "Sweep", ":material/show_chart:"),
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


def build():
    """``st.navigation`` over SECTIONS (call from app.py only)."""
    import streamlit as st
    return st.navigation({section: [st.Page(str(PAGES_DIR / spec.path), title=spec.title, icon=spec.icon,
                                            default=spec.default) for spec in specs]
                          for section, specs in SECTIONS.items()})
