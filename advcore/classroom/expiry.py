"""When a server process closes idle rooms: at most once every ``EXPIRE_EVERY_S`` seconds per process.

Every page that opens the store asks (``expire_if_due``); the first ask after the interval runs
``rooms.expire_rooms`` (rooms idle longer than ``rooms.idle_limit_s``), the others return at once. The clock
is per process: with replicas each one sweeps, and closing a room twice is harmless.
"""

from __future__ import annotations

import threading
import time

from . import rooms
from .store import Store

EXPIRE_EVERY_S = 60.0  # seconds between two sweeps of one process


class ExpirySchedule:
    """The time of a process's last sweep, under a lock (page sessions run in threads)."""

    def __init__(self, every_s: float = EXPIRE_EVERY_S):
        self.every_s, self.last = every_s, float("-inf")
        self._lock = threading.Lock()

    def due(self, now: float | None = None) -> bool:
        """Whether a sweep is due at ``now`` (seconds since the epoch); a due answer books the sweep, so of
        several threads asking at once only one is told yes."""
        t = time.time() if now is None else now
        with self._lock:
            if t - self.last <= self.every_s:
                return False
            self.last = t
            return True

    def expire_if_due(self, store: Store, now: float | None = None) -> list[str]:
        """Close ``store``'s idle rooms if a sweep is due; the codes closed (none when it was not due)."""
        return rooms.expire_rooms(store, now=now) if self.due(now) else []


SCHEDULE = ExpirySchedule()  # this process's


def expire_if_due(store: Store, now: float | None = None) -> list[str]:
    """``SCHEDULE.expire_if_due``: this process's sweep of idle rooms, when due."""
    return SCHEDULE.expire_if_due(store, now)
