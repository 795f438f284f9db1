"""Issue 30, items 3, 4, 5 and 9: each test performs the attack and checks the refusal.

3. limits a reload cannot reset (keyed by the client address), the teacher password's server-wide
   limit, "control a room again" with one answer and a limit before the lookup;
4. a flood of wrong codes from one address does not lock out another;
5. look-alike nicknames refused, and what people typed shown as plain text;
9. no member token in the join page's link, while a reload (the cookie) rejoins.
"""

import html
import json
import shutil
from pathlib import Path
from urllib.parse import quote, unquote

import pytest
from markdown_it import MarkdownIt
from streamlit.testing.v1 import AppTest

from advcore.classroom import challenges, rooms
from advcore.classroom.rooms import ClassroomError
from advcore.ui import limits
from tests import test_classroom as _classroom
from tests.conftest import APP, TIMEOUT

# the store fixtures of test_classroom: every store test runs on SQLite and on Redis
redis_url, store_factory, store = _classroom.redis_url, _classroom.store_factory, _classroom.store

A, B = "203.0.113.7", "198.51.100.20"


def refusal(call) -> str:
    with pytest.raises(ClassroomError) as err:
        call()
    return str(err.value)


# --- 3: limits keyed by what a reload cannot change ----------------------------------------------

def test_a_reload_does_not_reset_the_limits(store):
    """Every fresh session (a reload) from one address still counts against that address."""
    code, key = rooms.create_room(store, session="teacher", address=B)
    for i in range(rooms.WRONG_CODE_ADDRESS_LIMIT[0]):
        assert "No open room" in refusal(lambda i=i: rooms.find_room(store, "ZZZZZZ", f"reload{i}", A, now=1000.0))
    assert "Too many wrong codes" in refusal(lambda: rooms.find_room(store, "ZZZZZZ", "reload-new", A, now=1000.0))
    for i in range(rooms.ENTER_ADDRESS_LIMIT[0]):
        with pytest.raises(ClassroomError):
            rooms.check_teacher(store, code, "guess", session=f"reload{i}", address=A, now=1000.0)
    assert "Too many" in refusal(lambda: rooms.check_teacher(store, code, key, "fresh", A, now=1000.0))
    for i in range(rooms.CREATE_ADDRESS_LIMIT[0]):
        rooms.create_room(store, session=f"reload{i}", address=A, now=1000.0)
    assert "Too many rooms" in refusal(lambda: rooms.create_room(store, session="fresh", address=A, now=1000.0))
    # a small per-session limit holds too, and other addresses are not blocked
    for i in range(rooms.JOIN_LIMIT[0]):
        rooms.join(store, code, f"kid{i}", session="one-tab", address=B, now=1000.0)
    assert "Too many join" in refusal(lambda: rooms.join(store, code, "kid99", "one-tab", B, now=1000.0))
    assert rooms.check_teacher(store, code, key, session="teacher", address=B, now=1000.0)["code"] == code


def test_joins_per_address_are_limited_across_sessions(store, monkeypatch):
    monkeypatch.setattr(rooms, "JOIN_ADDRESS_LIMIT", (5, 60))
    code, _ = rooms.create_room(store)
    for i in range(5):
        rooms.join(store, code, f"kid{i}", session=f"reload{i}", address=A, now=1000.0)
    assert "Too many join" in refusal(lambda: rooms.join(store, code, "kid9", "reload9", A, now=1000.0))
    assert rooms.join(store, code, "kid9", session="s", address=B, now=1000.0)


def test_submissions_are_limited_per_member_not_per_session(store):
    """The pages key a member's submission limit by room and nickname (``ui.member_key``), not by session."""
    from advcore.ui.classroom import member_key
    code, _ = rooms.create_room(store)
    _, nick, _ = rooms.join(store, code, "ada")
    cid = challenges.start(store, code, "quiz", question="Q?", choices=["a", "b"], answer=1)
    for _ in range(challenges.SUBMIT_LIMIT[0]):
        with pytest.raises(ClassroomError):
            challenges.submit(store, code, cid, nick, choice=7, session=member_key(code, nick), now=50.0)
    assert "Too many" in refusal(lambda: challenges.submit(store, code, cid, nick, choice=1,
                                                           session=member_key(code, nick), now=50.0))


def test_sixty_wrong_teacher_passwords_from_sixty_sessions_end_in_too_many(store, monkeypatch):
    monkeypatch.setenv(rooms.PASSWORD_ENV, "s3cret")
    t = 3840.0 * 1000  # the start of every server-wide window
    answers = [refusal(lambda i=i: rooms.create_room(store, password=f"guess{i}", session=f"s{i}",
                                                     address=f"10.0.{i}.1", now=t + i / 10))
               for i in range(60)]
    assert all("needs the teacher password" in a for a in answers[:rooms.PASSWORD_SERVER_LIMITS[0][0]])
    assert all("Too many teacher-password attempts on this server" in a for a in answers[20:])
    assert "minutes" in answers[-1]  # the longest window that overflowed: far more than a minute
    # while locked, the right password is refused too (no oracle), and the lock ends
    assert "Too many" in refusal(lambda: rooms.create_room(store, password="s3cret", session="t", address=B,
                                                           now=t + 70))
    assert rooms.create_room(store, password="s3cret", session="t", address=B, now=t + 3840 + 1)[0]


def test_teacher_password_wait_grows(store, monkeypatch):
    monkeypatch.setenv(rooms.PASSWORD_ENV, "s3cret")
    t = 3840.0 * 1000
    first = [refusal(lambda i=i: rooms.create_room(store, password="x", session=f"s{i}", address=f"10.1.{i}.1",
                                                   now=t)) for i in range(11)][-1]
    assert "try again in a minute" in first
    later = [refusal(lambda i=i: rooms.create_room(store, password="x", session=f"u{i}", address=f"10.2.{i}.1",
                                                   now=t + 61)) for i in range(10)][-1]
    assert "try again in 4 minutes" in later or "try again in 3 minutes" in later, later


def test_right_passwords_never_lock_out_other_teachers(store, monkeypatch):
    """A busy server: 60 teachers creating rooms with the right password in one minute all get a room."""
    monkeypatch.setenv(rooms.PASSWORD_ENV, "s3cret")
    t = 3840.0 * 1000
    made = [rooms.create_room(store, password="s3cret", session=f"t{i}", address=f"10.3.{i}.1", now=t + i)[0]
            for i in range(60)]
    assert len(set(made)) == 60


def test_control_a_room_again_gives_one_answer(store):
    code, key = rooms.create_room(store)
    other = "ZZZZZZ" if code != "ZZZZZZ" else "YYYYYY"
    missing = refusal(lambda: rooms.check_teacher(store, other, key, session="s1", address=A))
    wrong = refusal(lambda: rooms.check_teacher(store, code, key + "x", session="s2", address=A))
    closed_code, closed_key = rooms.create_room(store)
    rooms.close_room(store, closed_code)
    closed = refusal(lambda: rooms.check_teacher(store, closed_code, closed_key, session="s3", address=A))
    assert missing == wrong == closed == rooms.NO_ROOM_OR_KEY


def test_client_address_trusts_forwarded_for_only_from_a_proxy():
    loopback = limits.trusted_proxies(limits.DEFAULT_TRUSTED_PROXIES)
    assert limits.client_address(None, "", loopback) == "127.0.0.1"  # Streamlit: None is loopback
    assert limits.client_address(None, f"{A}", loopback) == A  # nginx on the same machine
    assert limits.client_address(None, f"6.6.6.6, {A}", loopback) == A  # a forged first hop is ignored
    assert limits.client_address(B, A, loopback) == B  # a client that is not a proxy cannot choose its key
    docker = limits.trusted_proxies("172.16.0.0/12, 127.0.0.1")
    assert limits.client_address("172.18.0.3", f"{A}", docker) == A
    assert limits.client_address("2001:db8::1:2", "", loopback) == "2001:db8::/64"  # one host's IPv6 range
    assert limits.client_address("::ffff:203.0.113.7", "", loopback) == A


# --- 4: one client's flood slows that client, not the class ----------------------------------------

def test_wrong_code_flood_from_one_address_does_not_block_another(store):
    code, _ = rooms.create_room(store)
    refused = [refusal(lambda i=i: rooms.join(store, "QQQQQQ", f"bot{i}", session=f"bot{i}", address=A,
                                              now=1000.0 + i / 15))
               for i in range(300)]  # 300 fresh sessions from one address in 20 s
    assert "Too many" in refused[-1]
    typo = code[:5] + ("Z" if code[-1] != "Z" else "Y")
    assert "No open room" in refusal(lambda: rooms.join(store, typo, "ada", "ada", B, now=1019.0))
    assert rooms.join(store, code, "ada", session="ada", address=B, now=1019.5)[1] == "ada"


# --- 5: look-alike nicknames, and plain text ------------------------------------------------------

@pytest.mark.parametrize("lookalike", ["Аlice", "Ａlice", "__Alice__", "_alice_", "ALICE", "Alice."])
def test_lookalike_nicknames_are_refused(store, lookalike):
    code, _ = rooms.create_room(store)
    rooms.join(store, code, "Alice", session="a")
    assert "looks like" in refusal(lambda: rooms.join(store, code, lookalike, session="b"))
    assert [m["nickname"] for m in store.members(code)] == ["Alice"]
    assert rooms.join(store, code, "Alicia", session="c")[1] == "Alicia"


def test_lookalike_first_keeps_its_own_name(store):
    """Whoever joins first keeps the name as typed; the plain one is then the look-alike."""
    code, _ = rooms.create_room(store)
    assert rooms.join(store, code, "Аlice", session="a")[1] == "Аlice"
    assert "looks like" in refusal(lambda: rooms.join(store, code, "Alice", session="b"))


@pytest.mark.parametrize("typed", ["__Alice__", "**bold** <b>x</b>", "[link](javascript:alert(1))", "# big",
                                   ":red[x] $x^2$", "a\\_b `c`"])
def test_plain_shows_what_was_typed(typed):
    from advcore.ui.classroom import plain
    rendered = MarkdownIt("commonmark").enable(["table", "strikethrough"]).render(plain(typed)).strip()
    assert rendered == f"<p>{html.escape(typed, quote=False)}</p>"


def _leaderboard_page(s, code, cid, nick):
    from advcore.classroom import challenges
    from advcore.ui import classroom as ui
    challenge = s.get_challenge(code, cid)
    ui.leaderboard_table(s, code, challenge)
    ui.answer_quiz(s, code, nick, challenges.public(challenge))


def test_leaderboard_and_quiz_render_nicknames_and_text_as_plain_text(tmp_path):
    from advcore.classroom.store import SQLiteStore
    s = SQLiteStore(tmp_path / "classroom.sqlite3")
    code, _ = rooms.create_room(s)
    nick = rooms.join(s, code, "__Alice__")[1]
    rooms.join(s, code, "Bob")
    cid = challenges.start(s, code, "quiz", question="**Which** _model_?", choices=["__a__", "b"], answer=0)
    challenges.submit(s, code, cid, nick, choice=0)
    s.update_challenge(code, cid, status="revealed")
    at = AppTest.from_function(_leaderboard_page, args=(s, code, cid, nick), default_timeout=60).run()
    assert not at.exception, [e.value for e in at.exception]
    cells = list(at.table[0].value["nickname"])
    assert cells == ["\\_\\_Alice\\_\\_"]  # st.table renders Markdown: the cell is escaped, shown as typed
    assert "You answered **\\_\\_a\\_\\_**" in at.markdown[0].value


# --- 9: the member token is not in the link; a reload rejoins --------------------------------------

@pytest.fixture
def fresh_store(tmp_path, monkeypatch):
    from advcore.ui import classroom as ui
    monkeypatch.setenv("ADVLAB_STATE_DIR", str(tmp_path))
    monkeypatch.delenv("ADVLAB_STORE", raising=False)
    ui._store.clear()
    yield ui.store()
    ui._store.clear()


def join_page(query=None):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params.update(query or {})
    at.run()
    at.switch_page("pages/classroom/join.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def run(at):
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.mark.needs_data
def test_member_token_stays_out_of_the_link_and_a_reload_rejoins(fresh_store, monkeypatch):
    from advcore.ui import classroom as ui
    code, _ = rooms.create_room(fresh_store, "class")
    student = join_page({"room": code})
    student.text_input(key="class_nick_input").input("ada")
    student.button[0].click()
    run(student)
    assert student.session_state.class_nick == "ada"
    link = {k: str(v) for k, v in student.query_params.items()}
    assert code in link["room"] and not {"nick", "token"} & set(link)  # the link: the room code, no token
    scripts = [h.value for h in student.html if "document.cookie" in h.value]
    assert len(scripts) == 1 and "SameSite=Strict" in scripts[0] and "Path=/" in scripts[0]
    cookie = json.loads(scripts[0].split("document.cookie = ", 1)[1].split(" + ", 1)[0])
    name, value = cookie.split(";", 1)[0].split("=", 1)
    assert name == ui.member_cookie_name(code)
    assert json.loads(unquote(value))[0] == "ada"
    token = json.loads(unquote(value))[1]
    assert token not in str(link) and not any(token in str(v) for v in student.query_params.values())
    run(student)  # the next run no longer carries the token anywhere in the page
    assert not [h for h in student.html if "document.cookie" in h.value]

    # a reload: a new session whose browser sends the cookie
    monkeypatch.setattr(ui, "request_cookies", lambda: {name: value})
    again = join_page({"room": code})
    assert again.session_state.class_room == code and again.session_state.class_nick == "ada"
    assert not again.warning
    # someone else opening the same link (no cookie) gets the join form, not ada's membership
    monkeypatch.setattr(ui, "request_cookies", lambda: {})
    other = join_page({"room": code})
    assert "class_room" not in other.session_state
    # leaving deletes the cookie and does not rejoin from the one this session was opened with
    monkeypatch.setattr(ui, "request_cookies", lambda: {name: value})
    again.button(key="class_leave").click()
    run(again)
    assert "class_room" not in again.session_state
    assert any("Max-Age=0" in h.value for h in again.html)
    # a forged cookie does not rejoin
    forged = quote(json.dumps(["ada", token + "x"]), safe="")
    monkeypatch.setattr(ui, "request_cookies", lambda: {name: forged})
    assert "class_room" not in join_page({"room": code}).session_state


def test_member_cookie_round_trip(monkeypatch):
    from advcore.ui import classroom as ui
    script = ui.member_cookie_script("ab-cd23", "Zoë ada", "tok_en-1")
    cookie = json.loads(script.split("document.cookie = ", 1)[1].split(" + ", 1)[0])
    name, value = cookie.split(";", 1)[0].split("=", 1)
    assert name == "advlab_member_ABCD23" and ";" not in value and " " not in value
    monkeypatch.setattr(ui, "request_cookies", lambda: {name: value})
    assert ui.member_from_cookie("ABCD23") == ("Zoë ada", "tok_en-1")
    monkeypatch.setattr(ui, "request_cookies", lambda: {name: "garbage%"})
    assert ui.member_from_cookie("ABCD23") is None
    assert "Max-Age=0" in ui.member_cookie_script("ABCD23")


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.mark.browser
@pytest.mark.needs_data
@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Chromium is not installed")
def test_reload_rejoins_from_the_cookie_in_a_browser(tmp_path):
    from playwright.sync_api import sync_playwright

    from advcore.classroom.store import SQLiteStore
    from bench.browser import CHROMIUM_ARGS, streamlit_server
    store_ = SQLiteStore(Path(tmp_path) / "classroom.sqlite3")
    code, _ = rooms.create_room(store_, "class")
    with streamlit_server({"ADVLAB_STATE_DIR": str(tmp_path), "ADVLAB_STORE": ""}) as (url, _), \
            sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_context().new_page()
        page.set_default_timeout(120_000)
        page.goto(f"{url}/join?room={code}")
        page.get_by_label("Nickname", exact=False).fill("ada")
        page.get_by_role("button", name="Join").click()
        page.get_by_text("you are").first.wait_for()
        page.wait_for_timeout(1500)
        assert "token" not in page.url and "nick=" not in page.url
        cookies = {c["name"]: c for c in page.context.cookies()}
        assert f"advlab_member_{code}" in cookies and cookies[f"advlab_member_{code}"]["sameSite"] == "Strict"
        page.reload()
        page.get_by_text("you are").first.wait_for()
        assert "ada" in page.get_by_text("you are").first.inner_text()
        stranger = browser.new_context().new_page()  # the same link, another browser: the join form
        stranger.goto(page.url)
        stranger.get_by_label("Nickname", exact=False).wait_for(timeout=120_000)
        browser.close()
