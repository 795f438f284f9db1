"""Join: a student joins a room with its code and a nickname, follows the teacher's view live, and
answers the teacher's challenges. Layout only; the rooms and checks are advcore.classroom."""

import json
import time

import streamlit as st

from advcore.classroom import challenges, follow, rooms
from advcore.classroom.rooms import ClassroomError
from advcore.i18n import N_, _
from advcore.ui import escape, follow_stream, room_session, student_panel, teacher_panel

st.title(_("Join a class"))
s = room_session.store()
MODES = (N_("Follow the teacher"), N_("Explore on my own"))  # English ids, shown translated
ENDED = N_("That room has ended: the teacher closed it, or it was idle too long.")


def restore_membership() -> tuple[str, str] | None:
    """(room, nickname) from this session, or, after a reload, from the nickname and member token this
    browser keeps in a cookie for the room in the link (the link has the room code only)."""
    if "class_room" in st.session_state:
        return st.session_state.class_room, st.session_state.class_nick
    for k in ("nick", "token"):  # never keep a member token in the link (older pages put it there)
        st.query_params.pop(k, None)
    code = rooms.normalise_code(st.query_params.get("room", ""))
    kept = room_session.member_from_cookie(code) if code not in st.session_state.get("class_left", set()) else None
    if kept is None:
        return None
    try:
        member = rooms.rejoin(s, code, *kept)
    except ClassroomError as exc:
        st.warning(escape.plain(exc))
        forget(code)
        return None
    st.session_state.class_room, st.session_state.class_nick = code, member["nickname"]
    return code, member["nickname"]


def forget(code: str) -> None:
    """This session no longer rejoins ``code`` from the cookie, and its next run deletes the cookie."""
    st.session_state.class_left = st.session_state.get("class_left", set()) | {code}
    st.session_state.class_cookie = (code, None, None)


def leave() -> None:
    forget(st.session_state.class_room)
    for k in ("class_room", "class_nick", "class_version", "class_view", "class_signature"):
        st.session_state.pop(k, None)


membership = restore_membership()
if "class_cookie" in st.session_state:  # set or delete this browser's cookie of the room, once
    room_session.write_member_cookie(*st.session_state.pop("class_cookie"))
if membership is None:
    if "class_notice" in st.session_state:
        st.info(_(st.session_state.pop("class_notice")))
    with st.form("class_join"):
        code = st.text_input(_("Room code (on the teacher's screen)"), st.query_params.get("room", ""), max_chars=12,
                             key="class_code")
        nick = st.text_input(_("Nickname ({low}-{high} letters, digits, spaces, _ - .)", low=rooms.NICK_MIN,
                               high=rooms.NICK_MAX), max_chars=rooms.NICK_MAX, key="class_nick_input")
        if st.form_submit_button(_("Join"), type="primary"):
            try:
                code, nick, token = rooms.join(s, code, nick, **room_session.client())
                st.session_state.class_room, st.session_state.class_nick = code, nick
                st.session_state.class_left = st.session_state.get("class_left", set()) - {code}
                st.session_state.class_cookie = (code, nick, token)  # a reload rejoins as the same nickname
                st.query_params["room"] = code  # the link: the room code only, never the token
                st.rerun()
            except ClassroomError as exc:
                st.error(escape.plain(exc))  # the message may quote what was typed
    st.caption(_("No account: your nickname is shown on the class leaderboard. This browser remembers it for a day: "
                 "reload or open the join link again to come back as the same nickname."))
    follow_stream.stop_following()  # after "Leave" or the room's end
    st.stop()

code, nick = membership
top = st.columns([2, 3, 1])
top[0].markdown(_("Room **{code}** · you are **{nickname}**", code=code, nickname=escape.plain(nick)))
mode = top[1].segmented_control(_("Mode"), MODES, default=MODES[0], key="class_mode", label_visibility="collapsed",
                                format_func=_)
if top[2].button(_("Leave"), key="class_leave"):
    leave()
    st.rerun()
following = mode != MODES[1]


def challenge_signature() -> str:
    return json.dumps([(c["id"], c["status"]) for c in s.challenges(code)])


@st.fragment(run_every=room_session.FOLLOW_POLL_S)
def watcher() -> None:
    """Explore-on-my-own mode only: draws nothing, reports this page now and then, and reruns the page when the
    teacher starts or ends a challenge, or closes the room (two small reads a tick). In follow mode nothing polls:
    the follow element's event stream (``advcore.ui.follow_stream``) pushes each new view, reports the page, and
    reruns the page (its hidden refresh button) when the challenges or the room change."""
    if s.get_room(code) is None:
        leave()
        st.session_state.class_notice = ENDED
        st.rerun()
    if time.time() - st.session_state.get("class_beat", 0.0) > room_session.HEARTBEAT_S:
        rooms.heartbeat(s, code, nick, following)
        st.session_state.class_beat = time.time()
    if challenge_signature() != st.session_state.get("class_signature"):
        st.rerun()


st.session_state.class_signature = challenge_signature()  # what this run draws; the watcher compares
st.session_state.class_version, st.session_state.class_view = s.get_view(code)
if s.get_room(code) is None:  # the room ended (the stream's "end" reran this page)
    leave()
    st.session_state.class_notice = ENDED
    st.rerun()
if not following:
    watcher()
elif time.time() - st.session_state.get("class_beat", 0.0) > room_session.HEARTBEAT_S:  # (then the stream reports it)
    rooms.heartbeat(s, code, nick, True)
    st.session_state.class_beat = time.time()
view = st.session_state.class_view
if following:  # the current view, then each new one as the stream pushes it ("view N" under it)
    follow_stream.show(s, code, st.session_state.class_version, view)
elif view is None:
    follow_stream.stop_following()
    st.info(_("The teacher has not presented a view yet; it appears here when they do."))
else:
    follow_stream.stop_following()
    st.link_button(_("Open the teacher's current view in Explore"), follow.explore_link(view))
    st.caption(_("Switch back to “{mode}” any time.", mode=_(MODES[0])))

items = [challenges.public(c) for c in s.challenges(code)]
open_items = [c for c in items if c["status"] == "open"]
if items:
    st.header(_("Challenges"))
for challenge in reversed(items):
    with st.expander(_("{id} · {title} ({status})", id=challenge["id"], title=challenges.title(challenge["kind"]),
                       status=challenges.status_name(challenge["status"])),
                     expanded=challenge["status"] == "open" and challenge is open_items[-1]):
        st.write(escape.plain(challenges.describe(challenge)))
        if challenge["status"] == "open":
            if challenge["kind"] == "quiz":
                student_panel.answer_quiz(s, code, nick, challenge)
            else:
                student_panel.answer_image_challenge(s, code, nick, challenge)
        elif challenge["kind"] == "quiz" and challenge["status"] == "revealed":
            st.write(_("The answer: **{choice}**", choice=escape.plain(challenge["choices"][challenge["answer"]])))
        if challenge["kind"] != "quiz" or challenge["status"] == "revealed":
            teacher_panel.leaderboard_table(s, code, challenge)
