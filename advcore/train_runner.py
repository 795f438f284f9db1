"""Training jobs queued from the browser, run from the classroom store's training queue.

The Train page queues a job (``advcore.classroom.queue``) instead of refusing a second student. Every
server process that serves the Train page runs ``Workers`` (``advcore.ui.jobs.workers`` starts them): threads
that take the oldest queued job, train it with ``advcore.train`` in a private folder, check that it learned,
measure and write its card, then move both into the user-models folder (never the shipped ``models/``; a shared
volume when there are replicas) without replacing any file, so the model appears in the zoo of every process
that reads that folder. A runner renews its lease on the job in the store while it works; a job whose runner
died (its replica killed) is queued again by the next worker that looks, on any replica. Progress (curves,
epochs) travels through the store, so the student's page shows it whichever process trains. The advice after a
weak run names this server's training limits (``advcore.settings``: ADVLAB_MAX_TRAIN_EPOCHS and _IMAGES).
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import socket
import tempfile
import threading
from dataclasses import asdict
from pathlib import Path

from advcore import cards, data, train, zoo
from advcore.attacks.base import logits_of
from advcore.classroom import queue
from advcore.errors import AdvcoreError
from advcore.i18n import N_, _, pgettext
from advcore.settings import settings

log = logging.getLogger(__name__)

POLL_S = 2.0  # an idle worker looks at the queue this often (and at once when a job is queued here)
CHANCE_MARGIN = 0.05  # clean accuracy at most this far above 1/classes counts as "did not learn"
CHECK_IMAGES = 1000  # test images of the quick did-it-learn check, before the card is measured
MAX_CURVE_POINTS = 300  # batch points kept for the live chart (the job travels through the store)

# The advice after a weak run, one clause per change. A worker thread writes it in English into the job (read
# back in the student's language by advcore.ui.model_table_notes); a page calls ``what_to_change`` in its own.
MORE_EPOCHS = N_("train for more epochs (this run: {epochs} of {most})")
MORE_IMAGES = N_("train on more images (this run: {n_train:,} of {most:,})")
STANDARD_FIRST = N_("try the standard recipe first (this run: {recipe} at eps {eps:g})")
OTHER_LR = N_("this run already had the {recipe} recipe, {epochs} epochs and this server's most images: try another "
              "learning rate (this run: {lr:g})")
OTHER_LR_OR_LARGER = N_("this run already had the {recipe} recipe, {epochs} epochs and this server's most images: "
                        "try another learning rate (this run: {lr:g}) or the larger Wong et al. small CNN")
NEAR_CHANCE = N_("the model did not learn: its clean accuracy is {accuracy:.1%}, chance level for {classes} classes "
                 "is {chance:.0%}. To change: {steps}.")
STORED = (MORE_EPOCHS, MORE_IMAGES, STANDARD_FIRST, OTHER_LR, OTHER_LR_OR_LARGER, NEAR_CHANCE)


def what_to_change(config: dict) -> str:
    """What to try next after a run that learned too little, from what was run (``config``: the job's
    ``TrainConfig`` as a dict): more epochs or images only below this server's limits, the standard recipe
    only after an adversarial one (training against an attack from the start learns the clean task slower),
    else the learning rate or a larger network."""
    epochs, n_train = int(config.get("epochs") or 1), int(config.get("n_train") or 0)
    recipe, steps = config.get("recipe", "standard"), []
    most_epochs, most_images = settings().max_train_epochs, settings().max_train_images
    if epochs < most_epochs:
        steps.append(_(MORE_EPOCHS, epochs=epochs, most=most_epochs))
    if 0 < n_train < most_images:
        steps.append(_(MORE_IMAGES, n_train=n_train, most=most_images))
    if recipe not in train.CLEAN_RECIPES:
        steps.append(_(STANDARD_FIRST, recipe=recipe, eps=float(config.get("eps") or 0)))
    if not steps:
        advice = OTHER_LR_OR_LARGER if config.get("architecture") == "cnn-tiny" else OTHER_LR
        steps.append(_(advice, recipe=recipe, epochs=epochs, lr=float(config.get("lr") or 0)))
    return pgettext("clause separator", "; ").join(steps)


def near_chance_advice(accuracy: float, classes: int, config: dict, margin: float = CHANCE_MARGIN) -> str | None:
    """Why a run failed, with what to change (``what_to_change`` of the run's ``config``, a ``TrainConfig``
    as a dict), if its clean ``accuracy`` is within ``margin`` of chance (1/``classes``); None for a model
    that learned."""
    chance = 1.0 / classes
    if accuracy > chance + margin:
        return None
    return _(NEAR_CHANCE, accuracy=accuracy, classes=classes, chance=chance, steps=what_to_change(config))


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
    advice = near_chance_advice(accuracy, len(split.class_names), asdict(cfg))
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
                log.exception("training worker %s: the queue failed; trying again in %.0f s", name, POLL_S)
                job = None
            if job is None:
                self.wake.wait(POLL_S)
                self.wake.clear()


def user_model_id(name: str) -> str:
    """'user-' + a slug of ``name``; refused if it would shadow a shipped model."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40]
    if not slug:
        raise AdvcoreError(_("give the model a name with letters or digits"))
    model_id = zoo.check_id(f"user-{slug}")
    if (zoo.models_dir() / f"{model_id}.json").exists():
        raise AdvcoreError(_("{model_id} is a shipped model's id; choose another name", model_id=model_id))
    return model_id
