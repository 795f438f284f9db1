"""Rooms: created by a teacher, joined by students with a short code and a nickname.

A room's code is ``CODE_LENGTH`` characters from an alphabet without look-alikes (no 0/O,
1/I/L), readable off a projector: 31**6, about 9e8 codes, and wrong codes are rate-limited
per client address and per session, so codes cannot be enumerated. The teacher key is shown once
at creation and stored only as its SHA-256; a wrong key and a room that does not exist get one
answer. If the server sets ``ADVLAB_TEACHER_PASSWORD``, creating a room needs it (attempts are
limited per address and server-wide, with growing waits). Students get a member token (also stored
hashed) so a reloaded page can take its nickname back and nobody else can; a nickname that looks
like one in the room (``nicknames.lookalike_key``) is refused. Rooms end when the teacher closes them or after
``ADVLAB_ROOM_IDLE_S`` seconds without activity (default 6 hours).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import time
import unicodedata

from advcore import logs, zoo
from advcore.errors import AdvcoreError
from advcore.i18n import N_, _, ngettext
from advcore.settings import default, settings

from .store import Store

ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 6
PASSWORD_ENV = "ADVLAB_TEACHER_PASSWORD"
IDLE_ENV = "ADVLAB_ROOM_IDLE_S"
DEFAULT_IDLE_S = default(IDLE_ENV)
NICK_MIN, NICK_MAX = 2, 20
NICK_PUNCTUATION = " _-."
MAX_MEMBERS = 500
CONNECTED_S = 15.0  # a member whose page reported within this many seconds counts as connected
# Rate limits (events per window in seconds). Each is counted per client address, as the server sees
# it (advcore.ui.limits.client_address: a reload keeps it, and a whole class behind one NAT shares it,
# so the *_ADDRESS limits are sized for a class), and per browser session (one person).
JOIN_LIMIT = (10, 60)  # join attempts
JOIN_ADDRESS_LIMIT = (MAX_MEMBERS, 60)  # a full lecture hall behind one NAT may join in the same minute
WRONG_CODE_LIMIT = (8, 60)
WRONG_CODE_ADDRESS_LIMIT = (60, 60)  # a class of thirty mistyping twice each
ENTER_LIMIT = (10, 60)  # "control a room again" attempts, counted before the room is looked up
ENTER_ADDRESS_LIMIT = (30, 60)
WRONG_KEY_LIMIT = (8, 60)
WRONG_KEY_ADDRESS_LIMIT = (20, 60)
CREATE_LIMIT = (5, 600)
CREATE_ADDRESS_LIMIT = (30, 600)
PASSWORD_LIMIT = (5, 60)  # teacher-password attempts, right or wrong
PASSWORD_ADDRESS_LIMIT = (10, 60)
# ... and wrong ones server-wide, from every address: 10 in a minute, then each 5 more double the wait (15 in 2
# minutes, 20 in 4, ... 40 in 64), so guessing from many addresses gets about 40 tries an hour.
PASSWORD_SERVER_LIMITS = tuple((10 + 5 * k, 60 * 2 ** k) for k in range(7))
NO_ROOM_OR_KEY = N_("No open room has this code and teacher key (check both; a room ends when closed or idle).")
log = logging.getLogger(__name__)


class ClassroomError(AdvcoreError):
    """A classroom request refused: the message says why and is shown to the person (raised in the current
    language, ``advcore.i18n``: translated where it is raised)."""


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _limit(store: Store, key: str, rule: tuple[int, int], message: str, now: float | None, client: str) -> None:
    """Count one event under ``key``; past ``rule`` (events, window in s) a warning names ``client``, and
    ClassroomError(message) (an ``N_``-marked message, translated here)."""
    if not store.hit(key, rule[0], rule[1], now):
        log.warning("rate limit hit: %s (%d in %d s) by %s", key.partition(":")[0].partition("@")[0], *rule, client)
        raise ClassroomError(_(message))


def _limit_client(store: Store, what: str, session: str, address: str, rules: tuple[tuple[int, int], ...],
                  message: str, now: float | None = None) -> None:
    """Count one ``what`` from this client: ``rules`` is (per session, per address); ClassroomError past either."""
    _limit(store, f"{what}@{address}", rules[1], message, now, address or "-")
    _limit(store, f"{what}:{session}", rules[0], message, now, f"{address or '-'}, {logs.client(session)}")


def _locked(seconds: float) -> str:
    """The server-wide password lock's message, naming the wait (whole minutes, rounded up)."""
    if seconds <= 60:
        return _("Too many teacher-password attempts on this server; try again in a minute.")
    return ngettext("Too many teacher-password attempts on this server; try again in {n} minute.",
                    "Too many teacher-password attempts on this server; try again in {n} minutes.",
                    int(-(-seconds // 60)))


def _check_password(store: Store, password: str | None, expected: str, session: str, address: str,
                    now: float | None = None) -> None:
    """Check a teacher password: every attempt counts per session and address; wrong ones also count in
    every server-wide window, and while any of those is full every attempt is refused, the right one too
    (so guessing from many addresses stays slow), naming the wait. Right passwords never fill them, so a
    busy server's teachers are not locked out by each other."""
    _limit_client(store, "password", session, address, (PASSWORD_LIMIT, PASSWORD_ADDRESS_LIMIT),
                  N_("Too many teacher-password attempts from here; wait a minute."), now)
    t = time.time() if now is None else now
    full = [window for n, window in PASSWORD_SERVER_LIMITS
            if not store.hit(f"password:*:{window}", n - 1, window, t, count=0)]
    wrong = not hmac.compare_digest(str(password or "").encode(), expected.encode())
    if full or wrong:  # an attempt refused while locked counts as wrong: the longer windows fill, the wait grows
        for n, window in PASSWORD_SERVER_LIMITS:
            store.hit(f"password:*:{window}", n, window, t)
    if full:
        wait = max(window - t % window for window in full)
        log.warning("teacher password locked server-wide (%d s left); attempt from %s refused", wait, address or "-")
        raise ClassroomError(_locked(wait))
    if wrong:
        log.warning("wrong teacher password from %s", address or "-")
        raise ClassroomError(_("This server needs the teacher password to create a room."))


def idle_limit_s() -> float:
    return settings().room_idle_s


def password_required() -> bool:
    return settings().teacher_password is not None


def normalise_code(text: str) -> str:
    """A typed code as stored: upper case, spaces and dashes dropped."""
    return "".join(ch for ch in str(text or "").upper() if ch not in " -\t")[:32]


def valid_code(code: str) -> bool:
    return len(code) == CODE_LENGTH and all(ch in ALPHABET for ch in code)


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _i in range(CODE_LENGTH))


def create_room(store: Store, title: str = "", password: str | None = None, session: str = "", address: str = "",
                now: float | None = None) -> tuple[str, str]:
    """Create a room; returns (code, teacher key). The key is not stored, only its hash. ``session`` and
    ``address`` (the client's, see the rate limits above) key the limits."""
    secret = settings().teacher_password
    expected = secret.get_secret_value() if secret is not None else ""
    if expected:
        _check_password(store, password, expected, session, address, now)
    _limit_client(store, "create", session, address, (CREATE_LIMIT, CREATE_ADDRESS_LIMIT),
                  N_("Too many rooms created from here; wait a few minutes."), now)
    key = secrets.token_urlsafe(12)
    title = " ".join(str(title).split())[:80]
    for _try in range(20):
        code = new_code()
        if store.create_room(code, {"title": title, "key_hash": _hash(key), "closed": False}, now):
            return code, key
    raise ClassroomError(_("Could not find a free room code; try again."))  # pragma: no cover (1 in 9e8 per try)


def find_room(store: Store, code: str, session: str = "", address: str = "", now: float | None = None) -> dict:
    """The open room of a typed code; wrong codes are rate-limited per client address and session (a flood
    from one client slows that client, not the class)."""
    code = normalise_code(code)
    room = store.get_room(code) if valid_code(code) else None
    if room is None or room.get("closed"):
        _limit_client(store, "badcode", session, address, (WRONG_CODE_LIMIT, WRONG_CODE_ADDRESS_LIMIT),
                      N_("Too many wrong codes; wait a minute."), now)
        raise ClassroomError(_("No open room has the code {code}. Check the code on the teacher's screen.",
                               code=repr(code)))
    return room


def recheck_teacher(store: Store, code: str, key: str, now: float | None = None) -> dict:
    """The open room of ``code`` if ``key`` is its teacher key, else ClassroomError(NO_ROOM_OR_KEY): one
    answer for a room that does not exist and a wrong key. Not rate-limited: for a key this session
    entered through ``check_teacher`` (or got from ``create_room``) already."""
    code = normalise_code(code)
    room = store.get_room(code) if valid_code(code) else None
    matches = hmac.compare_digest(_hash(str(key or "")), room["key_hash"] if room else _hash("no room"))
    if room is None or room.get("closed") or not matches:  # compared either way: no timing tells which
        raise ClassroomError(_(NO_ROOM_OR_KEY))
    store.touch_room(room["code"], now)
    return room


def check_teacher(store: Store, code: str, key: str, session: str = "", address: str = "",
                  now: float | None = None) -> dict:
    """A typed code and teacher key ("Control a room again"): attempts are rate-limited per client address
    and session before the room is looked up, wrong ones more; the answer is ``recheck_teacher``'s."""
    _limit_client(store, "enter", session, address, (ENTER_LIMIT, ENTER_ADDRESS_LIMIT),
                  N_("Too many attempts to control a room; wait a minute."), now)
    try:
        return recheck_teacher(store, code, key, now)
    except ClassroomError:
        _limit_client(store, "badkey", session, address, (WRONG_KEY_LIMIT, WRONG_KEY_ADDRESS_LIMIT),
                      N_("Too many wrong teacher keys; wait a minute."), now)
        raise


def check_nickname(nickname: str) -> str:
    """The nickname as it will be shown (spaces collapsed, NFC), or ClassroomError saying what is wrong."""
    nick = " ".join(unicodedata.normalize("NFC", str(nickname or "")).split())
    if not NICK_MIN <= len(nick) <= NICK_MAX:
        raise ClassroomError(_("A nickname has {low} to {high} characters.", low=NICK_MIN, high=NICK_MAX))
    bad = sorted({ch for ch in nick if not (ch.isalnum() or ch in NICK_PUNCTUATION)})
    if bad:
        raise ClassroomError(_("A nickname may use letters, digits, spaces and _ - . only (not {chars}).",
                               chars=" ".join(repr(ch) for ch in bad)))
    if not any(ch.isalnum() for ch in nick):
        raise ClassroomError(_("A nickname needs at least one letter or digit."))
    return nick


def join(store: Store, code: str, nickname: str, session: str = "", address: str = "",
         now: float | None = None) -> tuple[str, str, str]:
    """Join a room; returns (room code, nickname as stored, member token). Attempts are rate-limited per
    client address and session; a nickname that looks like one in the room is refused by the store."""
    _limit_client(store, "join", session, address, (JOIN_LIMIT, JOIN_ADDRESS_LIMIT),
                  N_("Too many join attempts; wait a minute."), now)
    room = find_room(store, code, session, address, now)
    nick = check_nickname(nickname)
    if len(store.members(room["code"])) >= MAX_MEMBERS:
        raise ClassroomError(_("This room is full ({n} members).", n=MAX_MEMBERS))
    token = secrets.token_urlsafe(12)
    if not store.add_member(room["code"], nick, {"token_hash": _hash(token)}, now):
        raise ClassroomError(_("The nickname {nick} is taken: it is, or looks like, a nickname already in the "
                               "room. Pick another.", nick=repr(nick)))
    store.touch_room(room["code"], now)
    return room["code"], nick, token


def rejoin(store: Store, code: str, nickname: str, token: str, now: float | None = None) -> dict:
    """The member, if ``token`` is theirs (a reloaded page taking its nickname back)."""
    code = normalise_code(code)
    room = store.get_room(code) if valid_code(code) else None
    member = store.get_member(code, str(nickname or "")) if room else None
    if member is None or room.get("closed") or not hmac.compare_digest(_hash(str(token or "")),
                                                                      member["token_hash"]):
        raise ClassroomError(_("This page's room membership is no longer valid; join again."))
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
    """Ids of the models trained for this room: its jobs' models, except ids someone else reserved."""
    return [j["model_id"] for j in store.jobs(room=code) if j.get("model_id")
            and (store.model_reservation(j["model_id"]) or {"room": code})["room"] == code]


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
