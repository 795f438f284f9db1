"""The training queue over the store: students queue jobs, any server process runs them in order.

A job is a dict with ``room``, ``nickname``, ``model_id`` and ``config`` (``advcore.train.TrainConfig``
fields); its ``status`` goes queued -> running -> done / failed / stopped, or cancelled by the
teacher or the student. A worker takes the oldest queued job with ``store.claim_job``.
"""

from __future__ import annotations

import time

from .rooms import ClassroomError
from .store import OPEN_JOB_STATES, Store

TYPICAL_JOB_S = 120.0  # the estimate before any job has finished here
MAX_QUEUED_PER_MEMBER = 1


def enqueue(store: Store, room: str | None, nickname: str, model_id: str, config: dict,
            now: float | None = None) -> str:
    """Queue a training job; a member may have one open (queued or running) job at a time."""
    mine = [j for j in store.jobs(room=room, statuses=OPEN_JOB_STATES) if j.get("nickname") == nickname]
    if len(mine) >= MAX_QUEUED_PER_MEMBER:
        raise ClassroomError("you already have a model in the queue; wait for it or cancel it")
    return store.enqueue_job({"room": room, "nickname": nickname, "model_id": model_id, "config": config}, now)


def position(store: Store, job_id: str) -> int | None:
    """1 for the next job to run, 2 after it, ...; 0 while running; None when finished or unknown."""
    job = store.get_job(job_id)
    if job is None or job["status"] not in OPEN_JOB_STATES:
        return None
    if job["status"] == "running":
        return 0
    queued = [j["id"] for j in store.jobs(statuses=("queued",))]
    return queued.index(job_id) + 1


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


def run_next(store: Store, worker: str, run) -> dict | None:
    """Take the oldest queued job and run it with ``run(job, should_stop)``; returns the job as it
    ended (None if the queue was empty). ``should_stop()`` turns True once the job is cancelled (the
    trainer checks it every batch). A job whose room was closed meanwhile has its model deleted."""
    from .rooms import delete_user_model
    job = store.claim_job(worker)
    if job is None:
        return None

    def should_stop() -> bool:
        current = store.get_job(job["id"])
        return current is None or current["status"] == "cancelled"

    try:
        run(job, should_stop)
        fields = {"status": "stopped" if should_stop() else "done"}
    except Exception as exc:  # the job's failure is recorded for its student; the worker goes on
        fields = {"status": "failed", "message": (str(exc).splitlines() or [exc.__class__.__name__])[0][:300]}
    ended = store.update_job(job["id"], only_if=("running",), finished=time.time(), **fields)
    if store.get_job(job["id"]) is None and job.get("model_id"):
        delete_user_model(job["model_id"])  # the room closed while it trained
    return ended or store.get_job(job["id"])
