"""The followers' push channel: Server-Sent Events of the presented view, rendered once per change per process.

Route. ``GET /_advlab/follow/{code}/events`` (``routes``, registered by app.py's ``st.App``) is a
``text/event-stream``: each event is one presented view, ``id:`` its version, ``event: view``, ``data:`` the HTML
fragment every follower of the room shows (``render``: the description, the teacher's line as plain text, the
metrics, the original | perturbation | adversarial images as data: URIs, the probability bars, "view N"). A new
connection, a reconnect (``Last-Event-ID``) or a late joiner gets the current view at once. ``event: end`` says the
room is gone; ``event: challenges`` names the state of the room's challenges (the page reruns when it changed).
Every 5 s the stream reports its member as present and following (``rooms.heartbeat``) and sends a comment, which
keeps proxies and the browser from timing out and finds dead connections.

Language. Followers of one room may read different languages: the page's script opens the stream with
``?lang=`` of the page's language (``events_path``; checked against ``i18n.LANGUAGES``, else English) and the
stream sends the frames rendered in that language. The attack is computed once per change; only the HTML is
rendered once per change per language in use.

Who. Only a member of the room: the request must carry the member cookie ``advlab_member_<CODE>`` (nickname and
token, set by the Join page; same origin, so EventSource sends it) and ``rooms.rejoin`` must accept it; else 403.
The stream carries what every member sees anyway: no teacher key, no member's token, no nickname.

Once. One ``advcore.classroom.broadcast.Broadcaster`` per process polls the followed rooms' view versions (one
store read per room every 0.15 s, not per follower) and renders each new view once, in a worker thread; the
attack itself is ``advcore.ui.presented_view.view_results`` (the teacher's page computes it through the same
cross-session cache, so a change is computed once per process, whatever the followers'
languages). The Join page's first run shows the same frame
(``show``) and the page's script (EventSource) swaps each new frame in place; EventSource reconnects by itself
(``retry: 1000``), to another replica through nginx when this one dies.

Shutdown. Uvicorn waits for open responses before it stops; ``install_shutdown`` ends the streams on SIGTERM/SIGINT
(called from the ``st.App`` lifespan) so a stopped server exits at once.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import html
import json
import logging
import signal
import threading
import time
from urllib.parse import urlencode

import streamlit as st
from starlette.responses import PlainTextResponse, StreamingResponse
from starlette.routing import Route

from advcore import i18n
from advcore.i18n import _

PREFIX = "/_advlab/follow"
HEARTBEAT_S = 5.0  # ui.room_session.HEARTBEAT_S: the stream reports its member's page this often, and sends a comment
RETRY_MS = 1000
_state: dict = {"broadcaster": None, "task": None, "store": None}
_lock = threading.Lock()
log = logging.getLogger(__name__)


def events_path(code: str, lang: str | None = None) -> str:
    """The stream's path; ``lang`` (the follower page's language) picks the language of the frames it sends."""
    return f"{PREFIX}/{code}/events" + (f"?{urlencode({'lang': lang})}" if lang else "")


def stream_language(value: str | None) -> str:
    """A stream's language from its ``lang`` query parameter: a code of ``i18n.LANGUAGES``, else the default."""
    return i18n.normalize(value) or i18n.DEFAULT_LANGUAGE


# --- the process's broadcaster ---------------------------------------------------------------------

def store():
    """The store the stream reads (one per process, as the pages' ``ui.room_session.store``)."""
    with _lock:
        if _state["store"] is None:
            from advcore.classroom.store import open_store  # lazy: start-up time
            _state["store"] = open_store()
        return _state["store"]


def broadcaster():
    """This process's ``Broadcaster`` (created on first use)."""
    with _lock:
        if _state["broadcaster"] is None:
            from advcore.classroom.broadcast import Broadcaster  # lazy: start-up time
            _state["broadcaster"] = Broadcaster(
                lambda code: store().view_version(code), lambda code: store().get_view(code),
                lambda code, version, view: render(store(), code, version, view),
                room_exists=lambda code: store().get_room(code) is not None, run_in=in_thread,
                signature=lambda code: challenge_signature(store(), code))
        return _state["broadcaster"]


class _QuietThreads(logging.Filter):
    """Drops Streamlit's "missing ScriptRunContext" warning for the render threads: they call the pages' caches
    (``st.cache_data``) outside any session, which is what they are for."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not threading.current_thread().name.startswith(THREADS)


THREADS = "advlab-follow"
_pool = concurrent.futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix=THREADS)
logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context").addFilter(_QuietThreads())


async def in_thread(fn, *args):
    """``fn(*args)`` in one of the stream's worker threads."""
    return await asyncio.get_running_loop().run_in_executor(_pool, fn, *args)


def challenge_signature(s, code: str) -> str:
    """A short name of the state of the room's challenges (their ids and statuses, nothing else): the page is
    drawn with one, and the stream says when it changed (the page then reruns to show the challenge)."""
    state = json.dumps([(c["id"], c["status"]) for c in s.challenges(code)])
    return hashlib.sha1(state.encode()).hexdigest()[:12]


def _ensure_running() -> None:
    """Start the broadcaster's poll loop on the server's event loop (once)."""
    task = _state["task"]
    if task is None or task.done():
        _state["task"] = asyncio.get_running_loop().create_task(broadcaster().run(), name="advlab-follow-broadcast")
        _state["task"].add_done_callback(_log_end)


def _log_end(task: asyncio.Task) -> None:
    """The poll loop ended by an exception: logged (the next follower's request starts a new one)."""
    if not task.cancelled() and task.exception() is not None:
        log.error("the followers' poll loop stopped", exc_info=task.exception())


# --- the fragment --------------------------------------------------------------------------------------

CSS = """<style>
.advlab-follow{font-size:1rem;line-height:1.5}
.advlab-follow .af-desc{margin:0 0 .6rem}
.advlab-follow .af-note{background:rgba(28,131,225,.1);color:rgb(0,66,128);padding:.75rem 1rem;border-radius:.5rem;
  margin:0 0 .8rem}
.advlab-follow .af-metrics{display:grid;grid-template-columns:repeat(4,minmax(0,1fr));gap:1rem;margin:.4rem 0 .8rem}
.advlab-follow .af-label{font-size:.875rem;opacity:.8}
.advlab-follow .af-value{font-size:1.75rem;line-height:1.3;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.advlab-follow .af-delta{display:inline-block;font-size:.875rem;padding:0 .5rem;border-radius:1rem}
.advlab-follow .af-fooled{background:rgba(255,43,43,.12);color:rgb(158,0,0)}
.advlab-follow .af-right{background:rgba(33,195,84,.12);color:rgb(23,114,51)}
.advlab-follow .af-bars{max-width:60%}
.advlab-follow .af-caption{font-size:.875rem;opacity:.75;margin-top:.4rem}
</style>"""


def _metrics(rows, fooled: bool) -> str:
    cells = []
    for label, value, delta in rows:
        pill = "" if delta is None else \
            f'<span class="af-delta {"af-fooled" if fooled else "af-right"}">{html.escape(delta)}</span>'
        # Streamlit's metric test ids, so a page check reads these as it reads the teacher's st.metric
        cells.append(f'<div data-testid="stMetric" class="af-metric"><div data-testid="stMetricLabel" '
                     f'class="af-label">{html.escape(label)}</div><div data-testid="stMetricValue" class="af-value">'
                     f'{html.escape(value)}</div>{pill}</div>')
    return f'<div class="af-metrics">{"".join(cells)}</div>'


def render(s, code: str, version: int, view: dict) -> str:
    """The HTML fragment of view ``version`` in the current language (what every follower in that language shows);
    computes the view (``ui.presented_view.view_results``: the attack is cached across sessions and languages). A
    view that cannot be shown renders as a message, never raises."""
    # lazy: start-up time (app.py imports this module as the server starts; presented_view imports TensorFlow)
    from advcore import pictures
    from advcore.bars import probability_bars
    from advcore.classroom import follow
    from advcore.errors import AdvcoreError

    from . import presented_view
    e = html.escape
    link = f'<a href="{e(follow.explore_link(view))}" target="_self">'
    caption = '<p class="af-caption">' + _(
        "Following the teacher (view {version}). {link}Open this view in Explore{end} to try your own settings.",
        version=int(version), link=link, end="</a>") + "</p>"
    try:
        r = presented_view.view_results(s, view)
    except (AdvcoreError, KeyError) as exc:
        return ('<div role="alert" class="af-note">' + e(_("This view cannot be shown: {error}", error=exc))
                + f"</div>{caption}")
    names, label = r["names"], r["label"]
    sentence = presented_view.description(r, view, strong=lambda text: f"<strong>{e(text)}</strong>", text=e)
    parts = [f'<p class="af-desc">{sentence} <em>{e(r["spec"].paper)}</em></p>']
    if view.get("note"):
        parts.append(f'<div class="af-note" role="note">{e(str(view["note"]))}</div>')  # the teacher's text, as text
    for i, (model_id, result) in enumerate(r["shown"]):
        if len(r["shown"]) > 1:
            parts.append(f"<h3>{e(presented_view.model_heading(i, model_id))}</h3>")
        fooled = int(result["adv_probs"].argmax()) != label
        parts.append(_metrics(presented_view.metric_values(names, label, result), fooled))
        parts.append(pictures.triptych(r["x"][0], result["x_adv"]))
        bars = probability_bars(presented_view.shown_names(names), result["clean_probs"], result["adv_probs"], label)
        parts.append(f'<div class="af-bars">{bars}</div>')
    return "".join(parts) + caption


def waiting() -> str:
    """The follow element's text before the teacher presents a view (current language)."""
    return '<p class="af-caption">' + html.escape(
        _("The teacher has not presented a view yet; it appears here when they do.")) + "</p>"


# The follow element's script; ``refresh`` reruns the page by a click on its hidden refresh button. (No comments in
# the script: a page's text, read as textContent, would show them.)
SCRIPT = """<script>(() => {
  const url = %(url)s, id = %(id)s, slot = "__advlabFollow";
  if (window[slot]) window[slot].close();
  const source = new EventSource(url);
  window[slot] = source;
  source.addEventListener("view", (event) => {
    const box = document.getElementById(id), version = Number(event.lastEventId);
    if (!box || version < Number(box.dataset.version || 0)) return;
    box.innerHTML = event.data;
    box.dataset.version = String(version);
  });
  const refresh = () => {
    const button = document.querySelector(".st-key-class_refresh button");
    if (button) button.click();
  };
  source.addEventListener("challenges", (event) => {
    const box = document.getElementById(id);
    if (box && event.data !== box.dataset.challenges) { box.dataset.challenges = event.data; refresh(); }
  });
  source.addEventListener("end", () => { source.close(); refresh(); });
})();</script>"""


def element(code: str, version: int, body: str, challenges: str = "") -> str:
    """The Join page's follow element: the current frame in a box the page's script keeps current; ``challenges``:
    the challenge state the page was drawn with (the script reruns the page when the stream names another). The
    stream sends the frames in the page's current language."""
    box = f"advlab-follow-{code}"
    script = SCRIPT % {"url": json.dumps(events_path(code, i18n.current_language())), "id": json.dumps(box)}
    return (f'{CSS}<style>.st-key-{REFRESH_KEY}{{display:none}}</style><div id="{box}" class="advlab-follow" '
            f'data-version="{int(version)}" data-challenges="{html.escape(challenges)}" aria-live="polite">{body}</div>'
            f"{script}")


REFRESH_KEY = "class_refresh"


def show(s, code: str, version: int, view: dict | None) -> None:
    """Draw the follow element on the Join page: the current view (the process's frame of it, rendered once), then
    each new one pushed by the stream; and the hidden button its script presses to rerun the page when a challenge
    starts or ends, or the room does (the page draws them; nothing polls). The frame is the one of this page's
    language (rendered once per language in use)."""
    body = waiting() if view is None else broadcaster().frame(
        code, version, view, lambda c, v, view: render(s, c, v, view), lang=i18n.current_language()).html
    st.html(element(code, version if view is not None else 0, body, challenge_signature(s, code)),
            unsafe_allow_javascript=True)
    st.button(_("Show new challenges"), key=REFRESH_KEY)  # hidden (the element's style); pressed by its script


def stop_following() -> None:
    """Close this browser tab's follow stream, if its page opened one (the student switched to exploring on their
    own, or left the room): the element is gone from the page, but an EventSource lives on until closed."""
    st.html('<script>if (window.__advlabFollow) { window.__advlabFollow.close(); window.__advlabFollow = null; }'
            '</script>', unsafe_allow_javascript=True)


# --- the route ------------------------------------------------------------------------------------------

def _in_language(lang: str, fn, *args):
    """``fn(*args)`` with ``lang`` as the current language (its errors are in the follower's language)."""
    with i18n.use_language(lang):
        return fn(*args)


def sse(frame) -> str:
    data = "\n".join(f"data: {line}" for line in frame.html.splitlines() or [""])
    return f"id: {frame.version}\nevent: view\n{data}\n\n"


async def events(request):
    """``GET /_advlab/follow/{code}/events``: the room's views, for a member of the room (module docstring)."""
    # lazy: start-up time (app.py imports this module as the server starts; these import the zoo and settings)
    from advcore.classroom import rooms
    from advcore.classroom.broadcast import CLOSED, Notice
    from advcore.classroom.rooms import ClassroomError

    from .room_session import member_from_cookie
    code = rooms.normalise_code(request.path_params.get("code", ""))
    lang = stream_language(request.query_params.get("lang"))
    member = member_from_cookie(code, dict(request.cookies)) if rooms.valid_code(code) else None
    if member is None:
        with i18n.use_language(lang):
            return PlainTextResponse(_("Join the room first: this stream is for its members."), 403)
    try:
        await in_thread(_in_language, lang, rooms.rejoin, store(), code, *member)
    except ClassroomError as exc:
        return PlainTextResponse(str(exc), 403)
    try:
        since = max(0, int(request.headers.get("last-event-id") or 0))
    except ValueError:
        since = 0
    _ensure_running()
    b = broadcaster()

    async def stream():
        yield f"retry: {RETRY_MS}\n\n"
        beat = 0.0
        async for frame in b.subscribe(code, since, HEARTBEAT_S, lang=lang):
            if time.monotonic() - beat >= HEARTBEAT_S:  # this member's page is open and following
                beat = time.monotonic()
                try:
                    await in_thread(rooms.heartbeat, store(), code, member[0], True)
                except Exception:  # a store hiccup: the stream goes on, the next beat tries again
                    log.exception("follow stream of room %s: the heartbeat failed", code)
            if frame is None:
                yield ": keepalive\n\n"
            elif frame is CLOSED:
                yield "event: end\ndata: the room has ended\n\n"
                return
            elif isinstance(frame, Notice):
                yield f"event: challenges\ndata: {frame.signature}\n\n"
            else:
                yield sse(frame)

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache, no-store", "X-Accel-Buffering": "no"})


def routes() -> list:
    """The Starlette routes app.py gives ``st.App``."""
    return [Route(PREFIX + "/{code}/events", events, methods=["GET"])]


# --- shutdown ---------------------------------------------------------------------------------------------

def stop() -> None:
    """End every open stream (on the server's loop)."""
    if _state["broadcaster"] is not None:
        _state["broadcaster"].stop()


def install_shutdown() -> None:
    """Wrap the server's SIGTERM/SIGINT handlers (uvicorn's, installed before the lifespan runs) so the streams end
    first: uvicorn waits for open responses, and an event stream never ends by itself."""
    if threading.current_thread() is not threading.main_thread():
        return
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        previous = signal.getsignal(sig)
        if not callable(previous):
            continue

        def handler(signum, frame, previous=previous):
            loop.call_soon_threadsafe(stop)
            previous(signum, frame)

        signal.signal(sig, handler)
