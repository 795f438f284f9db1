"""One process's push of the presented view to its followers: compute and render each new view once, send it to all.

Followers of a room hold a subscription (``Broadcaster.subscribe``: an async iterator of ``Frame``). One poll
loop per process (``Broadcaster.run``) reads the view version of every room that has a subscriber, every
``poll_s`` seconds (one small store read per followed room, not per follower). When a room's version moves, the
view is read, rendered once (``render(code, version, view)``, in a worker thread: it runs the attack) and the
frame is handed to every subscriber of that room at once. A subscriber that joins late, or reconnects having seen
an older version (``since``), gets the room's current frame at once; a slow subscriber skips to the newest frame
(only the current view matters). Frames are rendered at most once per (room, version, language) per process
(the cache the follower pages' first run reads too, ``frame``).

Languages. Each subscriber names its language (``subscribe(..., lang=)``); a new view is rendered once per
language its room's subscribers use (``render`` runs with that language current: ``advcore.i18n.use_language``),
one language after the other, so the attack behind it (cached across languages by the caller) is computed once.

The transport (Server-Sent Events over Starlette) is ``advcore.ui.follow_stream``; this module knows only the
store's ``view_version``/``get_view`` and a render function, so it runs without a server in tests.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import Counter, OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from advcore import i18n


@dataclass(frozen=True)
class Frame:
    """One presented view, rendered: ``version`` (the SSE event id), ``html`` (what every follower in ``lang``
    shows)."""
    code: str
    version: int
    html: str
    lang: str = i18n.DEFAULT_LANGUAGE


CLOSED = Frame("", -1, "")  # the room is gone: subscribers end
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Notice:
    """The room's challenges changed (started, closed, revealed): ``signature`` names their state, so a page drawn
    with that state knows it is current, and one drawn before reruns to show them."""
    code: str
    signature: str


@dataclass
class _Room:
    code: str
    subscribers: int = 0
    languages: Counter = field(default_factory=Counter)  # subscribers per language
    frames: dict | Frame | None = None  # language -> the current view's frame; CLOSED: the room is gone
    signature: str | None = None
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    rendering: bool = False
    failure: str = ""  # the last refresh's exception (repr), logged once


class Broadcaster:
    """Per-process: ``subscribe`` from the transport's handlers, ``run`` once as a task of the server's loop."""

    def __init__(self, version_of: Callable[[str], int], get_view: Callable[[str], tuple[int, dict | None]],
                 render: Callable[[str, int, dict], str], room_exists: Callable[[str], bool] | None = None,
                 poll_s: float = 0.15, keep: int = 64, run_in: Callable | None = None,
                 signature: Callable[[str], str] | None = None):
        self.version_of, self.get_view, self.render = version_of, get_view, render
        self.run_in = run_in or asyncio.to_thread  # async (fn, *args) -> fn(*args) off the loop
        self.room_exists = room_exists or (lambda code: True)
        self.signature = signature  # the room's challenge state, polled with the version (None: not watched)
        self.poll_s = poll_s
        self.rooms: dict[str, _Room] = {}
        self.renders = 0  # how many frames this process rendered (a test counts them)
        self._cache: OrderedDict[tuple[str, int, str], Frame] = OrderedDict()  # (room, version, lang) -> frame
        self._keep = keep
        self._locks: dict[tuple[str, int, str], threading.Lock] = {}
        self._guard = threading.Lock()
        self._stopped = False

    # --- rendering, once per (room, version, language) -------------------------------------------------

    def frame(self, code: str, version: int, view: dict, render: Callable[[str, int, dict], str] | None = None,
              lang: str = i18n.DEFAULT_LANGUAGE) -> Frame:
        """The frame of ``code``'s view ``version`` in ``lang``: rendered now (with ``lang`` the current language)
        if this process has not rendered it yet, else the kept one (threads asking for the same one wait for the
        first one's render). Blocking. ``render``: the caller's own (a page rendering with its session's store),
        default the broadcaster's."""
        key = (code, version, lang)
        with self._guard:
            if key in self._cache:
                return self._cache[key]
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            with self._guard:
                if key in self._cache:
                    return self._cache[key]
            with i18n.use_language(lang):
                frame = Frame(code, version, (render or self.render)(code, version, view), lang)
            with self._guard:
                self.renders += 1
                self._cache[key] = frame
                while len(self._cache) > self._keep:
                    self._cache.popitem(last=False)
                self._locks.pop(key, None)
            return frame

    # --- subscribers -----------------------------------------------------------------------------------

    async def subscribe(self, code: str, since: int = 0, keepalive_s: float = 15.0,
                        lang: str = i18n.DEFAULT_LANGUAGE):
        """Frames in ``lang`` for one follower of ``code``: the current view at once (unless it is ``since``), then
        each new one; ``None`` every ``keepalive_s`` of silence (the transport sends a comment, which also finds
        dead connections); ends after ``CLOSED`` (the room is gone) or when the broadcaster stops."""
        room = self.rooms.setdefault(code, _Room(code))
        room.subscribers += 1
        room.languages[lang] += 1
        sent, told = since, None
        try:
            if room.frames is None or (room.frames is not CLOSED and lang not in room.frames):
                await self._refresh(room)  # a first follower (of this language): no waiting for the next poll
            while not self._stopped:
                frame = room.frames if room.frames is CLOSED else (room.frames or {}).get(lang)
                if frame is CLOSED:
                    yield CLOSED
                    return
                if frame is not None and frame.version != sent:
                    sent = frame.version
                    yield frame
                    continue
                if room.signature is not None and room.signature != told:
                    told = room.signature
                    yield Notice(code, told)
                    continue
                changed = room.changed
                try:
                    await asyncio.wait_for(changed.wait(), keepalive_s)
                except asyncio.TimeoutError:
                    yield None
        finally:
            room.subscribers -= 1
            room.languages[lang] -= 1
            if room.languages[lang] <= 0:
                del room.languages[lang]
            if room.subscribers <= 0 and self.rooms.get(code) is room:
                del self.rooms[code]

    def followers(self, code: str | None = None) -> int:
        """Subscribers connected to this process (of one room, or all)."""
        rooms = self.rooms.values() if code is None else [self.rooms[code]] if code in self.rooms else []
        return sum(r.subscribers for r in rooms)

    def stop(self) -> None:
        """End every subscription (the server shuts down); call on the loop's thread."""
        self._stopped = True
        for room in self.rooms.values():
            room.changed.set()

    # --- the poll loop ---------------------------------------------------------------------------------

    async def run(self) -> None:
        """Poll the followed rooms' versions until ``stop``; one store read per followed room per tick."""
        while not self._stopped:
            rooms = [r for r in self.rooms.values() if not r.rendering]
            if rooms:
                outcomes = await asyncio.gather(*(self._refresh(r) for r in rooms), return_exceptions=True)
                for room, outcome in zip(rooms, outcomes):
                    self._note(room, outcome)
            await asyncio.sleep(self.poll_s)

    @staticmethod
    def _note(room: _Room, outcome) -> None:
        """Log a refresh that failed (a store outage, a render that raised; the next tick tries again): once per
        run of the same failure, not every tick."""
        failure = repr(outcome) if isinstance(outcome, Exception) else ""
        if failure and failure != room.failure:
            log.error("room %s: reading or rendering its view failed", room.code, exc_info=outcome)
        room.failure = failure

    async def _refresh(self, room: _Room) -> None:
        if room.rendering:
            return
        room.rendering = True
        try:
            frames = await self.run_in(self._latest, room.code, room.frames, sorted(room.languages))
            signature = None if self.signature is None or frames is CLOSED else \
                await self.run_in(self.signature, room.code)
        finally:
            room.rendering = False
        if (frames is not room.frames and frames is not None) or signature != room.signature:
            room.frames, room.signature = frames or room.frames, signature
            changed, room.changed = room.changed, asyncio.Event()
            changed.set()

    def _latest(self, code: str, current: dict | Frame | None, languages: list[str]) -> dict | Frame | None:
        """The room's current frames, one per language of ``languages`` (``current`` if the version did not move
        and it has them all; ``CLOSED`` if the room is gone). Rendered one language after the other: the first
        render computes the view, the others find it in the caller's cache."""
        version = self.version_of(code)
        if current and current is not CLOSED and version == next(iter(current.values())).version \
                and set(languages) <= current.keys():
            return current
        if version == 0:
            return current if self.room_exists(code) else CLOSED
        version, view = self.get_view(code)
        if view is None:
            return CLOSED
        return {lang: self.frame(code, version, view, lang=lang) for lang in languages or [i18n.DEFAULT_LANGUAGE]}
