"""The dashboard's pages, grouped in sections: the one list app.py hands to ``st.navigation``.

Each section is a subfolder of ``pages/`` of the same name (lower case); a page's URL is its
file name (``pages/explore/sweep.py`` -> ``/sweep``), so file names are unique across sections.

The menu in the sidebar is AdvLab's own (``sidebar_links``: a heading per section and an ``st.page_link``
per page), not Streamlit's: Streamlit's sidebar navigation (``stSidebarNav``, 1.67) puts each section's
links in a ``<ul>`` whose children are ``<div>`` wrappers around the ``<li>`` items, which breaks the list
semantics screen readers rely on (axe-core rules ``list`` and ``listitem``, WCAG 1.3.1; 20 serious
findings on every page). ``st.navigation`` still owns the pages and their URLs, with ``position="hidden"``.
See docs/accessibility.md.

The language (docs/i18n.md): ``build`` calls ``select_language`` first on every page run, which takes the
link's ``?lang=`` on a session's first run, keeps the choice in ``st.session_state`` (so it holds across
pages and reruns), writes it back into the URL (a copied link opens in the same language) and makes it
``advcore.i18n``'s current language. The picker (English / 简体中文) heads the menu; the menu's links carry
``?lang=`` too (``lang_query``). English, the default, is written only where the URL already named a language,
so an English session's URLs stay as they were. Titles and section names are English ids, translated when
drawn.
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

from advcore import i18n
from advcore.i18n import N_, _

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


SECTIONS: dict[str, list[PageSpec]] = {  # section and page titles: English ids, drawn through ``_()``
    N_("Explore"): [
        PageSpec("explore/explore.py", N_("Explore"), ":material/search:", default=True),
        PageSpec("explore/compare.py", N_("Compare"), ":material/compare:"),
        PageSpec("explore/sweep.py", N_("Sweep"), ":material/show_chart:"),
    ],
    N_("Learn"): [
        PageSpec("learn/learn_what.py", N_("1. First example: FGSM"), ":material/looks_one:"),
        PageSpec("learn/learn_direction.py", N_("2. Direction"), ":material/looks_two:"),
        PageSpec("learn/learn_linearity.py", N_("3. Linearity"), ":material/looks_3:"),
        PageSpec("learn/learn_features.py", N_("4. Feature space"), ":material/looks_4:"),
        PageSpec("learn/learn_pgd.py", N_("5. PGD"), ":material/looks_5:"),
        PageSpec("learn/learn_targeted.py", N_("6. Targeted, minimal"), ":material/looks_6:"),
        PageSpec("learn/learn_blackbox.py", N_("7. Black-box"), ":material/filter_7:"),
        PageSpec("learn/learn_training.py", N_("8. Robust training"), ":material/filter_8:"),
        PageSpec("learn/learn_masking.py", N_("9. False robustness"), ":material/filter_9:"),
        PageSpec("learn/learn_certified.py", N_("10. Certificates"), ":material/verified:"),
        PageSpec("learn/learn_glossary.py", N_("Glossary"), ":material/menu_book:"),
    ],
    N_("Models"): [
        PageSpec("models/models.py", N_("Models"), ":material/inventory_2:"),
        PageSpec("models/train.py", N_("Train"), ":material/model_training:"),
    ],
    N_("Defences"): [
        PageSpec("defences/defences.py", N_("Defences"), ":material/shield:"),
    ],
    N_("Classroom"): [
        PageSpec("classroom/teach.py", N_("Teach"), ":material/co_present:"),
        PageSpec("classroom/join.py", N_("Join"), ":material/groups:"),
    ],
}


def all_pages() -> list[PageSpec]:
    return [spec for specs in SECTIONS.values() for spec in specs]


NAV_KEY = "advlab-nav"  # the menu's container: its CSS class is ``st-key-advlab-nav``
NAV_CURRENT = "advlab-nav-current"  # the current page's link's container
LANG_PARAM = "lang"  # the URL's query parameter: ?lang=zh
LANG_STATE = "advlab_lang"  # the session's language (kept across pages and reruns)
LANG_PICKER = "advlab_lang_picker"  # the picker's widget key


def select_language() -> str:
    """The session's language, made current (``i18n.use_language``) and written into the URL: the session's
    choice once made (picker), else the link's ``?lang=`` (read on the session's first run; an unknown value
    is ignored), else English."""
    import streamlit as st
    if LANG_STATE not in st.session_state:
        st.session_state[LANG_STATE] = i18n.normalize(st.query_params.get(LANG_PARAM)) or i18n.DEFAULT_LANGUAGE
    lang = st.session_state[LANG_STATE]
    if (lang != i18n.DEFAULT_LANGUAGE or LANG_PARAM in st.query_params) and st.query_params.get(LANG_PARAM) != lang:
        st.query_params[LANG_PARAM] = lang
    i18n.use_language(lang)
    i18n.follow_session_language(_session_language)  # for the fragments' own reruns
    return lang


def _session_language() -> str | None:
    """The running session's language (None on a thread that runs no session's script)."""
    import streamlit as st
    from streamlit.runtime.scriptrunner import get_script_run_ctx
    if get_script_run_ctx(suppress_warning=True) is None:
        return None
    return st.session_state.get(LANG_STATE)


def lang_query() -> dict[str, str] | None:
    """The query parameters a link to another page carries: ``{"lang": ...}``, or None in English."""
    lang = i18n.link_language()
    return {LANG_PARAM: lang} if lang else None


def build():
    """The language (``select_language``), then ``st.navigation`` over SECTIONS (call from app.py only), its
    own menu hidden: ``sidebar_links`` draws the menu instead (the module docstring says why)."""
    import streamlit as st
    select_language()
    return st.navigation({_(section): [st.Page(str(PAGES_DIR / spec.path), title=_(spec.title), icon=spec.icon,
                                               default=spec.default) for spec in specs]
                          for section, specs in SECTIONS.items()}, position="hidden")


def _picked() -> None:
    import streamlit as st
    st.session_state[LANG_STATE] = st.session_state[LANG_PICKER]


def language_picker() -> None:
    """English / 简体中文 (each name in its own language), and ``<html lang>`` set to the language shown so
    screen readers pronounce it right (WCAG 3.1.1). A change reruns the page in the new language."""
    import streamlit as st
    codes = list(i18n.LANGUAGES)
    lang = st.session_state.get(LANG_STATE, i18n.current_language())
    st.selectbox(_("Language"), codes, index=codes.index(lang), format_func=i18n.LANGUAGES.__getitem__,
                 key=LANG_PICKER, on_change=_picked)
    st.html(f"<script>document.documentElement.lang = {i18n.html_lang(lang)!r};</script>",
            unsafe_allow_javascript=True)


def sidebar_links(current: str | None = None) -> None:
    """The menu (call inside ``st.sidebar``): each section's name, then a link per page, every page listed (a
    deep link into a later section, ``/teach``, shows where the visitor is). ``current``: the URL path of the
    page shown (``st.navigation``'s page's ``url_path``); its link sits in a container of key ``NAV_CURRENT``,
    drawn shaded by Streamlit and in bold by ``a11y.CSS`` (more than a colour). The language picker heads it;
    every link carries the language (``?lang=``)."""
    import streamlit as st
    language_picker()
    query = lang_query()
    with st.container(key=NAV_KEY, gap=None):
        for section, specs in SECTIONS.items():
            st.markdown(_(section))
            for spec in specs:
                here = current is not None and current == ("" if spec.default else spec.url_path)
                with st.container(key=NAV_CURRENT) if here else nullcontext():
                    st.page_link(str(PAGES_DIR / spec.path), label=_(spec.title), icon=spec.icon, query_params=query)
