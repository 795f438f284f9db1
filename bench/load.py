"""Load driver: N concurrent Streamlit sessions against the real server on a loopback port.

Why a protocol client: each session opens the server's own websocket (``/_stcore/stream``)
and speaks Streamlit's protobuf protocol exactly as the browser does — a ``rerun_script``
BackMsg with the page hash, the widget states and, for the eps slider, the fragment id —
and reads every ForwardMsg until ``script_finished``. The server does all of its real work
(attacks, Plotly figures, serialisation); only the rendering is left out. Browser pages
cannot be used at 30 sessions here: 30 Chromium renderers running Plotly take the 2 cores
the server needs (a run with pages timed out 18 page loads), so they would measure the
clients, not the server. The browser test (``tests/test_browser.py``) drives the real page.

    python -m bench.load --sessions 30 --seconds 60 --think 3 --ramp 20 [--teacher]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import random
import re
import statistics
import time
from pathlib import Path

from .browser import streamlit_server

EPS_KEY, INDEX_KEY = "eps_linf", "image_index"
FINISHED_OK = {0, 3}  # FINISHED_SUCCESSFULLY, FINISHED_FRAGMENT_RUN_SUCCESSFULLY
FINISHED_EARLY_FOR_RERUN = 2
COOKIE_SCRIPT = re.compile(r'document\.cookie\s*=\s*("(?:[^"\\]|\\.)*")')  # its string literal


def rss_mb(pid: int | list[int]) -> float:
    """Resident memory of a process (or the sum over several: the replicas behind nginx)."""
    if isinstance(pid, list):
        return sum(rss_mb(p) for p in pid) if pid else float("nan")
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class ProtocolSession:
    """One browser tab's worth of protocol: connect, run the page, change widgets."""

    def __init__(self, ws_url: str, query: str, headers: dict | None = None, cookies: dict | None = None):
        self.ws_url, self.query, self.headers = ws_url, query, headers  # headers: e.g. a Cookie
        # The cookies the page set with a script (document.cookie = ...), as the browser keeps them: sent with
        # ``headers``' own Cookie on this session's later connections (``reload``). Pass one dict to several
        # sessions for tabs of one browser.
        self.cookies: dict[str, str] = {} if cookies is None else cookies
        self.page_hash = ""
        self.page_name = ""  # a page's URL path to open on the first run (a link to /join?room=...), as a browser does
        self.widgets: dict[str, tuple[str, str]] = {}  # key -> (widget id, fragment id)
        self.state: dict[str, tuple[str, object]] = {}  # key -> (WidgetState field, value) this client set
        self.pages: dict[str, str] = {}  # url path -> page script hash
        self.submit_id = ""  # the page's form submit button, if any
        self.submits: dict[str, str] = {}  # form key -> its submit button's id
        self.auto_reruns: list[str] = []  # fragments the page asked to rerun on a timer (st.fragment(run_every=))
        self.timers: list[str] = []  # those of them the last whole-page run set (older ones may no longer exist)
        self.alerts: list[str] = []  # st.success/info/warning/error texts of the last run
        self.texts: list[str] = []  # st.markdown/st.caption texts of the last run
        self.htmls: list[str] = []  # st.html bodies of the last run that carry a script (the follow element)
        self.metric_list: list[tuple[str, str]] = []  # the last run's metrics in page order (labels may repeat)
        self.seen: set[str] = set()  # keys of the widgets and charts the last run showed
        self.eps_options: list[str] = []  # the eps slider's labels, as the page shows them
        self.index_max = 0  # the image-index box's largest value (9999 on the full MNIST test set)
        self.url = ""  # the query string the page last wrote (data set, model, image, attack, eps)

    async def __aenter__(self):
        import websockets
        self.ws = await websockets.connect(self.ws_url, subprotocols=["streamlit"], max_size=None, open_timeout=60,
                                          additional_headers=self.connect_headers())
        return self

    async def __aexit__(self, *exc):
        await self.ws.close()

    def connect_headers(self) -> dict | None:
        """The websocket request's headers: ``headers``, with the kept cookies added to its Cookie."""
        headers = dict(self.headers or {})
        given = [headers.pop(name) for name in list(headers) if name.lower() == "cookie"]
        cookie = "; ".join([*given, *(f"{name}={value}" for name, value in self.cookies.items())])
        return {**headers, "Cookie": cookie} if cookie else (headers or None)

    def keep_cookies(self, html: str) -> None:
        """Do what the browser does with a page script's ``document.cookie = "name=value; attributes"``
        (a JSON-style string literal): keep the cookie, or drop it when Max-Age is 0 or less."""
        for literal in COOKIE_SCRIPT.findall(html):
            name_value, *attributes = json.loads(literal).split(";")
            name, _, value = name_value.partition("=")
            ages = [a.split("=", 1)[1].strip() for a in attributes if a.strip().lower().startswith("max-age=")]
            if ages and int(ages[-1]) <= 0:
                self.cookies.pop(name.strip(), None)
            else:
                self.cookies[name.strip()] = value.strip()

    async def reload(self, query: str | None = None) -> None:
        """Reload the tab, as the browser does (its URL, or ``query``) or as it reconnects after the server
        went away: a new websocket with the kept cookies and a new server session. The page's widgets start
        fresh; call ``run`` for its first run (same page)."""
        try:
            await self.ws.close()
        except Exception:
            pass  # already gone with its server
        self.query = self.url if query is None else query
        self.state, self.submit_id, self.submits, self.auto_reruns, self.timers = {}, "", {}, [], []
        self.page_name = ""  # the page to run is the current one (``page_hash``)
        await self.__aenter__()

    async def run(self, fragment: str = "", trigger: str = "") -> dict[str, str]:
        """Send one rerun (``trigger``: a button id pressed with it); return the metrics the page
        showed. Raises on an exception element."""
        from streamlit.proto.BackMsg_pb2 import BackMsg
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
        msg = BackMsg()
        rerun = msg.rerun_script
        rerun.query_string, rerun.page_script_hash, rerun.fragment_id = self.query, self.page_hash, fragment
        rerun.page_name = self.page_name
        for key, (field, value) in self.state.items():
            widget = rerun.widget_states.widgets.add()
            widget.id = self.widgets[key][0]
            if isinstance(value, list):  # sliders send arrays; a select_slider sends the label of its option
                getattr(widget, field).data.extend(value)
            else:  # double_value (number input), string_value (text input), ...
                setattr(widget, field, value)
        if trigger:
            rerun.widget_states.widgets.add(id=trigger, trigger_value=True)
        await self.ws.send(msg.SerializeToString())
        metrics: dict[str, str] = {}
        self.seen, self.alerts, self.metric_list, self.texts, self.htmls = set(), [], [], [], []
        if not fragment:
            self.timers = []
        while True:
            forward = ForwardMsg()
            forward.ParseFromString(await self.ws.recv())
            kind = forward.WhichOneof("type")
            if kind == "new_session":
                self.page_hash = self.page_hash or forward.new_session.page_script_hash
            elif kind == "page_info_changed":
                self.url = forward.page_info_changed.query_string
            elif kind == "auto_rerun":
                if forward.auto_rerun.fragment_id not in self.auto_reruns:
                    self.auto_reruns.append(forward.auto_rerun.fragment_id)
                if forward.auto_rerun.fragment_id not in self.timers:
                    self.timers.append(forward.auto_rerun.fragment_id)
            elif kind == "navigation":
                self.pages = {page.url_pathname: page.page_script_hash for page in forward.navigation.app_pages}
                if self.page_name:  # the page the server resolved from the name runs from now on
                    self.page_hash = forward.navigation.page_script_hash or self.page_hash
            elif kind == "delta" and forward.delta.WhichOneof("type") == "new_element":
                element = forward.delta.new_element
                which = element.WhichOneof("type")
                if which == "exception":
                    raise RuntimeError(f"exception shown: {element.exception.message[:200]}")
                if which == "metric":
                    metrics[element.metric.label] = element.metric.body
                    self.metric_list.append((element.metric.label, element.metric.body))
                if which == "slider" and element.slider.id.endswith(EPS_KEY):
                    self.eps_options = list(element.slider.options)
                if which == "number_input" and element.number_input.id.endswith(INDEX_KEY):
                    self.index_max = int(element.number_input.max)
                if which == "button" and element.button.is_form_submitter:
                    self.submit_id = self.submits[element.button.form_id] = element.button.id
                if which == "alert":
                    self.alerts.append(element.alert.body)
                if which == "markdown":
                    self.texts.append(element.markdown.body)
                if which == "html" and element.html.unsafe_allow_javascript:  # a script the browser runs
                    self.keep_cookies(element.html.body)
                    self.htmls.append(element.html.body)
                widget_id = getattr(getattr(element, which), "id", "")
                if widget_id:
                    key = widget_id.rsplit("-", 1)[-1]
                    self.widgets[key] = (widget_id, forward.delta.fragment_id)
                    self.seen.add(key)
            elif kind == "script_finished":
                if forward.script_finished == FINISHED_EARLY_FOR_RERUN:  # st.rerun(): the next run follows
                    self.timers = []  # (the whole page's, with st.rerun()'s default scope) and sets its timers
                    continue
                if forward.script_finished not in FINISHED_OK:
                    raise RuntimeError(f"script finished with status {forward.script_finished}")
                return metrics

    async def set_eps(self, option: int) -> dict[str, str]:
        """Move the slider to its ``option``-th value (one per grey level for L∞)."""
        self.state[EPS_KEY] = ("string_array_value", [self.eps_options[option]])
        return await self.run(fragment=self.widgets[EPS_KEY][1])

    async def set_eps_k(self, k: int, key: str = EPS_KEY) -> dict[str, str]:
        """Move the L∞ slider ``key`` to k/255 (its option labelled "... (k/255)") and rerun."""
        option = [o for o in self.eps_options if o.endswith(f"({k}/255)")]
        if len(option) != 1:
            raise ValueError(f"the eps slider has no single option {k}/255: {self.eps_options[:3]}...")
        self.state[key] = ("string_array_value", option)
        return await self.run(fragment=self.widgets[key][1])

    async def set_image(self, index: int) -> dict[str, str]:
        self.state[INDEX_KEY] = ("double_value", float(index))
        return await self.run()

    async def open_page(self, path: str) -> dict[str, str]:
        """Go to another page of the app (its widgets start fresh, as after a click in the sidebar)."""
        self.page_hash, self.page_name, self.state, self.submit_id = self.pages[path], "", {}, ""
        return await self.run()


class EventStream:
    """A browser's ``EventSource``, over a raw asyncio HTTP/1.1 connection: ``GET url`` with ``Accept:
    text/event-stream``, the tab's cookies (``ProtocolSession.connect_headers``: the member cookie the page set) and
    ``Last-Event-ID`` on a reconnect; reads the (chunked) body and parses its events. ``next`` returns one event
    as a dict (``id``, ``event``, ``data``, and ``at``: perf_counter when its last byte arrived); no comments."""

    def __init__(self, url: str, headers: dict | None = None, last_event_id: str = ""):
        from urllib.parse import urlsplit
        self.url, self.parts, self.headers = url, urlsplit(url), dict(headers or {})
        self.last_event_id, self.status, self.response_headers = last_event_id, 0, {}
        self._buffer, self._chunked, self._left = b"", False, 0

    async def __aenter__(self):
        await self.open()
        return self

    async def __aexit__(self, *exc):
        self.close()

    async def open(self) -> int:
        """Connect and read the response head; the HTTP status (200: the stream is open)."""
        host, port = self.parts.hostname, self.parts.port or 80
        self.reader, self.writer = await asyncio.open_connection(host, port)
        path = self.parts.path + (f"?{self.parts.query}" if self.parts.query else "")
        lines = [f"GET {path} HTTP/1.1", f"Host: {self.parts.netloc}", "Accept: text/event-stream",
                 "Cache-Control: no-cache", *(f"{k}: {v}" for k, v in self.headers.items())]
        if self.last_event_id:
            lines.append(f"Last-Event-ID: {self.last_event_id}")
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        await self.writer.drain()
        head = (await self.reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        self.status = int(head[0].split()[1])
        self.response_headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in head[1:] if h)}
        self._chunked = "chunked" in self.response_headers.get("transfer-encoding", "")
        return self.status

    async def body(self, limit: int = 65536) -> str:
        """The rest of a short response (a refusal's text)."""
        length = int(self.response_headers.get("content-length", "0") or 0)
        return (await self.reader.readexactly(min(length, limit))).decode() if length else ""

    async def _more(self) -> None:
        if not self._chunked:
            data = await self.reader.read(65536)
        else:
            if self._left == 0:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                if size == 0:
                    data = b""
                else:
                    self._left = size
            if self._left:
                data = await self.reader.read(self._left)
                self._left -= len(data)
                if self._left == 0:
                    await self.reader.readexactly(2)  # the chunk's CRLF
        if not data:
            raise ConnectionError("the event stream ended")
        self._buffer += data

    async def next(self) -> dict:
        """The next event (blocks until one arrives; ConnectionError when the stream ends)."""
        while True:
            self._buffer = self._buffer.replace(b"\r\n", b"\n")
            while b"\n\n" not in self._buffer:
                await self._more()
                self._buffer = self._buffer.replace(b"\r\n", b"\n")
            block, self._buffer = self._buffer.split(b"\n\n", 1)
            event: dict = {"event": "message", "data": []}
            for line in block.decode().split("\n"):
                if not line or line.startswith(":"):
                    continue
                name, _, value = line.partition(":")
                value = value[1:] if value.startswith(" ") else value
                if name == "data":
                    event["data"].append(value)
                elif name in ("id", "event", "retry"):
                    event[name] = value
            if "id" in event:
                self.last_event_id = event["id"]
            if event["data"] or event["event"] != "message":
                event.update(data="\n".join(event["data"]), at=time.perf_counter())
                return event

    def close(self) -> None:
        try:
            self.writer.close()
        except Exception:
            pass


async def _teacher(ws_url: str, seconds: float, stats: dict, timeout_s: float, first_n: int = 500) -> None:
    """One heavy user next to the class: runs sweeps on the Sweep page back to back (its defaults:
    every MNIST model, FGSM and PGD-20, 9 eps values), each a new request because the number of
    test images changes, so the server's result store cannot answer it."""
    try:
        async with ProtocolSession(ws_url, "") as session:
            await asyncio.wait_for(session.run(), timeout_s)
            await asyncio.wait_for(session.open_page("sweep"), timeout_s)
            end, n = time.perf_counter() + seconds, first_n
            while time.perf_counter() < end:
                n += 10
                session.state["sweep_n"] = ("double_array_value", [float(n)])
                started = time.perf_counter()
                await asyncio.wait_for(session.run(trigger=session.submit_id), 10 * timeout_s)
                if "sweep_accuracy" not in session.seen:
                    stats["errors"].append(f"teacher: the sweep over {n} images showed no chart")
                stats["sweeps"].append(round(time.perf_counter() - started, 1))
    except Exception as exc:
        stats["errors"].append(f"teacher: {exc.__class__.__name__}: {str(exc)[:200]}")


async def _session(ws_url: str, seconds: float, stats: dict, index: int, think_s: float, delay_s: float,
                   timeout_s: float) -> None:
    """A student: opens the page, then moves eps (3 of 4 moves) or picks another image, looking at
    each result for ``think_s`` seconds on average."""
    await asyncio.sleep(delay_s)
    rng = random.Random(index)
    try:
        async with ProtocolSession(ws_url, f"image={index % 50}") as session:
            first = await asyncio.wait_for(session.run(), timeout_s)
            if "L∞ of the change" not in first or not session.index_max:
                raise RuntimeError("the first run showed no attack result or no image index")
            stats["images"] = session.index_max + 1
            end, step = time.perf_counter() + seconds, 0
            while time.perf_counter() < end:
                step += 1
                await asyncio.sleep(think_s * rng.uniform(0.5, 1.5))
                started = time.perf_counter()
                kind = "image" if step % 4 == 0 else "eps"
                if kind == "image":
                    image = rng.randint(0, session.index_max)
                    change, expect = session.set_image(image), "clean prediction"
                else:  # a new eps on the slider (the L-inf slider's k-th option is k/255), up to 100/255
                    k = rng.randint(1, 100)
                    change, expect = session.set_eps(k), "L∞ of the change"
                try:
                    metrics = await asyncio.wait_for(change, timeout_s)
                except asyncio.TimeoutError:
                    stats["errors"].append(f"session {index}: no answer within {timeout_s} s")
                    break
                stats["requests"] += 1
                stats["latencies"][kind].append(time.perf_counter() - started)
                if expect not in metrics:
                    stats["errors"].append(f"session {index}: the rerun showed no {expect!r}")
                elif kind == "eps" and not float(metrics[expect]) <= k / 255 + 1e-4:
                    stats["errors"].append(f"session {index}: L-inf {metrics[expect]} above the eps {k}/255")
                elif kind == "image" and f"image={image}&" not in session.url + "&":
                    stats["errors"].append(f"session {index}: asked for image {image}, the page shows {session.url}")
    except Exception as exc:  # a session that cannot start or breaks counts as an error
        stats["errors"].append(f"session {index}: {exc.__class__.__name__}: {str(exc)[:200]}")


def _stats() -> dict:
    return {"latencies": {"eps": [], "image": []}, "errors": [], "requests": 0, "sweeps": []}


def _percentiles(prefix: str, seconds: list[float]) -> dict:
    lat = sorted(seconds) or [float("nan")]
    return {f"{prefix}p50_s": round(statistics.median(lat), 3),
            f"{prefix}p95_s": round(lat[max(0, math.ceil(0.95 * len(lat)) - 1)], 3),  # nearest rank
            f"{prefix}max_s": round(lat[-1], 3)}


def _mb(value: float) -> int | None:
    return None if value != value else round(value)  # NaN: not measured


async def _run(url: str, pid: int | list[int], sessions: int, seconds: float, think_s: float, ramp_s: float,
               timeout_s: float, teacher: bool = False, sweep_n: int = 500) -> dict:
    ws_url = url.replace("http", "ws", 1) + "/_stcore/stream"
    warm = _stats()
    await _session(ws_url, 0, warm, 0, 0, 0, timeout_s)  # loads the models once, as a teacher's check would
    rss_before = rss_mb(pid)
    stats = _stats()
    started = time.perf_counter()
    heavy = [_teacher(ws_url, seconds, stats, timeout_s, sweep_n)] if teacher else []
    await asyncio.gather(*heavy, *(_session(ws_url, seconds, stats, i, think_s, i * ramp_s / sessions, timeout_s)
                                   for i in range(sessions)))
    wall = time.perf_counter() - started
    rss_peak = rss_mb(pid)
    await asyncio.sleep(5)
    lat = stats["latencies"]
    return {"client": "websocket protocol", "test_images": warm.get("images"), "sessions": sessions,
            "seconds": seconds, "think_s": think_s,
            "ramp_s": ramp_s, "requests": stats["requests"], "requests_per_s": round(stats["requests"] / wall, 2),
            "errors": len(stats["errors"]), "error_samples": stats["errors"][:5],
            **_percentiles("", lat["eps"] + lat["image"]), **_percentiles("eps_", lat["eps"]),
            **_percentiles("image_", lat["image"]), "rss_before_mb": _mb(rss_before),
            "rss_with_sessions_mb": _mb(rss_peak), "rss_after_mb": _mb(rss_mb(pid)),
            **({"teacher_sweeps_s": stats["sweeps"]} if teacher else {}), "warmup_errors": warm["errors"]}


def run_load(sessions: int, seconds: float, think_s: float = 3.0, ramp_s: float = 0.0, timeout_s: float = 60,
             teacher: bool = False, url: str | None = None, pids: list[int] | None = None, sweep_n: int = 500) -> dict:
    """Latency counts from sending the changed widget to the server's ``script_finished``; ``think_s``
    (mean, uniform 0.5-1.5x) is the pause between a result and the next move; sessions open one after
    another over ``ramp_s`` seconds; ``teacher`` adds one session running sweeps back to back (the first over
    ``sweep_n`` test images, then 10 more each time, so none is a cached result). ``url``: a
    server already running (e.g. nginx in front of replicas, ``python -m deploy.local``) instead of a new
    one; ``pids``: its processes, whose RSS is summed (none: RSS is not measured)."""
    if url:
        return asyncio.run(_run(url.rstrip("/"), pids or [], sessions, seconds, think_s, ramp_s, timeout_s, teacher,
                                sweep_n))
    with streamlit_server() as (url, proc):
        return asyncio.run(_run(url, proc.pid, sessions, seconds, think_s, ramp_s, timeout_s, teacher, sweep_n))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=30)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--think", type=float, default=3.0, help="mean pause between moves, seconds")
    parser.add_argument("--ramp", type=float, default=20.0, help="sessions open over this many seconds")
    parser.add_argument("--teacher", action="store_true", help="add one session running sweeps back to back")
    parser.add_argument("--url", default=None, help="load a running server (e.g. nginx) instead of starting one")
    parser.add_argument("--pids", default="", help="with --url: comma-separated server PIDs to sum RSS over")
    parser.add_argument("--out", default=None, help="write the report as JSON")
    args = parser.parse_args()
    report = run_load(args.sessions, args.seconds, think_s=args.think, ramp_s=args.ramp, teacher=args.teacher,
                      url=args.url, pids=[int(p) for p in args.pids.split(",") if p])
    publish(report, "bench.load", args.out)


def publish(report: dict, module: str, out: str | None) -> None:
    """Add the command, machine and date to a load report, print it, and write it to ``out`` if given."""
    import datetime as dt
    import os
    import sys

    from advcore import cpu
    report.update(command=f"python -m {module} " + " ".join(sys.argv[1:]),
                  machine=f"CPU, {os.cpu_count()} cores, {cpu.model()}",
                  date=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"))
    print(json.dumps(report, indent=2))
    if out:
        Path(out).write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
