"""A stateful property test of the classroom store (Hypothesis ``RuleBasedStateMachine``), on SQLite and on
Redis: several rooms are created, joined, given challenges on a few shared images, answered, closed and
expired in random orders; after every step no open room references a missing image or member, and an
image is kept exactly while an open room (or a ``room=None`` caller) references it."""

import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from advcore.classroom import rooms
from advcore.classroom.store import RedisStore, SQLiteStore

from .test_classroom import redis_url  # noqa: F401  (fixture)

IMAGES = [np.full((1, 2, 2, 1), v, np.float32) for v in (0.0, 0.25, 0.5, 0.75)]  # shared by the rooms
NICKS = ["ann", "Ann", "ben", "cat"]  # "Ann" is ann
IDLE_S = 100.0  # seconds without activity before a room expires
SETTINGS = settings(max_examples=40, stateful_step_count=20, deadline=None)


class StoreMachine(RuleBasedStateMachine):
    """The model: open rooms with their last touch (s), members (by key), and the image ids their challenges
    and submissions use; images stored with room=None."""

    make_store = None  # set by the test: a function returning a store on empty state

    def __init__(self):
        super().__init__()
        self.store = type(self).make_store()
        self.clock, self.rooms, self.kept, self.seen_images, self.count = 1000.0, {}, set(), set(), 0

    def teardown(self):
        self.store.close()

    def pick(self, i: int) -> str:
        codes = sorted(self.rooms)
        return codes[i % len(codes)]

    @rule()
    def create(self):
        self.count += 1
        code = f"ROOM{self.count}"
        assert self.store.create_room(code, {"title": code}, now=self.clock)
        self.rooms[code] = {"touched": self.clock, "members": set(), "images": set(), "challenges": []}

    @precondition(lambda self: self.rooms)
    @rule(i=st.integers(0, 9), nick=st.sampled_from(NICKS))
    def join(self, i, nick):
        room = self.rooms[self.pick(i)]
        added = self.store.add_member(self.pick(i), nick, {"token_hash": ""}, now=self.clock)
        assert added == (nick.casefold() not in room["members"])
        room["members"].add(nick.casefold())

    @precondition(lambda self: self.rooms)
    @rule(i=st.integers(0, 9), k=st.integers(0, len(IMAGES) - 1))
    def challenge(self, i, k):
        code = self.pick(i)
        iid = self.store.put_image(IMAGES[k], room=code, now=self.clock)
        cid = self.store.add_challenge(code, {"kind": "min-eps", "image_id": iid, "status": "open"}, now=self.clock)
        self.rooms[code]["images"].add(iid)
        self.rooms[code]["challenges"].append(cid)
        self.seen_images.add(iid)

    @precondition(lambda self: any(r["members"] and r["challenges"] for r in self.rooms.values()))
    @rule(i=st.integers(0, 9), j=st.integers(0, 9), k=st.integers(0, len(IMAGES) - 1))
    def submit(self, i, j, k):
        ready = sorted(c for c, r in self.rooms.items() if r["members"] and r["challenges"])
        code = ready[i % len(ready)]
        room = self.rooms[code]
        nick = sorted(room["members"])[j % len(room["members"])]
        iid = self.store.put_image(IMAGES[k], room=code, now=self.clock)
        self.store.add_submission(code, room["challenges"][j % len(room["challenges"])],
                                  {"nickname": nick, "image_id": iid, "correct": True}, now=self.clock)
        room["images"].add(iid)
        self.seen_images.add(iid)

    @rule(k=st.integers(0, len(IMAGES) - 1))
    def keep_outside_rooms(self, k):
        iid = self.store.put_image(IMAGES[k], room=None, now=self.clock)
        self.kept.add(iid)
        self.seen_images.add(iid)

    @precondition(lambda self: self.rooms)
    @rule(i=st.integers(0, 9))
    def touch(self, i):
        self.store.touch_room(self.pick(i), now=self.clock)
        self.rooms[self.pick(i)]["touched"] = self.clock

    @precondition(lambda self: self.rooms)
    @rule(i=st.integers(0, 9))
    def close(self, i):
        code = self.pick(i)
        rooms.close_room(self.store, code)
        del self.rooms[code]

    @rule(seconds=st.floats(0, 2 * IDLE_S))
    def expire(self, seconds):
        self.clock += seconds
        idle = sorted(c for c, r in self.rooms.items() if self.clock - r["touched"] > IDLE_S)
        assert sorted(rooms.expire_rooms(self.store, idle_s=IDLE_S, now=self.clock)) == idle
        for code in idle:
            del self.rooms[code]

    @invariant()
    def open_rooms_reference_nothing_missing(self):
        assert sorted(r["code"] for r in self.store.list_rooms()) == sorted(self.rooms)
        for code, room in self.rooms.items():
            members = {m["nickname"].casefold() for m in self.store.members(code)}
            assert members == room["members"]
            for challenge in self.store.challenges(code):
                assert self.store.get_image(challenge["image_id"]) is not None, (code, challenge)
                for sub in self.store.submissions(code, challenge["id"]):
                    assert sub["nickname"].casefold() in members
                    assert self.store.get_image(sub["image_id"]) is not None, (code, sub)

    @invariant()
    def an_image_is_kept_exactly_while_referenced(self):
        used = self.kept.union(*(r["images"] for r in self.rooms.values()))
        for iid in self.seen_images:
            assert (self.store.get_image(iid) is not None) == (iid in used), iid


@pytest.fixture(params=["sqlite", "redis"])
def make_store(request, monkeypatch, tmp_path):
    monkeypatch.setenv("ADVCORE_USER_MODELS", str(tmp_path / "user-models"))  # close_room looks there
    if request.param == "sqlite":
        return lambda: SQLiteStore(Path(tempfile.mkdtemp(dir=tmp_path)) / "classroom.sqlite3")
    url = request.getfixturevalue("redis_url")

    def fresh_redis():
        store = RedisStore(url)
        store.r.flushdb()
        return store
    return fresh_redis


def test_store_state_machine_rooms_never_reference_missing_images_or_members(make_store):
    StoreMachine.make_store = staticmethod(make_store)
    run_state_machine_as_test(StoreMachine, settings=SETTINGS)
