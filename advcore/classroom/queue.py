"""The training queue over the store: students queue jobs, any server process runs them in order.

A job is a dict with ``room``, ``nickname``, ``model_id`` and ``config`` (``advcore.train.TrainConfig``
fields); its ``status`` goes queued -> running -> done / failed / stopped, or cancelled by the
teacher or the student. A worker takes the oldest queued job with ``store.claim_job``. Queuing reserves
the job's model id for its member (room and nickname) in the store, so no two owners can train the same
id, and a closed room deletes only the models whose ids it reserved.

A running job holds a lease: its runner writes ``lease_until`` (now + ``LEASE_S``) into the store
every ``HEARTBEAT_S`` seconds from a thread of its own (so a long measurement keeps it alive). A
runner that dies (a replica killed, a server restarted) stops renewing it; ``requeue_expired``, which
every worker calls before it looks for work, puts such a job back in the queue at its old place, and
any process may then claim it. A runner that finds its lease gone (requeued, or claimed by another
worker) stops at its next check and writes nothing more.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from advcore import zoo
from advcore.errors import AdvcoreError
from advcore.i18n import _

from .rooms import ClassroomError, delete_user_model
from .store import OPEN_JOB_STATES, Store

TYPICAL_JOB_S = 120.0  # the estimate before any job has finished here
MAX_QUEUED_PER_MEMBER = 1
MAX_QUEUED_PER_ADDRESS = 3  # open jobs from one client address outside a room (a reload cannot add more)
LEASE_S = 60.0  # a running job whose lease is this old is taken to have lost its runner
HEARTBEAT_S = 5.0  # a runner renews its lease this often
MAX_REQUEUES = 3  # a job requeued this often fails instead (it may be what kills its runners)
log = logging.getLogger(__name__)


def _taken(model_id: str, held: dict | None, room: str | None) -> str:
    """The refusal of a reserved model id, naming who holds it in words that do not reveal another room's code."""
    if held is None or held["room"] is None:
        return _("the name {model} is taken by a model trained outside a room; choose another name", model=model_id)
    if held["room"] == room:
        return _("the name {model} is taken by {owner} in this room; choose another name", model=model_id,
                 owner=held["owner"])
    return _("the name {model} is taken by a student in another room; choose another name", model=model_id)


def _refused_id(model_id: str, why: str, room: str | None, nickname: str, address: str | None) -> None:
    log.warning("model id %r refused (%s) for %r in room %s from %s", model_id, why, nickname, room or "-",
                address or "-")


def enqueue(store: Store, room: str | None, nickname: str, model_id: str, config: dict,
            now: float | None = None, address: str | None = None) -> str:
    """Queue a training job; a member may have one open (queued or running) job at a time, and outside a room
    one client ``address`` at most MAX_QUEUED_PER_ADDRESS (a guest's session name changes on a reload, its
    address does not). Its model id is reserved for the member (``room``, ``nickname``) first: an id whose
    files exist, or that another owner reserved, is refused with ClassroomError naming the conflict."""
    open_jobs = store.jobs(room=room, statuses=OPEN_JOB_STATES)
    if sum(j.get("nickname") == nickname for j in open_jobs) >= MAX_QUEUED_PER_MEMBER:
        raise ClassroomError(_("you already have a model in the queue; wait for it or cancel it"))
    if room is None and address and sum(j.get("address") == address for j in open_jobs) >= MAX_QUEUED_PER_ADDRESS:
        log.warning("training job refused: %d open from %s already", MAX_QUEUED_PER_ADDRESS, address)
        raise ClassroomError(_("{n} models from your network are in the queue already; wait for one to finish (a "
                               "class trains in a room, one model per student)", n=MAX_QUEUED_PER_ADDRESS))
    if zoo.existing_model_file(model_id) is not None:
        _refused_id(model_id, "its files exist", room, nickname, address)
        raise ClassroomError(_("a model named {model} exists already and is never replaced; choose another name",
                               model=model_id))
    if not store.reserve_model(model_id, room, nickname, now):
        _refused_id(model_id, "reserved by another owner", room, nickname, address)
        raise ClassroomError(_taken(model_id, store.model_reservation(model_id), room))
    job = {"room": room, "nickname": nickname, "model_id": model_id, "config": config}
    return store.enqueue_job({**job, "address": address} if address else job, now)


def position(store: Store, job_id: str) -> int | None:
    """1 for the next job to run, 2 after it, ...; 0 while running; None when finished or unknown."""
    job = store.get_job(job_id)
    if job is None or job["status"] not in OPEN_JOB_STATES:
        return None
    if job["status"] == "running":
        return 0
    queued = [j["id"] for j in store.jobs(statuses=("queued",))]
    if job_id in queued:
        return queued.index(job_id) + 1
    # A worker took (or someone cancelled) the job between the two reads: ask once more.
    job = store.get_job(job_id)
    return 0 if job is not None and job["status"] == "running" else None


def mean_duration_s(store: Store) -> float:
    """Mean wall time of the jobs finished so far (TYPICAL_JOB_S before the first)."""
    times = [j["finished"] - j["started"] for j in store.jobs(statuses=("done", "stopped"))
             if j.get("finished") and j.get("started")]
    return sum(times) / len(times) if times else TYPICAL_JOB_S


def estimate_wait_s(store: Store, job_id: str, workers: int = 1) -> float | None:
    """Seconds until the job starts, roughly: jobs ahead of it (and those running) x mean duration / workers."""
    pos = position(store, job_id)
    if pos is None:
        return None
    running = len(store.jobs(statuses=("running",)))
    return 0.0 if pos == 0 else (pos - 1 + running) * mean_duration_s(store) / max(1, workers)


def cancel(store: Store, job_id: str, now: float | None = None) -> bool:
    """Cancel a queued or running job (a running one stops at its next check); False if already over."""
    t = time.time() if now is None else now
    return store.update_job(job_id, only_if=OPEN_JOB_STATES, status="cancelled", finished=t) is not None


def renew(store: Store, job_id: str, worker: str, fields: dict | None = None, lease_s: float = LEASE_S,
          now: float | None = None) -> bool:
    """Renew ``worker``'s lease on a running job (and merge ``fields``, e.g. progress); False if the job is
    no longer running for this worker (cancelled, requeued, claimed by another, deleted with its room)."""
    job = store.get_job(job_id)
    if job is None or job["status"] != "running" or job.get("worker") != worker:
        return False
    t = time.time() if now is None else now
    return store.update_job(job_id, only_if=("running",), lease_until=t + lease_s, **(fields or {})) is not None


def requeue_expired(store: Store, lease_s: float = LEASE_S, now: float | None = None) -> list[str]:
    """Put every running job whose lease has expired back in the queue (its place is kept); a job
    already requeued ``MAX_REQUEUES`` times fails instead. Returns the ids requeued or failed."""
    t = time.time() if now is None else now
    moved = []
    for job in store.jobs(statuses=("running",)):
        lease = job.get("lease_until")
        if lease is None:  # claimed, no renewal yet
            lease = (t if job.get("started") is None else job["started"]) + lease_s
        if lease >= t:
            continue
        count = int(job.get("requeued", 0)) + 1
        fields = ({"status": "queued", "worker": None, "lease_until": None, "started": None, "requeued": count,
                   "message": f"its runner stopped answering at {time.strftime('%H:%M:%S', time.localtime(lease))}"
                              "; queued again"}
                  if count <= MAX_REQUEUES else
                  {"status": "failed", "finished": t, "message": f"its runner stopped answering {count} times"})
        if store.update_job(job["id"], only_if=("running",), **fields) is not None:
            moved.append(job["id"])
    return moved


class _Lease:
    """The runner's side of a lease: a thread renews it every ``beat_s`` seconds with ``live``'s fields
    until ``close``; ``lost`` is set once the job is cancelled or taken from this worker."""

    def __init__(self, store: Store, job_id: str, worker: str, live: dict, lease_s: float, beat_s: float):
        self.store, self.job_id, self.worker, self.live = store, job_id, worker, live
        self.lease_s, self.beat_s = lease_s, beat_s
        self.lost, self.done = threading.Event(), threading.Event()
        self.beat()
        self.thread = threading.Thread(target=self._loop, daemon=True, name=f"lease-{job_id}")
        self.thread.start()

    def beat(self) -> None:
        try:
            if not renew(self.store, self.job_id, self.worker, dict(self.live), self.lease_s):
                self.lost.set()
        except Exception:  # a store hiccup: the next beat tries again, the lease is longer than a beat
            log.exception("job %s: renewing the lease of %s failed; the next beat tries again", self.job_id,
                          self.worker)

    def _loop(self) -> None:
        while not self.done.wait(self.beat_s) and not self.lost.is_set():
            self.beat()

    def close(self) -> None:
        self.done.set()
        self.thread.join()


def run_next(store: Store, worker: str, run: Callable, live: dict | None = None, lease_s: float = LEASE_S,
             beat_s: float = HEARTBEAT_S) -> dict | None:
    """Take the oldest queued job and run it with ``run(job, should_stop)``; returns the job as it
    ended (None if the queue was empty). While it runs, its lease is renewed every ``beat_s`` seconds
    with the fields of ``live`` (a dict ``run`` may update, e.g. progress for the student's page).
    ``should_stop()`` turns True once the job is cancelled or the lease is lost (checked every batch). A
    failure is recorded with its first line as ``message``. A job whose room was closed meanwhile has its
    model deleted; a runner that lost its lease records nothing."""
    job = store.claim_job(worker)
    if job is None:
        return None
    live = {} if live is None else live
    lease = _Lease(store, job["id"], worker, live, lease_s, beat_s)

    def should_stop() -> bool:
        if not lease.lost.is_set():
            current = store.get_job(job["id"])
            if current is None or current["status"] != "running" or current.get("worker") != worker:
                lease.lost.set()
        return lease.lost.is_set()

    try:
        run(job, should_stop)
        fields = {"status": "stopped" if should_stop() else "done"}
    except Exception as exc:  # the job's failure is recorded for its student; the worker goes on
        if isinstance(exc, AdvcoreError):  # a message for the student (did not learn, a taken id)
            log.warning("training job %s (%s) failed: %s", job["id"], job.get("model_id"), exc)
        else:
            log.exception("training job %s (%s) failed", job["id"], job.get("model_id"))
        fields = {"status": "failed", "message": (str(exc).splitlines() or [exc.__class__.__name__])[0][:300]}
    finally:
        lease.close()
    current = store.get_job(job["id"])
    if current is not None and current.get("worker") == worker:
        ended = store.update_job(job["id"], only_if=("running",), finished=time.time(), **live, **fields)
        return ended or store.get_job(job["id"])
    if current is None and job.get("model_id") and fields["status"] != "failed":
        delete_user_model(job["model_id"])  # the room closed while it trained (a failed job wrote nothing)
    return current
