"""The dashboard's view of a heavy computation (advcore.heavy): progress bar, place in line, Cancel.

Pages describe the work (``Work``) and call ``show``. The computation runs in a worker thread of the
process-wide ``heavy.Registry``; the page's script waits for it, sending a heartbeat every ``POLL_S``
seconds. Closing the tab stops the script, so the heartbeats stop and the computation is cancelled once no
viewer is left. A rerun while it runs (another widget moved) finds it again through ``st.session_state``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from advcore import heavy
from advcore.errors import AdvcoreError
from advcore.i18n import _

from . import limits, store

POLL_S = 0.5  # seconds between two looks at the computation (and two heartbeats)
WATCHING = "heavy_watching"  # session_state: {section: request key} of computations this session waits for


@dataclass
class Work:
    """A heavy computation: ``compute(progress)`` with ``progress(count)`` called between batches,
    ``total`` progress units (e.g. images attacked), its cost in image-attack-steps and the bar's words (in the
    reader's language: the page translates them)."""

    compute: Callable[[Callable[[int], None]], object]
    total: int
    cost: int
    text: str


@st.cache_resource
def registry() -> heavy.Registry:
    """The server process's registry, with the limits of ADVLAB_MAX_WORK and ADVLAB_MAX_HEAVY."""
    return heavy.Registry(limits.MAX_WORK, limits.MAX_HEAVY)


def _viewer() -> str:
    ctx = get_script_run_ctx()
    return ctx.session_id if ctx else "bare"


def _words(job: heavy.Job, text: str) -> str:
    place, waiting = registry().place(job)
    if place:
        return _("Waiting: place {place} of {waiting} in line (at most {most} heavy computation(s) run at once on "
                 "this server)", place=place, waiting=waiting, most=registry().max_running)
    others = len(job.viewers) - 1
    values = {"text": text, "done": job.done, "total": job.total, "cost": job.cost, "others": others}
    if others:
        return _("{text} {done:,}/{total:,} · shared with {others} other viewer(s) · {cost:,} image-attack-steps",
                 **values)
    return _("{text} {done:,}/{total:,} · {cost:,} image-attack-steps", **values)


def show(section: str, request: str, work: Work | None = None):
    """The result of ``request`` (a ``store.ResultStore.key``): stored, or awaited here under a progress bar
    with a Cancel button. ``work`` (the form was just submitted) starts the computation or joins an identical
    one; without it, one this session already waits for in ``section`` is resumed. None when there is nothing
    to show: not asked, refused over the budget, cancelled or failed (with a message)."""
    results = store.results()
    found = results.get(request)
    if found is not None:
        return found
    watching = st.session_state.setdefault(WATCHING, {})
    viewer, jobs = _viewer(), registry()
    if section in watching and watching[section][0] != request:  # asked for something else: leave the old
        jobs.leave(watching.pop(section)[1], viewer)
    if work is not None:
        try:
            job = jobs.submit(request, work.compute, work.total, work.cost, viewer,
                              on_done=lambda value: results.put(request, value))
        except heavy.OverBudget as exc:
            st.error(str(exc), icon=":material/block:")
            return None
        text = work.text
        watching[section] = (request, job, text)
    elif section in watching:
        _request, job, text = watching[section]
    else:
        return None
    slot = st.empty()
    with slot.container():
        stop = st.button(_("Cancel"), key=f"{section}_cancel", icon=":material/cancel:")
        bar = st.progress(0.0, text=_words(job, text))
    if stop:
        slot.empty()
        watching.pop(section, None)
        alone = jobs.leave(job, viewer)
        st.info(_("Cancelled.") if alone else _("You stopped waiting; it goes on for the other viewers."))
        return None
    while not job.finished.is_set():
        jobs.watch(job, viewer)
        bar.progress(job.fraction, text=_words(job, text))
        job.finished.wait(POLL_S)
    slot.empty()
    watching.pop(section, None)
    if job.state == "done":
        return job.result
    if job.state == "cancelled":
        st.info(_("Cancelled: every viewer left or pressed Cancel."))
    elif isinstance(job.error, AdvcoreError):
        st.error(str(job.error))
    elif job.error is not None:
        raise job.error
    return None
