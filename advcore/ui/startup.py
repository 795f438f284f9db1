"""What `streamlit run app.py` runs once at server start, before the first visitor connects.

Why. Streamlit treats a folder named ``pages/`` beside the main script as its legacy (v1)
multipage folder until ``st.navigation`` first runs in the process: the class attribute
``PagesManager.uses_pages_directory`` is set from ``(script dir / "pages").exists()`` when the
first session starts, ``ScriptRunner`` then runs its ``_mpa_v1`` navigation (which lists only
``pages/*.py``; AdvLab's pages are in section subfolders) instead of app.py, and only
``st.navigation`` sets the attribute back to False. So the first visitor after a start who
opens a deep link (``/models``) got a "Page not found" dialog from the v1 navigation, with
app.py's own navigation rendering the right page under it; nothing app.py does in that run
can take the dialog back (``st.rerun``/``st.switch_page`` leave it open).

How. app.py declares ``app = st.App(__file__, lifespan=startup.lifespan)``. ``streamlit run
app.py`` finds that declaration (``streamlit.web.server.app_discovery``) and serves app.py
through ``st.App``, the same Starlette + uvicorn server as a plain script in this Streamlit
(there is no Tornado in 1.67); each session still runs app.py as ``__main__``. The App's
lifespan runs once, after the runtime starts and before the server accepts a connection,
and states what ``st.navigation`` would state on its first call: this app's pages come from
``st.navigation``. No page needs any boilerplate.

What else changes with ``st.App`` (Streamlit 1.67): uvicorn handles SIGTERM itself (graceful
shutdown, then the process ends by the signal, exit status 143, where the plain script exited
0), and ``streamlit run`` no longer opens a local browser tab (the server is headless anyway).

Warm-up. The lifespan also starts one background thread (``warm_default_models``) that loads each data
set's default model (the first the pickers offer, a shipped one) and compiles and runs once every path of
an Explore page load and an eps move (``advcore.live.warm``), off the request path: the first visitor's
first eps moves are then as fast as later ones. ``ADVLAB_WARM=0`` switches it off.

Quicker default. The same thread then times one live attack on each default model (``live.attack_seconds``).
Where that is slower than ``live.LIVE_TARGET_S`` (CIFAR-10's 2M-parameter default on a CPU without fast
matrix units: about 0.3 s), it warms and times the data set's other shipped models of the same recipe, and
Explore opens that data set on the fastest of them (``explore_opens_on``), saying so, with the first one a
click away. A link or a class that names a model is never changed.

Guards: ``tests/test_streamlit_contract.py`` fails if Streamlit changes the attribute, the v1
branch, the ``st.navigation`` reset, the lifespan or the ``st.App`` discovery this relies on;
``tests/test_browser.py`` opens a deep link as the first visitor of a fresh server, then one
for a page of every other section.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
import threading
from contextlib import asynccontextmanager

log = logging.getLogger(__name__)


def use_app_navigation() -> None:
    """Tell Streamlit this process's pages come from ``st.navigation``, not a v1 ``pages/`` folder.

    The same assignment ``st.navigation`` makes on every call
    (``streamlit/commands/navigation.py``); made here before any session exists.
    """
    from streamlit.runtime.pages_manager import PagesManager
    PagesManager.uses_pages_directory = False


@asynccontextmanager
async def lifespan(_app):
    """``st.App`` lifespan: runs once at server start (before the first session) and at shutdown."""
    use_app_navigation()
    from advcore.settings import settings
    if settings().warm:
        threading.Thread(target=warm_default_models, name="advlab-warm", daemon=True).start()
    from . import follow_stream  # the followers' event streams (app.py's routes) end before uvicorn waits on them
    follow_stream.install_shutdown()
    yield
    follow_stream.stop()


def prepare() -> None:
    """Before the server starts (app.py, imported once by ``streamlit run``): check every environment variable
    (``advcore.settings``) and route the advcore loggers to stderr. A bad value ends the process with one line
    on stderr (``AdvLab: ADVLAB_MAX_WORK: must be ...``) and exit status 2, before the first visitor connects."""
    from advcore import logs
    from advcore.settings import SettingsError, settings
    try:
        settings()
    except SettingsError as exc:
        print(f"AdvLab: {exc}", file=sys.stderr, flush=True)
        raise SystemExit(2) from None
    logs.configure(settings().log_level)


def default_models() -> list[tuple[str, str]]:
    """(data set, model id) of each data set's default model: the first shipped model the pickers list,
    MNIST's first (Explore opens on it)."""
    from advcore import data, zoo  # lazy: start-up time
    found = []
    for dataset in data.DATASETS:
        shipped = [c["id"] for c in zoo.list_cards(dataset) if c.get("shipped")]
        if shipped:
            found.append((dataset, shipped[0]))
    return sorted(found, key=lambda pair: pair[0] != "mnist")


def warm_default_models() -> None:
    """Load each default model and warm its compiled paths (``advcore.live.warm``); logs the time of each.
    Never raises: a model that fails is logged and the next one is warmed."""
    importlib.import_module("advcore.ui.server")  # TensorFlow's thread settings precede its first op
    try:  # Linux: this thread yields the CPU to visitors' requests (a nice value per thread)
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
    except (AttributeError, OSError):
        pass
    from advcore import live  # lazy: start-up time
    for dataset, model_id in default_models():
        seconds = {model_id: _warm_and_time(dataset, model_id)}
        if seconds[model_id] is None or seconds[model_id] <= live.LIVE_TARGET_S:
            continue
        for other in same_recipe_models(dataset, model_id):
            seconds[other] = _warm_and_time(dataset, other)
        choice = live.quicker_default(model_id, {k: v for k, v in seconds.items() if v is not None})
        if choice is not None:
            QUICKER_DEFAULTS[dataset] = choice
            print(f"AdvLab: Explore opens {dataset} on {choice.model_id}", file=sys.stderr, flush=True)
    print(WARM_DONE, file=sys.stderr, flush=True)


WARM_DONE = "AdvLab: warm-up done"


QUICKER_DEFAULTS: dict = {}  # data set -> live.QuickerDefault, set by the warm-up thread


def explore_opens_on(dataset: str):
    """The ``live.QuickerDefault`` Explore opens ``dataset`` on instead of its first model, or None."""
    return QUICKER_DEFAULTS.get(dataset)


def same_recipe_models(dataset: str, model_id: str) -> list[str]:
    """The data set's other shipped models trained with ``model_id``'s recipe (for CIFAR-10's standard
    model: ``cifar10-small``)."""
    from advcore import zoo  # lazy: start-up time
    cards = [c for c in zoo.list_cards(dataset) if c.get("shipped")]
    recipe = {c["id"]: c.get("recipe", {}).get("recipe") for c in cards}
    return [c["id"] for c in cards if c["id"] != model_id and recipe[c["id"]] == recipe[model_id]]


def _warm_and_time(dataset: str, model_id: str) -> float | None:
    """Warm ``model_id`` and time one live attack on it (seconds); None, logged, if it fails: a broken model
    must not stop the server or the other warm-ups."""
    from advcore import data, live, zoo  # lazy: start-up time
    try:
        model, shape = zoo.load(model_id), data.info(dataset).shape
        warmed = live.warm(model, shape)
        seconds = live.attack_seconds(model, shape)
    except Exception:
        log.exception("could not warm %s", model_id)
        return None
    print(f"AdvLab: warmed {model_id} ({dataset}) in {warmed:.1f} s; one live attack {seconds * 1000:.0f} ms",
          file=sys.stderr, flush=True)
    return seconds
