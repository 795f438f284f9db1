"""Training jobs started from the browser, run from the classroom store's training queue.

The Train page queues a job (``advcore.classroom.queue``) instead of refusing a second student. Every
server process that serves the Train page runs ``limits.MAX_TRAIN_JOBS`` worker threads that take the
oldest queued job, train it with ``advcore.train`` in a private folder, check that it learned, measure and
write its card, then move both into the user-models folder (never the shipped ``models/``; a shared volume
when there are replicas) without replacing any file, so the model appears in the zoo of every process that
reads that folder. A runner renews its
lease on the job in the store while it works; a job whose runner died (its replica killed) is queued
again by the next worker that looks, on any replica. Progress (curves, epochs) travels through the
store, so the student's page shows it whichever process trains.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import tempfile
import threading
from pathlib import Path

import pandas as pd
import streamlit as st

from advcore import cards, data, train, zoo
from advcore.attacks.base import logits_of
from advcore.classroom import queue
from advcore.errors import AdvcoreError

from . import limits

POLL_S = 2.0  # an idle worker looks at the queue this often (and at once when a job is queued here)
CHANCE_MARGIN = 0.05  # clean accuracy at most this far above 1/classes counts as "did not learn"
CHECK_IMAGES = 1000  # test images of the quick did-it-learn check, before the card is measured
MAX_CURVE_POINTS = 300  # batch points kept for the live chart (the job travels through the store)


# The epoch table's columns as a person reads them (advcore.train's epoch records); accuracies in percent.
EPOCH_COLUMNS = {"epoch": "Epoch", "loss": "Training loss", "train_accuracy": "Training accuracy (%)",
                 "holdout_clean_accuracy": "Held-out clean accuracy (%)",
                 "holdout_pgd10_accuracy": "Held-out PGD-10 accuracy (%)", "lr": "Learning rate",
                 "seconds": "Seconds", "rolled_back": "Rolled back"}


def epoch_table(epochs: list[dict]) -> pd.DataFrame:
    """The training job's epoch records with readable column names, accuracies as percentages."""
    table = pd.DataFrame(epochs)
    for column in table.columns:
        if column.endswith("accuracy"):
            table[column] = (table[column].astype(float) * 100).round(1)
    return table[[c for c in EPOCH_COLUMNS if c in table.columns]].rename(columns=EPOCH_COLUMNS)


def training_outcome(job: dict) -> tuple[bool, str]:
    """(useful, sentence) for a finished job: useful only at or above its data set's clean-accuracy floor
    (``DatasetInfo.useful_floor``); a weaker model is called weak, with what to change."""
    info = data.info(job["config"]["dataset"])
    accuracy, floor = job.get("clean_accuracy"), info.useful_floor()
    if accuracy is None:
        return False, f"{job['model_id']} finished, but its clean accuracy was not measured."
    if accuracy >= floor:
        return True, (f"{job['model_id']} is in the zoo for this server (Your models). Clean accuracy "
                      f"{accuracy:.1%}.")
    return False, (f"{job['model_id']} is weak: clean accuracy {accuracy:.1%}, below the {floor:.0%} a useful "
                   f"{info.title} model reaches, so attacks on it say little. It is listed under Your models; "
                   "train for more epochs or on more images, or try the standard recipe first.")


def near_chance_advice(accuracy: float, classes: int, margin: float = CHANCE_MARGIN) -> str | None:
    """Why a run failed, with what to change, if its clean ``accuracy`` is within ``margin`` of chance
    (1/``classes``); None for a model that learned."""
    chance = 1.0 / classes
    if accuracy > chance + margin:
        return None
    return (f"the model did not learn: its clean accuracy is {accuracy:.1%}, chance level for {classes} classes "
            f"is {chance:.0%}. Train for more epochs or on more images, raise the learning rate, or lower the "
            "training eps (a large eps from the first batch can stop a small network learning anything; "
            "try the standard recipe first).")


def train_job(job: dict, should_stop, live: dict) -> None:
    """Run one queued job: train, check it learned, measure and write its card, all in a private folder, then
    add the model to the user folder (``zoo.add_user_model``: an id that exists by then is refused, never
    replaced). Raises AdvcoreError (the job fails, its message shown to the student) for a run that ends near
    chance or a taken id; nothing of it joins the zoo. ``live`` gets progress fields the lease carries to the
    store."""
    cfg = train.TrainConfig(**job["config"]).check()
    zoo.user_models_dir().mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{cfg.model_id}.", dir=zoo.user_models_dir()))  # same file system
    try:
        _train_into(cfg, work, should_stop, live)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _train_into(cfg: train.TrainConfig, folder: Path, should_stop, live: dict) -> None:
    """``train_job``'s steps, writing ``<folder>/<id>.keras`` and its card before they go to the user folder."""
    live.update(phase="training", progress=0.0, batches=[], epochs=[])

    def report(event: dict) -> None:
        if event["kind"] == "batch":
            total = event["batches"] * cfg.epochs
            step = event["epoch"] * event["batches"] + event["batch"]
            live["progress"] = min(1.0, (step + 1) / total)
            every = max(1, total // MAX_CURVE_POINTS)
            if step % every == 0:
                live["batches"] = [*live["batches"], {"step": step, "loss": float(event["loss"]),
                                                     "train_accuracy": float(event["train_accuracy"])}]
        else:
            live["epochs"] = [*live["epochs"], {k: v for k, v in event.items() if k != "kind"}]

    model, state = train.train(cfg, folder, report=report, should_stop=should_stop, show_progress=False)
    if should_stop():  # cancelled, or the job went to another worker: keep nothing of this run
        return
    live["phase"] = "checking"
    split = data.load(cfg.dataset, "test")
    n = min(CHECK_IMAGES, len(split))
    accuracy = float((logits_of(model, split.x[:n]).argmax(1) == split.y[:n]).mean())
    advice = near_chance_advice(accuracy, len(split.class_names))
    if advice:
        raise AdvcoreError(advice)
    live["phase"] = "measuring"
    card = cards.build_card(model, cfg, state, folder / f"{cfg.model_id}.keras", command="AdvLab Train page",
                            log=lambda m: None)
    zoo.write_card(folder, card)
    zoo.add_user_model(folder, cfg.model_id)
    zoo.forget(cfg.model_id)
    live.update(phase="done", clean_accuracy=accuracy, message=state.stopped or "")


class Workers:
    """This process's worker threads over the store's training queue."""

    def __init__(self, store, count: int):
        self.store, self.wake = store, threading.Event()
        base = f"{socket.gethostname()}-{os.getpid()}"
        self.names = [f"{base}-{i}" for i in range(count)]
        for name in self.names:
            threading.Thread(target=self._loop, args=(name,), daemon=True, name=f"train-{name}").start()

    def _loop(self, name: str) -> None:
        while True:
            try:
                queue.requeue_expired(self.store)
                live: dict = {}
                job = queue.run_next(self.store, name, lambda job, stop, live=live: train_job(job, stop, live),
                                     live=live)
            except Exception:  # a store outage: try again later, never kill the thread
                job = None
            if job is None:
                self.wake.wait(POLL_S)
                self.wake.clear()


@st.cache_resource(show_spinner=False)
def workers() -> Workers:
    from .classroom import store
    return Workers(store(), limits.MAX_TRAIN_JOBS)


def user_model_id(name: str) -> str:
    """'user-' + a slug of ``name``; refused if it would shadow a shipped model."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40]
    if not slug:
        raise AdvcoreError("give the model a name with letters or digits")
    model_id = zoo.check_id(f"user-{slug}")
    if (zoo.models_dir() / f"{model_id}.json").exists():
        raise AdvcoreError(f"{model_id} is a shipped model's id; choose another name")
    return model_id
