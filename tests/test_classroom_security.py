"""Issue 30's attacks on the classroom and the server, each performed and refused (one or more regression
tests per item 1-9):

1. rooms own their stored images; 2. user model ids are reserved and never overwritten; 3. limits a reload
cannot reset (keyed by the client address), the teacher password's server-wide back-off, "control a room
again" with one answer; 4. a flood of wrong codes from one address does not lock out another; 5. look-alike
nicknames refused, typed text shown as plain text; 6. CSV formula injection; 7. one answer per member, kept
by the store; 8. a request over the work budget is refused before anything runs (the rest of the heavy-work
limits: tests/test_heavy_work.py); 9. no member token in the join page's link, while a reload rejoins.

Every store test runs on SQLite and on Redis (the fixtures of tests/test_classroom.py; CI sets
ADVCORE_REQUIRE_REDIS=1 so the Redis half never skips there). No data sets or trained models except where
marked: an untrained tiny MNIST model, random images, and stand-ins for training.
"""

import csv
import html
import io
import json
import os
import shutil
import threading
import time
from pathlib import Path
from urllib.parse import quote, unquote

import numpy as np
import pytest
from markdown_it import MarkdownIt
from streamlit.testing.v1 import AppTest

from advcore import attacks, heavy, zoo
from advcore.classroom import challenges, queue, rooms
from advcore.classroom.rooms import ClassroomError
from advcore.classroom.store import SQLiteStore
from advcore.errors import ModelError
from advcore.ui import limits
from tests import test_classroom as _classroom
from tests.conftest import APP, TIMEOUT

# the fixtures and helpers of test_classroom: every store test runs on SQLite and on Redis
image, model, redis_url, store, store_factory = (_classroom.image, _classroom.model, _classroom.redis_url,
                                                 _classroom.store, _classroom.store_factory)
pgd, pred = _classroom.pgd, _classroom.pred


@pytest.fixture
def user_models(tmp_path, monkeypatch):
    folder = tmp_path / "user-models"
    folder.mkdir()
    monkeypatch.setenv(zoo.USER_MODELS_ENV, str(folder))
    return folder


def run_at_once(target, count: int) -> None:
    """``target(i)`` for i in range(count), each in its own thread, all started before any is joined."""
    threads = [threading.Thread(target=target, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def write_model(folder, model_id, weights=b"weights"):
    (folder / f"{model_id}.keras").write_bytes(weights)
    (folder / f"{model_id}.json").write_text(f'{{"id": "{model_id}"}}')


# --- 1. rooms own their images ------------------------------------------------------------------

def min_eps_room(store, model, x, label, nick="ann"):
    code, _ = rooms.create_room(store)
    rooms.join(store, code, nick)
    cid = challenges.start(store, code, "min-eps", model_for=lambda _: model, dataset="mnist", model="tiny",
                           x=x, label=label, norm="linf", eps_max=0.5)
    return code, cid


def test_item1_closing_a_room_keeps_the_image_another_room_uses(store, model, image, user_models):
    """Two rooms challenge on the same image (stored once, by content); closing room A (or its expiry) must
    not delete room B's image: B's students still answer. Once no room uses it, it is deleted."""
    x, label = image
    a, ca = min_eps_room(store, model, x, label)
    b, cb = min_eps_room(store, model, x, label)
    shared = store.get_challenge(a, ca)["image_id"]
    assert store.get_challenge(b, cb)["image_id"] == shared
    kept = store.put_image(x, room=None)  # stored outside any room: kept for good
    assert kept == shared
    rooms.close_room(store, a)
    assert np.array_equal(store.get_image(shared), x)
    adv = pgd(model, x, label, 0.5)
    assert challenges.submit(store, b, cb, "ann", x_adv=adv, model_for=lambda _: model)["correct"]
    assert rooms.expire_rooms(store, idle_s=60, now=store.get_room(b)["touched"] + 61) == [b]
    assert np.array_equal(store.get_image(shared), x), "room=None keeps it"

    c, cc = min_eps_room(store, model, np.clip(x * 0.5, 0, 1), pred(model, np.clip(x * 0.5, 0, 1)))
    d, cd = min_eps_room(store, model, np.clip(x * 0.5, 0, 1), pred(model, np.clip(x * 0.5, 0, 1)))
    only_rooms = store.get_challenge(c, cc)["image_id"]
    rooms.close_room(store, d)
    assert store.get_image(only_rooms) is not None
    rooms.close_room(store, c)
    assert store.get_image(only_rooms) is None, "no open room uses it: deleted"


def test_item1_an_answer_to_a_challenge_whose_image_is_gone_is_refused_clearly(store, model):
    code, _ = rooms.create_room(store)
    rooms.join(store, code, "ann")
    cid = store.add_challenge(code, {"kind": "min-eps", "status": "open", "dataset": "mnist", "model": "tiny",
                                     "image_id": "img-gone", "label": 0, "norm": "linf", "eps": 0.5})
    with pytest.raises(ClassroomError, match="no longer stored"):
        challenges.submit(store, code, cid, "ann", x_adv=np.zeros((28, 28, 1), np.float32),
                          model_for=lambda _: model)


UI_SCRIPT = """
import streamlit as st
from advcore.classroom.store import SQLiteStore
from advcore.ui import student_panel, teacher_panel
s = SQLiteStore({path!r})
student_panel.answer_image_challenge(s, {code!r}, "ann", s.get_challenge({code!r}, {cid!r}))
teacher_panel.teacher_challenge(s, {code!r}, s.get_challenge({code!r}, {cid!r}))
st.write("the page goes on")
"""


def test_item1_a_page_whose_stored_image_is_gone_says_so_and_keeps_running(tmp_path):
    from streamlit.testing.v1 import AppTest
    s = SQLiteStore(tmp_path / "classroom.sqlite3")
    code, _ = rooms.create_room(s)
    rooms.join(s, code, "ann")
    cid = s.add_challenge(code, {"kind": "min-eps", "status": "open", "dataset": "mnist", "model": "mnist-standard",
                                 "image_id": "img-gone", "label": 0, "norm": "linf", "eps": 0.5})
    s.add_submission(code, cid, {"nickname": "ann", "correct": True, "norm": 0.1, "pred": 3,
                                 "image_id": "img-gone-too"})
    at = AppTest.from_string(UI_SCRIPT.format(path=str(s.path), code=code, cid=cid), default_timeout=120).run()
    at.toggle(key=f"best_{cid}").set_value(True).run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("cannot be answered" in e.value and "no longer stored" in e.value for e in at.error)
    assert any("no longer stored" in w.value for w in at.warning)
    assert "the page goes on" in [m.value for m in at.markdown]


# --- 2. user model ids never collide or get overwritten --------------------------------------------

def test_item2_a_model_id_is_reserved_when_queued_and_refused_to_anyone_else(store, user_models):
    a, _ = rooms.create_room(store)
    b, _ = rooms.create_room(store)
    first = queue.enqueue(store, a, "ann", "user-ann-first", {})
    assert store.model_reservation("user-ann-first")["room"] == a
    with pytest.raises(ClassroomError, match="taken by a student in another room"):
        queue.enqueue(store, b, "ann", "user-ann-first", {})  # the same nickname in another room
    with pytest.raises(ClassroomError, match="taken by ann in this room"):
        queue.enqueue(store, a, "bob", "user-ann-first", {})
    with pytest.raises(ClassroomError, match="taken by a student in another room"):
        queue.enqueue(store, None, "guest-1a2b3c", "user-ann-first", {})
    queue.cancel(store, first)
    assert queue.enqueue(store, a, "ann", "user-ann-first", {})  # its owner may queue it again
    queue.enqueue(store, None, "guest-1a2b3c", "user-guest-net", {})
    with pytest.raises(ClassroomError, match="outside a room"):
        queue.enqueue(store, a, "cat", "user-guest-net", {})


def test_item2_reservations_race_one_owner_wins(store_factory):
    stores = [store_factory() for _ in range(8)]
    won, barrier = [], threading.Barrier(8)

    def reserve(i):
        barrier.wait()
        if stores[i].reserve_model("user-race", f"R{i}", "ann"):
            won.append(i)

    run_at_once(reserve, 8)
    assert len(won) == 1 and stores[0].model_reservation("user-race")["room"] == f"R{won[0]}"


def test_item2_an_existing_user_model_is_never_replaced(store, user_models, monkeypatch):
    """alice-net was trained outside any room (its files exist, no reservation: an older server); a guest
    naming a model alike is refused, and a job that reaches the writing step anyway replaces nothing."""
    write_model(user_models, "user-alice-net", b"alice's weights")
    with pytest.raises(ClassroomError, match="user-alice-net exists already"):
        queue.enqueue(store, None, "guest-ffffff", "user-alice-net", {})
    with pytest.raises(ClassroomError, match="exists already"):
        queue.enqueue(store, "ROOMAB", "alice", "user-alice-net", {})

    from advcore import train_runner

    class Split:
        x, y, class_names = np.zeros((4, 28, 28, 1), np.float32), np.arange(4), [str(c) for c in range(10)]

        def __len__(self):
            return 4

    def fake_train(cfg, folder, **kw):
        (folder / f"{cfg.model_id}.keras").write_bytes(b"guest's weights")
        return object(), type("State", (), {"stopped": ""})()

    monkeypatch.setattr(train_runner.train, "train", fake_train)
    monkeypatch.setattr(train_runner.data, "load", lambda *a: Split())
    monkeypatch.setattr(train_runner, "logits_of", lambda m, x: np.eye(10)[: len(x)])  # right on every image
    monkeypatch.setattr(train_runner.cards, "build_card", lambda *a, **kw: {"id": "user-alice-net"})
    config = {"model_id": "user-alice-net", "dataset": "mnist", "architecture": "cnn-tiny", "recipe": "standard"}
    with pytest.raises(ModelError, match="user-alice-net.keras exists already"):
        train_runner.train_job({"config": config}, lambda: False, {})
    assert (user_models / "user-alice-net.keras").read_bytes() == b"alice's weights"
    assert (user_models / "user-alice-net.json").read_text() == '{"id": "user-alice-net"}'
    assert sorted(p.name for p in user_models.iterdir()) == ["user-alice-net.json", "user-alice-net.keras"]
    config["model_id"] = "user-new-net"
    monkeypatch.setattr(train_runner.cards, "build_card", lambda *a, **kw: {"id": "user-new-net"})
    train_runner.train_job({"config": config}, lambda: False, {})
    assert (user_models / "user-new-net.keras").read_bytes() == b"guest's weights"
    assert len(list(user_models.iterdir())) == 4, "no work folder left behind"


def test_item2_a_model_card_appearing_mid_write_is_not_replaced(tmp_path, user_models):
    work = tmp_path / "work"
    work.mkdir()
    write_model(work, "user-late")
    (user_models / "user-late.json").write_text("someone else's card")
    with pytest.raises(ModelError, match="user-late.json exists already"):
        zoo.add_user_model(work, "user-late")
    assert [p.name for p in user_models.iterdir()] == ["user-late.json"], "our weights were taken back"
    assert (user_models / "user-late.json").read_text() == "someone else's card"


def test_item2_closing_a_room_deletes_only_the_models_its_own_jobs_created(store, user_models):
    a, _ = rooms.create_room(store)
    b, _ = rooms.create_room(store)
    queue.enqueue(store, a, "ann", "user-ann-first", {})
    queue.enqueue(store, None, "guest-1a2b3c", "user-guest-net", {})
    for model_id in ("user-ann-first", "user-guest-net"):
        write_model(user_models, model_id)
    for model_id in ("user-ann-first", "user-guest-net"):  # room B's jobs name them (an older server queued them)
        store.enqueue_job({"room": b, "nickname": "ann", "model_id": model_id})
    rooms.close_room(store, b)
    assert len(list(user_models.iterdir())) == 4, "room B deleted nobody else's model"
    rooms.close_room(store, a)
    assert sorted(p.name for p in user_models.iterdir()) == ["user-guest-net.json", "user-guest-net.keras"]
    assert store.model_reservation("user-ann-first") is None, "the closed room's name is free again"
    assert store.model_reservation("user-guest-net")["room"] is None


# --- 6. CSV formula injection ---------------------------------------------------------------------

def test_item6_csv_export_neutralises_formula_cells(store):
    code, _ = rooms.create_room(store)
    evil = ["-2-3", "=cmd|' /C calc'!A0", "+1+1", "@SUM(A1)", "\tx", "\ry"]
    for nick in evil + ["ann"]:
        assert store.add_member(code, nick, {"token_hash": ""})  # stored as is (the nickname rules are elsewhere)
    cid = challenges.start(store, code, "quiz", question='=HYPERLINK("http://x", "click")', choices=["a", "b"],
                           answer=1)
    for i, nick in enumerate(evil + ["ann"]):
        challenges.submit(store, code, cid, nick, choice=1, session=f"s{i}", now=100.0 + i)
    rows = list(csv.DictReader(io.StringIO(challenges.results_csv(store, code), newline="")))
    assert [r["nickname"] for r in rows] == ["'" + n for n in evil] + ["ann"]
    assert {r["description"] for r in rows} == {"'=HYPERLINK(\"http://x\", \"click\")"}
    for row in rows:
        for cell in row.values():
            assert not cell.startswith(challenges.FORMULA_START)
    assert challenges.csv_cell(-1.5) == "'-1.5" and challenges.csv_cell("a=b") == "a=b"


# --- 7. one answer per member, enforced by the store ---------------------------------------------

def test_item7_sixteen_simultaneous_answers_from_one_member_store_exactly_one(store_factory):
    stores = [store_factory() for _ in range(4)]  # four server processes' view of one store
    code, _ = rooms.create_room(stores[0])
    rooms.join(stores[0], code, "ann")
    cid = challenges.start(stores[0], code, "quiz", question="q?", choices=["a", "b"], answer=0)
    barrier, results, lock = threading.Barrier(16), [], threading.Lock()

    def answer(i):
        barrier.wait()
        try:
            outcome = challenges.submit(stores[i % 4], code, cid, "ANN" if i % 2 else "ann", choice=i % 2,
                                        session=f"tab{i}")["id"]
        except ClassroomError as exc:
            outcome = str(exc)
        with lock:
            results.append(outcome)

    run_at_once(answer, 16)
    refused = [r for r in results if r == "you have answered this question already"]
    assert len(results) == 16 and len(refused) == 15, results
    assert [s["id"] for s in stores[0].submissions(code, cid)] == sorted(set(results) - set(refused))


def test_item7_the_store_itself_keeps_one_answer_once_submission(store):
    code, _ = rooms.create_room(store)
    barrier, ids = threading.Barrier(16), []

    def add(i):
        barrier.wait()
        ids.append(store.add_submission(code, "c1", {"nickname": "Ann", "choice": i}, once=True))

    threads = [threading.Thread(target=add, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(i is not None for i in ids) == 1 and len(store.submissions(code, "c1")) == 1
    assert store.add_submission(code, "c2", {"nickname": "ann"}, once=True) is not None  # another challenge
    assert store.add_submission(code, "c1", {"nickname": "ann"}) is not None  # not answer-once: min-eps tries
    rooms.close_room(store, code)
    store.create_room(code, {})
    assert store.add_submission(code, "c1", {"nickname": "ann"}, once=True) is not None, "deleted with the room"


def test_item1_an_older_sqlite_file_gets_its_image_owners(tmp_path):
    """A file written before rooms owned images per room (``images.room``, first room only; NULL: no room):
    opening it gives every image its reference, so closing that room still deletes its own images."""
    import sqlite3
    path = tmp_path / "classroom.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE images (id TEXT PRIMARY KEY, room TEXT, created REAL NOT NULL, data BLOB NOT NULL)")
        db.executemany("INSERT INTO images VALUES (?, ?, 0, x'00')", [("img-old", "OLDROOM"), ("img-free", None)])
    s = SQLiteStore(path)
    s.delete_room("OLDROOM")
    assert [r[0] for r in s._conn().execute("SELECT id FROM images")] == ["img-free"]
    s.close()
    assert SQLiteStore(path)._one("PRAGMA user_version") == 1


# --- 3, 4, 5, 9: limits, look-alikes, plain text, the member token ------------------------------------

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
    """The pages key a member's submission limit by room and nickname (``room_session.member_key``), not by session."""
    from advcore.ui.room_session import member_key
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
    from advcore.ui.escape import plain
    rendered = MarkdownIt("commonmark").enable(["table", "strikethrough"]).render(plain(typed)).strip()
    assert rendered == f"<p>{html.escape(typed, quote=False)}</p>"


def _leaderboard_page(s, code, cid, nick):
    from advcore.classroom import challenges
    from advcore.ui import student_panel, teacher_panel
    challenge = s.get_challenge(code, cid)
    teacher_panel.leaderboard_table(s, code, challenge)
    student_panel.answer_quiz(s, code, nick, challenges.public(challenge))


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
    from advcore.ui import room_session as ui
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
    from advcore.ui import room_session as ui
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
BROWSER_REQUIRED = os.environ.get("ADVCORE_REQUIRE_BROWSER") == "1"  # CI: the browser test must run, not skip


@pytest.mark.browser
@pytest.mark.needs_data
@pytest.mark.skipif(not Path(CHROMIUM).exists() and not BROWSER_REQUIRED, reason="Chromium is not installed")
def test_reload_rejoins_from_the_cookie_in_a_browser(tmp_path):
    from playwright.sync_api import sync_playwright

    from advcore.classroom.store import SQLiteStore
    from bench.browser import CHROMIUM_ARGS, settle, streamlit_server
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
        page.wait_for_function("(name) => document.cookie.split('; ').some(c => c.startsWith(name + '='))",
                               arg=f"advlab_member_{code}")  # set by the page's script, drawn in the same run
        settle(page)  # that run over: the URL it leaves
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


def test_item3_guests_reloading_the_train_page_cannot_pass_the_per_address_cap(monkeypatch, fresh_store,
                                                                                  user_models):
    """Outside a room a guest's queue name is per session, so the cap is per client address: reloads (new
    sessions from the same address) queue at most MAX_QUEUED_PER_ADDRESS jobs, then are told to wait."""
    from advcore.ui import jobs
    from advcore.ui import room_session as ui
    from tests.test_train_queue import page_as
    idle = type("NoWorkers", (), {"wake": threading.Event()})()  # jobs stay queued: no worker of this process
    monkeypatch.setattr(jobs, "workers", lambda: idle)  # takes them (nor keeps polling this test's store)
    monkeypatch.setattr(ui, "client_address", lambda: A)  # AppTest has no client; every session comes from A
    try:
        for i in range(queue.MAX_QUEUED_PER_ADDRESS):
            tab = page_as(None)
            tab.text_input(key="train_name").set_value(f"mine{i}")
            tab.button[0].click().run()
            assert not tab.exception and not tab.error, [e.value for e in tab.error]
        reloaded = page_as(None)
        reloaded.text_input(key="train_name").set_value("one-more")
        reloaded.button[0].click().run()
        assert any("from your network are in the queue already" in e.value for e in reloaded.error), \
            [e.value for e in reloaded.error]
        assert len(fresh_store.jobs(statuses=("queued", "running"))) == queue.MAX_QUEUED_PER_ADDRESS
    finally:
        for job in fresh_store.jobs(statuses=("queued", "running")):
            queue.cancel(fresh_store, job["id"])


# --- 8. no cap on total work ----------------------------------------------------------------------

def test_the_largest_sweep_is_refused_with_the_budget_named_and_nothing_starts():
    """6 models x 11 attacks x 5 defences x 12 eps x 2000 images at 200 steps; the default sweep passes."""
    every = {a: attacks.accepted(a, {"norm": "linf", "steps": 200}) for a in attacks.ATTACKS}
    gradient = {a: p for a, p in every.items() if attacks.ATTACKS[a].family == "gradient"
                and attacks.ATTACKS[a].iterative}
    work = (heavy.cost(2000, every, 12, 6)
            + heavy.defended_cost(2000, gradient, 12, 6, ["jpeg:75", "bits:3", "median:2", "resize-pad",
                                                          "smooth:0.25"], 8))
    assert work > 2000 * 11 * 12 * 6 * 200  # at least every image-attack at 200 steps
    registry, calls = heavy.Registry(), []
    with pytest.raises(heavy.OverBudget) as refused:
        registry.submit("huge", lambda progress: calls.append("ran"), 1, work, "viewer")
    message = str(refused.value)
    assert f"{heavy.DEFAULT_MAX_WORK:,}" in message and f"{work:,}" in message and "ADVLAB_MAX_WORK" in message
    assert isinstance(refused.value, heavy.AdvcoreError)
    time.sleep(0.1)
    assert not calls and registry.running() == 0
    default = heavy.cost(500, {"fgsm": {}, "pgd": {"steps": 20}}, 9, 5)  # the Sweep page's default request
    assert default == 500 * 9 * 5 * 21 and default * 20 <= heavy.DEFAULT_MAX_WORK
