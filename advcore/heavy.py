"""Limits on heavy work in one server process: sweeps, transfer matrices, defence tables, certificates.

Cost is counted in **image-attack-steps**: one image through one attack step, i.e. one forward and backward
pass of the model on one image (a query of the Square Attack, a noisy copy of a smoothing certificate and a
scoring pass count one each). EOT draws and smoothing votes multiply it, since each is a pass of its own.
A request over the budget is refused before anything runs (``OverBudget``).

``Registry`` runs the computations: identical requests (the same key) share one computation and its
result; at most ``max_running`` run at once, the others wait in line (first come, first served) and know
their place; each reports the share done and stops between batches once cancelled (``Cancelled``), which
happens when its last viewer leaves or stops sending heartbeats. No Streamlit here: the dashboard's view
is ``advcore.ui.heavy_view``.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from . import attacks, defences, logs
from .attacks import adaptive
from .errors import AdvcoreError
from .i18n import _
from .settings import default

log = logging.getLogger(__name__)

DEFAULT_MAX_WORK = default("ADVLAB_MAX_WORK")  # image-attack-steps per request (advcore.settings says why)
DEFAULT_MAX_RUNNING = default("ADVLAB_MAX_HEAVY")  # heavy computations at once
VIEWER_TIMEOUT_S = 15.0  # a viewer with no heartbeat for this long has left (closed the tab)
STEP_PARAMS = ("steps", "restarts", "search_steps", "queries")  # attack parameters that multiply the passes


class OverBudget(AdvcoreError):
    """A request whose cost is over the server's budget; the message names both."""


class Cancelled(Exception):  # noqa: N818 (a state, not a fault); no AdvcoreError: never caught as bad input
    """Raised between batches of a cancelled computation."""


def attack_steps(attack: str, params: dict) -> int:
    """Passes one image costs under ``attack`` with ``params`` (defaults filled from the registry):
    steps x restarts x C&W search steps x Square queries, 1 for a single-step attack or noise."""
    given = {**attacks.get(attack).defaults(), **params}
    return math.prod(max(1, int(given.get(name) or 1)) for name in STEP_PARAMS)


def cost(images: int, attack_params: dict[str, dict], eps_points: int = 1, models: int = 1,
         passes: int = 1) -> int:
    """Image-attack-steps of attacking ``images`` images on ``models`` models at ``eps_points`` budgets with
    each attack of ``attack_params`` ({name: params}); ``passes`` multiplies (EOT draws x smoothing votes)."""
    steps = sum(attack_steps(name, params) for name, params in attack_params.items())
    return int(images) * int(eps_points) * int(models) * int(passes) * steps


def passes(spec: str, mode: str, samples: int) -> int:
    """Model passes per attacked image and step behind defence ``spec`` attacked in ``mode``: the votes of a
    smoothing stage, times ``samples`` EOT draws when the mode has EOT (as ``adaptive.images_per_call``)."""
    stages = defences.parse(spec).stages
    votes = max([s.values["samples"] for s in stages if s.spec.smoothing] or [1])
    return votes * (int(samples) if "eot" in mode else 1)


def defended_cost(images: int, attack_params: dict[str, dict], eps_points: int, models: int, specs,
                  samples: int, mode: str | None = None) -> int:
    """Image-attack-steps of each defence of ``specs`` attacked naively and, where it differs, adaptively
    (``mode``; None: each defence's recommended mode) with ``samples`` EOT draws."""
    total = 0
    for spec in specs:
        strong = adaptive.recommended_mode(spec) if mode is None else mode
        for each in dict.fromkeys(("none", strong)):
            total += cost(images, attack_params, eps_points, models, passes(spec, each, samples))
    return total


def transfer_cost(images: int, attack: str, params: dict, models: int) -> int:
    """A transfer matrix: the attack on each model, then each model scores every model's examples."""
    return cost(images, {attack: params}, 1, models) + images * models * models


def certify_cost(images: int, noisy: int, sigmas: int, models: int) -> int:
    """Certificates: ``noisy`` copies (n0 + n) of each image per sigma and model, one pass each."""
    return images * noisy * sigmas * models


def check_budget(work: int, budget: int) -> None:
    """OverBudget naming both figures when ``work`` image-attack-steps exceed ``budget``."""
    if work > budget:
        raise OverBudget(_(
            "This request needs {work:,} image-attack-steps (images x attack steps x restarts x eps values x "
            "models x defences); this server allows {budget:,} per request (ADVLAB_MAX_WORK). Choose fewer "
            "images, steps, eps values, attacks, models or defences.", work=work, budget=budget))


@dataclass(eq=False)
class Job:
    """One computation: its state ('queued', 'running', 'done', 'failed', 'cancelled'), progress in the
    units of ``total`` (e.g. images attacked) and its viewers' last heartbeats (monotonic seconds).
    Called as ``job(count)`` it is the computation's progress callback."""

    key: str
    total: int
    cost: int
    registry: Registry = field(repr=False)
    state: str = "queued"
    done: int = 0
    result: object = None
    error: BaseException | None = None
    viewers: dict[str, float] = field(default_factory=dict)
    cancelled: threading.Event = field(default_factory=threading.Event)
    finished: threading.Event = field(default_factory=threading.Event)

    @property
    def fraction(self) -> float:
        """Share done, 0 to 1 (1 once done)."""
        return 1.0 if self.state == "done" else min(self.done / max(self.total, 1), 1.0)

    def __call__(self, count: int) -> None:
        """Progress: ``count`` more units done. Raises Cancelled once cancelled or left by every viewer."""
        self.done += int(count)
        if not self.cancelled.is_set() and not self.registry.watched(self):
            self.cancelled.set()
        if self.cancelled.is_set():
            raise Cancelled(self.key)


class Registry:
    """The heavy computations of one process (thread-safe); ``clock`` gives monotonic seconds."""

    def __init__(self, max_work: int = DEFAULT_MAX_WORK, max_running: int = DEFAULT_MAX_RUNNING,
                 viewer_timeout: float = VIEWER_TIMEOUT_S, clock: Callable[[], float] = time.monotonic):
        self.max_work, self.max_running, self.viewer_timeout, self.clock = max_work, max_running, viewer_timeout, clock
        self._lock = threading.Lock()
        self._jobs: dict[str, Job] = {}  # unfinished jobs by key
        self._line: list[tuple[Job, Callable, Callable | None]] = []  # waiting, first come first
        self._running = 0

    def submit(self, key: str, compute: Callable[[Job], object], total: int, cost: int, viewer: str,
               on_done: Callable[[object], None] | None = None) -> Job:
        """Join the unfinished computation of ``key`` or start ``compute(job)`` (``job`` is its progress
        callback); ``on_done(result)`` runs in the worker before the job reads as done. A cost of 0 (all
        served from stored results) starts at once, outside the line. OverBudget if ``cost`` is too much."""
        if cost > self.max_work:
            log.warning("heavy request refused: %s image-attack-steps over the budget of %s, from %s", f"{cost:,}",
                        f"{self.max_work:,}", logs.client(viewer))
        check_budget(cost, self.max_work)
        with self._lock:
            job = self._jobs.get(key)
            fresh = job is None or job.cancelled.is_set()
            if fresh:
                job = Job(key, total, cost, self)
                self._jobs[key] = job
            job.viewers[viewer] = self.clock()
            if fresh and cost:
                self._line.append((job, compute, on_done))
            elif fresh:
                self._start(job, compute, on_done)
            self._dispatch()
        return job

    def watch(self, job: Job, viewer: str) -> None:
        """A viewer's heartbeat: it still waits for ``job`` (waiting jobs nobody watches leave the line)."""
        with self._lock:
            job.viewers[viewer] = self.clock()
            self._dispatch()

    def watched(self, job: Job) -> bool:
        """Whether any viewer's heartbeat is recent."""
        now = self.clock()
        with self._lock:
            return any(now - seen <= self.viewer_timeout for seen in job.viewers.values())

    def leave(self, job: Job, viewer: str) -> bool:
        """``viewer`` stops waiting; the job is cancelled if nobody else waits. Returns whether it was."""
        with self._lock:
            job.viewers.pop(viewer, None)
        alone = not self.watched(job)
        if alone:
            self.cancel(job)
        return alone

    def cancel(self, job: Job) -> None:
        """Stop ``job``: a waiting one leaves the line at once, a running one at its next batch."""
        with self._lock:
            job.cancelled.set()
            waiting = [entry for entry in self._line if entry[0] is job]
            if waiting:
                self._line.remove(waiting[0])
                self._finish(job, "cancelled")
            self._dispatch()

    def place(self, job: Job) -> tuple[int, int]:
        """(place in line from 1, jobs in line); (0, jobs in line) when ``job`` is not waiting."""
        with self._lock:
            jobs = [entry[0] for entry in self._line]
            return (jobs.index(job) + 1 if job in jobs else 0), len(jobs)

    def running(self) -> int:
        with self._lock:
            return self._running

    # --- under self._lock ---------------------------------------------------------------------------------

    def _dispatch(self) -> None:
        """Start waiting jobs while slots are free; drop waiting jobs whose viewers all left."""
        now = self.clock()
        for entry in list(self._line):
            job = entry[0]
            if not any(now - seen <= self.viewer_timeout for seen in job.viewers.values()):
                job.cancelled.set()
                self._line.remove(entry)
                self._finish(job, "cancelled")
        while self._line and self._running < self.max_running:
            job, compute, on_done = self._line.pop(0)
            self._running += 1
            self._start(job, compute, on_done, slot=True)

    def _start(self, job: Job, compute, on_done, slot: bool = False) -> None:
        job.state = "running"
        threading.Thread(target=self._work, args=(job, compute, on_done, slot), daemon=True,
                         name=f"heavy-{job.key[:32]}").start()

    def _finish(self, job: Job, state: str) -> None:
        job.state = state
        if self._jobs.get(job.key) is job:
            del self._jobs[job.key]
        job.finished.set()

    # --- the worker thread --------------------------------------------------------------------------------

    def _work(self, job: Job, compute, on_done, slot: bool) -> None:
        state = "failed"
        try:
            job.result = compute(job)
            if on_done:
                on_done(job.result)
            state = "done"
        except Cancelled:
            state = "cancelled"
        except BaseException as exc:  # noqa: BLE001 (handed to the viewers, who show or raise it)
            if not isinstance(exc, AdvcoreError):  # a message for the viewer is theirs; anything else is a fault
                log.exception("heavy job %s failed", job.key[:32])
            job.error = exc
        finally:
            with self._lock:
                self._running -= slot
                self._finish(job, state)
                self._dispatch()
