"""Classroom load: one teacher presenting, N students following the teacher's view, then a challenge
every student answers, all over Streamlit's websocket protocol against the real server.

Each session is a ``bench.load.ProtocolSession`` (the browser's protocol, no rendering), so the server
does all of its real work: the pages, the attacks, the figures, the store. What each session does is
what its browser would do on the Classroom pages (pages/classroom/):

- the teacher opens Teach, creates a room with the "New room" form, loads a view with "Present an
  Explore link instead" (MNIST, mnist-standard, PGD), then every ``--change-every`` seconds moves the
  presenter's eps slider (3 of 4 changes) or its test-image box (the presenter's widgets: each change
  reruns the page, which presents the new view: ``advcore.ui.presenting.present_if_changed``, then
  ``advcore.classroom.follow.present``, the store call Explore's "Present this view" button makes); between
  changes it runs its page's two timer fragments every 2 s (who is connected and following; the
  challenges and leaderboard), as the browser does;
- each student opens the join link (``/join?room=CODE``), joins with the form (code and nickname) and
  stays in follow mode: the page's follow element (``advcore.ui.follow_stream``) shows the current view and
  its script opens the room's event stream (``EventSource`` on ``/_advlab/follow/CODE/events``, with the
  member cookie the page set), which pushes each new view as one HTML fragment with its version; the
  client opens that stream as the browser does (``bench.load.EventStream``: HTTP, the tab's cookies).
  Nothing polls: the stream reports the page (presence) and says when the room's challenges changed
  (``event: challenges``), and the page's script then presses the page's hidden refresh button (one whole
  run of the page, which shows the challenge);
- after ``--seconds``, the teacher presents the challenge image and starts a "smallest eps" challenge
  (L∞, ceiling 0.3) with the Challenges tab's form; each student's page picks it up through the same
  stream, moves its answer panel's eps slider to its own k/255 (58-76), and presses "Submit this
  adversarial image": the server runs the attack (advcore, PGD, on the challenge image) and checks and
  stores the answer (``advcore.classroom.challenges.submit``). A refused answer is tried once more at
  76/255.

Measured: for every teacher change and every student, the time from sending the change to the
event with that view version arriving on the student's stream (the event's id; the fragment's "view N"
caption must say the same, and its metrics are checked against the teacher's page for that version);
requests and their latencies; errors; answers accepted (the page said "Accepted") against those found in
the store afterwards; server RSS before and after, and the server's CPU seconds over the class.

    python -m bench.classroom_load --students 30 --seconds 60 [--url URL --pids P1,P2 --store URL] [--out FILE.json]
    python -m bench.classroom_load --students 60 --seconds 60 --replicas 2   # through nginx, state in Redis

Without ``--url`` a ``streamlit run`` server is started on a free loopback port with a fresh SQLite
store, and stopped by its PID; ``--replicas N`` starts N of them behind nginx with Redis instead
(``deploy.local.cluster``: deploy/nginx.conf and deploy/redis.conf, as tests/test_scale.py). With
``--url`` (a running server, e.g. ``python -m deploy.local``'s nginx) ``--store`` names the store the
server uses (default: ADVLAB_STORE, else the default SQLite file), to count the stored answers; the
room is closed at the end unless ``--keep-room``.
"""

from __future__ import annotations

import argparse
import asyncio
import html
import os
import random
import re
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

from .browser import streamlit_server
from .load import EventStream, ProtocolSession, _mb, _percentiles, publish, rss_mb

TEACHER_POLL_S = 2.0  # advcore.ui.room_session.TEACHER_POLL_S: the teacher's timer fragments
DATASET, MODEL, ATTACK = "mnist", "mnist-standard", "pgd"
FIRST_IMAGE, FIRST_EPS_K = 0, 25
CHALLENGE_IMAGE = 3  # mnist-standard gets it right, and PGD fools it from 58/255 on
CHALLENGE_CEILING = 0.3  # L∞, the standard MNIST budget (Madry et al. 2018)
ANSWER_K = (58, 76)  # each student's answer eps, k/255, all under the ceiling
LINF, CLEAN = "L∞ of the change", "clean prediction"
VERSION_TEACHER = re.compile(r"Presented view version (\d+)\.")
VERSION_STUDENT = re.compile(r"Following the teacher \(view (\d+)\)")
WARM_TIMEOUT_S = 300  # the first attack on a fresh server (TensorFlow warming up) on a busy 2-core machine
ROOM_CODE = re.compile(r">([A-Z0-9]{6})</div>")
FOLLOW_URL = re.compile(r'const url = "([^"]+)"')
CHALLENGES = re.compile(r'data-challenges="([^"]*)"')
SUBMIT = re.compile(r"ans_(.+)_submit")
REFRESH = "class_refresh"  # advcore.ui.follow_stream.REFRESH_KEY: the hidden button the page's script presses
FRAGMENT_VERSION = re.compile(r'data-version="(\d+)"')
FRAGMENT_METRIC = re.compile(r'data-testid="stMetricLabel"[^>]*>([^<]*)</div><div data-testid="stMetricValue"[^>]*>'
                             r'([^<]*)</div>')


def explore_link(image: int, eps: float) -> str:
    """The Explore link the teacher pastes (the query Explore writes; ``advcore.links`` would import TensorFlow)."""
    return "/?" + urlencode({"dataset": DATASET, "model": MODEL, "image": image, "attack": ATTACK,
                             "eps": f"{eps:.4f}"})


def version_of(tab: ProtocolSession, pattern: re.Pattern) -> int | None:
    found = [int(m.group(1)) for text in tab.texts for m in [pattern.search(text)] if m]
    return found[0] if found else None


def joined_as(tab: ProtocolSession, nick: str) -> bool:
    """Whether the last run showed the Join page's member line, "Room **CODE** · you are **nick**"
    (pages/classroom/join.py; the nickname with its punctuation backslash-escaped, ``ui.escape.plain``)."""
    return any(f"you are **{nick}**" in re.sub(r"\\(.)", r"\1", text) for text in tab.texts)


def follow_phase(c) -> dict:
    """The server's CPU over the follow phase (all joined, the teacher changing the view; no challenge yet):
    percent of one core, and per follower."""
    if not {"follow_start", "follow_end"} <= set(c.marks):
        return {}
    (t0, c0), (t1, c1) = c.marks["follow_start"], c.marks["follow_end"]
    share = 100 * (c1 - c0) / max(t1 - t0, 1e-9)
    return {"follow_phase_s": round(t1 - t0, 1), "follow_phase_cpu_percent": round(share, 1),
            "follow_phase_cpu_per_follower_percent": round(share / max(1, len(c.joined)), 3)}


def cpu_s(pid: int | list[int]) -> float:
    """User + system CPU seconds of a process so far (summed over several)."""
    if isinstance(pid, list):
        return sum(cpu_s(p) for p in pid) if pid else float("nan")
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def fragment_shown(fragment: str) -> tuple[str | None, str | None]:
    """The first metrics of a pushed view fragment (``follow_stream.render``), as a person reads them."""
    first = {}
    for label, value in FRAGMENT_METRIC.findall(fragment):
        first.setdefault(html.unescape(label), html.unescape(value))
    return first.get(LINF), first.get(CLEAN)


def shown(tab: ProtocolSession) -> tuple[str | None, str | None]:
    """The presented view's first metrics on the page (the view comes before any challenge panel)."""
    first = {}
    for label, value in tab.metric_list:
        first.setdefault(label, value)
    return first.get(LINF), first.get(CLEAN)


@dataclass
class Change:
    sent: float  # perf_counter when the teacher's rerun was sent
    version: int
    kind: str
    shown: tuple


@dataclass
class Classroom:
    ws_url: str
    students: int
    seconds: float
    change_every_s: float
    ramp_s: float
    timeout_s: float
    headers: dict | None = None
    password: str = ""
    code: str = ""
    requests: int = 0
    errors: list = field(default_factory=list)
    latencies: dict = field(default_factory=lambda: {k: [] for k in ("setup", "teacher", "poll", "update", "page",
                                                                     "join", "stream", "refresh", "answer",
                                                                     "submit")})
    events: int = 0  # view events received over the students' streams
    changes: list = field(default_factory=list)
    views: dict = field(default_factory=dict)  # version -> the teacher page's (L∞, clean prediction)
    observed: dict = field(default_factory=dict)  # student -> [(time, version, shown)]
    joined: set = field(default_factory=set)
    accepted: dict = field(default_factory=dict)  # nickname -> answer k/255
    refused: list = field(default_factory=list)
    challenge: str = ""
    challenge_started: float = 0.0
    accepted_after_s: list = field(default_factory=list)
    done: set = field(default_factory=set)  # students whose answer was accepted or finally refused, or who broke
    presence: dict = field(default_factory=dict)
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    pid: int | list = field(default_factory=list)  # the server's processes (CPU of the follow phase)
    marks: dict = field(default_factory=dict)  # name -> (perf_counter, server CPU seconds)

    def mark(self, name: str) -> None:
        self.marks[name] = (time.perf_counter(), cpu_s(self.pid) if self.pid else float("nan"))

    async def ask(self, coro, kind: str, timeout_s: float | None = None) -> dict:
        started = time.perf_counter()
        timeout_s = timeout_s or self.timeout_s
        try:
            result = await asyncio.wait_for(coro, timeout_s)
        except asyncio.TimeoutError:
            raise TimeoutError(f"no answer within {timeout_s} s ({kind})") from None
        self.requests += 1
        self.latencies[kind].append(time.perf_counter() - started)
        return result

    @property
    def http_url(self) -> str:
        """The server's http(s) address (the websocket's, without its path)."""
        return self.ws_url.replace("ws", "http", 1).removesuffix("/_stcore/stream")

    def session(self, page: str, query: str = "") -> ProtocolSession:
        """A browser tab opened on ``page``'s link (``/page?query``)."""
        tab = ProtocolSession(self.ws_url, query, self.headers)
        tab.page_name = page
        return tab

    # --- teacher ---------------------------------------------------------------------------------

    async def open_room(self, tab: ProtocolSession) -> None:
        """Teach page: create a room with the form, note the key, present the first view by link (the
        first attack on a fresh server loads the model and compiles the attack: a longer timeout)."""
        await self.ask(tab.run(), "setup")
        tab.state["teach_title"] = ("string_value", f"load {uuid.uuid4().hex[:8]}")
        if "teach_pw" in tab.seen:
            tab.state["teach_pw"] = ("string_value", self.password)
        await self.ask(tab.run(trigger=tab.submits["teach_create"]), "setup")
        for key in ("teach_title", "teach_pw"):
            tab.state.pop(key, None)
        codes = [m.group(1) for text in tab.texts for m in [ROOM_CODE.search(text)] if m]
        if not codes:
            raise RuntimeError(f"the Teach page showed no room code after 'Create a room': {tab.alerts}")
        self.code = codes[0]
        if "teach_key_noted" in tab.seen:
            await self.ask(tab.run(trigger=tab.widgets["teach_key_noted"][0]), "setup")
        await self.present(tab, "link", link=explore_link(FIRST_IMAGE, FIRST_EPS_K / 255), timeout_s=WARM_TIMEOUT_S)

    async def present(self, tab: ProtocolSession, kind: str, *, k: int = 0, image: int = 0, link: str = "",
                      timeout_s: float | None = None) -> None:
        """One change of the presented view, through the presenter's widgets (or the link box)."""
        last = self.changes[-1].version if self.changes else 0
        sent = time.perf_counter()
        if kind == "eps":
            await self.ask(tab.set_eps_k(k, "teach_eps_linf"), "teacher")
        elif kind == "image":
            tab.state[f"teach_image_{DATASET}"] = ("double_value", float(image))
            await self.ask(tab.run(), "teacher")
        else:
            tab.state["teach_link"] = ("string_value", link)
            await self.ask(tab.run(trigger=tab.widgets["teach_link_load"][0]), "setup", timeout_s)
            tab.state.pop("teach_link")
        version = version_of(tab, VERSION_TEACHER)
        if version is None or version <= last:
            raise RuntimeError(f"the teacher's {kind} change presented no new view (version {version} after {last})")
        self.views[version] = shown(tab)
        self.changes.append(Change(sent, version, kind, shown(tab)))

    async def teacher_wait(self, tab: ProtocolSession, seconds: float) -> None:
        """Let ``seconds`` pass as the teacher's browser does: its timer fragments every 2 s."""
        end = time.perf_counter() + seconds
        while (left := end - time.perf_counter()) > 0:
            await asyncio.sleep(min(TEACHER_POLL_S, left))
            if time.perf_counter() >= end:
                break
            for fragment in list(tab.timers):
                await self.ask(tab.run(fragment=fragment), "poll")
                for label, value in tab.metric_list:
                    if label in ("joined", "connected", "following you"):
                        self.presence[label] = int(value)

    async def teacher(self, tab: ProtocolSession, joined: asyncio.Event) -> None:
        rng = random.Random(0)
        await asyncio.wait_for(joined.wait(), self.ramp_s + 3 * self.timeout_s)
        self.mark("follow_start")
        end, step, k, image = time.perf_counter() + self.seconds, 0, FIRST_EPS_K, FIRST_IMAGE
        while time.perf_counter() + self.change_every_s <= end:
            await self.teacher_wait(tab, self.change_every_s)
            step += 1
            if step % 4 == 0:
                image = rng.choice([i for i in range(100) if i != image])
                await self.present(tab, "image", image=image)
            else:
                k = rng.choice([j for j in range(5, 101) if j != k])
                await self.present(tab, "eps", k=k)
        await self.teacher_wait(tab, max(0.0, end - time.perf_counter()))
        self.mark("follow_end")
        # the challenge: its image presented, then the "smallest eps" template with an L∞ ceiling of 0.3
        if image != CHALLENGE_IMAGE:
            await self.present(tab, "image", image=CHALLENGE_IMAGE)
        else:  # a whole-page run, so the challenge form's widgets are the current ones
            await self.ask(tab.run(), "teacher")
        (ceiling,) = [key for key in tab.seen if key.startswith("teach_ch_eps_linf")]
        tab.state[ceiling] = ("double_value", CHALLENGE_CEILING)
        self.challenge_started = time.perf_counter()
        await self.ask(tab.run(trigger=tab.widgets["teach_ch_start"][0]), "teacher")
        started = [m.group(1) for a in tab.alerts for m in [re.match(r"Challenge (\S+) started\.", a)] if m]
        if not started:
            raise RuntimeError(f"the challenge did not start: {tab.alerts}")
        tab.state.pop(ceiling)
        self.challenge = started[0]
        deadline = time.perf_counter() + 3 * self.timeout_s
        while not self.joined <= self.done and time.perf_counter() < deadline:
            await self.teacher_wait(tab, TEACHER_POLL_S)  # the leaderboard fills in
        await self.teacher_wait(tab, TEACHER_POLL_S + 0.1)  # one more look at the counts

    # --- students --------------------------------------------------------------------------------

    async def student(self, i: int, all_joined: asyncio.Event) -> None:
        await asyncio.sleep(i * self.ramp_s / self.students)
        nick = f"student-{i:03d}"
        rng = random.Random(i)
        reader = None
        try:
            async with self.session("join", urlencode({"room": self.code})) as tab:  # the join link
                await self.ask(tab.run(), "page")
                tab.state["class_code"] = ("string_value", self.code)
                tab.state["class_nick_input"] = ("string_value", nick)
                await self.ask(tab.run(trigger=tab.submits["class_join"]), "join")
                for key in ("class_code", "class_nick_input"):
                    tab.state.pop(key)
                if not joined_as(tab, nick):
                    raise RuntimeError(f"not joined: texts {tab.texts[:2]}, alerts {tab.alerts}")
                tab.query = tab.url  # the page's own URL (the room code only; the token is in a cookie)
                element = [body for body in tab.htmls if FOLLOW_URL.search(body)]
                if not element:
                    raise RuntimeError("the Join page showed no follow element")
                self.observe(i, time.perf_counter(), element[0])  # the view the page was drawn with
                # the page's script: EventSource on the stream, with this tab's cookies (the member cookie)
                stream = EventStream(self.http_url + FOLLOW_URL.search(element[0]).group(1), tab.connect_headers())
                started = time.perf_counter()
                if await asyncio.wait_for(stream.open(), self.timeout_s) != 200:
                    raise RuntimeError(f"the event stream refused: {stream.status} {await stream.body()}")
                self.latencies["stream"].append(time.perf_counter() - started)
                reader = stream
                self.joined.add(nick)
                if len(self.joined) == self.students:
                    all_joined.set()
                drawn_with = CHALLENGES.search(element[0]).group(1)  # the challenge state the page shows
                answered = False
                while not self.stop.is_set():
                    try:
                        event = await asyncio.wait_for(stream.next(), 1.0)
                    except asyncio.TimeoutError:
                        continue
                    if event.get("event") == "view":
                        self.events += 1
                        self.observe(i, event["at"], event["data"], int(event["id"]))
                    elif event.get("event") == "challenges" and event["data"] != drawn_with:
                        # the page's script presses the hidden refresh button: the whole page reruns
                        await self.ask(tab.run(trigger=tab.widgets[REFRESH][0]), "refresh")
                        drawn = [body for body in tab.htmls if FOLLOW_URL.search(body)]
                        drawn_with = CHALLENGES.search(drawn[0]).group(1) if drawn else event["data"]
                        submit = [k for k in tab.seen if SUBMIT.fullmatch(k)]
                        if submit and not answered:
                            answered = True
                            await self.answer(tab, nick, rng, SUBMIT.fullmatch(submit[0]).group(1))
                    elif event.get("event") == "end":
                        break
        except Exception as exc:  # a session that cannot start or breaks counts as an error
            self.errors.append(f"{nick}: {exc.__class__.__name__}: {str(exc)[:200]}")
            self.done.add(nick)
        finally:
            if reader is not None:
                stream.close()
            if nick not in self.joined and len(self.joined) + len(self.errors) >= self.students:
                all_joined.set()  # do not keep the teacher waiting for a student that failed

    def observe(self, i: int, when: float, fragment: str, version: int | None = None) -> None:
        """One view the student's page shows: ``fragment`` (the follow element, or a pushed event's data, whose
        id is ``version``); its "view N" caption must name the same version."""
        caption = VERSION_STUDENT.search(fragment)
        box = FRAGMENT_VERSION.search(fragment)
        if version is None and box and int(box.group(1)) == 0:
            return  # drawn before any view was presented
        if caption is None or (version is not None and int(caption.group(1)) != version):
            self.errors.append(f"student {i}: the fragment shows {caption and caption.group(0)}, event {version}")
            return
        self.observed.setdefault(i, []).append((when, int(caption.group(1)), fragment_shown(fragment)))

    async def answer(self, tab: ProtocolSession, nick: str, rng: random.Random, cid: str) -> None:
        """Set this student's eps on challenge ``cid``'s answer panel and press Submit (once more at the
        largest eps if refused)."""
        try:
            for attempt, k in enumerate((rng.randint(*ANSWER_K), ANSWER_K[1])):
                await self.ask(tab.set_eps_k(k, f"ans_{cid}_eps_linf"), "answer")
                await self.ask(tab.run(trigger=tab.widgets[f"ans_{cid}_submit"][0]), "submit")
                if any(alert.startswith("Accepted") for alert in tab.alerts):
                    self.accepted[nick] = k
                    self.accepted_after_s.append(time.perf_counter() - self.challenge_started)
                    return
                self.refused.append(nick)
                if attempt == 1:
                    self.errors.append(f"{nick}: answer at {k}/255 not accepted: {tab.alerts[:2]}")
        finally:
            self.done.add(nick)

    # --- the run -----------------------------------------------------------------------------------

    def follow_latencies(self) -> tuple[list[float], int]:
        """Per (change, student): seconds from the teacher's change to the first run of the student's
        page that showed that version or a later one; and how many such pairs were never shown. The
        metrics the student saw are checked against the teacher's for the same version."""
        samples, missed = [], 0
        for i, seen in self.observed.items():
            for _, version, metrics in seen:
                if version in self.views and metrics != self.views[version]:
                    self.errors.append(f"student {i}: view {version} shows {metrics}, "
                                       f"the teacher's {self.views[version]}")
            joined_at = seen[0][0]
            for change in self.changes[1:]:
                if change.sent < joined_at:
                    continue  # presented before this student joined
                later = [when for when, version, _ in seen if version >= change.version and when >= change.sent]
                if later:
                    samples.append(later[0] - change.sent)
                else:
                    missed += 1
        return samples, missed


async def _run(url: str, pid: int | list[int], students: int, seconds: float, change_every_s: float, ramp_s: float,
               timeout_s: float, store_url: str | None, keep_room: bool, password: str) -> dict:
    from advcore.classroom.store import open_store
    c = Classroom(url.replace("http", "ws", 1) + "/_stcore/stream", students, seconds, change_every_s, ramp_s,
                  timeout_s, password=password, pid=pid)
    store = open_store(store_url)
    report: dict = {"client": "websocket protocol", "students": students, "seconds": seconds,
                    "change_every_s": change_every_s, "ramp_s": ramp_s, "store": repr(store)}
    try:
        async with c.session("teach") as teacher:
            await c.open_room(teacher)
            if store.get_room(c.code) is None:
                raise RuntimeError(f"room {c.code} is not in the store {store!r}: is --store the server's?")
            rss_before, cpu_before = rss_mb(pid), cpu_s(pid)
            started = time.perf_counter()
            all_joined = asyncio.Event()
            tasks = [asyncio.create_task(c.student(i, all_joined)) for i in range(students)]
            try:
                await c.teacher(teacher, all_joined)
            except Exception as exc:
                c.errors.append(f"teacher: {exc.__class__.__name__}: {str(exc)[:200]}")
            c.stop.set()
            await asyncio.gather(*tasks)
            wall = time.perf_counter() - started
            rss_after, cpu_used = rss_mb(pid), cpu_s(pid) - cpu_before
            stored = store.submissions(c.code, c.challenge) if c.challenge else []
        samples, missed = c.follow_latencies()
        stored_nicks = {s["nickname"] for s in stored}
        lat = c.latencies
        last = c.changes[-1].version if c.changes else None
        updated = [i for i, seen in c.observed.items() if any(v == last for _, v, _ in seen)]
        report.update(
            follow_measured="teacher's change sent -> that version's event arriving on the student's stream",
            room=c.code, challenge=c.challenge, joined=len(c.joined), teacher_changes=len(c.changes) - 1,
            followers_updated=len(updated), follow_samples=len(samples), follow_missed=missed,
            **_percentiles("follow_", samples), requests=c.requests, requests_per_s=round(c.requests / wall, 2),
            errors=len(c.errors), error_samples=c.errors[:5], **_percentiles("teacher_change_", lat["teacher"]),
            **_percentiles("poll_", lat["poll"]), **_percentiles("refresh_", lat["refresh"]),
            **_percentiles("submit_", lat["submit"]),
            submissions_accepted=len(c.accepted), submissions_refused=len(c.refused),
            submissions_in_store=len(stored), submissions_lost=len(set(c.accepted) - stored_nicks),
            all_accepted_after_s=round(max(c.accepted_after_s), 2) if c.accepted_after_s else None,
            teacher_saw=c.presence, rss_before_mb=_mb(rss_before), rss_after_mb=_mb(rss_after),
            rss_per_follower_mb=round((rss_after - rss_before) / max(1, len(c.joined)), 2),
            view_events=c.events, **_percentiles("stream_open_", lat["stream"]),
            server_cpu_s=round(cpu_used, 1), server_cpu_percent=round(100 * cpu_used / wall, 1),
            cpu_per_follower_percent=round(100 * cpu_used / wall / max(1, len(c.joined)), 3),
            wall_s=round(wall, 1), **follow_phase(c))
        return report
    finally:
        if c.code and not keep_room:
            store.delete_room(c.code)  # (rooms.close_room would also delete the room's models; it has none)
        store.close()


def run_classroom(students: int, seconds: float, change_every_s: float = 5.0, ramp_s: float = 10.0,
                  timeout_s: float = 60.0, url: str | None = None, pids: list[int] | None = None,
                  store_url: str | None = None, keep_room: bool = False, password: str = "", replicas: int = 0) -> dict:
    """One class over the protocol (module docstring); returns the report. ``url``: a running server (its
    store: ``store_url``, default ADVLAB_STORE or the default SQLite file; ``pids``: its processes, RSS summed);
    ``replicas``: start that many replicas behind nginx with Redis (``deploy.local.cluster``, deploy/'s configs);
    else a server is started with a fresh SQLite store in a temporary folder. What is started is stopped after."""
    env = {"ADVLAB_TEACHER_PASSWORD": password}
    if replicas:
        from deploy.local import cluster, missing_binaries
        if missing_binaries():
            raise RuntimeError(f"--replicas needs {', '.join(missing_binaries())} (apt-get install nginx redis-server)")
        with cluster(replicas, env_extra=env) as c:
            report = asyncio.run(_run(c.url, [r.proc.pid for r in c.replicas], students, seconds, change_every_s,
                                      ramp_s, timeout_s, c.store_url, True, password))
            return {**report, "replicas": replicas}
    if url:
        return asyncio.run(_run(url.rstrip("/"), pids or [], students, seconds, change_every_s, ramp_s, timeout_s,
                                store_url, keep_room, password))
    with tempfile.TemporaryDirectory(prefix="advlab-classroom-load-") as state:
        store = f"sqlite:///{Path(state) / 'classroom.sqlite3'}"
        with streamlit_server({"ADVLAB_STORE": store, "ADVLAB_STATE_DIR": state, **env}) as (url, proc):
            return asyncio.run(_run(url, proc.pid, students, seconds, change_every_s, ramp_s, timeout_s, store,
                                    True, password))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=30)
    parser.add_argument("--seconds", type=float, default=60, help="follow phase; the challenge comes after it")
    parser.add_argument("--change-every", type=float, default=5.0, help="seconds between the teacher's changes")
    parser.add_argument("--ramp", type=float, default=10.0, help="students join over this many seconds")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds one request may take")
    parser.add_argument("--url", default=None, help="load a running server (e.g. nginx) instead of starting one")
    parser.add_argument("--replicas", type=int, default=0, help="start this many replicas behind nginx, with Redis "
                                                                    "(deploy/'s configs, as tests/test_scale.py)")
    parser.add_argument("--pids", default="", help="with --url: comma-separated server PIDs to sum RSS over")
    parser.add_argument("--store", default=None, help="with --url: the server's ADVLAB_STORE (default: this "
                                                      "environment's ADVLAB_STORE, else the default SQLite file)")
    parser.add_argument("--keep-room", action="store_true", help="with --url: leave the room in the store")
    parser.add_argument("--password", default="", help="the server's ADVLAB_TEACHER_PASSWORD, if it sets one")
    parser.add_argument("--out", default=None, help="write the report as JSON")
    args = parser.parse_args()
    import os
    report = run_classroom(args.students, args.seconds, args.change_every, args.ramp, args.timeout, url=args.url,
                           pids=[int(p) for p in args.pids.split(",") if p], store_url=args.store,
                           keep_room=args.keep_room, password=args.password or os.environ.get(
                               "ADVLAB_TEACHER_PASSWORD", ""), replicas=args.replicas)
    publish(report, "bench.classroom_load", args.out)


if __name__ == "__main__":
    main()
