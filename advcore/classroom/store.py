"""The classroom's one store: rooms, presented views, members, challenges, submissions,
training-queue entries, server-side images by id, and rate-limit counters.

``Store`` is the interface; ``SQLiteStore`` (the default: one embedded database file in WAL
mode, safe across threads and processes, so a server restart loses nothing) and ``RedisStore``
(``ADVLAB_STORE=redis://host:port/db``: shared by several server replicas) implement it.
``open_store()`` picks one from the environment.

Everything stored is a small JSON-able dict, except images (float32 arrays kept as ``.npy``
bytes). Times are Unix seconds (float). Room codes are upper-case strings; nicknames are
unique per room regardless of case. Nothing here checks permissions or validates input:
``rooms`` and ``challenges`` do that, then call the store.

Ownership: an image is stored once by content, with one reference per room that stored it (or a
permanent one for ``room=None``); deleting a room drops its references and only the images no one
else references. A user model id is reserved by one owner (room and nickname) before its job is
queued; deleting a room releases its reservations. Both happen atomically with the deletion.
"""

from __future__ import annotations

import hashlib
import io
import json
import sqlite3
import threading
import time
import uuid
from abc import ABC, abstractmethod
from pathlib import Path

import numpy as np

from ..settings import settings
from .nicknames import lookalike_key

STORE_ENV = "ADVLAB_STORE"
STATE_DIR_ENV = "ADVLAB_STATE_DIR"
DB_NAME = "classroom.sqlite3"
MAX_IMAGE_BYTES = 1 << 20  # one image at most 1 MiB as .npy (CIFAR-10 float32 is 12 KiB)
JOB_STATES = ("queued", "running", "done", "failed", "cancelled", "stopped")
OPEN_JOB_STATES = ("queued", "running")


def _now(now: float | None) -> float:
    return time.time() if now is None else float(now)


def _dumps(value) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def image_bytes(x: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(x, np.float32), allow_pickle=False)
    data = buf.getvalue()
    if len(data) > MAX_IMAGE_BYTES:
        raise ValueError(f"image too large to store ({len(data)} bytes > {MAX_IMAGE_BYTES})")
    return data


def image_from_bytes(data: bytes | None) -> np.ndarray | None:
    return None if data is None else np.load(io.BytesIO(data), allow_pickle=False)


def image_id(data: bytes) -> str:
    """Content id of an image's bytes: the same pixels always get the same id."""
    return "img-" + hashlib.sha256(data).hexdigest()[:24]


class Store(ABC):
    """The classroom state behind one small interface (see the module docstring).

    Methods that create something return False/None when a unique key is already taken, so two
    processes racing for the same room code or nickname cannot both win.
    """

    # --- rooms -------------------------------------------------------------------
    @abstractmethod
    def create_room(self, code: str, room: dict, now: float | None = None) -> bool:
        """Store a new room under ``code``; False if the code is taken. Sets ``created`` and ``touched``."""

    @abstractmethod
    def get_room(self, code: str) -> dict | None:
        """The room's dict (with ``code``, ``created``, ``touched``) or None."""

    @abstractmethod
    def update_room(self, code: str, **fields) -> dict | None:
        """Merge ``fields`` into the room; the new dict, or None if there is no such room."""

    @abstractmethod
    def touch_room(self, code: str, now: float | None = None) -> None:
        """Mark the room active now (idle expiry counts from the last touch)."""

    @abstractmethod
    def list_rooms(self) -> list[dict]:
        """Every room, oldest first."""

    @abstractmethod
    def delete_room(self, code: str) -> None:
        """Remove the room and everything in it (view, members, challenges, submissions, its
        training-queue entries and model id reservations, and the images no other room or
        ``room=None`` caller stored; the caller deletes the files of its trained models first)."""

    # --- presented view -------------------------------------------------------------
    @abstractmethod
    def set_view(self, code: str, view: dict) -> int:
        """Replace the room's presented view; returns its new version (1, 2, ...)."""

    @abstractmethod
    def view_version(self, code: str) -> int:
        """The current view version (0 if nothing was presented): the cheap poll for followers."""

    @abstractmethod
    def get_view(self, code: str) -> tuple[int, dict | None]:
        """(version, view) read together, so the view always matches its version."""

    # --- members ---------------------------------------------------------------------
    @abstractmethod
    def add_member(self, code: str, nickname: str, member: dict, now: float | None = None) -> bool:
        """Add a member; False if the nickname, or one that looks like it (``lookalike_key``), is taken here."""

    @abstractmethod
    def get_member(self, code: str, nickname: str) -> dict | None:
        """The member's dict (with ``nickname``, ``joined``, ``seen``, ``following``) or None."""

    @abstractmethod
    def touch_member(self, code: str, nickname: str, following: bool, now: float | None = None) -> None:
        """Record that the member's page is open now, and whether it follows the teacher."""

    @abstractmethod
    def members(self, code: str) -> list[dict]:
        """Every member of the room, in joining order."""

    # --- challenges and submissions -----------------------------------------------------
    @abstractmethod
    def add_challenge(self, code: str, challenge: dict, now: float | None = None) -> str:
        """Store a challenge; returns its id (unique in the room, increasing: 'c1', 'c2', ...)."""

    @abstractmethod
    def get_challenge(self, code: str, challenge_id: str) -> dict | None:
        """The challenge's dict (with ``id``, ``created``) or None."""

    @abstractmethod
    def update_challenge(self, code: str, challenge_id: str, **fields) -> dict | None:
        """Merge ``fields`` into the challenge; the new dict or None."""

    @abstractmethod
    def challenges(self, code: str) -> list[dict]:
        """The room's challenges, oldest first."""

    @abstractmethod
    def add_submission(self, code: str, challenge_id: str, submission: dict, now: float | None = None,
                       once: bool = False) -> str | None:
        """Store an accepted submission (the caller checked it); returns its id. Sets ``time``. With
        ``once``, a member (``submission['nickname']``, any case) gets at most one ``once`` submission per
        challenge: a second returns None and stores nothing (a unique key, so simultaneous answers store
        exactly one)."""

    @abstractmethod
    def submissions(self, code: str, challenge_id: str, nickname: str | None = None) -> list[dict]:
        """The challenge's accepted submissions in the order they arrived (only one member's if
        ``nickname`` is given)."""

    # --- training queue -------------------------------------------------------------------
    @abstractmethod
    def enqueue_job(self, job: dict, now: float | None = None) -> str:
        """Append a training job (``room`` may be None for jobs outside a room); returns its id.
        Sets ``status='queued'`` and ``created``."""

    @abstractmethod
    def get_job(self, job_id: str) -> dict | None:
        """The job's dict or None."""

    @abstractmethod
    def jobs(self, room: str | None = None, statuses: tuple[str, ...] | None = None) -> list[dict]:
        """Jobs in queue order (all, or one room's; optionally only those in ``statuses``)."""

    @abstractmethod
    def claim_job(self, worker: str, now: float | None = None) -> dict | None:
        """Atomically take the oldest queued job for ``worker`` (status -> running); None if none."""

    @abstractmethod
    def update_job(self, job_id: str, only_if: tuple[str, ...] | None = None, **fields) -> dict | None:
        """Merge ``fields`` into the job, if its status is in ``only_if`` (when given); the new
        dict, or None if there is no such job or its status did not match."""

    # --- user model ids ------------------------------------------------------------------------
    @abstractmethod
    def reserve_model(self, model_id: str, room: str | None, owner: str, now: float | None = None) -> bool:
        """Reserve the user model id ``model_id`` for ``owner`` (a nickname) in ``room`` (None: outside
        any room); True if it was free or is already this owner's, False if someone else holds it.
        A room's reservations end with the room; others are kept."""

    @abstractmethod
    def model_reservation(self, model_id: str) -> dict | None:
        """Who reserved ``model_id``: {``id``, ``room``, ``owner``, ``reserved``}, or None."""

    # --- images ------------------------------------------------------------------------------
    @abstractmethod
    def put_image(self, x: np.ndarray, room: str | None = None, now: float | None = None) -> str:
        """Keep an image (float32 array, at most MAX_IMAGE_BYTES as .npy); returns its content id.
        The image stays while any room that stored it is open; with ``room=None`` it is kept for good."""

    @abstractmethod
    def get_image(self, image_id: str) -> np.ndarray | None:
        """The image stored under ``image_id`` or None."""

    # --- rate limits -----------------------------------------------------------------------------
    @abstractmethod
    def hit(self, key: str, limit: int, window_s: float, now: float | None = None, count: int = 1) -> bool:
        """Count ``count`` events (default one; 0 only reads) for ``key`` in the current fixed window of
        ``window_s`` seconds; True while the window's total is within ``limit``, False once it is passed."""

    @abstractmethod
    def close(self) -> None:
        """Release connections (the store is unusable afterwards)."""


def _window(key: str, window_s: float, now: float) -> str:
    return f"{key}@{int(now // window_s)}"


# --- SQLite ---------------------------------------------------------------------------------

_SCHEMA = """
CREATE TABLE IF NOT EXISTS rooms (code TEXT PRIMARY KEY, touched REAL NOT NULL, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS views (code TEXT PRIMARY KEY, version INTEGER NOT NULL, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS members (code TEXT NOT NULL, nick_key TEXT NOT NULL, seq INTEGER NOT NULL,
    data TEXT NOT NULL, PRIMARY KEY (code, nick_key));
CREATE TABLE IF NOT EXISTS challenges (code TEXT NOT NULL, seq INTEGER NOT NULL, data TEXT NOT NULL,
    PRIMARY KEY (code, seq));
CREATE TABLE IF NOT EXISTS submissions (id INTEGER PRIMARY KEY AUTOINCREMENT, code TEXT NOT NULL,
    challenge TEXT NOT NULL, nick_key TEXT NOT NULL, data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS submissions_by_challenge ON submissions (code, challenge);
CREATE TABLE IF NOT EXISTS jobs (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE NOT NULL, room TEXT,
    status TEXT NOT NULL, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS images (id TEXT PRIMARY KEY, room TEXT, created REAL NOT NULL, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS rates (key TEXT PRIMARY KEY, expires REAL NOT NULL, count INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS image_refs (id TEXT NOT NULL, room TEXT NOT NULL, PRIMARY KEY (id, room));
CREATE INDEX IF NOT EXISTS image_refs_by_room ON image_refs (room);
CREATE TABLE IF NOT EXISTS answered (code TEXT NOT NULL, challenge TEXT NOT NULL, nick_key TEXT NOT NULL,
    PRIMARY KEY (code, challenge, nick_key));
CREATE TABLE IF NOT EXISTS models (id TEXT PRIMARY KEY, room TEXT, owner TEXT NOT NULL, reserved REAL NOT NULL);
"""
# Schema version 1: images are owned through image_refs (room '' = kept for good); ``images.room`` is only
# read once, to give the images of an older file their references.
_MIGRATE_1 = "INSERT OR IGNORE INTO image_refs (id, room) SELECT id, COALESCE(room, '') FROM images"
KEEP = ""  # the image_refs room (and Redis owner) of an image stored with room=None: never deleted


def state_dir() -> Path:
    """The folder of the default SQLite store: ADVLAB_STATE_DIR, else ~/.advcore/state."""
    return settings().state_dir or Path.home() / ".advcore" / "state"


class SQLiteStore(Store):
    """The embedded default: one SQLite file in WAL mode; one connection per thread.

    Writes that read-then-write run in ``BEGIN IMMEDIATE`` transactions, so they are atomic
    across threads and across server processes sharing the file.
    """

    def __init__(self, path: str | Path | None = None):
        self.path = Path(path) if path else state_dir() / DB_NAME
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._conn().executescript(_SCHEMA)
        with self._tx() as db:
            if db.execute("PRAGMA user_version").fetchone()[0] < 1:
                db.execute(_MIGRATE_1)
                db.execute("PRAGMA user_version = 1")

    def __repr__(self) -> str:
        return f"SQLiteStore({str(self.path)!r})"

    def _conn(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA busy_timeout=30000")
            self._local.db = db
            with self._lock:
                self._all.append(db)
        return db

    class _Tx:
        def __init__(self, db):
            self.db = db

        def __enter__(self):
            self.db.execute("BEGIN IMMEDIATE")
            return self.db

        def __exit__(self, kind, value, tb):
            self.db.execute("COMMIT" if kind is None else "ROLLBACK")

    def _tx(self):
        return self._Tx(self._conn())

    def _one(self, sql: str, *args):
        row = self._conn().execute(sql, args).fetchone()
        return None if row is None else row[0]

    def _all_json(self, sql: str, *args) -> list[dict]:
        return [json.loads(r[0]) for r in self._conn().execute(sql, args).fetchall()]

    def _merge(self, db, table: str, where: str, args: tuple, fields: dict) -> dict | None:
        row = db.execute(f"SELECT data FROM {table} WHERE {where}", args).fetchone()
        if row is None:
            return None
        data = {**json.loads(row[0]), **fields}
        db.execute(f"UPDATE {table} SET data = ? WHERE {where}", (_dumps(data), *args))
        return data

    # rooms
    def create_room(self, code, room, now=None):
        t = _now(now)
        data = {**room, "code": code, "created": t, "touched": t}
        with self._tx() as db:
            cur = db.execute("INSERT OR IGNORE INTO rooms (code, touched, data) VALUES (?, ?, ?)",
                             (code, t, _dumps(data)))
            return cur.rowcount == 1

    def get_room(self, code):
        row = self._conn().execute("SELECT data, touched FROM rooms WHERE code = ?", (code,)).fetchone()
        return None if row is None else {**json.loads(row[0]), "touched": row[1]}

    def update_room(self, code, **fields):
        with self._tx() as db:
            data = self._merge(db, "rooms", "code = ?", (code,), fields)
        return None if data is None else self.get_room(code)

    def touch_room(self, code, now=None):
        self._conn().execute("UPDATE rooms SET touched = ? WHERE code = ?", (_now(now), code))

    def list_rooms(self):
        rows = self._conn().execute("SELECT data, touched FROM rooms ORDER BY rowid").fetchall()
        return [{**json.loads(d), "touched": t} for d, t in rows]

    def delete_room(self, code):
        with self._tx() as db:
            for table in ("rooms", "views", "members", "challenges", "submissions", "answered"):
                db.execute(f"DELETE FROM {table} WHERE code = ?", (code,))
            db.execute("DELETE FROM images WHERE id IN (SELECT id FROM image_refs WHERE room = ?) "
                       "AND id NOT IN (SELECT id FROM image_refs WHERE room != ?)", (code, code))
            for table in ("image_refs", "jobs", "models"):
                db.execute(f"DELETE FROM {table} WHERE room = ?", (code,))

    # views
    def set_view(self, code, view):
        with self._tx() as db:
            version = (db.execute("SELECT version FROM views WHERE code = ?", (code,)).fetchone() or (0,))[0] + 1
            db.execute("INSERT OR REPLACE INTO views (code, version, data) VALUES (?, ?, ?)",
                       (code, version, _dumps(view)))
        return version

    def view_version(self, code):
        return self._one("SELECT version FROM views WHERE code = ?", code) or 0

    def get_view(self, code):
        row = self._conn().execute("SELECT version, data FROM views WHERE code = ?", (code,)).fetchone()
        return (0, None) if row is None else (row[0], json.loads(row[1]))

    # members
    def add_member(self, code, nickname, member, now=None):
        t = _now(now)
        data = {**member, "nickname": nickname, "joined": t, "seen": t, "following": True}
        with self._tx() as db:
            seq = db.execute("SELECT COUNT(*) FROM members WHERE code = ?", (code,)).fetchone()[0]
            cur = db.execute("INSERT OR IGNORE INTO members (code, nick_key, seq, data) VALUES (?, ?, ?, ?)",
                             (code, lookalike_key(nickname), seq, _dumps(data)))
            return cur.rowcount == 1

    def get_member(self, code, nickname):
        row = self._one("SELECT data FROM members WHERE code = ? AND nick_key = ?", code, lookalike_key(nickname))
        return None if row is None else json.loads(row)

    def touch_member(self, code, nickname, following, now=None):
        with self._tx() as db:
            self._merge(db, "members", "code = ? AND nick_key = ?", (code, lookalike_key(nickname)),
                        {"seen": _now(now), "following": bool(following)})

    def members(self, code):
        return self._all_json("SELECT data FROM members WHERE code = ? ORDER BY seq", code)

    # challenges and submissions
    def add_challenge(self, code, challenge, now=None):
        with self._tx() as db:
            seq = db.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM challenges WHERE code = ?", (code,)).fetchone()[0]
            data = {**challenge, "id": f"c{seq}", "created": _now(now)}
            db.execute("INSERT INTO challenges (code, seq, data) VALUES (?, ?, ?)", (code, seq, _dumps(data)))
        return data["id"]

    @staticmethod
    def _seq(challenge_id: str) -> int:
        try:
            return int(str(challenge_id).lstrip("c"))
        except ValueError:
            return -1

    def get_challenge(self, code, challenge_id):
        row = self._one("SELECT data FROM challenges WHERE code = ? AND seq = ?", code, self._seq(challenge_id))
        return None if row is None else json.loads(row)

    def update_challenge(self, code, challenge_id, **fields):
        with self._tx() as db:
            return self._merge(db, "challenges", "code = ? AND seq = ?", (code, self._seq(challenge_id)), fields)

    def challenges(self, code):
        return self._all_json("SELECT data FROM challenges WHERE code = ? ORDER BY seq", code)

    def add_submission(self, code, challenge_id, submission, now=None, once=False):
        sid = uuid.uuid4().hex[:12]
        data = {**submission, "id": sid, "challenge": challenge_id, "time": _now(now)}
        nick = str(submission.get("nickname", "")).casefold()
        with self._tx() as db:
            if once and not db.execute("INSERT OR IGNORE INTO answered (code, challenge, nick_key) VALUES (?, ?, ?)",
                                       (code, challenge_id, nick)).rowcount:
                return None
            db.execute("INSERT INTO submissions (code, challenge, nick_key, data) VALUES (?, ?, ?, ?)",
                       (code, challenge_id, nick, _dumps(data)))
        return sid

    def submissions(self, code, challenge_id, nickname=None):
        if nickname is None:
            return self._all_json("SELECT data FROM submissions WHERE code = ? AND challenge = ? ORDER BY id",
                                  code, challenge_id)
        return self._all_json("SELECT data FROM submissions WHERE code = ? AND challenge = ? AND nick_key = ? "
                              "ORDER BY id", code, challenge_id, nickname.casefold())

    # jobs
    def enqueue_job(self, job, now=None):
        job_id = uuid.uuid4().hex[:12]
        data = {**job, "id": job_id, "status": "queued", "created": _now(now)}
        with self._tx() as db:
            db.execute("INSERT INTO jobs (id, room, status, data) VALUES (?, ?, 'queued', ?)",
                       (job_id, job.get("room"), _dumps(data)))
        return job_id

    def get_job(self, job_id):
        row = self._one("SELECT data FROM jobs WHERE id = ?", job_id)
        return None if row is None else json.loads(row)

    def jobs(self, room=None, statuses=None):
        sql, args = "SELECT data FROM jobs WHERE 1", []
        if room is not None:
            sql, args = sql + " AND room = ?", [room]
        if statuses is not None:
            sql += f" AND status IN ({','.join('?' * len(statuses))})"
            args += list(statuses)
        return self._all_json(sql + " ORDER BY seq", *args)

    def claim_job(self, worker, now=None):
        with self._tx() as db:
            row = db.execute("SELECT id FROM jobs WHERE status = 'queued' ORDER BY seq LIMIT 1").fetchone()
            if row is None:
                return None
            return self._set_job(db, row[0], {"status": "running", "worker": worker, "started": _now(now)})

    def _set_job(self, db, job_id, fields):
        data = self._merge(db, "jobs", "id = ?", (job_id,), fields)
        if data is not None and "status" in fields:
            db.execute("UPDATE jobs SET status = ? WHERE id = ?", (fields["status"], job_id))
        return data

    def update_job(self, job_id, only_if=None, **fields):
        with self._tx() as db:
            status = db.execute("SELECT status FROM jobs WHERE id = ?", (job_id,)).fetchone()
            if status is None or (only_if is not None and status[0] not in only_if):
                return None
            return self._set_job(db, job_id, fields)

    # user model ids
    def reserve_model(self, model_id, room, owner, now=None):
        with self._tx() as db:
            if db.execute("INSERT OR IGNORE INTO models (id, room, owner, reserved) VALUES (?, ?, ?, ?)",
                          (model_id, room, owner, _now(now))).rowcount:
                return True
            held = db.execute("SELECT room, owner FROM models WHERE id = ?", (model_id,)).fetchone()
        return tuple(held) == (room, owner)

    def model_reservation(self, model_id):
        row = self._conn().execute("SELECT room, owner, reserved FROM models WHERE id = ?", (model_id,)).fetchone()
        return None if row is None else {"id": model_id, "room": row[0], "owner": row[1], "reserved": row[2]}

    # images
    def put_image(self, x, room=None, now=None):
        data = image_bytes(x)
        iid = image_id(data)
        with self._tx() as db:
            db.execute("INSERT OR IGNORE INTO images (id, created, data) VALUES (?, ?, ?)", (iid, _now(now), data))
            db.execute("INSERT OR IGNORE INTO image_refs (id, room) VALUES (?, ?)",
                       (iid, KEEP if room is None else room))
        return iid

    def get_image(self, image_id):
        return image_from_bytes(self._one("SELECT data FROM images WHERE id = ?", image_id))

    # rate limits
    def hit(self, key, limit, window_s, now=None, count=1):
        t = _now(now)
        wkey = _window(key, window_s, t)
        with self._tx() as db:
            db.execute("DELETE FROM rates WHERE expires < ?", (t,))
            db.execute("INSERT INTO rates (key, expires, count) VALUES (?, ?, ?) "
                       "ON CONFLICT(key) DO UPDATE SET count = count + excluded.count", (wkey, t + window_s, count))
            count = db.execute("SELECT count FROM rates WHERE key = ?", (wkey,)).fetchone()[0]
        return count <= limit

    def close(self):
        with self._lock:
            for db in self._all:
                try:
                    db.close()
                except sqlite3.ProgrammingError:  # closed from another thread's view; nothing to release
                    pass
            self._all.clear()
        self._local = threading.local()



# Lua scripts run atomically in Redis. A room's images: drop the room from each image's owner set and
# delete the images left with no owner; then its model id reservations. KEYS: roomimages:<code>,
# roommodels:<code>, models; ARGV: the image key prefix, the code.
_DROP_OWNED = """
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local owners = ARGV[1] .. 'imagerooms:' .. id
  redis.call('SREM', owners, ARGV[2])
  if redis.call('SCARD', owners) == 0 then redis.call('DEL', ARGV[1] .. 'image:' .. id) end
end
for _, id in ipairs(redis.call('SMEMBERS', KEYS[2])) do redis.call('HDEL', KEYS[3], id) end
redis.call('DEL', KEYS[1], KEYS[2])
"""
# Reserve a model id if free (and list it under its room); returns the reservation held now.
# KEYS: models, roommodels:<room>; ARGV: id, reservation JSON, room ('' for none).
_RESERVE = """
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 1 and ARGV[3] ~= '' then
  redis.call('SADD', KEYS[2], ARGV[1])
end
return redis.call('HGET', KEYS[1], ARGV[1])
"""
# Append a submission only if the member's answer-once field is new. KEYS: answered:<code>, subs list;
# ARGV: field, submission id, submission JSON. Returns 1 if stored.
_ADD_ONCE = """
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
redis.call('RPUSH', KEYS[2], ARGV[3])
return 1
"""


class RedisStore(Store):
    """Shared state for several server replicas: ``redis://host:port/db`` (``redis`` client).

    Keys start with ``prefix`` (default ``advlab:``). Read-modify-write updates are optimistic
    transactions (WATCH/MULTI) retried on conflict; a view and its version change in one MULTI,
    so a follower polling the version never sees a view that does not match it. Ownership checks
    (images, model ids, answer-once) are the Lua scripts above.
    """

    def __init__(self, url: str, prefix: str = "advlab:"):
        import redis  # lazy: redis is optional, needed only by the Redis-backed store (replicas)
        self.url, self.p = url, prefix
        self.r = redis.Redis.from_url(url, socket_timeout=10, socket_connect_timeout=5, health_check_interval=30)
        self.r.ping()
        self._drop_owned, self._reserve, self._add_once = map(self.r.register_script,
                                                              (_DROP_OWNED, _RESERVE, _ADD_ONCE))

    def __repr__(self) -> str:
        return f"RedisStore({self.url!r})"

    def k(self, *parts) -> str:
        return self.p + ":".join(str(p) for p in parts)

    @staticmethod
    def _load(raw) -> dict | None:
        return None if raw is None else json.loads(raw)

    def _merge(self, key: str, field: str, fields: dict) -> dict | None:
        """Merge ``fields`` into the JSON dict in hash ``key``'s ``field`` (atomically)."""
        def update(pipe):
            data = self._load(pipe.hget(key, field))
            if data is None:
                return None
            data.update(fields)
            pipe.multi()
            pipe.hset(key, field, _dumps(data))
            return data
        return self.r.transaction(update, key, value_from_callable=True)

    # rooms
    def create_room(self, code, room, now=None):
        t = _now(now)
        data = {**room, "code": code, "created": t, "touched": t}
        if not self.r.hsetnx(self.k("room", code), "data", _dumps(data)):
            return False
        pipe = self.r.pipeline()
        pipe.hset(self.k("room", code), "touched", repr(t))
        pipe.zadd(self.k("rooms"), {code: t})
        pipe.execute()
        return True

    def get_room(self, code):
        data, touched = self.r.hmget(self.k("room", code), ["data", "touched"])
        if data is None:
            return None
        return {**json.loads(data), **({"touched": float(touched)} if touched is not None else {})}

    def update_room(self, code, **fields):
        return None if self._merge(self.k("room", code), "data", fields) is None else self.get_room(code)

    def touch_room(self, code, now=None):
        if self.r.hexists(self.k("room", code), "data"):
            self.r.hset(self.k("room", code), "touched", repr(_now(now)))

    def list_rooms(self):
        rooms = (self.get_room(c.decode()) for c in self.r.zrange(self.k("rooms"), 0, -1))
        return [room for room in rooms if room is not None]

    def delete_room(self, code):
        keys = [self.k(*parts, code) for parts in (("room",), ("view",), ("members",), ("challenges",),
                                                     ("chalseq",), ("answered",))]
        keys += [self.k("subs", code, c["id"]) for c in self.challenges(code)]
        job_ids = [j["id"] for j in self.jobs(room=code)]
        pipe = self.r.pipeline()
        self._drop_owned(keys=[self.k("roomimages", code), self.k("roommodels", code), self.k("models")],
                         args=[self.p, code], client=pipe)
        pipe.delete(*keys)
        pipe.zrem(self.k("rooms"), code)
        if job_ids:
            pipe.hdel(self.k("jobs"), *job_ids)
            pipe.zrem(self.k("jobqueue"), *job_ids)
        pipe.execute()

    # views
    def set_view(self, code, view):
        pipe = self.r.pipeline()  # MULTI/EXEC: version and view change together
        pipe.hincrby(self.k("view", code), "version", 1)
        pipe.hset(self.k("view", code), "data", _dumps(view))
        return int(pipe.execute()[0])

    def view_version(self, code):
        return int(self.r.hget(self.k("view", code), "version") or 0)

    def get_view(self, code):
        version, data = self.r.hmget(self.k("view", code), ["version", "data"])
        return (0, None) if version is None else (int(version), self._load(data))

    # members
    def add_member(self, code, nickname, member, now=None):
        t = _now(now)
        data = {**member, "nickname": nickname, "joined": t, "seen": t, "following": True}
        return bool(self.r.hsetnx(self.k("members", code), lookalike_key(nickname), _dumps(data)))

    def get_member(self, code, nickname):
        return self._load(self.r.hget(self.k("members", code), lookalike_key(nickname)))

    def touch_member(self, code, nickname, following, now=None):
        self._merge(self.k("members", code), lookalike_key(nickname), {"seen": _now(now), "following": bool(following)})

    def members(self, code):
        return sorted((json.loads(v) for v in self.r.hvals(self.k("members", code))),
                      key=lambda m: (m["joined"], m["nickname"]))

    # challenges and submissions
    def add_challenge(self, code, challenge, now=None):
        seq = self.r.incr(self.k("chalseq", code))
        data = {**challenge, "id": f"c{seq}", "created": _now(now)}
        self.r.hset(self.k("challenges", code), data["id"], _dumps(data))
        return data["id"]

    def get_challenge(self, code, challenge_id):
        return self._load(self.r.hget(self.k("challenges", code), challenge_id))

    def update_challenge(self, code, challenge_id, **fields):
        return self._merge(self.k("challenges", code), challenge_id, fields)

    def challenges(self, code):
        return sorted((json.loads(v) for v in self.r.hvals(self.k("challenges", code))),
                      key=lambda c: int(c["id"][1:]))

    def add_submission(self, code, challenge_id, submission, now=None, once=False):
        sid = uuid.uuid4().hex[:12]
        data = {**submission, "id": sid, "challenge": challenge_id, "time": _now(now)}
        subs = self.k("subs", code, challenge_id)
        if not once:
            self.r.rpush(subs, _dumps(data))
            return sid
        field = f"{challenge_id}:{str(submission.get('nickname', '')).casefold()}"
        return sid if self._add_once(keys=[self.k("answered", code), subs], args=[field, sid, _dumps(data)]) else None

    def submissions(self, code, challenge_id, nickname=None):
        subs = [json.loads(v) for v in self.r.lrange(self.k("subs", code, challenge_id), 0, -1)]
        if nickname is not None:
            subs = [s for s in subs if str(s.get("nickname", "")).casefold() == nickname.casefold()]
        return subs

    # jobs
    def enqueue_job(self, job, now=None):
        job_id = uuid.uuid4().hex[:12]
        data = {**job, "id": job_id, "status": "queued", "created": _now(now)}
        seq = self.r.incr(self.k("jobseq"))
        pipe = self.r.pipeline()
        pipe.hset(self.k("jobs"), job_id, _dumps(data))
        pipe.zadd(self.k("jobqueue"), {job_id: seq})
        pipe.execute()
        return job_id

    def get_job(self, job_id):
        return self._load(self.r.hget(self.k("jobs"), job_id))

    def jobs(self, room=None, statuses=None):
        ids = self.r.zrange(self.k("jobqueue"), 0, -1)
        if not ids:
            return []
        found = (self._load(raw) for raw in self.r.hmget(self.k("jobs"), ids))
        return [j for j in found if j is not None and (room is None or j.get("room") == room)
                and (statuses is None or j["status"] in statuses)]

    def claim_job(self, worker, now=None):
        def claim(pipe):
            ids = pipe.zrange(self.k("jobqueue"), 0, -1)
            for raw in (pipe.hmget(self.k("jobs"), ids) if ids else []):
                job = self._load(raw)
                if job is not None and job["status"] == "queued":
                    job.update(status="running", worker=worker, started=_now(now))
                    pipe.multi()
                    pipe.hset(self.k("jobs"), job["id"], _dumps(job))
                    return job
            return None
        return self.r.transaction(claim, self.k("jobs"), self.k("jobqueue"), value_from_callable=True)

    def update_job(self, job_id, only_if=None, **fields):
        def update(pipe):
            job = self._load(pipe.hget(self.k("jobs"), job_id))
            if job is None or (only_if is not None and job["status"] not in only_if):
                return None
            job.update(fields)
            pipe.multi()
            pipe.hset(self.k("jobs"), job_id, _dumps(job))
            return job
        return self.r.transaction(update, self.k("jobs"), value_from_callable=True)

    # user model ids
    def reserve_model(self, model_id, room, owner, now=None):
        mine = {"id": model_id, "room": room, "owner": owner, "reserved": _now(now)}
        held = json.loads(self._reserve(keys=[self.k("models"), self.k("roommodels", room or "")],
                                        args=[model_id, _dumps(mine), room or ""]))
        return (held["room"], held["owner"]) == (room, owner)

    def model_reservation(self, model_id):
        return self._load(self.r.hget(self.k("models"), model_id))

    # images
    def put_image(self, x, room=None, now=None):
        data = image_bytes(x)
        iid = image_id(data)
        pipe = self.r.pipeline()  # MULTI/EXEC: the bytes and their owner together
        pipe.set(self.k("image", iid), data)
        pipe.sadd(self.k("imagerooms", iid), KEEP if room is None else room)
        if room is not None:
            pipe.sadd(self.k("roomimages", room), iid)
        pipe.execute()
        return iid

    def get_image(self, image_id):
        return image_from_bytes(self.r.get(self.k("image", image_id)))

    # rate limits
    def hit(self, key, limit, window_s, now=None, count=1):
        wkey = self.k("rate", _window(key, window_s, _now(now)))
        pipe = self.r.pipeline()
        pipe.incrby(wkey, count)
        pipe.expire(wkey, max(1, int(window_s) + 1))
        return int(pipe.execute()[0]) <= limit

    def close(self):
        self.r.close()

def open_store(url: str | None = None) -> Store:
    """The store named by ``url`` or ADVLAB_STORE: ``redis://host:port/db`` (RedisStore),
    ``sqlite:///path/file.db`` or a path (SQLiteStore), or, when unset, the SQLite file in
    ``state_dir()``."""
    url = url if url is not None else settings().store
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisStore(url)
    if url.startswith("sqlite:///"):  # sqlite:///relative.db, sqlite:////absolute.db
        url = url[len("sqlite:///"):]
    return SQLiteStore(url or None)
