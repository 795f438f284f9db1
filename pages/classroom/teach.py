"""Teach: create a room, present a view the class follows, set challenges, watch the leaderboard.
Layout only; the rooms, checks and leaderboards are advcore.classroom."""

import streamlit as st

from advcore.classroom import challenges, follow, rooms
from advcore.classroom.rooms import ClassroomError
from advcore.i18n import _, ngettext
from advcore.ui import escape, presented_view, presenting, qr, room_session, teacher_panel

st.title(_("Teach: a room your class joins"))
s = room_session.store()


def enter_room(code: str, key: str, typed: bool = True) -> None:
    """Control room ``code`` in this session; a typed code and key are rate-limited (``rooms.check_teacher``)."""
    room = rooms.check_teacher(s, code, key, **room_session.client()) if typed else rooms.recheck_teacher(s, code, key)
    st.session_state.teach_room, st.session_state.teach_key = room["code"], key


def start_page() -> None:
    st.write(_("Create a room: students join it with its code (or the QR code) and a nickname, no account. "
               "They follow the view you present, and answer the challenges you set; the server checks every answer."))
    left, right = st.columns(2)
    with left.form("teach_create"):
        st.subheader(_("New room"))
        title = st.text_input(_("Title (optional)"), max_chars=80, key="teach_title")
        password = (st.text_input(_("Teacher password (this server asks for one)"), type="password", key="teach_pw")
                    if rooms.password_required() else None)
        if st.form_submit_button(_("Create a room"), type="primary"):
            try:
                code, key = rooms.create_room(s, title, password, **room_session.client())
                enter_room(code, key, typed=False)
                st.session_state.teach_show_key = True
                st.rerun()
            except ClassroomError as exc:
                st.error(escape.plain(exc))  # the message may quote what was typed
    with right.form("teach_enter"):
        st.subheader(_("Control a room again"))
        code = st.text_input(_("Room code"), max_chars=12, key="teach_enter_code")
        key = st.text_input(_("Teacher key"), type="password", key="teach_enter_key")
        if st.form_submit_button(_("Control this room")):
            try:
                enter_room(code, key)
                st.rerun()
            except ClassroomError as exc:
                st.error(escape.plain(exc))  # the message may quote what was typed


if "teach_room" not in st.session_state:
    start_page()
    st.stop()

code = st.session_state.teach_room
try:
    room = rooms.recheck_teacher(s, code, st.session_state.teach_key)
except ClassroomError as exc:
    st.error(_("{error} Create or enter a room again.", error=exc))
    for k in ("teach_room", "teach_key"):
        st.session_state.pop(k, None)
    st.stop()

if st.session_state.get("teach_show_key"):
    with st.container(border=True):
        st.warning(_("Your teacher key, shown only now: note it to control this room after a reload or from "
                     "another computer. Students never need it."))
        st.code(st.session_state.teach_key, language=None)
        if st.button(_("I have noted the key"), key="teach_key_noted"):
            st.session_state.teach_show_key = False
            st.rerun()

link = room_session.join_link(code)
head = st.columns([3, 3, 2])
with head[0]:
    st.caption(_("{title} · join code", title=escape.plain(room.get("title"))) if room.get("title") else
               _("Room · join code"))
    st.markdown(f"<div style='font-size:3.4rem;font-weight:700;letter-spacing:0.12em;line-height:1.1;"
                f"white-space:nowrap;font-family:monospace'>{code}</div>",
                unsafe_allow_html=True)  # the code is from rooms.ALPHABET only
with head[1]:
    st.caption(_("Join link (students open it, or the QR code, and pick a nickname)"))
    st.code(link, language=None, wrap_lines=True)


    @st.fragment(run_every=room_session.TEACHER_POLL_S)
    def presence() -> None:
        counts = rooms.presence(s, code)
        row = st.columns(3)
        row[0].metric(_("joined"), counts["joined"])
        row[1].metric(_("connected"), counts["connected"])  # no help icon: the word keeps its narrow column at 1024
        row[2].metric(_("following you"), counts["following"])
        st.caption(_("connected: the student's page was open in the last {seconds:.0f} s", seconds=rooms.CONNECTED_S))

    presence()
head[2].image(qr.qr_png(link), width="stretch", caption=_("scan to join"),  # its column's width, never wider
              alt=_("QR code of the join link {link}", link=link))

present_tab, challenge_tab, room_tab = st.tabs([_("Present"), _("Challenges"), _("Results and room")])

with present_tab:
    st.caption(_("Students in follow mode see each change within a second: the server computes it once and "
                 "pushes it to every follower's page."))
    with st.expander(_("Present an Explore link instead")):
        pasted = st.text_input(_("Explore link (copy it from the address bar of the Explore page)"), key="teach_link")
        if st.button(_("Load this link"), key="teach_link_load") and pasted:
            try:
                presenting.load_into_presenter(follow.view_from_link(pasted))
                st.rerun()
            except ClassroomError as exc:
                st.error(escape.plain(exc))  # the message may quote what was typed
    view = presenting.presenter(s, code)
    if view is not None:
        version = presenting.present_if_changed(s, code, view)
        presented_view.show_view(s, view, "teach_view")
        st.caption(_("Presented view version {version}.", version=version))

with challenge_tab:
    with st.expander(_("New challenge"), expanded=not s.challenges(code)):
        teacher_panel.start_challenge_form(s, code, s.get_view(code)[1])

    @st.fragment(run_every=room_session.TEACHER_POLL_S)
    def challenge_list() -> None:
        items = s.challenges(code)
        if not items:
            st.caption(_("No challenge yet."))
        for challenge in reversed(items):
            with st.container(border=True):
                teacher_panel.teacher_challenge(s, code, challenge)

    challenge_list()

with room_tab:
    st.download_button(_("Download the results (CSV)"), challenges.results_csv(s, code),
                       file_name=f"advlab-{code}-results.csv", mime="text/csv", key="teach_csv")
    hours = rooms.idle_limit_s() / 3600
    st.caption(ngettext("One row per student and challenge they solved: rank, score (norm, for smallest-eps "
                        "challenges), time and attempts. Results go when the room closes, or after {hours:g} hour "
                        "without activity.",
                        "One row per student and challenge they solved: rank, score (norm, for smallest-eps "
                        "challenges), time and attempts. Results go when the room closes, or after {hours:g} hours "
                        "without activity.", 1 if hours == 1 else 2, hours=hours))
    teacher_panel.training_queue(s, code)
    confirm = st.checkbox(_("Yes, end the room and delete its results and models"), key="teach_close_confirm")
    if st.button(_("Close the room"), disabled=not confirm, key="teach_close"):
        rooms.close_room(s, code)
        for k in ("teach_room", "teach_key", "teach_show_key"):
            st.session_state.pop(k, None)
        st.rerun()
