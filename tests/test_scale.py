"""Past one server, here without Docker: redis-server with deploy/redis.conf, two ``streamlit run
app.py`` replicas on loopback ports, and nginx with deploy/nginx.conf templated for them
(``deploy.local.cluster``: the config in deploy/, not a copy). Sessions speak Streamlit's websocket
protocol through nginx (``bench.load.ProtocolSession``). Names contain replica, redis, nginx or
scale: ``pytest -k "replica or redis or nginx or scale"``. Needs ``apt-get install nginx
redis-server``; with ADVCORE_REQUIRE_SCALE=1 (CI) a missing binary is an error, not a skip."""

import asyncio
import hashlib
import json
import os
import re
import signal
import time
import urllib.request
import uuid
from urllib.parse import unquote

import pytest
from websockets.exceptions import ConnectionClosed

from bench.load import ProtocolSession
from deploy.local import cluster, missing_binaries

from .conftest import ROOT

pytestmark = [pytest.mark.scale, pytest.mark.needs_data]
ARTIFACTS = ROOT / "test-artifacts"
LINF = "L∞ of the change"

if missing_binaries():
    if os.environ.get("ADVCORE_REQUIRE_SCALE") == "1":
        raise RuntimeError(f"ADVCORE_REQUIRE_SCALE=1 but {', '.join(missing_binaries())} is missing "
                           "(apt-get install nginx redis-server)")
    pytest.skip(f"{', '.join(missing_binaries())} not installed (apt-get install nginx redis-server); "
                "scale tests skipped", allow_module_level=True)


@pytest.fixture(scope="module")
def scale():
    with cluster(2) as c:
        yield c


@pytest.fixture(scope="module")
def loop():
    """One event loop for the module, so the classroom's websockets stay open from test to test."""
    loop = asyncio.new_event_loop()
    yield loop
    tabs = [t for v in CLASS.values() for t in (v if isinstance(v, list) else [v]) if isinstance(t, ProtocolSession)]
    for tab in tabs:
        close_stream(tab)
        loop.run_until_complete(tab.__aexit__(None, None, None))
    if "store" in CLASS:
        CLASS["store"].close()
    CLASS.clear()
    loop.close()


CLASS: dict = {}  # the class the classroom test starts and the replica-kill test continues


def get(url: str, route: str | None = None) -> tuple[int, dict, bytes]:
    request = urllib.request.Request(url, headers={"Cookie": f"advlab_route={route}"} if route else {})
    with urllib.request.urlopen(request, timeout=30) as r:
        return r.status, r.headers, r.read()


def ws_url(c) -> str:
    return c.url.replace("http", "ws", 1) + "/_stcore/stream"


def session(c, route: str | None = None, query: str = "") -> ProtocolSession:
    return ProtocolSession(ws_url(c), query, headers={"Cookie": f"advlab_route={route}"} if route else None)


def replica_of(c, route: str) -> str:
    """The replica that answers ``route`` (one plain GET through nginx, read back from its log)."""
    get(c.url + "/", route)
    for _ in range(100):  # nginx logs a request just after its response has gone out
        if c.requests(route):
            return c.requests(route)[-1]["upstreams"][-1]
        time.sleep(0.02)
    raise AssertionError(f"nginx logged no request for route {route}")


def routes_per_replica(c) -> dict[str, str]:
    """One route cookie for each replica: replica address -> route."""
    found: dict[str, str] = {}
    while len(found) < len(c.replicas):
        route = uuid.uuid4().hex
        found.setdefault(replica_of(c, route), route)
    return found


def test_scale_compose_runs_the_configs_these_tests_run():
    """deploy/compose.yaml mounts the nginx.conf and redis.conf the cluster here uses, points the
    replicas at the redis service and port, and builds the image whose port nginx's upstream names.
    (Text checks: PyYAML is not a dependency; `docker compose config` is the full check.)"""
    from deploy.local import DEPLOY, UPSTREAM_LINE
    compose = (DEPLOY / "compose.yaml").read_text()
    for line in ("- ./nginx.conf:/etc/nginx/nginx.conf:ro", "- ./redis.conf:/usr/local/etc/redis/redis.conf:ro",
                 'command: ["redis-server", "/usr/local/etc/redis/redis.conf"]', "- redis-data:/data",
                 "ADVLAB_STORE: redis://redis:6379/0", "- user-models:/home/advlab/user-models",
                 "ADVCORE_USER_MODELS: /home/advlab/user-models", "context: ..", "dockerfile: Dockerfile"):
        assert line in compose, line
    assert re.findall(r"^  (app|nginx|redis):$", compose, re.M) == ["app", "nginx", "redis"]
    assert "port 6379" in (DEPLOY / "redis.conf").read_text().splitlines()
    assert "appendonly yes" in (DEPLOY / "redis.conf").read_text().splitlines()
    assert UPSTREAM_LINE.search((DEPLOY / "nginx.conf").read_text())  # server app:8501 = the service and port
    assert "EXPOSE 8501" in (ROOT / "Dockerfile").read_text()


def test_nginx_serves_the_app_and_its_health_check(scale):
    status, headers, body = get(scale.url + "/")
    assert status == 200 and b'<div id="root">' in body
    cookie = headers.get("Set-Cookie", "")
    assert re.match(r"advlab_route=[0-9a-f]{32}; Path=/; HttpOnly", cookie), cookie
    status, headers, _ = get(scale.url + "/", "fixed")
    assert status == 200 and headers.get("Set-Cookie") is None  # a browser with the cookie keeps it
    script = re.search(rb'src="\.?/?(static/js/[^"]+\.js)"', body)
    assert script, "the page names no script bundle"
    status, _, bundle = get(f"{scale.url}/{script.group(1).decode()}")  # larger than nginx's buffers
    assert status == 200 and len(bundle) > 100_000
    status, _, body = get(scale.url + "/_stcore/health")
    assert (status, body) == (200, b"ok")


def test_nginx_carries_a_websocket_session_and_keeps_each_browser_on_one_replica(scale):
    per_replica = routes_per_replica(scale)  # fresh random cookies reach both replicas
    assert set(per_replica) == {r.address for r in scale.replicas}
    for address, route in per_replica.items():
        for _ in range(5):  # sticky: every request with one cookie reaches the same replica
            get(scale.url + "/", route)
        assert {r["upstreams"][-1] for r in scale.requests(route)} == {address}

    async def explore(route):
        async with session(scale, route) as s:
            first = await s.run()
            moved = await s.set_eps(12)
        return first, moved

    for address, route in per_replica.items():
        first, moved = asyncio.run(explore(route))
        assert LINF in first and float(moved[LINF]) <= 12 / 255 + 1e-4
        upgrade = [r for r in scale.requests(route) if r["request"].startswith("GET /_stcore/stream")]
        assert upgrade and upgrade[-1]["status"] == 101 and upgrade[-1]["upstreams"] == [address], upgrade


def test_redis_restart_keeps_rooms_and_submissions_with_the_deploy_config(scale):
    """deploy/redis.conf's append-only file: even a SIGKILLed redis-server (no shutdown save) comes
    back with every acknowledged write, and a client that was connected (as each replica's store
    is) goes on working after the restart."""
    from advcore.classroom.store import open_store
    store = open_store(scale.store_url)
    code = "T" + uuid.uuid4().hex[:5].upper()
    try:
        assert store.create_room(code, {"title": "scale test"})
        assert store.add_member(code, "ada", {})
        challenge = store.add_challenge(code, {"kind": "min-eps"})
        sid = store.add_submission(code, challenge, {"nickname": "ada", "eps": 0.1})
        assert store.set_view(code, {"dataset": "mnist", "eps": 0.1}) == 1
        scale.redis.send_signal(signal.SIGKILL)
        scale.redis.wait()
        scale.start_redis()  # same port, same data folder
        fresh = open_store(scale.store_url)
        for client in (fresh, store):
            assert client.get_room(code)["title"] == "scale test"
            assert [m["nickname"] for m in client.members(code)] == ["ada"]
            assert [s["id"] for s in client.submissions(code, challenge)] == [sid]
            assert client.get_view(code) == (1, {"dataset": "mnist", "eps": 0.1})
        fresh.close()
    finally:
        store.delete_room(code)
        store.close()


async def answered(coro, timeout_s: float = 90):
    return await asyncio.wait_for(coro, timeout_s)


async def open_session(c, route: str | None, page: str = "", query: str = "") -> ProtocolSession:
    """A browser tab through nginx with the ``route`` cookie, on ``page`` (its first run done)."""
    tab = session(c, route, query)
    await tab.__aenter__()
    await answered(tab.run())
    if page:
        tab.query = query
        await answered(tab.open_page(page))
    return tab


async def set_eps(tab: ProtocolSession, key: str, k: int) -> dict:
    """Move the select slider ``key`` to k/255 (the option labelled "(k/255)") and rerun."""
    option = [o for o in tab.eps_options if o.endswith(f"({k}/255)")]
    assert len(option) == 1, (k, tab.eps_options)
    tab.state[key] = ("string_array_value", option)
    return await answered(tab.run(fragment=tab.widgets[key][1]))


def first_metric(tab: ProtocolSession, label: str) -> str | None:
    """The first metric ``label`` of the tab's last run: on the Join page the presented view comes
    before any challenge's own result."""
    return next((value for name, value in tab.metric_list if name == label), None)


def shown_on_page(tab: ProtocolSession, label: str) -> str | None:
    """Metric ``label`` of the presented view the Join page's last whole run drew (its follow element)."""
    from bench.classroom_load import FRAGMENT_METRIC
    for body in tab.htmls:
        for name, value in FRAGMENT_METRIC.findall(body):
            if name == label:
                return value
    return None


async def follow_until(tab: ProtocolSession, label: str, value: str, timeout_s: float = 30) -> float:
    """Until the tab's follow stream pushes a view with metric ``label`` = ``value``, read it as the page's
    EventSource does (``advcore.ui.follow_stream``: ``GET /_advlab/follow/CODE/events`` through nginx with the
    tab's cookies, the member cookie included); a stream that breaks (its replica died) is opened again after
    the 1 s the stream asks for, with Last-Event-ID, as EventSource does. Returns the seconds that took (a
    (re)connect gets the current view at once)."""
    from bench.classroom_load import FOLLOW_URL, fragment_shown
    from bench.load import EventStream
    started = time.perf_counter()
    if label == LINF and getattr(tab, "last_view", (None,))[0] == value:
        return 0.0  # the page shows it already
    while True:
        if time.perf_counter() - started > timeout_s:
            raise AssertionError(f"{label} never showed {value} (last: {getattr(tab, 'last_view', None)})")
        stream = getattr(tab, "events", None)
        try:
            if stream is None:
                path = next(FOLLOW_URL.search(b).group(1) for b in tab.htmls + getattr(tab, "follow_htmls", [])
                            if FOLLOW_URL.search(b))
                tab.follow_htmls = [b for b in tab.htmls if FOLLOW_URL.search(b)] or tab.follow_htmls
                http = tab.ws_url.replace("ws", "http", 1).removesuffix("/_stcore/stream")
                stream = EventStream(http + path, tab.connect_headers(), getattr(tab, "last_event", ""))
                assert await answered(stream.open(), 10) == 200, (stream.status, await stream.body())
                tab.events = stream
            event = await answered(stream.next(), max(0.1, timeout_s - (time.perf_counter() - started)))
        except (ConnectionError, OSError, asyncio.IncompleteReadError):
            tab.events = None
            await asyncio.sleep(1.0)  # the stream's retry
            continue
        if event.get("event") == "view":
            tab.last_event, tab.last_view = event["id"], fragment_shown(event["data"])
            if tab.last_view[0] == value if label == LINF else value in event["data"]:
                return time.perf_counter() - started


async def refresh_on_challenge(tab: ProtocolSession, timeout_s: float = 30) -> None:
    """Read the tab's follow stream until it says the room's challenges changed (``event: challenges`` naming
    another state than the page was drawn with), then press the page's hidden refresh button as its script does
    (one whole run of the page, which draws the challenge)."""
    from bench.classroom_load import CHALLENGES, FOLLOW_URL, REFRESH
    drawn = next(CHALLENGES.search(b).group(1) for b in tab.htmls if FOLLOW_URL.search(b))
    while True:
        event = await answered(tab.events.next(), timeout_s)
        if event.get("event") == "challenges" and event["data"] != drawn:
            break
    await answered(tab.run(trigger=tab.widgets[REFRESH][0]))


def close_stream(tab: ProtocolSession) -> None:
    if getattr(tab, "events", None) is not None:
        tab.events.close()
        tab.events = None


def linf(k: int) -> str:
    return f"{k / 255:.4f}"


def member_cookie(tab: ProtocolSession, code: str) -> list | None:
    """[nickname, member token] from the cookie the Join page's script set for room ``code`` in this tab's
    browser (advcore.ui.room_session.member_cookie_script), or None."""
    raw = tab.cookies.get(f"advlab_member_{code}")
    return json.loads(unquote(raw)) if raw else None


def token_of(store, code: str, nick: str, tab: ProtocolSession) -> str:
    """The tab's member token of ``nick``, checked against the hash the store keeps for that member."""
    (_, token), member = member_cookie(tab, code), store.get_member(code, nick)
    assert token and member and hashlib.sha256(token.encode()).hexdigest() == member["token_hash"], (token, member)
    return token


def test_classroom_across_replicas_teacher_on_one_students_on_the_other(scale, loop):
    """A room created through replica A is joined through replica B (via Redis); students on B follow
    the teacher's eps change and answer the teacher's challenge, and the answer is stored."""
    from advcore.classroom import follow
    from advcore.classroom.store import open_store
    routes = routes_per_replica(scale)
    a, b = scale.replicas[1].address, scale.replicas[0].address  # the teacher's and the students' replicas
    title = f"scale {uuid.uuid4().hex[:8]}"
    store = open_store(scale.store_url)
    CLASS.update(store=store, routes=routes, teacher_replica=a, student_replica=b)

    async def scenario():
        teacher = CLASS["teacher"] = await open_session(scale, routes[a], "teach")
        teacher.state["teach_title"] = ("string_value", title)
        await answered(teacher.run(trigger=teacher.submits["teach_create"]))
        (room,) = [r for r in store.list_rooms() if r.get("title") == title]
        code = CLASS["code"] = room["code"]
        view = follow.make_view("mnist", "mnist-standard", "pgd", 80 / 255, image=3)
        teacher.state["teach_link"] = ("string_value", follow.explore_link(view, scale.url))
        await answered(teacher.run(trigger=teacher.widgets["teach_link_load"][0]))
        version, presented = store.get_view(code)
        assert presented["model"] == "mnist-standard" and presented["image"] == 3, presented

        students = []
        for nick in ("ada", "grace"):
            tab = await open_session(scale, routes[b], "join")
            tab.state["class_code"] = ("string_value", code.lower())  # codes are typed in any case
            tab.state["class_nick_input"] = ("string_value", nick)
            await answered(tab.run(trigger=tab.submits["class_join"]))
            assert tab.url == f"room={code}", tab.url  # the link: the room code only, never the token
            assert member_cookie(tab, code) == [nick, token_of(store, code, nick, tab)], tab.cookies
            assert f"you are **{nick}**" in " ".join(tab.texts), tab.texts
            assert shown_on_page(tab, LINF) == linf(80), (tab.htmls, tab.alerts)  # the view it was drawn with
            students.append(tab)
        CLASS["students"] = students
        assert [m["nickname"] for m in store.members(code)] == ["ada", "grace"]

        await set_eps(teacher, "teach_eps_linf", 60)  # the teacher moves eps on replica A
        assert store.get_view(code)[1]["eps"] == pytest.approx(60 / 255)
        CLASS["follow_s"] = [await follow_until(tab, LINF, linf(60)) for tab in students]

        (ceiling,) = [k for k in teacher.seen if k.startswith("teach_ch_eps_linf")]  # the form's eps box
        teacher.state[ceiling] = ("double_value", 60 / 255)  # template: smallest eps, this ceiling
        await answered(teacher.run(trigger=teacher.widgets["teach_ch_start"][0]))
        (challenge,) = store.challenges(code)
        CLASS["challenge"] = challenge["id"]
        ada = students[0]
        await refresh_on_challenge(ada)  # the stream says the challenges changed: the page reruns
        key = f"ans_{challenge['id']}_eps_linf"
        assert key in ada.widgets, sorted(ada.widgets)
        await set_eps(ada, key, 58)
        await answered(ada.run(trigger=ada.widgets[f"ans_{challenge['id']}_submit"][0]))
        assert any(alert.startswith("Accepted") for alert in ada.alerts), ada.alerts
        (entry,) = store.submissions(code, challenge["id"])
        assert entry["nickname"] == "ada" and entry["norm"] <= 58 / 255 + 1e-6, entry

    loop.run_until_complete(scenario())
    print("teacher change -> students' pages (s):", [round(s, 2) for s in CLASS["follow_s"]])


def test_replica_killed_mid_class_its_students_reconnect_to_the_survivor(scale, loop):
    """SIGKILL the students' replica mid-class: the teacher's replica keeps answering; each student
    reconnects through nginx (same cookie, the page's own URL) to the survivor, is back in the same
    room and view and follows the next change; the accepted submission is still there; an Explore
    tab shows the same example again; new sessions are served."""
    if "students" not in CLASS:
        pytest.fail("the classroom test did not set up the class this test continues")
    store, code, routes = CLASS["store"], CLASS["code"], CLASS["routes"]
    victim = next(r for r in scale.replicas if r.address == CLASS["student_replica"])
    survivor = CLASS["teacher_replica"]
    teacher, students = CLASS["teacher"], CLASS["students"]
    submitted = store.submissions(code, CLASS["challenge"])
    timeline: dict[str, float] = {}

    async def scenario():
        explorer = await open_session(scale, routes[victim.address], query="image=7")
        before = await set_eps(explorer, [k for k in explorer.widgets if k.endswith("eps_linf")][0], 5)
        assert "image=7" in explorer.url, explorer.url
        t0 = time.perf_counter()
        os.kill(victim.proc.pid, signal.SIGKILL)
        victim.proc.wait()
        for tab in (*students, explorer):
            with pytest.raises((ConnectionClosed, OSError)):  # the dead replica's websockets are gone
                await answered(tab.run(fragment=tab.timers[0] if tab.timers else ""), 30)
            await tab.__aexit__(None, None, None)
        async def to_the_end(stream):  # what it had sent before, then the break
            while True:
                await stream.next()

        for tab in students:  # their event streams went with the replica
            with pytest.raises((ConnectionError, OSError, asyncio.IncompleteReadError)):
                await answered(to_the_end(tab.events), 30)
        timeline["students_saw_the_drop_s"] = time.perf_counter() - t0
        await set_eps(teacher, "teach_eps_linf", 70)  # the survivor never stopped answering
        timeline["teacher_moved_eps_s"] = time.perf_counter() - t0
        for tab in students:  # each page's EventSource reconnects by itself, through nginx, to the survivor
            back_in = await follow_until(tab, LINF, linf(70), timeout_s=10)
            assert back_in <= 3, f"a follower took {back_in:.1f} s to follow again on the survivor"
        timeline["students_stream_following_again_s"] = time.perf_counter() - t0

        back = []
        for tab, nick in zip(students, ("ada", "grace")):  # the browser reconnects to the same page, URL, cookies
            assert tab.url == f"room={code}" and member_cookie(tab, code)[0] == nick, (tab.url, tab.cookies)
            assert tab.page_hash == tab.pages["join"]  # page hashes come from the script path: same on every replica
            await tab.reload()  # a new websocket with the route and member cookies, to the survivor
            await answered(tab.run())
            assert not tab.alerts, tab.alerts  # rejoined from the cookie's token, no warning
            assert f"you are **{nick}**" in " ".join(tab.texts), tab.texts  # the same nickname, not the join form
            await follow_until(tab, LINF, linf(70))  # same room, the teacher's current view
            timeline[f"{nick}_following_again_s"] = time.perf_counter() - t0
            timeline[f"{nick}_back_s"] = time.perf_counter() - t0
            back.append(tab)
        CLASS["students"] = back
        again = session(scale, routes[victim.address], explorer.url)
        async with again:
            shown = await answered(again.run())
        for label in ("clean prediction", "adversarial prediction", LINF):  # the same example
            assert shown[label] == before[label], (label, shown, before)
        timeline["explorer_back_s"] = time.perf_counter() - t0

        await set_eps(teacher, "teach_eps_linf", 40)
        for tab in back:  # following again, now on the survivor
            await follow_until(tab, LINF, linf(40))
        timeline["students_followed_next_change_s"] = time.perf_counter() - t0
        for _ in range(3):  # new students, with no cookie yet, are all served
            async with session(scale) as fresh:
                assert LINF in await answered(fresh.run())
        timeline["new_sessions_served_s"] = time.perf_counter() - t0

    loop.run_until_complete(scenario())
    assert store.submissions(code, CLASS["challenge"]) == submitted != []  # no accepted submission lost
    assert {m["nickname"] for m in store.members(code)} == {"ada", "grace"}  # rejoined, not joined again
    assert get(scale.url + "/_stcore/health")[:2][0] == 200
    streams = [r for r in scale.requests(routes[victim.address]) if r["request"].startswith("GET /_stcore/stream")]
    assert streams[-1]["status"] == 101 and streams[-1]["upstreams"][-1] == survivor, streams[-1]
    ARTIFACTS.mkdir(exist_ok=True)
    timeline = {k: round(v, 3) for k, v in timeline.items()}
    (ARTIFACTS / "scale-replica-kill.json").write_text(json.dumps(timeline, indent=2))
    print("replica kill timeline (s after SIGKILL):", timeline)


def test_redis_restarted_mid_class_the_class_goes_on(scale, loop):
    """SIGKILL redis-server under the running class (the surviving replica connected to it): after
    the restart the room, members and accepted submission are there, and the teacher's next change
    still reaches the students."""
    if "students" not in CLASS:
        pytest.fail("the classroom tests did not set up the class this test continues")
    store, code = CLASS["store"], CLASS["code"]
    submitted, members = store.submissions(code, CLASS["challenge"]), store.members(code)
    scale.redis.send_signal(signal.SIGKILL)
    scale.redis.wait()
    scale.start_redis()

    async def scenario():
        await set_eps(CLASS["teacher"], "teach_eps_linf", 33)
        for tab in CLASS["students"]:
            await follow_until(tab, LINF, linf(33))

    loop.run_until_complete(scenario())
    assert store.submissions(code, CLASS["challenge"]) == submitted
    assert [m["nickname"] for m in store.members(code)] == [m["nickname"] for m in members]
