"""Shared pieces of the Learn pages: the lesson's text and papers, the models and images they use,
the eps slider, the "try it" box, the link into Explore and the previous/next links.

The lessons run on the shipped MNIST models: ``STANDARD`` (no defence) and ``ROBUST`` (PGD adversarial
training, Madry et al. 2018). Everything heavy is computed in advcore and cached here. Every text is drawn
through ``advcore.i18n`` (the session's language, set by ``navigation.select_language``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import streamlit as st

from advcore import i18n, lessons, links
from advcore.i18n import _
from advcore.lessons.checks import Verdict

from . import navigation, resources

DATASET = "mnist"
STANDARD, ROBUST = "mnist-standard", "mnist-pgd"

CSS = """
<style>
.block-container { padding-top: 2.2rem; max-width: 1240px; }
[data-testid="stMain"] [data-testid="stMarkdownContainer"] p { font-size: 1.1rem; line-height: 1.5; }
</style>
"""


def header(slug: str) -> lessons.Lesson:
    """Title and text of the lesson (its papers in an expander at the end of the page)."""
    lesson = lessons.get(slug)
    st.markdown(CSS, unsafe_allow_html=True)
    st.title(lesson.heading)
    for paragraph in lesson.paragraphs:
        st.markdown(paragraph)
    return lesson


def model(model_id: str):
    """The shipped model, loaded once per server; stops the page with a message if it is unavailable."""
    net, error = resources.try_model(model_id)
    if error:
        st.error(_("This lesson needs the shipped model {model}: {error}", model=model_id, error=error))
        st.stop()
    return net


def key(model_id: str) -> str:
    return resources.model_key(model_id)


def net(model_key: str):
    """The model of a ``key`` (inside cached functions, whose arguments must be small and hashable)."""
    return resources.model(model_key)


def split():
    return resources.test_split(DATASET)


def image(where, page: str, default: int = 0, label: str | None = None) -> tuple[int, np.ndarray, int]:
    """A test-image index picker (``label``: translated text, default "Test image"); returns (index, x of shape
    (1, H, W, C), label)."""
    data = split()
    shown = _("{label} (0-{last})", label=label or _("Test image"), last=len(data) - 1)
    index = int(where.number_input(shown, 0, len(data) - 1, default, key=f"{page}_image"))
    return index, data.x[index:index + 1], int(data.y[index])


def opening(page: str, default_image: int = 0) -> tuple:
    """The usual start of a one-image lesson on ``STANDARD``: its model loaded, a narrow left column with
    the test-image picker, a wide right column. Returns (left, right, index, x, y)."""
    model(STANDARD)
    left, right = st.columns([1, 3], gap="large")
    return (left, right, *image(left, page, default=default_image))


def eps_slider(where, page: str, default: float, high: float = 0.5, label: str | None = None) -> float:
    """An L∞ eps slider over k/255, showing both forms (``label``: translated text, default "eps (L∞ budget)")."""
    grid = [round(k / 255, 6) for k in range(int(round(high * 255)) + 1)]
    start = grid[int(np.argmin(np.abs(np.asarray(grid) - default)))]
    return where.select_slider(label or _("eps (L∞ budget)"), options=grid, value=start, key=f"{page}_eps",
                               format_func=lambda v: f"{v * 255:.0f}/255 ({v:.3f})")


def name(c: int) -> str:
    """The name of class ``c`` in the current language."""
    return i18n.class_name(split().class_names[int(c)])


def _controls(page: str) -> str:
    """The current values of the lesson's own controls (session keys ``{page}_*``, buttons left out)."""
    values = {k: v for k, v in st.session_state.items()
              if str(k).startswith(f"{page}_") and not str(k).endswith(("_check", "_button", "_verdict"))}
    return repr(sorted(values.items(), key=lambda kv: str(kv[0])))


def try_it(lesson: lessons.Lesson, page: str, check: Callable[[], Verdict], explain: str = "") -> None:
    """The task, a button that runs ``check`` on the server, and its answer, shown only while the controls
    still hold the values it was measured on (moving one clears it, so no verdict speaks of other values).
    (``explain``: translated text.)"""
    st.subheader(_("Try it"))
    st.markdown(f"**{lesson.task_text}** {explain}")
    state = f"{page}_verdict"
    if st.button(_("Check my answer"), key=f"{page}_check", type="primary"):
        with st.spinner(_("Checking on the server...")):
            st.session_state[state] = (_controls(page), check())
    measured, verdict = st.session_state.get(state) or (None, None)
    if verdict is not None and measured == _controls(page):
        (st.success if verdict.done else st.warning)(verdict.message)
    elif verdict is not None:
        st.session_state.pop(state, None)
        st.caption(_("The controls moved since the last check: press “Check my answer” again."))


def explore(where=None, **view) -> None:
    """'Open this in Explore': a link to the exact view (data set, model, image, attack, eps, settings), in the
    current language."""
    (where or st).link_button(_("Open this in Explore"), links.explore_link(dataset=DATASET, **view),
                              icon=":material/open_in_new:")


def footer(lesson: lessons.Lesson, references: list[str] | None = None) -> None:
    """The papers the lesson cites (or ``references``), and links to the previous and next lessons."""
    with st.expander(_("Papers cited in this lesson")):
        for reference in references or lesson.references:
            st.markdown(f"- {reference}")
    order = [spec for spec in navigation.SECTIONS.get("Learn", [])]
    stems = [spec.url_path for spec in order]
    if lesson.slug not in stems:
        return
    i = stems.index(lesson.slug)
    left, right = st.columns([1, 2, 1])[::2]
    query = navigation.lang_query()
    if i > 0:
        left.page_link(str(navigation.PAGES_DIR / order[i - 1].path), label=f"← {_(order[i - 1].title)}",
                       query_params=query)
    if i + 1 < len(order):
        right.page_link(str(navigation.PAGES_DIR / order[i + 1].path), label=f"{_(order[i + 1].title)} →",
                        query_params=query)
