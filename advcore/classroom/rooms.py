"""Rooms: created by a teacher, joined by students with a short code and a nickname.

A room's code is ``CODE_LENGTH`` characters from an alphabet without look-alikes (no 0/O,
1/I/L), readable off a projector: 31**6, about 9e8 codes, and wrong codes are rate-limited
per session, so codes cannot be enumerated. The teacher key is shown once at creation and
stored only as its SHA-256. If the server sets ``ADVLAB_TEACHER_PASSWORD``, creating a room
needs it. Students get a member token (also stored hashed) so a reloaded page can take its
nickname back and nobody else can. Rooms end when the teacher closes them or after
``ADVLAB_ROOM_IDLE_S`` seconds without activity (default 6 hours).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import time
import unicodedata

from advcore import zoo
from advcore.errors import AdvcoreError

from .store import Store

ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 6
PASSWORD_ENV = "ADVLAB_TEACHER_PASSWORD"
IDLE_ENV = "ADVLAB_ROOM_IDLE_S"
DEFAULT_IDLE_S = 6 * 3600
NICK_MIN, NICK_MAX = 2, 20
NICK_PUNCTUATION = " _-."
MAX_MEMBERS = 500
CONNECTED_S = 15.0  # a member whose page reported within this many seconds counts as connected
# Rate limits (events per window in seconds), per browser session unless said otherwise.
JOIN_LIMIT = (10, 60)
WRONG_CODE_LIMIT = (8, 60)
WRONG_CODE_SERVER_LIMIT = (300, 60)  # all sessions together: enumeration from many sessions
WRONG_KEY_LIMIT = (8, 60)
CREATE_LIMIT = (5, 600)


class ClassroomError(AdvcoreError):
    """A classroom request refused: the message says why and is shown to the person."""


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _limit(store: Store, key: str, rule: tuple[int, int], message: str, now: float | None = None) -> None:
    if not store.hit(key, rule[0], rule[1], now):
        raise ClassroomError(message)


def idle_limit_s() -> float:
    try:
        return max(60.0, float(os.environ.get(IDLE_ENV, DEFAULT_IDLE_S)))
    except ValueError:
        return float(DEFAULT_IDLE_S)


def password_required() -> bool:
    return bool(os.environ.get(PASSWORD_ENV))


def normalise_code(text: str) -> str:
    """A typed code as stored: upper case, spaces and dashes dropped."""
    return "".join(ch for ch in str(text or "").upper() if ch not in " -\t")[:32]


def valid_code(code: str) -> bool:
    return len(code) == CODE_LENGTH and all(ch in ALPHABET for ch in code)


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def create_room(store: Store, title: str = "", password: str | None = None, session: str = "",
                now: float | None = None) -> tuple[str, str]:
    """Create a room; returns (code, teacher key). The key is not stored, only its hash."""
    expected = os.environ.get(PASSWORD_ENV)
    if expected and not hmac.compare_digest(str(password or "").encode(), expected.encode()):
        _limit(store, f"badpass:{session}", WRONG_KEY_LIMIT, "Too many wrong passwords; wait a minute.", now)
        raise ClassroomError("This server needs the teacher password to create a room.")
    _limit(store, f"create:{session}", CREATE_LIMIT, "Too many rooms created from this page; wait a few minutes.",
           now)
    key = secrets.token_urlsafe(12)
    title = " ".join(str(title).split())[:80]
    for _ in range(20):
        code = new_code()
        if store.create_room(code, {"title": title, "key_hash": _hash(key), "closed": False}, now):
            return code, key
    raise ClassroomError("Could not find a free room code; try again.")  # pragma: no cover (1 in 9e8 per try)


def find_room(store: Store, code: str, session: str = "", now: float | None = None) -> dict:
    """The open room of a typed code; wrong codes are rate-limited per session and server-wide."""
    code = normalise_code(code)
    room = store.get_room(code) if valid_code(code) else None
    if room is None or room.get("closed"):
        _limit(store, f"badcode:{session}", WRONG_CODE_LIMIT, "Too many wrong codes; wait a minute.", now)
        _limit(store, "badcode:*", WRONG_CODE_SERVER_LIMIT, "Too many wrong codes on this server; wait a minute.",
               now)
        raise ClassroomError(f"No open room has the code {code!r}. Check the code on the teacher's screen.")
    return room


def check_teacher(store: Store, code: str, key: str, session: str = "", now: float | None = None) -> dict:
    """The room, if ``key`` is its teacher key; otherwise ClassroomError (rate-limited)."""
    room = store.get_room(normalise_code(code))
    if room is None:
        raise ClassroomError(f"There is no room {code!r} (it may have been closed or expired).")
    if not hmac.compare_digest(_hash(str(key or "")), room["key_hash"]):
        _limit(store, f"badkey:{session}", WRONG_KEY_LIMIT, "Too many wrong teacher keys; wait a minute.", now)
        raise ClassroomError("That is not this room's teacher key.")
    store.touch_room(room["code"], now)
    return room


def check_nickname(nickname: str) -> str:
    """The nickname as it will be shown (spaces collapsed, NFC), or ClassroomError saying what is wrong."""
    nick = " ".join(unicodedata.normalize("NFC", str(nickname or "")).split())
    if not NICK_MIN <= len(nick) <= NICK_MAX:
        raise ClassroomError(f"A nickname has {NICK_MIN} to {NICK_MAX} characters.")
    bad = sorted({ch for ch in nick if not (ch.isalnum() or ch in NICK_PUNCTUATION)})
    if bad:
        raise ClassroomError("A nickname may use letters, digits, spaces and _ - . only "
                             f"(not {' '.join(repr(ch) for ch in bad)}).")
    if not any(ch.isalnum() for ch in nick):
        raise ClassroomError("A nickname needs at least one letter or digit.")
    return nick


def join(store: Store, code: str, nickname: str, session: str = "", now: float | None = None) -> tuple[str, str, str]:
    """Join a room; returns (room code, nickname as stored, member token)."""
    _limit(store, f"join:{session}", JOIN_LIMIT, "Too many join attempts; wait a minute.", now)
    room = find_room(store, code, session, now)
    nick = check_nickname(nickname)
    if len(store.members(room["code"])) >= MAX_MEMBERS:
        raise ClassroomError(f"This room is full ({MAX_MEMBERS} members).")
    token = secrets.token_urlsafe(12)
    if not store.add_member(room["code"], nick, {"token_hash": _hash(token)}, now):
        raise ClassroomError(f"The nickname {nick!r} is taken in this room; pick another.")
    store.touch_room(room["code"], now)
    return room["code"], nick, token


def rejoin(store: Store, code: str, nickname: str, token: str, now: float | None = None) -> dict:
    """The member, if ``token`` is theirs (a reloaded page taking its nickname back)."""
    code = normalise_code(code)
    room = store.get_room(code) if valid_code(code) else None
    member = store.get_member(code, str(nickname or "")) if room else None
    if member is None or room.get("closed") or not hmac.compare_digest(_hash(str(token or "")),
                                                                      member["token_hash"]):
        raise ClassroomError("This page's room membership is no longer valid; join again.")
    return member


def heartbeat(store: Store, code: str, nickname: str, following: bool, now: float | None = None) -> None:
    """A student's page is open (and follows the teacher or not)."""
    store.touch_member(code, nickname, following, now)
    store.touch_room(code, now)


def presence(store: Store, code: str, now: float | None = None) -> dict:
    """How many joined, how many pages reported in the last CONNECTED_S seconds, how many of those follow."""
    t = time.time() if now is None else now
    members = store.members(code)
    connected = [m for m in members if t - m["seen"] <= CONNECTED_S]
    return {"joined": len(members), "connected": len(connected),
            "following": sum(1 for m in connected if m.get("following"))}


def room_models(store: Store, code: str) -> list[str]:
    """Ids of the models trained for this room (finished training-queue entries)."""
    return [j["model_id"] for j in store.jobs(room=code) if j.get("model_id")]


def delete_user_model(model_id: str) -> None:
    """Delete a user-trained model's files (never a shipped model)."""
    zoo.check_id(model_id)
    folder = zoo.user_models_dir()
    if folder.resolve() == zoo.models_dir().resolve():
        return  # a server set up with one folder for both: never delete there
    for suffix in (".keras", ".json"):
        (folder / f"{model_id}{suffix}").unlink(missing_ok=True)
    zoo.forget(model_id)


def close_room(store: Store, code: str) -> None:
    """End a room now: its models' files, then everything the store holds for it."""
    for model_id in room_models(store, code):
        delete_user_model(model_id)
    store.delete_room(code)


def expire_rooms(store: Store, idle_s: float | None = None, now: float | None = None) -> list[str]:
    """Close every room idle for more than ``idle_s`` seconds; returns their codes."""
    idle_s = idle_limit_s() if idle_s is None else idle_s
    t = time.time() if now is None else now
    gone = [room["code"] for room in store.list_rooms() if t - room["touched"] > idle_s]
    for code in gone:
        close_room(store, code)
    return gone
