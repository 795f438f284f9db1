"""'Present this view' on Explore and Compare: shown only to the teacher of a room in this browser session;
a click makes the page's view the room's presented view (what following students see)."""

import pytest
from streamlit.testing.v1 import AppTest

from advcore.classroom import rooms
from advcore.classroom.store import open_store

from .conftest import APP, TIMEOUT

pytestmark = pytest.mark.needs_data  # shipped models and the MNIST test set


@pytest.fixture
def room(tmp_path, monkeypatch):
    """A room in a private store; (store, code, teacher key)."""
    monkeypatch.setenv("ADVLAB_STATE_DIR", str(tmp_path))
    from advcore.ui import room_session
    room_session._store.clear()  # the app's store opens in this test's folder
    s = open_store()
    code, key = rooms.create_room(s, "test room", session="teacher")
    yield s, code, key
    room_session._store.clear()


def run(page: str | None, query: dict, teacher: tuple[str, str] | None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params.update(query)
    if teacher:
        at.session_state["teach_room"], at.session_state["teach_key"] = teacher
    at.run()
    if page:
        at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def present_buttons(at):
    return [b for b in at.button if b.key in ("explore_present", "compare_present")]


def test_no_present_button_without_a_room(room):
    assert present_buttons(run(None, {}, None)) == []
    _, code, _ = room
    assert present_buttons(run(None, {}, (code, "not-the-key"))) == []  # a wrong key is no teacher


def test_explore_presents_its_view(room):
    s, code, key = room
    at = run(None, {"image": "3", "attack": "fgsm", "eps": "0.2"}, (code, key))
    button = at.button(key="explore_present")
    assert code in button.label
    assert s.view_version(code) == 0
    button.click().run()
    assert not at.exception, [e.value for e in at.exception]
    version, view = s.get_view(code)
    assert version == 1 and any("Presented to room" in m.value for m in at.success)
    assert (view["page"], view["dataset"], view["model"], view["image"], view["attack"]) == \
        ("explore", "mnist", "mnist-standard", 3, "fgsm")
    assert view["eps"] == pytest.approx(round(0.2 * 255) / 255, abs=1e-6)


def test_compare_presents_its_view(room):
    s, code, key = room
    at = run("pages/explore/compare.py", {}, (code, key))
    at.button(key="compare_present").click().run()
    assert not at.exception, [e.value for e in at.exception]
    version, view = s.get_view(code)
    assert version == 1 and view["page"] == "compare" and view["model"] == "mnist-standard"
    assert view["model_b"] == "mnist-pgd"


def test_explore_presents_its_defence_and_followers_see_it(room):
    s, code, key = room
    at = run(None, {"image": "0", "attack": "pgd", "eps": "0.3", "steps": "10", "defence": "jpeg:60",
                    "adaptive": "true"}, (code, key))
    at.button(key="explore_present").click().run()
    _, view = s.get_view(code)
    assert (view["defence"], view["adaptive"]) == ("jpeg:60", True)
    follower = AppTest.from_function(_follower, args=(view,), default_timeout=TIMEOUT).run()
    assert not follower.exception, [e.value for e in follower.exception]
    text = " ".join(m.value for m in follower.markdown)
    assert "jpeg:60" in text and "adaptive" in text
    teacher_reads, follower_reads = (m.metric[1].value.split(" (")[0] for m in (at, follower))
    assert follower_reads == teacher_reads  # the follower sees the teacher's defended outcome


def test_a_compare_view_shows_both_models_to_followers(room):
    s, code, key = room
    at = run("pages/explore/compare.py", {}, (code, key))
    at.button(key="compare_present").click().run()
    _, view = s.get_view(code)
    follower = AppTest.from_function(_follower, args=(view,), default_timeout=TIMEOUT).run()
    assert not follower.exception, [e.value for e in follower.exception]
    assert [h.value for h in follower.subheader] == ["Model A: mnist-standard", "Model B: mnist-pgd"]


def _follower(view):
    """A follower's rendering of a presented view (what the Join page shows in follow mode)."""
    from advcore.classroom.store import open_store
    from advcore.ui import presented_view
    presented_view.show_view(open_store(), view, "follow")
