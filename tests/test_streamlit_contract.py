"""What advcore.ui.startup relies on in Streamlit: if an upgrade changes any of it, these fail loudly.

1. ``PagesManager.uses_pages_directory`` is a class attribute, set from ``pages/`` beside the
   main script only while it is None (so a False set at server start holds);
2. ``ScriptRunner`` runs the v1 pages navigation (``script_runner._mpa_v1``) instead of the
   script while it is True, and ``st.navigation`` sets it False;
3. ``streamlit run app.py`` finds app.py's ``st.App`` and its lifespan runs at server start,
   before any session, leaving the attribute False.

Data-free and fast (no model, no data set, no browser): the end-to-end check is
``tests/test_browser.py::test_a_deep_link_opened_first_gets_the_apps_navigation``.
"""

import subprocess
import sys

import pytest
from streamlit.runtime.pages_manager import PagesManager
from streamlit.runtime.scriptrunner import script_runner
from streamlit.testing.v1 import AppTest, app_test

from advcore.ui import startup

from .conftest import ROOT

NAV_APP = """
import streamlit as st
st.navigation({"Section": [st.Page("pages/section/first.py", default=True),
                           st.Page("pages/section/second.py")]}).run()
"""


@pytest.fixture
def fresh_process_flag():
    """The attribute as a freshly started server has it (None), restored afterwards."""
    saved = PagesManager.uses_pages_directory
    PagesManager.uses_pages_directory = None
    yield
    PagesManager.uses_pages_directory = saved


@pytest.fixture
def nav_app(tmp_path):
    """A main script beside a ``pages/`` folder whose pages live in a section subfolder, as AdvLab's."""
    (tmp_path / "pages" / "section").mkdir(parents=True)
    (tmp_path / "pages" / "section" / "first.py").write_text("import streamlit as st\nst.title('First')\n")
    (tmp_path / "pages" / "section" / "second.py").write_text("import streamlit as st\nst.title('Second')\n")
    (tmp_path / "app.py").write_text(NAV_APP)
    return tmp_path / "app.py"


@pytest.fixture
def v1_runs(monkeypatch):
    """Records each time ScriptRunner takes the v1 branch (then runs it as Streamlit would).

    AppTest resets ``PagesManager.uses_pages_directory`` to None before every run (its own
    test isolation); a subclass in its namespace takes that reset, so each AppTest run sees
    the process's value as a server session does.
    """
    monkeypatch.setattr(app_test, "PagesManager", type("AppTestPagesManager", (PagesManager,), {}))
    calls = []
    original = script_runner._mpa_v1

    def recording(main_script_path):
        calls.append(main_script_path)
        original(main_script_path)

    monkeypatch.setattr(script_runner, "_mpa_v1", recording)
    return calls


def test_the_pages_folder_is_read_once_per_process_into_a_class_attribute(fresh_process_flag, nav_app):
    assert "uses_pages_directory" in vars(PagesManager), "no longer a PagesManager class attribute"
    PagesManager(str(nav_app))
    assert PagesManager.uses_pages_directory is True, "a pages/ folder beside the script no longer sets it"
    PagesManager.uses_pages_directory = False
    PagesManager(str(nav_app))
    assert PagesManager.uses_pages_directory is False, "a new session now overwrites a False set at start-up"


def test_a_fresh_process_takes_the_v1_branch_until_st_navigation_runs(fresh_process_flag, nav_app, v1_runs):
    at = AppTest.from_file(str(nav_app)).run()
    assert not at.exception
    assert len(v1_runs) == 1, "the first run no longer goes through script_runner._mpa_v1"
    assert PagesManager.uses_pages_directory is False, "st.navigation no longer switches the v1 pages off"
    at.run()
    assert len(v1_runs) == 1, "a run after st.navigation went through the v1 branch again"
    assert [t.value for t in at.title] == ["First"]


def test_use_app_navigation_keeps_the_first_run_off_the_v1_branch(fresh_process_flag, nav_app, v1_runs):
    startup.use_app_navigation()
    at = AppTest.from_file(str(nav_app)).run()
    assert not at.exception
    assert v1_runs == []
    assert [t.value for t in at.title] == ["First"]


LIFESPAN_CHECK = """
import asyncio, importlib.util, sys
from streamlit.runtime.pages_manager import PagesManager
from streamlit.runtime import Runtime

spec = importlib.util.spec_from_file_location("app", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
seen = {}

async def main():
    events = asyncio.Queue()
    await events.put({"type": "lifespan.startup"})

    async def send(message):
        seen[message["type"]] = message.get("message", "")
        if message["type"] == "lifespan.startup.complete":
            seen["flag"] = PagesManager.uses_pages_directory
            seen["sessions"] = len(Runtime.instance()._session_mgr.list_sessions())
            await events.put({"type": "lifespan.shutdown"})

    await module.app({"type": "lifespan", "asgi": {"version": "3.0"}}, events.get, send)

asyncio.run(main())
print(seen)
"""


def test_streamlit_run_app_py_runs_the_lifespan_before_any_session():
    from streamlit.web.server.app_discovery import discover_asgi_app

    found = discover_asgi_app(ROOT / "app.py")
    assert found.is_asgi_app and found.import_string == "app:app", "`streamlit run app.py` no longer sees st.App"
    done = subprocess.run([sys.executable, "-c", LIFESPAN_CHECK, str(ROOT / "app.py")], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    seen = eval(done.stdout.strip().splitlines()[-1])  # noqa: S307 (our own subprocess's dict)
    assert "lifespan.startup.complete" in seen, seen
    assert seen["flag"] is False and seen["sessions"] == 0, seen
