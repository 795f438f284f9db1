"""The page's view (``advcore.view.ExploreView``) in the Streamlit session and in the URL.

Explore and Compare share one view (session key ``VIEW``); the teacher's presenter has its own
(``<key>_view``). Widgets read the view on every run and write their new value back through a ``writer``
(``advcore.ui.widgets``), so a widget that is not drawn in a run never loses its value; ``write_url`` makes
the browser's link hold the view.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from advcore.errors import AdvcoreError
from advcore.view import SETTING_KEYS, VIEW_KEYS, ExploreView

VIEW = "view"  # the session key of the view Explore and Compare share
Write = Callable[[object], None]  # writes a widget's new value back into a view


def get_view(scope: str = VIEW) -> ExploreView:
    return st.session_state.get(scope) or ExploreView()


def set_view(view: ExploreView, scope: str = VIEW) -> None:
    st.session_state[scope] = view
    if view.eps is not None:  # each norm's last eps, for coming back to it
        st.session_state.setdefault(f"{scope}_eps_memory", {})[(view.dataset, view.effective_norm)] = view.eps


def remembered_eps(scope: str, dataset: str, norm: str) -> float | None:
    """The eps (pixel units) last set in ``scope`` for ``dataset`` under ``norm``, or None."""
    return st.session_state.get(f"{scope}_eps_memory", {}).get((dataset, norm))


def writer(scope: str, update: Callable[[ExploreView, object], ExploreView]) -> Write:
    """A write-back: ``update(view, value)`` becomes the view of ``scope`` (a refused value changes nothing)."""
    def write(value) -> None:
        try:
            set_view(update(get_view(scope), value), scope)
        except AdvcoreError:
            pass
    return write


def page_view(model_ids_for, scope: str = VIEW) -> tuple[ExploreView, list[str]]:
    """The view of a page: the link's on the session's first run of a view page (with messages for what it
    refused), then the session's, so moving between Explore and Compare keeps image, eps and settings."""
    if scope in st.session_state:
        return get_view(scope), []
    view, messages = ExploreView.from_query(st.query_params.to_dict(), model_ids_for)
    view = view.replace(lang=None)  # the language is the session's (advcore.ui.navigation), not the view's
    set_view(view, scope)
    return view, messages


def write_url(query: dict[str, str]) -> None:
    """Make the URL hold exactly ``query`` (a view's ``to_query``; only changed keys are written, to avoid extra
    reruns)."""
    for key in [k for k in st.query_params if k not in query and k in VIEW_KEYS + SETTING_KEYS]:
        del st.query_params[key]
    for key, text in query.items():
        if st.query_params.get(key) != text:
            st.query_params[key] = text
