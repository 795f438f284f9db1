"""Training jobs started from the browser: one background thread each, bounded server-wide.

A job trains with ``advcore.train`` into the user-models folder (never the shipped
``models/``), then measures and writes its card, so the model appears in the zoo
for this server. The page polls the job; the stop button sets an event the
trainer checks every batch. At most ``limits.MAX_TRAIN_JOBS`` run at once.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from dataclasses import dataclass, field

import streamlit as st

from advcore import cards, train, zoo
from advcore.errors import AdvcoreError

from . import limits


@dataclass
class TrainingJob:
    id: str
    cfg: train.TrainConfig
    started: float = field(default_factory=time.time)
    status: str = "running"  # running, measuring, done, stopped, failed
    message: str = ""
    batches: list = field(default_factory=list)
    epochs: list = field(default_factory=list)
    progress: float = 0.0
    stop: threading.Event = field(default_factory=threading.Event)

    def report(self, event: dict) -> None:
        if event["kind"] == "batch":
            total = event["batches"] * self.cfg.epochs
            step = event["epoch"] * event["batches"] + event["batch"]
            self.progress = min(1.0, (step + 1) / total)
            if step % 5 == 0:
                self.batches.append({"step": step, "loss": event["loss"], "train_accuracy": event["train_accuracy"]})
        else:
            self.epochs.append(event)


class JobBoard:
    def __init__(self, max_jobs: int):
        self.jobs: dict[str, TrainingJob] = {}
        self.slots = threading.BoundedSemaphore(max_jobs)
        self.lock = threading.Lock()

    def start(self, cfg: train.TrainConfig) -> TrainingJob:
        if not self.slots.acquire(blocking=False):
            raise AdvcoreError("the server is already training as many models as it allows; try again in a few "
                               "minutes")
        job = TrainingJob(uuid.uuid4().hex[:12], cfg)
        with self.lock:
            self.jobs[job.id] = job
        threading.Thread(target=self._run, args=(job,), daemon=True, name=f"train-{job.id}").start()
        return job

    def _run(self, job: TrainingJob) -> None:
        try:
            folder = zoo.user_models_dir()
            model, state = train.train(job.cfg, folder, report=job.report, should_stop=job.stop.is_set,
                                       show_progress=False)
            job.status = "measuring"
            card = cards.build_card(model, job.cfg, state, folder / f"{job.cfg.model_id}.keras",
                                    command="AdvLab Train page", log=lambda m: None)
            zoo.write_card(folder, card)
            zoo.forget(job.cfg.model_id)
            job.status, job.message = ("stopped" if state.stopped else "done"), state.stopped
        except Exception as exc:  # shown to the user on the page; the server keeps running
            job.status, job.message = "failed", str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
        finally:
            self.slots.release()

    def get(self, job_id: str | None) -> TrainingJob | None:
        with self.lock:
            return self.jobs.get(job_id or "")


@st.cache_resource
def job_board() -> JobBoard:
    return JobBoard(limits.MAX_TRAIN_JOBS)


def user_model_id(name: str) -> str:
    """'user-' + a slug of ``name``; refused if it would shadow a shipped model."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40]
    if not slug:
        raise AdvcoreError("give the model a name with letters or digits")
    model_id = zoo.check_id(f"user-{slug}")
    if (zoo.models_dir() / f"{model_id}.json").exists():
        raise AdvcoreError(f"{model_id} is a shipped model's id; choose another name")
    return model_id
