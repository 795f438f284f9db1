"""Classroom: store (SQLite and Redis, same tests), rooms, follow, challenges, leaderboard, CSV.

No data sets or trained models: an untrained tiny MNIST model and random images; the Redis
backend runs against a throwaway ``redis-server`` started here (skipped if the binary is
missing, unless ADVCORE_REQUIRE_REDIS=1, as in CI, where that fails instead).
"""

import csv
import io
import os
import shutil
import socket
import subprocess
import threading
import time

import numpy as np
import pytest

from advcore import attacks, data, zoo
from advcore.attacks.base import logits_of
from advcore.classroom import challenges, follow, rooms
from advcore.classroom.rooms import ClassroomError
from advcore.classroom.store import RedisStore, SQLiteStore, open_store

REDIS = shutil.which("redis-server")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    if REDIS is None:
        if os.environ.get("ADVCORE_REQUIRE_REDIS") == "1":
            pytest.fail("redis-server is not installed but ADVCORE_REQUIRE_REDIS=1")
        pytest.skip("redis-server is not installed: the Redis backend is not tested here")
    port = free_port()
    proc = subprocess.Popen([REDIS, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--dir", str(tmp_path_factory.mktemp("redis"))],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    try:
        for _ in range(100):
            try:
                RedisStore(url).close()
                break
            except Exception:
                time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture(params=["sqlite", "redis"])
def store_factory(request, tmp_path):
    """A function making store objects on one fresh backing state (file or Redis db)."""
    made = []
    if request.param == "sqlite":
        def make():
            made.append(SQLiteStore(tmp_path / "classroom.sqlite3"))
            return made[-1]
    else:
        url = request.getfixturevalue("redis_url")
        RedisStore(url).r.flushdb()

        def make():
            made.append(open_store(url))
            return made[-1]
    yield make
    for s in made:
        s.close()


@pytest.fixture
def store(store_factory):
    return store_factory()


@pytest.fixture(scope="module")
def model():
    return zoo.build("cnn-tiny", "mnist", seed=0)


def pred(model, x):
    return int(logits_of(model, x).argmax(1)[0])


@pytest.fixture(scope="module")
def image(model):
    """A random MNIST-shaped image and the untrained model's class for it (its 'label')."""
    x = np.random.default_rng(1).random((1, 28, 28, 1), dtype=np.float32)
    return x, pred(model, x)


def room_with_student(store, nick="ada"):
    code, key = rooms.create_room(store, "test")
    _, nick, token = rooms.join(store, code, nick)
    return code, key, nick, token


# --- store and rooms ------------------------------------------------------------------------

def test_room_codes_are_short_and_unambiguous(store):
    codes = {rooms.create_room(store, session=f"s{i}")[0] for i in range(5)}
    assert len(codes) == 5
    for code in codes:
        assert len(code) == rooms.CODE_LENGTH and set(code) <= set(rooms.ALPHABET)
        assert not set(code) & set("0O1IL")
        assert rooms.find_room(store, code.lower()[:3] + "-" + code.lower()[3:])["code"] == code


def test_room_join_refuses_duplicate_and_invalid_nicknames(store):
    code, _ = rooms.create_room(store)
    assert rooms.join(store, code, "  Ada   Lovelace ", session="a")[1] == "Ada Lovelace"
    with pytest.raises(ClassroomError, match="taken"):
        rooms.join(store, code, "ada lovelace", session="b")
    for bad in ("a", "x" * 21, "<script>", "bob;drop", "   ", "--"):
        with pytest.raises(ClassroomError):
            rooms.join(store, code, bad, session="c")
    assert rooms.join(store, code, "Zoë_2", session="d")[1] == "Zoë_2"
    assert [m["nickname"] for m in store.members(code)] == ["Ada Lovelace", "Zoë_2"]


def test_room_teacher_key_and_member_token_checked(store):
    code, key, nick, token = room_with_student(store)
    assert rooms.check_teacher(store, code, key)["code"] == code
    assert "key_hash" in store.get_room(code) and key not in str(store.get_room(code))
    with pytest.raises(ClassroomError, match="No open room has this code and teacher key"):
        rooms.check_teacher(store, code, key + "x")
    code2, key2 = rooms.create_room(store)
    with pytest.raises(ClassroomError, match="No open room has this code and teacher key"):
        rooms.check_teacher(store, code2, key)
    assert rooms.rejoin(store, code, nick.upper(), token)["nickname"] == nick
    with pytest.raises(ClassroomError):
        rooms.rejoin(store, code, nick, "forged")


def test_room_password_required_when_set(store, monkeypatch):
    monkeypatch.setenv(rooms.PASSWORD_ENV, "s3cret")
    with pytest.raises(ClassroomError, match="password"):
        rooms.create_room(store, password="wrong")
    assert rooms.create_room(store, password="s3cret")[0]


def test_room_rate_limits_wrong_codes_and_joins(store):
    code, _ = rooms.create_room(store)
    for _ in range(rooms.WRONG_CODE_LIMIT[0]):
        with pytest.raises(ClassroomError, match="No open room"):
            rooms.find_room(store, "ZZZZZZ", session="guesser", now=1000.0)
    with pytest.raises(ClassroomError, match="Too many wrong codes"):
        rooms.find_room(store, "ZZZZZZ", session="guesser", now=1000.0)
    assert rooms.find_room(store, code, session="other")  # other sessions are not blocked
    for i in range(rooms.JOIN_LIMIT[0]):
        rooms.join(store, code, f"kid{i}", session="spammer", now=2000.0)
    with pytest.raises(ClassroomError, match="Too many join"):
        rooms.join(store, code, "kid99", session="spammer", now=2000.0)
    assert rooms.join(store, code, "kid99", session="spammer", now=2100.0)  # the next minute


def test_room_presence_counts_connected_and_following(store):
    code, _ = rooms.create_room(store)
    for nick in ("ann", "ben", "cat"):
        rooms.join(store, code, nick, now=100.0)
    rooms.heartbeat(store, code, "ann", True, now=200.0)
    rooms.heartbeat(store, code, "ben", False, now=200.0)
    assert rooms.presence(store, code, now=205.0) == {"joined": 3, "connected": 2, "following": 1}


def test_room_persists_across_restart(store_factory, model, image):
    first = store_factory()
    code, key, nick, _ = room_with_student(first)
    cid = challenges.start(first, code, "quiz", question="Which model holds at 0.3?", choices=["a", "b"], answer=1)
    challenges.submit(first, code, cid, nick, choice=1)
    follow.present(first, code, follow.make_view("mnist", "mnist-pgd", "pgd", 0.3, image=7))
    first.close()
    again = store_factory()  # a new store object on the same file / server, as after a restart
    assert rooms.check_teacher(again, code, key)["code"] == code
    assert [r["nickname"] for r in challenges.leaderboard(again, code, again.get_challenge(code, cid))] == [nick]
    assert again.get_view(code)[1]["image"] == 7


def test_room_idle_expiry_and_close_delete_everything(store, tmp_path, monkeypatch):
    monkeypatch.setenv(zoo.USER_MODELS_ENV, str(tmp_path / "user-models"))
    (tmp_path / "user-models").mkdir()
    old, _ = rooms.create_room(store, now=1000.0)
    fresh, _ = rooms.create_room(store, now=1000.0)
    rooms.join(store, fresh, "ann", now=1000.0)
    rooms.heartbeat(store, fresh, "ann", True, now=1500.0)
    image_id = store.put_image(np.zeros((1, 2, 2, 1), np.float32), room=old)
    job = store.enqueue_job({"room": old, "model_id": "room-model"})
    (tmp_path / "user-models" / "room-model.keras").write_bytes(b"weights")
    (tmp_path / "user-models" / "room-model.json").write_text("{}")
    assert rooms.expire_rooms(store, idle_s=600, now=1700.0) == [old]
    assert store.get_room(old) is None and store.get_image(image_id) is None and store.get_job(job) is None
    assert not list((tmp_path / "user-models").iterdir())
    assert store.get_room(fresh) is not None
    rooms.close_room(store, fresh)
    assert store.get_room(fresh) is None and store.members(fresh) == []


# --- follow ---------------------------------------------------------------------------------

def test_follow_version_moves_only_on_a_change(store_factory):
    teacher, student = store_factory(), store_factory()  # two processes' view of one store
    code, _ = rooms.create_room(teacher)
    assert follow.poll(student, code, 0) is None
    view = follow.make_view("mnist", "mnist-standard", "pgd", 0.1, image=3, params={"norm": "linf", "steps": 10})
    assert follow.present(teacher, code, view) == 1
    version, seen = follow.poll(student, code, 0)
    assert (version, seen) == (1, view)
    assert follow.poll(student, code, version) is None
    follow.present(teacher, code, dict(view, eps=0.2))
    assert follow.poll(student, code, version) == (2, dict(view, eps=0.2))


def test_follow_versions_are_atomic_under_concurrent_presenting(store_factory):
    code, _ = rooms.create_room(store_factory())

    def presenter(k):
        s = store_factory()
        for i in range(25):
            s.set_view(code, {"who": k, "i": i})

    threads = [threading.Thread(target=presenter, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store_factory().get_view(code)[0] == 100


def test_follow_view_checked_and_explore_link_round_trip():
    view = follow.make_view("mnist", "mnist-pgd", "fgsm", 0.2, image=12)
    link = follow.explore_link(view, "http://class.example:8501/")
    assert link.startswith("http://class.example:8501/?dataset=mnist&model=mnist-pgd")
    assert follow.view_from_link(link) == view
    tuned = follow.make_view("mnist", "mnist-pgd", "pgd", 1.5, image=3, params={"norm": "l2", "steps": "10",
                                                                                "random_start": "false"})
    assert tuned["params"] == {"norm": "l2", "steps": 10, "random_start": False} and tuned["norm"] == "l2"
    assert follow.view_from_link(follow.explore_link(tuned)) == tuned
    for bad in [dict(dataset="imagenet"), dict(attack="nope"), dict(eps=float("nan")), dict(eps=5.0),
                dict(model="../etc/passwd"), dict(params={"evil": 1}), dict(params={"steps": "many"}),
                dict(params={"steps": 10**9}), dict(params={"target": 10})]:
        args = {"dataset": "mnist", "model": "mnist-pgd", "attack": "pgd", "eps": 0.1, **bad}
        with pytest.raises(ClassroomError):
            follow.make_view(args.pop("dataset"), args.pop("model"), args.pop("attack"), args.pop("eps"),
                             image=1, **args)
    with pytest.raises(ClassroomError, match="does not give"):
        follow.view_from_link("http://x/explore?dataset=mnist")


# --- challenges -----------------------------------------------------------------------------

def pgd(model, x, label, eps, norm="linf", target=None):
    extra = {"target": [target]} if target is not None else {}
    return attacks.run("pgd", model, x, [label], eps=eps, norm=norm, steps=40, restarts=2, **extra).x_adv


def test_challenge_min_eps_accepts_real_answers_refuses_forged(store, model, image):
    x, label = image
    code, _, nick, _ = room_with_student(store)
    _, bob, _ = rooms.join(store, code, "bob")
    cid = challenges.start(store, code, "min-eps", model_for=lambda _: model, dataset="mnist", model="tiny",
                           x=x, label=label, norm="linf", eps_max=0.5)
    kw = {"model_for": lambda _: model}
    adv = pgd(model, x, label, 0.5)
    assert pred(model, adv) != label, "PGD at 0.5 should fool an untrained tiny model"
    big = challenges.submit(store, code, cid, nick, x_adv=adv, **kw)
    assert big["correct"] and 0 < big["norm"] <= 0.5 + challenges.NORM_TOLERANCE
    better = challenges.submit(store, code, cid, bob, x_adv=pgd(model, x, label, big["norm"] * 0.9 + 0.05), **kw)
    for forged, why in [(adv[0, :20], "wrong shape"), (np.zeros((1, 32, 32, 3)), "wrong shape"),
                        (adv * 2 - 0.5, r"\[0, 1\]"), (np.where(adv > 0.5, np.nan, adv), r"\[0, 1\]"),
                        (x, "not solved"), (np.clip(x + 0.01, 0, 1), "not solved"),
                        (np.ones_like(x) * (x < 0.4), "over budget"), (np.array([["a"]]), "wrong shape")]:
        with pytest.raises(ClassroomError, match=why):
            challenges.submit(store, code, cid, nick, x_adv=forged, **kw)
    assert len(store.submissions(code, cid)) == 2  # refused answers are not stored
    board = challenges.leaderboard(store, code, store.get_challenge(code, cid))
    assert [r["nickname"] for r in board] == sorted([nick, bob], key=lambda n: {nick: big, bob: better}[n]["norm"])
    assert board[0]["score"] <= board[1]["score"]
    assert np.array_equal(store.get_image(big["image_id"]), adv)  # the checked image is kept for the projector


def test_challenge_targeted_needs_the_target_class_within_eps(store, model, image):
    x, label = image
    code, _, nick, _ = room_with_student(store)
    logits = logits_of(model, x)[0]
    target = int(np.argsort(logits)[-2])  # the runner-up class: reachable
    with pytest.raises(ClassroomError, match="other than"):
        challenges.start(store, code, "targeted", model_for=lambda _: model, dataset="mnist", model="tiny", x=x,
                         label=label, target=label, norm="linf", eps=0.3)
    cid = challenges.start(store, code, "targeted", model_for=lambda _: model, dataset="mnist", model="tiny",
                           x=x, label=label, target=target, norm="l2", eps=6.0)
    kw = {"model_for": lambda _: model}
    adv = pgd(model, x, label, 6.0, norm="l2", target=target)
    assert pred(model, adv) == target
    with pytest.raises(ClassroomError, match="not solved"):  # the clean image claimed as an answer
        challenges.submit(store, code, cid, nick, x_adv=x, **kw)
    far = pgd(model, x, label, 12.0, norm="l2", target=target)
    with pytest.raises(ClassroomError, match="over budget"):
        challenges.submit(store, code, cid, nick, x_adv=np.clip(far + (far - x), 0, 1), **kw)
    assert challenges.submit(store, code, cid, nick, x_adv=adv, **kw)["pred"] == target
    with pytest.raises(ClassroomError, match="solved this one already"):
        challenges.submit(store, code, cid, nick, x_adv=adv, **kw)


def test_challenge_robust_checks_the_test_image_and_the_attack(store, model):
    rng = np.random.default_rng(2)
    x = rng.random((6, 28, 28, 1), dtype=np.float32)
    y = logits_of(model, x).argmax(1)
    y[5] = (y[5] + 1) % 10  # an image the model gets wrong
    split = data.Split("mnist", "test", x, y, data.info("mnist").class_names, "test", True)
    kw = {"model_for": lambda _: model, "split_for": lambda _: split}
    code, _, nick, _ = room_with_student(store)
    cid = challenges.start(store, code, "robust", dataset="mnist", model="tiny-robust", norm="linf", eps=0.5, **kw)
    adv = pgd(model, x[2:3], int(y[2]), 0.5)
    for index, answer, why in [(99, adv, "index"), (5, x[5:6], "already gets"), (3, adv, "over budget"),
                               (2, x[2:3], "not solved"), ("2", adv, "index")]:
        with pytest.raises(ClassroomError, match=why):
            challenges.submit(store, code, cid, nick, index=index, x_adv=answer, **kw)
    entry = challenges.submit(store, code, cid, nick, index=2, x_adv=adv, **kw)
    assert entry["index"] == 2 and store.submissions(code, cid)[0]["id"] == entry["id"]


def test_challenge_quiz_one_answer_hidden_until_reveal_and_leaderboard_by_time(store):
    code, _ = rooms.create_room(store)
    nicks = [rooms.join(store, code, n)[1] for n in ("ann", "ben", "cat", "dan", "eve")]
    cid = challenges.start(store, code, "quiz", question="Which model holds at eps 0.3?",
                           choices=["mnist-standard", "mnist-pgd", "neither"], answer=1)
    assert "answer" not in challenges.public(store.get_challenge(code, cid))
    for t, (nick, choice) in enumerate(zip(nicks, [1, 0, 1, 1])):
        challenges.submit(store, code, cid, nick, choice=choice, now=100.0 + (3 - t))  # dan answers first
    with pytest.raises(ClassroomError, match="answered"):
        challenges.submit(store, code, cid, "ann", choice=0)
    with pytest.raises(ClassroomError, match="choices"):
        challenges.submit(store, code, cid, "eve", choice=7)
    challenge = store.get_challenge(code, cid)
    assert challenges.quiz_counts(store, code, challenge) == [1, 3, 0]
    assert [r["nickname"] for r in challenges.leaderboard(store, code, challenge)] == ["dan", "cat", "ann"]
    challenges.set_status(store, code, cid, "revealed")
    assert challenges.public(store.get_challenge(code, cid))["answer"] == 1
    with pytest.raises(ClassroomError, match="closed"):
        challenges.submit(store, code, cid, "dan", choice=1)


def test_challenge_submissions_rate_limited_and_members_only(store):
    code, _, nick, _ = room_with_student(store)
    cid = challenges.start(store, code, "quiz", question="q?", choices=["a", "b"], answer=0)
    with pytest.raises(ClassroomError, match="no such"):
        challenges.submit(store, code, cid, "stranger", choice=0)
    for _ in range(challenges.SUBMIT_LIMIT[0]):
        with pytest.raises(ClassroomError, match="answered|no such"):
            challenges.submit(store, code, cid, "stranger", choice=0, session="s", now=50.0)
    with pytest.raises(ClassroomError, match="Too many"):
        challenges.submit(store, code, cid, nick, choice=0, session="s", now=50.0)


def test_challenge_csv_export(store):
    code, _ = rooms.create_room(store)
    for n in ("ann", "ben"):
        rooms.join(store, code, n)
    cid = challenges.start(store, code, "quiz", question="Pick, b", choices=["a", "b"], answer=1)
    challenges.submit(store, code, cid, "ben", choice=1)
    challenges.submit(store, code, cid, "ann", choice=0)
    rows = list(csv.DictReader(io.StringIO(challenges.results_csv(store, code))))
    assert [(r["challenge"], r["kind"], r["nickname"], r["rank"]) for r in rows] == [(cid, "quiz", "ben", "1")]
    assert rows[0]["description"] == "Pick, b"


# --- training queue -------------------------------------------------------------------------

def test_room_training_queue_claims_in_order_once(store_factory):
    stores = [store_factory() for _ in range(3)]
    ids = [stores[0].enqueue_job({"room": "R", "nickname": f"s{i}"}) for i in range(6)]
    claimed, lock = [], threading.Lock()

    def worker(s, name):
        while (job := s.claim_job(name)) is not None:
            with lock:
                claimed.append(job["id"])

    threads = [threading.Thread(target=worker, args=(s, f"w{i}")) for i, s in enumerate(stores)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(claimed) == sorted(ids) and len(claimed) == 6
    assert stores[0].update_job(ids[0], only_if=("queued",), status="cancelled") is None
    assert stores[0].update_job(ids[0], only_if=("running",), status="done")["status"] == "done"
    assert [j["id"] for j in stores[1].jobs(room="R", statuses=("running",))] == ids[1:]


def test_room_training_queue_positions_estimates_and_cancel(store):
    from advcore.classroom import queue
    a = queue.enqueue(store, "R", "ann", "ann-model", {"epochs": 1}, now=0.0)
    with pytest.raises(ClassroomError, match="already"):
        queue.enqueue(store, "R", "ann", "ann-model-2", {})
    b = queue.enqueue(store, "R", "ben", "ben-model", {}, now=1.0)
    c = queue.enqueue(store, "R", "cat", "cat-model", {}, now=2.0)
    assert [queue.position(store, j) for j in (a, b, c)] == [1, 2, 3]
    assert queue.estimate_wait_s(store, c) == 2 * queue.TYPICAL_JOB_S
    store.claim_job("w", now=10.0)
    store.update_job(a, status="done", finished=70.0)  # took 60 s
    assert queue.position(store, a) is None and queue.mean_duration_s(store) == 60.0
    assert queue.cancel(store, b) and not queue.cancel(store, b)
    assert queue.position(store, c) == 1 and queue.estimate_wait_s(store, c) == 0.0 * 60
    store.claim_job("w")
    assert queue.position(store, c) == 0


def test_queue_position_when_a_worker_takes_the_job_between_reads(store, monkeypatch):
    """The job is read as queued, then a worker claims it before the queue is listed: running, not an error."""
    from advcore.classroom import queue
    job = queue.enqueue(store, "R", "ann", "ann-model", {}, now=0.0)
    listed = store.jobs

    def claim_then_list(*args, **kwargs):
        store.claim_job("w")
        return listed(*args, **kwargs)

    monkeypatch.setattr(store, "jobs", claim_then_list)
    assert queue.position(store, job) == 0
    queue.cancel(store, job)
    assert queue.position(store, job) is None


def test_room_training_queue_worker_runs_cancels_and_cleans_up(store, tmp_path, monkeypatch):
    from advcore.classroom import queue
    monkeypatch.setenv(zoo.USER_MODELS_ENV, str(tmp_path))
    code, _ = rooms.create_room(store)
    done = queue.enqueue(store, code, "ann", "ann-model", {})
    failing = queue.enqueue(store, code, "ben", "ben-model", {})
    cancelled = queue.enqueue(store, code, "cat", "cat-model", {})
    orphan = queue.enqueue(store, code, "dan", "dan-model", {})
    seen = []

    def train(job, should_stop):
        seen.append(job["model_id"])
        (tmp_path / f"{job['model_id']}.keras").write_bytes(b"w")
        if job["id"] == failing:
            raise RuntimeError("out of memory\ntraceback...")
        if job["id"] == cancelled:
            queue.cancel(store, cancelled)
            assert should_stop()
        if job["id"] == orphan:
            rooms.close_room(store, code)  # the teacher closes the room mid-training

    results = [queue.run_next(store, "w1", train) for _ in range(4)]
    assert seen == ["ann-model", "ben-model", "cat-model", "dan-model"]
    assert [r and r["status"] for r in results] == ["done", "failed", "cancelled", None]
    assert results[1]["message"] == "out of memory" and store.get_job(done) is None  # room closed: gone
    assert not list(tmp_path.glob("*.keras")), "a closed room's models are deleted, the one still training too"
    assert queue.run_next(store, "w1", train) is None
