"""A lesson's "Open this in Explore" carries the lesson's whole view (issue 31): lessons 9 and 10 put a defence
(or randomized smoothing) in front of the model, and their links must open Explore behind it."""

import pytest

from advcore import links
from advcore.view import ExploreView

from .conftest import APP, TIMEOUT

pytestmark = pytest.mark.needs_data  # the shipped mnist-standard and the MNIST test set


def explore_view_of(slug: str, **widgets) -> ExploreView:
    from streamlit.testing.v1 import AppTest
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.switch_page(f"pages/learn/{slug}.py")
    at.run()
    for key, value in widgets.items():
        at.session_state[key] = value
    if widgets:
        at.run()
    assert not at.exception, [e.value for e in at.exception]
    buttons = [b for b in at.get("link_button") if b.proto.label == "Open this in Explore"]
    assert len(buttons) == 1
    view, messages = ExploreView.from_query(links.parse_link(buttons[0].proto.url))
    assert messages == []
    return view


def test_lesson_9_links_to_explore_behind_its_defence():
    view = explore_view_of("learn_masking")
    assert view.defence == "bits:2" and view.adaptive and view.attack == "pgd"
    view = explore_view_of("learn_masking", masking_defence="jpeg:50", **{"masking_mode_jpeg:50": "none"})
    assert view.defence == "jpeg:50" and not view.adaptive


def test_lesson_10_links_to_explore_behind_smoothing():
    view = explore_view_of("learn_certified", certified_sigma=0.25)
    assert view.defence == "smooth:0.25:16" and view.adaptive and view.effective_norm == "l2"
