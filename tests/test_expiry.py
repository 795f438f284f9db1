"""Idle rooms are closed by a per-process schedule (advcore.classroom.expiry), at most once per interval."""

import time

from advcore.classroom import rooms
from advcore.classroom.expiry import ExpirySchedule
from advcore.classroom.store import SQLiteStore


def test_a_sweep_is_due_once_per_interval():
    schedule = ExpirySchedule(every_s=60.0)
    assert schedule.due(now=1000.0)
    assert not schedule.due(now=1030.0) and not schedule.due(now=1060.0)  # booked by the first answer
    assert schedule.due(now=1060.5)


def test_an_idle_room_is_closed_when_a_sweep_is_due_and_only_then(tmp_path):
    store = SQLiteStore(tmp_path / "classroom.sqlite3")
    first, _ = rooms.create_room(store, "first")
    later = time.time() + rooms.idle_limit_s() + 1  # both rooms idle by then
    schedule = ExpirySchedule(every_s=60.0)
    assert schedule.expire_if_due(store, now=later) == [first]
    assert store.get_room(first) is None
    second, _ = rooms.create_room(store, "second")
    assert schedule.expire_if_due(store, now=later + 30) == []  # not due yet: kept
    assert store.get_room(second) is not None
    assert schedule.expire_if_due(store, now=later + 61) == [second]
