"""Issue 30's attacks on the classroom, each performed and refused (one regression test per item).

Every store test runs on SQLite and on Redis (the fixtures of tests/test_classroom.py; CI sets
ADVCORE_REQUIRE_REDIS=1 so the Redis half never skips there). No data sets or trained models: an
untrained tiny MNIST model, random images, and stand-ins for training.
"""

import csv
import io
import threading

import numpy as np
import pytest

from advcore import zoo
from advcore.classroom import challenges, queue, rooms
from advcore.classroom.rooms import ClassroomError
from advcore.classroom.store import SQLiteStore
from advcore.errors import ModelError

from .test_classroom import image, model, pgd, pred, redis_url, store, store_factory  # noqa: F401  (fixtures)


@pytest.fixture
def user_models(tmp_path, monkeypatch):
    folder = tmp_path / "user-models"
    folder.mkdir()
    monkeypatch.setenv(zoo.USER_MODELS_ENV, str(folder))
    return folder


def write_model(folder, model_id, weights=b"weights"):
    (folder / f"{model_id}.keras").write_bytes(weights)
    (folder / f"{model_id}.json").write_text(f'{{"id": "{model_id}"}}')


# --- 1. rooms own their images ------------------------------------------------------------------

def min_eps_room(store, model, x, label, nick="ann"):  # noqa: F811
    code, _ = rooms.create_room(store)
    rooms.join(store, code, nick)
    cid = challenges.start(store, code, "min-eps", model_for=lambda _: model, dataset="mnist", model="tiny",
                           x=x, label=label, norm="linf", eps_max=0.5)
    return code, cid


def test_item1_closing_a_room_keeps_the_image_another_room_uses(store, model, image, user_models):  # noqa: F811
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


def test_item1_an_answer_to_a_challenge_whose_image_is_gone_is_refused_clearly(store, model):  # noqa: F811
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
from advcore.ui import classroom as ui
s = SQLiteStore({path!r})
ui.answer_image_challenge(s, {code!r}, "ann", s.get_challenge({code!r}, {cid!r}))
ui.teacher_challenge(s, {code!r}, s.get_challenge({code!r}, {cid!r}))
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

def test_item2_a_model_id_is_reserved_when_queued_and_refused_to_anyone_else(store, user_models):  # noqa: F811
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


def test_item2_reservations_race_one_owner_wins(store_factory):  # noqa: F811
    stores = [store_factory() for _ in range(8)]
    won, barrier = [], threading.Barrier(8)

    def reserve(i):
        barrier.wait()
        if stores[i].reserve_model("user-race", f"R{i}", "ann"):
            won.append(i)

    threads = [threading.Thread(target=reserve, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(won) == 1 and stores[0].model_reservation("user-race")["room"] == f"R{won[0]}"


def test_item2_an_existing_user_model_is_never_replaced(store, user_models, monkeypatch):  # noqa: F811
    """alice-net was trained outside any room (its files exist, no reservation: an older server); a guest
    naming a model alike is refused, and a job that reaches the writing step anyway replaces nothing."""
    write_model(user_models, "user-alice-net", b"alice's weights")
    with pytest.raises(ClassroomError, match="user-alice-net exists already"):
        queue.enqueue(store, None, "guest-ffffff", "user-alice-net", {})
    with pytest.raises(ClassroomError, match="exists already"):
        queue.enqueue(store, "ROOMAB", "alice", "user-alice-net", {})

    from advcore.ui import jobs

    class Split:
        x, y, class_names = np.zeros((4, 28, 28, 1), np.float32), np.arange(4), [str(c) for c in range(10)]

        def __len__(self):
            return 4

    def fake_train(cfg, folder, **kw):
        (folder / f"{cfg.model_id}.keras").write_bytes(b"guest's weights")
        return object(), type("State", (), {"stopped": ""})()

    monkeypatch.setattr(jobs.train, "train", fake_train)
    monkeypatch.setattr(jobs.data, "load", lambda *a: Split())
    monkeypatch.setattr(jobs, "logits_of", lambda m, x: np.eye(10)[: len(x)])  # right on every image
    monkeypatch.setattr(jobs.cards, "build_card", lambda *a, **kw: {"id": "user-alice-net"})
    config = {"model_id": "user-alice-net", "dataset": "mnist", "architecture": "cnn-tiny", "recipe": "standard"}
    with pytest.raises(ModelError, match="user-alice-net.keras exists already"):
        jobs.train_job({"config": config}, lambda: False, {})
    assert (user_models / "user-alice-net.keras").read_bytes() == b"alice's weights"
    assert (user_models / "user-alice-net.json").read_text() == '{"id": "user-alice-net"}'
    assert sorted(p.name for p in user_models.iterdir()) == ["user-alice-net.json", "user-alice-net.keras"]
    config["model_id"] = "user-new-net"
    monkeypatch.setattr(jobs.cards, "build_card", lambda *a, **kw: {"id": "user-new-net"})
    jobs.train_job({"config": config}, lambda: False, {})
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


def test_item2_closing_a_room_deletes_only_the_models_its_own_jobs_created(store, user_models):  # noqa: F811
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

def test_item6_csv_export_neutralises_formula_cells(store):  # noqa: F811
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

def test_item7_sixteen_simultaneous_answers_from_one_member_store_exactly_one(store_factory):  # noqa: F811
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

    threads = [threading.Thread(target=answer, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    refused = [r for r in results if r == "you have answered this question already"]
    assert len(results) == 16 and len(refused) == 15, results
    assert [s["id"] for s in stores[0].submissions(code, cid)] == sorted(set(results) - set(refused))


def test_item7_the_store_itself_keeps_one_answer_once_submission(store):  # noqa: F811
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
