"""Module loggers: background threads log the exception they survive and go on; every refused abuse is one
warning line naming what and the client, never a password or a session id."""

import asyncio
import logging
import threading

import numpy as np
import pytest

from advcore import heavy, logs
from advcore.classroom import challenges, queue, rooms
from advcore.classroom.rooms import ClassroomError
from advcore.classroom.store import SQLiteStore

ADDRESS = "203.0.113.7"
SESSION = "a-browser-session-id"


@pytest.fixture
def store(tmp_path):
    s = SQLiteStore(tmp_path / "classroom.db")
    yield s
    s.close()


@pytest.fixture
def records(caplog):
    caplog.set_level(logging.INFO, logger="advcore")
    return caplog


def warnings_of(caplog, logger: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == logger and r.levelno == logging.WARNING]


# --- threads that survive an exception ------------------------------------------------------------------

def test_a_heavy_worker_thread_whose_job_raises_logs_it_and_serves_the_next(records):
    registry = heavy.Registry(max_work=10**6, max_running=1)

    def broken(job):
        raise RuntimeError("the model file vanished")

    first = registry.submit("broken", broken, total=1, cost=1, viewer="v")
    assert first.finished.wait(30) and first.state == "failed"
    second = registry.submit("fine", lambda job: 42, total=1, cost=1, viewer="v")
    assert second.finished.wait(30) and (second.state, second.result) == ("done", 42)
    failures = [r for r in records.records if r.name == "advcore.heavy" and r.levelno == logging.ERROR]
    assert len(failures) == 1 and failures[0].exc_info[0] is RuntimeError
    assert "the model file vanished" in records.text


def test_a_heavy_job_refused_with_a_message_is_not_logged_as_a_fault(records):
    registry = heavy.Registry(max_work=10**6, max_running=1)

    def refused(job):
        raise heavy.AdvcoreError("no such model")

    job = registry.submit("refused", refused, total=1, cost=1, viewer="v")
    assert job.finished.wait(30) and job.state == "failed"
    assert [r for r in records.records if r.levelno >= logging.ERROR] == []


def test_a_training_job_that_raises_is_logged_and_the_worker_takes_the_next(store, records):
    for name in ("user-first", "user-second"):
        queue.enqueue(store, None, name, name, {"dataset": "mnist"})
    ran = []

    def run(job, should_stop):
        ran.append(job["model_id"])
        if job["model_id"] == "user-first":
            raise RuntimeError("out of memory")

    first = queue.run_next(store, "w0", run, beat_s=60)
    second = queue.run_next(store, "w0", run, beat_s=60)
    assert (first["status"], second["status"]) == ("failed", "done") and ran == ["user-first", "user-second"]
    failures = [r for r in records.records if r.name == "advcore.classroom.queue" and r.levelno == logging.ERROR]
    assert len(failures) == 1 and failures[0].exc_info[0] is RuntimeError and "user-first" in failures[0].message


class _StopLoop(BaseException):
    """Ends the worker's endless loop in the test (an Exception would be survived)."""


def test_a_training_worker_survives_a_queue_failure_and_looks_again(monkeypatch, records):
    from advcore import train_runner
    calls = []

    def requeue_expired(store):
        calls.append(threading.current_thread().name)
        raise ConnectionError("redis went away") if len(calls) == 1 else _StopLoop()

    monkeypatch.setattr(train_runner.queue, "requeue_expired", requeue_expired)
    monkeypatch.setattr(train_runner, "POLL_S", 0.01)
    workers = train_runner.Workers.__new__(train_runner.Workers)  # no threads started: the loop runs here
    workers.store, workers.wake = object(), threading.Event()
    with pytest.raises(_StopLoop):
        workers._loop("w0")
    assert len(calls) == 2  # it went on after the failure
    failures = [r for r in records.records if r.name == "advcore.train_runner" and r.levelno == logging.ERROR]
    assert len(failures) == 1 and failures[0].exc_info[0] is ConnectionError and "w0" in failures[0].message


def test_a_lease_renewal_that_fails_is_logged_and_the_next_beat_renews(store, records, monkeypatch):
    queue.enqueue(store, None, "ann", "user-lease", {"dataset": "mnist"})
    job = store.claim_job("w0")
    beats = []
    real_renew = queue.renew

    def renew(*args, **kwargs):
        beats.append(1)
        if len(beats) == 2:
            raise ConnectionError("store hiccup")
        return real_renew(*args, **kwargs)

    monkeypatch.setattr(queue, "renew", renew)
    lease = queue._Lease(store, job["id"], "w0", {}, lease_s=60, beat_s=0.01)
    try:
        for _ in range(500):
            if len(beats) >= 4:
                break
            threading.Event().wait(0.01)
    finally:
        lease.close()
    assert len(beats) >= 4 and not lease.lost.is_set()
    failures = [r for r in records.records if r.name == "advcore.classroom.queue" and r.levelno == logging.ERROR]
    assert len(failures) == 1 and failures[0].exc_info[0] is ConnectionError


def test_the_followers_poll_loop_logs_a_failing_room_once_and_goes_on(records):
    from advcore.classroom.broadcast import Broadcaster, _Room
    calls = []

    def version_of(code):
        calls.append(code)
        if len(calls) <= 5:
            raise ConnectionError("store down")
        return 0

    b = Broadcaster(version_of, lambda code: (0, None), lambda code, version, view: "", poll_s=0.01)

    async def scenario():
        b.rooms["ROOM22"] = _Room("ROOM22", subscribers=1)  # one follower
        loop = asyncio.create_task(b.run())
        while len(calls) < 8:
            await asyncio.sleep(0.01)
        b.stop()
        await asyncio.wait_for(loop, 10)

    asyncio.run(scenario())
    failures = [r for r in records.records if r.name == "advcore.classroom.broadcast"]
    assert len(failures) == 1 and failures[0].levelno == logging.ERROR and failures[0].exc_info[0] is ConnectionError
    assert "ROOM22" in failures[0].message


# --- refused abuse: one warning line each ---------------------------------------------------------------

def test_a_rate_limit_refusal_logs_one_line_naming_what_and_the_client(store, records):
    for _ in range(rooms.WRONG_CODE_LIMIT[0]):
        with pytest.raises(ClassroomError, match="No open room"):
            rooms.find_room(store, "ZZZZZZ", session=SESSION, address=ADDRESS)
    assert warnings_of(records, "advcore.classroom.rooms") == []
    with pytest.raises(ClassroomError, match="Too many wrong codes"):
        rooms.find_room(store, "ZZZZZZ", session=SESSION, address=ADDRESS)
    lines = warnings_of(records, "advcore.classroom.rooms")
    assert len(lines) == 1
    assert "rate limit hit: badcode" in lines[0].message and ADDRESS in lines[0].message
    assert logs.client(SESSION) in lines[0].message and SESSION not in records.text


def test_a_wrong_teacher_password_logs_the_address_never_the_password(store, records, monkeypatch):
    monkeypatch.setenv(rooms.PASSWORD_ENV, "right-one")
    with pytest.raises(ClassroomError, match="needs the teacher password"):
        rooms.create_room(store, password="guess-123", session=SESSION, address=ADDRESS)
    lines = warnings_of(records, "advcore.classroom.rooms")
    assert len(lines) == 1 and "wrong teacher password" in lines[0].message and ADDRESS in lines[0].message
    assert "guess-123" not in records.text and "right-one" not in records.text


def test_a_repeated_answer_is_refused_with_one_line(store, records):
    code, _ = rooms.create_room(store, session=SESSION, address=ADDRESS)
    rooms.join(store, code, "ann", session=SESSION, address=ADDRESS)
    cid = challenges.start(store, code, "quiz", question="Which?", choices=["a", "b"], answer=0)
    challenges.submit(store, code, cid, "ann", choice=1, session=SESSION)
    assert warnings_of(records, "advcore.classroom.challenges") == []
    with pytest.raises(ClassroomError, match="answered this question already"):
        challenges.submit(store, code, cid, "ann", choice=0, session=SESSION)
    lines = warnings_of(records, "advcore.classroom.challenges")
    assert len(lines) == 1 and "repeated" in lines[0].message
    assert "'ann'" in lines[0].message and code in lines[0].message


def test_a_forged_image_answer_is_refused_with_one_line(store, records):
    code, _ = rooms.create_room(store, session=SESSION, address=ADDRESS)
    rooms.join(store, code, "ben", session=SESSION, address=ADDRESS)
    x = np.zeros((1, 28, 28, 1), np.float32)
    cid = store.add_challenge(code, {"kind": "min-eps", "status": "open", "dataset": "mnist", "model": "m",
                                     "norm": "linf", "eps": 0.3, "label": 7, "image_id": store.put_image(x, room=code)})
    with pytest.raises(ClassroomError, match="finite and in"):
        challenges.submit(store, code, cid, "ben", x_adv=np.full((28, 28, 1), 2.0), model_for=lambda model_id: None,
                          session=SESSION)
    lines = warnings_of(records, "advcore.classroom.challenges")
    assert len(lines) == 1 and "forged" in lines[0].message and "'ben'" in lines[0].message


def test_an_over_budget_heavy_request_logs_one_line_without_the_session_id(records):
    registry = heavy.Registry(max_work=1000, max_running=1)
    with pytest.raises(heavy.OverBudget):
        registry.submit("big", lambda job: None, total=1, cost=5000, viewer=SESSION)
    lines = warnings_of(records, "advcore.heavy")
    assert len(lines) == 1 and "5,000" in lines[0].message and logs.client(SESSION) in lines[0].message
    assert SESSION not in records.text


def test_a_taken_model_id_is_refused_with_one_line(store, records):
    queue.enqueue(store, "ROOM22", "ann", "user-taken", {"dataset": "mnist"})
    with pytest.raises(ClassroomError, match="is taken"):
        queue.enqueue(store, "ROOM22", "ben", "user-taken", {"dataset": "mnist"}, address=ADDRESS)
    lines = warnings_of(records, "advcore.classroom.queue")
    assert len(lines) == 1 and "'user-taken' refused" in lines[0].message and ADDRESS in lines[0].message


# --- where the lines go ---------------------------------------------------------------------------------

def test_configure_adds_one_stderr_handler_and_sets_the_level(capsys):
    logger = logging.getLogger("advcore")
    before = (logger.level, list(logger.handlers))
    try:
        logs.configure("WARNING")
        logs.configure("ERROR")
        ours = [h for h in logger.handlers if getattr(h, "advlab", False)]
        assert len(ours) == 1 and logger.level == logging.ERROR
        logging.getLogger("advcore.heavy").error("a line for the server's stderr")
        assert "ERROR advcore.heavy [MainThread]: a line for the server's stderr" in capsys.readouterr().err
    finally:
        logger.setLevel(before[0])
        logger.handlers[:] = before[1]
