"""A browser session's place in Classroom mode: the process's store, who the session is (id, client
address, a member's cookie), and the links into a room.

The rooms themselves are ``advcore.classroom``; idle ones are closed by ``advcore.classroom.expiry``
whenever a page opens the store.
"""

from __future__ import annotations

import json
import uuid
from urllib.parse import quote, unquote, urlencode, urlparse

import streamlit as st

from advcore.classroom import expiry, rooms
from advcore.classroom.store import Store, open_store
from advcore.i18n import link_language

from . import limits

FOLLOW_POLL_S = 2.0  # a student's page checks for challenges and the room's end this often (views are pushed)
TEACHER_POLL_S = 2.0  # the teacher's counts and leaderboard refresh this often
HEARTBEAT_S = 5.0  # a student's page reports itself at most this often


@st.cache_resource(show_spinner=False)
def _store() -> Store:
    return open_store()


def store() -> Store:
    """This process's store (ADVLAB_STORE, else SQLite); closes idle rooms once a minute
    (``expiry.expire_if_due``)."""
    s = _store()
    expiry.expire_if_due(s)
    return s


def session_id() -> str:
    """A random id for this browser session (the key of its per-session rate limits; a reload gets a new one)."""
    if "classroom_session" not in st.session_state:
        st.session_state.classroom_session = uuid.uuid4().hex
    return st.session_state.classroom_session


def client_address() -> str:
    """This session's client address as the server sees it (a reload keeps it): the connection's peer,
    or behind a trusted proxy (ADVLAB_TRUSTED_PROXIES) the address it forwards (``limits.client_address``)."""
    try:
        peer, headers = st.context.ip_address, st.context.headers
        forwarded = ",".join(headers.get_all("X-Forwarded-For")) if headers else ""
    except Exception:  # no request (a bare script run)
        peer, forwarded = None, ""
    return limits.client_address(peer, forwarded)


def client() -> dict:
    """The keys of this session's rate limits, as ``rooms`` takes them: ``rooms.join(..., **ui.client())``."""
    return {"session": session_id(), "address": client_address()}


def member_key(code: str, nick: str) -> str:
    """The key of a member's submission limit: their room and nickname, which a reload does not change."""
    return f"member:{code}:{nick}"


# --- a student's membership, kept for a reload ---------------------------------------------------
# The member token lives in a cookie of this site (one per room, SameSite=Strict, set by a script in
# the page), never in the page's link: a shared or projected link carries the room code only.

MEMBER_COOKIE_S = 24 * 3600


def member_cookie_name(code: str) -> str:
    return f"advlab_member_{rooms.normalise_code(code)}"


def request_cookies() -> dict:
    """The cookies this session's browser sent when it connected (none in a bare script run)."""
    try:
        return dict(st.context.cookies)
    except Exception:
        return {}


def member_from_cookie(code: str, cookies: dict | None = None) -> tuple[str, str] | None:
    """(nickname, member token) that this browser keeps for room ``code``, if any (``cookies``: a request's, as the
    follow stream reads them; default: this session's)."""
    raw = (request_cookies() if cookies is None else cookies).get(member_cookie_name(code))
    try:
        nick, token = json.loads(unquote(raw or ""))
    except (ValueError, TypeError):
        return None
    return (nick, token) if isinstance(nick, str) and isinstance(token, str) else None


def member_cookie_script(code: str, nick: str | None = None, token: str | None = None) -> str:
    """A script that stores (nickname, token) in this browser's cookie of room ``code``, or deletes that
    cookie when ``token`` is None."""
    value = quote(json.dumps([nick, token]), safe="") if token else ""
    cookie = (f"{member_cookie_name(code)}={value}; Path=/; SameSite=Strict; "
              f"Max-Age={MEMBER_COOKIE_S if token else 0}")
    return (f"<script>document.cookie = {json.dumps(cookie)} + "
            "(location.protocol === 'https:' ? '; Secure' : '');</script>")


def write_member_cookie(code: str, nick: str | None = None, token: str | None = None) -> None:
    """Run ``member_cookie_script`` in this page (an invisible element)."""
    st.html(member_cookie_script(code, nick, token), unsafe_allow_javascript=True)


def base_url() -> str:
    try:
        url = urlparse(st.context.url or "")
    except Exception:  # AppTest has no browser URL
        return ""
    return f"{url.scheme}://{url.netloc}" if url.scheme else ""


def join_link(code: str, lang: str | None = None) -> str:
    """The room's join link (and QR code): the room code, and ``?lang=`` of ``lang`` (default: the teacher's
    language, ``i18n.link_language``; none for English) so students open Join in it (they can still switch)."""
    lang = lang or link_language()
    return f"{base_url()}/join?{urlencode({'room': code, **({'lang': lang} if lang else {})})}"
