"""Past one server, here without Docker: redis-server with deploy/redis.conf, two ``streamlit run
app.py`` replicas on loopback ports, and nginx with deploy/nginx.conf templated for them
(``deploy.local.cluster``: the config in deploy/, not a copy). Sessions speak Streamlit's websocket
protocol through nginx (``bench.load.ProtocolSession``). Names contain replica, redis, nginx or
scale: ``pytest -k "replica or redis or nginx or scale"``. Needs ``apt-get install nginx
redis-server``; with ADVCORE_REQUIRE_SCALE=1 (CI) a missing binary is an error, not a skip."""

import asyncio
import json
import os
import re
import signal
import time
import urllib.request
import uuid

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
def scale(tmp_path_factory):
    with cluster(2) as c:
        yield c


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
    back with every acknowledged write."""
    from advcore.classroom.store import open_store
    store = open_store(scale.store_url)
    code = "T" + uuid.uuid4().hex[:5].upper()
    try:
        assert store.create_room(code, {"title": "scale test"})
        assert store.add_member(code, "ada", {})
        challenge = store.add_challenge(code, {"kind": "min-eps"})
        sid = store.add_submission(code, challenge, {"nickname": "ada", "eps": 0.1})
        assert store.set_view(code, {"dataset": "mnist", "eps": 0.1}) == 1
    finally:
        store.close()
    scale.redis.send_signal(signal.SIGKILL)
    scale.redis.wait()
    scale.start_redis()  # same port, same data folder
    store = open_store(scale.store_url)
    try:
        assert store.get_room(code)["title"] == "scale test"
        assert [m["nickname"] for m in store.members(code)] == ["ada"]
        assert [s["id"] for s in store.submissions(code, challenge)] == [sid]
        assert store.get_view(code) == (1, {"dataset": "mnist", "eps": 0.1})
    finally:
        store.delete_room(code)
        store.close()


def test_replica_killed_mid_class_its_students_reconnect_to_the_survivor(scale):
    """SIGKILL one replica while a student is on it and another on the survivor: the survivor keeps
    answering, the dead replica's student reconnects through nginx (same cookie, the page's own URL)
    to the survivor and sees the same image, and new sessions are served."""
    per_replica = routes_per_replica(scale)
    victim, survivor = scale.replicas[0], scale.replicas[1]
    timeline: dict[str, float] = {}

    async def scenario():
        async with session(scale, per_replica[survivor.address]) as stay:
            await stay.run()
            moved = session(scale, per_replica[victim.address], "image=7")
            await moved.__aenter__()
            await moved.run()
            before = await moved.set_eps(5)
            query = moved.url  # what the browser's address bar holds: data set, model, image, attack, eps
            assert "image=7" in query, query
            t0 = time.perf_counter()
            os.kill(victim.proc.pid, signal.SIGKILL)
            victim.proc.wait()
            timeline["killed"] = 0.0
            with pytest.raises((ConnectionClosed, OSError)):  # the dead replica's websocket is gone
                await asyncio.wait_for(moved.set_eps(9), 30)
            timeline["student_saw_the_drop_s"] = time.perf_counter() - t0
            await moved.__aexit__(None, None, None)
            async with session(scale, per_replica[victim.address], query) as back:
                shown = await asyncio.wait_for(back.run(), 60)
                timeline["student_back_s"] = time.perf_counter() - t0
                for label in ("clean prediction", "adversarial prediction", LINF):  # the same view
                    assert shown[label] == before[label], (label, shown, before)
            for k in (3, 20, 40):  # the survivor's student never noticed
                answer = await asyncio.wait_for(stay.set_eps(k), 30)
                assert float(answer[LINF]) <= k / 255 + 1e-4
            timeline["survivor_answered_s"] = time.perf_counter() - t0
            for _ in range(3):  # new students, with no cookie yet, are all served
                async with session(scale) as fresh:
                    assert LINF in await asyncio.wait_for(fresh.run(), 60)
            timeline["new_sessions_served_s"] = time.perf_counter() - t0

    asyncio.run(scenario())
    assert get(scale.url + "/_stcore/health")[:2][0] == 200
    after = [r for r in scale.requests(per_replica[victim.address]) if r["request"].startswith("GET /_stcore/stream")]
    assert after[-1]["status"] == 101 and after[-1]["upstreams"][-1] == survivor.address, after
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "scale-replica-kill.json").write_text(json.dumps({k: round(v, 3) for k, v in timeline.items()},
                                                                  indent=2))
    print("replica kill timeline (s):", timeline)
