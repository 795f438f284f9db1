"""Join: a student joins a room with its code and a nickname, follows the teacher's view live, and
answers the teacher's challenges. Layout only; the rooms and checks are advcore.classroom."""

import json
import time

import streamlit as st

from advcore.classroom import challenges, follow, rooms
from advcore.classroom.rooms import ClassroomError
from advcore.ui import classroom as ui

st.title("Join a class")
s = ui.store()
MODES = ("Follow the teacher", "Explore on my own")


def restore_membership() -> tuple[str, str] | None:
    """(room, nickname) from this session, or from the link a reloaded page kept (room, nick, token)."""
    if "class_room" in st.session_state:
        return st.session_state.class_room, st.session_state.class_nick
    q = st.query_params
    if q.get("room") and q.get("nick") and q.get("token"):
        try:
            member = rooms.rejoin(s, q["room"], q["nick"], q["token"])
        except ClassroomError as exc:
            st.warning(str(exc))
            return None
        st.session_state.class_room, st.session_state.class_nick = rooms.normalise_code(q["room"]), member["nickname"]
        return st.session_state.class_room, st.session_state.class_nick
    return None


def leave() -> None:
    for k in ("class_room", "class_nick", "class_version", "class_view", "class_signature"):
        st.session_state.pop(k, None)
    for k in ("nick", "token"):
        st.query_params.pop(k, None)


membership = restore_membership()
if membership is None:
    if "class_notice" in st.session_state:
        st.info(st.session_state.pop("class_notice"))
    with st.form("class_join"):
        code = st.text_input("Room code (on the teacher's screen)", st.query_params.get("room", ""), max_chars=12,
                             key="class_code")
        nick = st.text_input(f"Nickname ({rooms.NICK_MIN}-{rooms.NICK_MAX} letters, digits, spaces, _ - .)",
                             max_chars=rooms.NICK_MAX, key="class_nick_input")
        if st.form_submit_button("Join", type="primary"):
            try:
                code, nick, token = rooms.join(s, code, nick, ui.session_id())
                st.session_state.class_room, st.session_state.class_nick = code, nick
                st.query_params.update(room=code, nick=nick, token=token)  # a reload rejoins as the same nickname
                st.rerun()
            except ClassroomError as exc:
                st.error(str(exc))
    st.caption("No account: your nickname is shown on the class leaderboard; keep this page's link to come back "
               "as the same nickname.")
    st.stop()

code, nick = membership
top = st.columns([2, 3, 1])
top[0].markdown(f"Room **{code}** · you are **{nick}**")
mode = top[1].segmented_control("Mode", MODES, default=MODES[0], key="class_mode", label_visibility="collapsed")
if top[2].button("Leave", key="class_leave"):
    leave()
    st.rerun()
following = mode != MODES[1]


def challenge_signature() -> str:
    return json.dumps([(c["id"], c["status"]) for c in s.challenges(code)])


@st.fragment(run_every=ui.FOLLOW_POLL_S)
def watcher() -> None:
    """Draws nothing: reports this page now and then, and reruns the page when the teacher presents a
    new view (if following) or starts or ends a challenge. An unchanged tick costs three small reads."""
    if s.get_room(code) is None:
        leave()
        st.session_state.class_notice = "That room has ended: the teacher closed it, or it was idle too long."
        st.rerun()
    if time.time() - st.session_state.get("class_beat", 0.0) > ui.HEARTBEAT_S:
        rooms.heartbeat(s, code, nick, following)
        st.session_state.class_beat = time.time()
    if challenge_signature() != st.session_state.get("class_signature") or (
            following and s.view_version(code) != st.session_state.get("class_version")):
        st.rerun()


st.session_state.class_signature = challenge_signature()  # what this run draws; the watcher compares
st.session_state.class_version, st.session_state.class_view = s.get_view(code)
watcher()
view = st.session_state.class_view
if view is None:
    st.info("The teacher has not presented a view yet; it appears here when they do.")
elif following:
    ui.show_view(s, view, "class_view")
    st.caption(f"Following the teacher (view {st.session_state.class_version}). "
               f"[Open this view in Explore]({follow.explore_link(view)}) to try your own settings.")
else:
    st.link_button("Open the teacher's current view in Explore", follow.explore_link(view))
    st.caption("Switch back to “Follow the teacher” any time.")

items = [challenges.public(c) for c in s.challenges(code)]
open_items = [c for c in items if c["status"] == "open"]
if items:
    st.header("Challenges")
for challenge in reversed(items):
    with st.expander(f"{challenge['id']} · {challenges.TEMPLATES[challenge['kind']].title} ({challenge['status']})",
                     expanded=challenge["status"] == "open" and challenge is open_items[-1]):
        st.write(challenges.describe(challenge))
        if challenge["status"] == "open":
            if challenge["kind"] == "quiz":
                ui.answer_quiz(s, code, nick, challenge)
            else:
                ui.answer_image_challenge(s, code, nick, challenge)
        elif challenge["kind"] == "quiz" and challenge["status"] == "revealed":
            st.write(f"The answer: **{challenge['choices'][challenge['answer']]}**")
        if challenge["kind"] != "quiz" or challenge["status"] == "revealed":
            ui.leaderboard_table(s, code, challenge)
