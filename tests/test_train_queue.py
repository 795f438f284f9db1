"""The training queue's leases: a job whose runner stopped renewing its lease goes back to the queue and
another worker runs it; a runner that lost its lease stops and records nothing; near-chance runs fail.
Every store test runs on SQLite and on Redis (the fixtures of tests/test_classroom.py)."""

import threading
import time

import pytest

from advcore.classroom import queue

from .test_classroom import redis_url, store, store_factory  # noqa: F401  (fixtures)


def test_room_queue_job_of_a_dead_runner_is_requeued_and_run_by_another_worker(store_factory):  # noqa: F811
    a, b = store_factory(), store_factory()  # two replicas on one store
    first = queue.enqueue(a, "R", "ann", "ann-model", {}, now=0.0)
    second = queue.enqueue(a, "R", "ben", "ben-model", {}, now=1.0)
    claimed = a.claim_job("replica-a", now=10.0)  # replica A takes the job, then dies: no lease renewal
    assert claimed["id"] == first and queue.position(b, first) == 0
    assert queue.requeue_expired(b, now=10.0 + queue.LEASE_S - 1) == []  # not yet expired
    assert queue.requeue_expired(b, now=10.0 + queue.LEASE_S + 1) == [first]
    job = b.get_job(first)
    assert job["status"] == "queued" and job["requeued"] == 1 and "queued again" in job["message"]
    assert [queue.position(b, j) for j in (first, second)] == [1, 2]  # it keeps its place
    ran = []
    ended = queue.run_next(b, "replica-b", lambda job, should_stop: ran.append(job["id"]))
    assert ran == [first] and ended["status"] == "done" and ended["worker"] == "replica-b"


def test_room_queue_lease_is_renewed_while_the_job_runs(store):  # noqa: F811
    job_id = queue.enqueue(store, None, "guest", "m", {})
    live, seen = {}, {}

    def run(job, should_stop):
        for step in range(8):
            live["progress"] = (step + 1) / 8
            time.sleep(0.1)
            assert not should_stop()
            assert queue.requeue_expired(store, lease_s=0.3) == []  # renewed every 0.05 s, never expires
        seen.update(store.get_job(job["id"]))

    ended = queue.run_next(store, "w", run, live=live, lease_s=0.3, beat_s=0.05)
    assert seen["lease_until"] > seen["started"] and 0 < seen["progress"] <= 1
    assert ended["status"] == "done" and ended["progress"] == 1.0 and ended["id"] == job_id


def test_room_queue_runner_that_lost_its_lease_stops_and_records_nothing(store_factory):  # noqa: F811
    a, b = store_factory(), store_factory()
    job_id = queue.enqueue(a, "R", "ann", "ann-model", {})
    stopped = threading.Event()

    def slow(job, should_stop):  # replica A stalls (no lease renewal) long enough to be given up on
        b.update_job(job_id, lease_until=0.0)
        assert queue.requeue_expired(b) == [job_id]
        assert b.claim_job("replica-b")["id"] == job_id
        live["progress"] = 0.9
        if should_stop():
            stopped.set()

    live = {"progress": 0.5}
    ended = queue.run_next(a, "replica-a", slow, live=live)
    assert stopped.is_set() and ended["status"] == "running" and ended["worker"] == "replica-b"
    assert ended["progress"] == 0.5 and "finished" not in ended  # A wrote nothing after losing the lease


def test_room_queue_job_that_keeps_killing_its_runners_fails(store):  # noqa: F811
    job_id = queue.enqueue(store, None, "guest", "m", {})
    for attempt in range(queue.MAX_REQUEUES + 1):
        store.claim_job(f"w{attempt}", now=100.0 * attempt)
        assert queue.requeue_expired(store, now=100.0 * attempt + queue.LEASE_S + 1) == [job_id]
    job = store.get_job(job_id)
    assert job["status"] == "failed" and "stopped answering" in job["message"]


@pytest.mark.parametrize("accuracy, failed", [(0.11, True), (0.14, True), (0.16, False), (0.9, False)])
def test_near_chance_is_a_failure(accuracy, failed):
    from advcore import train_runner
    assert (train_runner.near_chance_advice(accuracy, 10, {"recipe": "standard"}) is not None) == failed


# --- the Train page over the queue --------------------------------------------------------------

def wait_for(at, found, seconds=60):
    for _ in range(int(seconds / 0.5)):
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        if found(at):
            return at
        time.sleep(0.5)
    raise AssertionError([b.value for b in list(at.info) + list(at.error) + list(at.success) + list(at.warning)])


def page_as(room, nick=None, teacher=False):
    from .conftest import start
    at = start()
    if teacher:
        at.session_state["teach_room"], at.session_state["teach_key"] = room, "key"
    elif room:
        at.session_state["class_room"], at.session_state["class_nick"] = room, nick
    at.switch_page("pages/models/train.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_room_train_page_queues_a_second_student_teacher_cancels_and_a_chance_run_fails(monkeypatch, fresh_store):
    """Two students queue at once (the second is told its place, not refused); the teacher sees both and
    cancels one; the first run ends near chance and is reported failed with advice, never as a success.
    The training itself is replaced by a stand-in that the test releases (no data, no TensorFlow run)."""
    from advcore import train_runner
    from advcore.classroom import rooms
    from advcore.errors import AdvcoreError
    from advcore.ui import jobs
    from advcore.ui import room_session as ui
    jobs.workers.clear()  # this process's workers take the queue of this test's fresh store
    release = threading.Event()

    def stand_in(job, should_stop, live):
        live.update(phase="training", progress=0.5)
        while not release.wait(0.1):
            if should_stop():
                return
        raise AdvcoreError(train_runner.near_chance_advice(0.098, 10, job["config"]))

    monkeypatch.setattr(train_runner, "train_job", stand_in)
    code, _ = rooms.create_room(ui.store())
    ann, ben = page_as(code, "ann"), page_as(code, "ben")
    for at, name in ((ann, "first"), (ben, "second")):
        at.text_input(key="train_name").set_value(name)
        at.button[0].click().run()
        assert not at.exception and not at.error, [e.value for e in at.error]
    wait_for(ann, lambda at: any("training" in p.proto.text for p in at.get("progress")))
    wait_for(ben, lambda at: any("number 1 in line" in i.value for i in at.info))
    teacher = page_as(code, teacher=True)
    assert {"**user-ann-first** for ann", "**user-ben-second** for ben"} <= {m.value for m in teacher.markdown}
    teacher.button(key=f"cancel_{st_job(ben)}").click().run()
    wait_for(ben, lambda at: any("cancelled" in w.value for w in at.warning))
    release.set()
    wait_for(ann, lambda at: at.error)
    assert any("did not learn" in e.value and "epochs" in e.value for e in ann.error) and not ann.success


def st_job(at):
    return at.session_state["train_job"]


@pytest.mark.needs_data
def test_train_job_at_learning_rate_0_fails_and_leaves_no_model(private_dirs):
    """A real (tiny) run that cannot learn: lr 0 keeps the random initial weights, about 10% on MNIST."""
    from advcore import train_runner, zoo
    from advcore.errors import AdvcoreError
    config = {"model_id": "user-lr-zero", "dataset": "mnist", "architecture": "cnn-tiny", "recipe": "standard",
              "lr": 0.0, "epochs": 1, "n_train": 1000, "eval_n": 100, "extra_n": 100}
    live = {}
    with pytest.raises(AdvcoreError, match="did not learn"):
        train_runner.train_job({"config": config}, lambda: False, live)
    assert live["phase"] == "checking" and live["progress"] == 1.0
    assert not list(zoo.user_models_dir().glob("user-lr-zero.*"))


RUNNER = """
import sys, time
from advcore.classroom import queue
from advcore.classroom.store import open_store
s = open_store(sys.argv[1])
def run(job, should_stop):
    print("running", job["id"], flush=True)
    time.sleep(600)  # killed before this ends
queue.run_next(s, "doomed-replica", run, lease_s=1.0, beat_s=0.2)
"""


def test_room_queue_job_survives_its_runner_process_being_killed(tmp_path):
    """A real process claims the job and renews its lease, then is killed (SIGKILL, as a dying replica): the
    job is not lost; once the lease expires any other worker requeues it and runs it."""
    import subprocess
    import sys

    from advcore.classroom.store import SQLiteStore

    from .conftest import ROOT
    url = str(tmp_path / "classroom.sqlite3")
    s = SQLiteStore(url)
    job_id = queue.enqueue(s, "R", "ann", "ann-model", {})
    proc = subprocess.Popen([sys.executable, "-c", RUNNER, url], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().split() == ["running", job_id]
        time.sleep(0.6)
        assert queue.requeue_expired(s) == []  # alive: the lease is renewed
        assert s.get_job(job_id)["worker"] == "doomed-replica"
    finally:
        proc.kill()
        proc.wait(10)
    deadline = time.time() + 10
    while not (moved := queue.requeue_expired(s)) and time.time() < deadline:
        time.sleep(0.2)
    assert moved == [job_id] and s.get_job(job_id)["status"] == "queued"
    ended = queue.run_next(s, "survivor", lambda job, should_stop: None)
    assert ended["id"] == job_id and ended["status"] == "done" and ended["worker"] == "survivor"
    s.close()
