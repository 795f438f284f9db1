"""The teacher's room panel: starting a challenge, each challenge's status and leaderboard, the training queue.

Challenges, their server-side checks and leaderboards are ``advcore.classroom.challenges``; the queue is
``advcore.classroom.queue``. Eps is in pixel units ([0, 1] images).
"""

from __future__ import annotations

import time

import streamlit as st

from advcore import data, pictures
from advcore.classroom import challenges, queue
from advcore.classroom.rooms import ClassroomError
from advcore.classroom.store import Store
from advcore.errors import AdvcoreError
from advcore.i18n import N_, _, class_name

from . import resources
from .escape import plain
from .presented_view import image_of, model_for

JOB_STATES = {"queued": N_("queued"), "running": N_("running"), "done": N_("done"), "failed": N_("failed"),
              "cancelled": N_("cancelled"), "stopped": N_("stopped")}  # store.JOB_STATES as shown


def start_challenge_form(s: Store, code: str, view: dict | None) -> None:
    """Templates: min-eps, targeted and robust use the presented view's data set, model and image."""
    kind = st.selectbox(_("Template"), list(challenges.TEMPLATES), key="teach_ch_kind", format_func=challenges.title)
    params: dict = {}
    if kind == "quiz":
        params["question"] = st.text_input(_("Question"), _("Which model will still be right at eps 0.3?"),
                                           key="teach_ch_question")
        choices = st.text_area(_("Choices, one a line"), _("mnist-standard\nmnist-pgd\nboth\nneither"),
                               key="teach_ch_choices").splitlines()
        params["choices"] = [c for c in choices if c.strip()]
        params["answer"] = st.selectbox(_("Right answer"), range(len(params["choices"])), key="teach_ch_answer",
                                        format_func=lambda i: params["choices"][i])
    elif view is None:
        st.info(_("Present a view first: these challenges use its data set, model and image."))
        return
    else:
        names = data.info(view["dataset"]).class_names
        try:
            x, label, _key = image_of(s, view)
        except ClassroomError as exc:
            st.warning(_("The presented view cannot start a challenge: {error}", error=exc))
            return
        norm = st.radio(_("Norm"), challenges.NORMS, horizontal=True, key="teach_ch_norm")
        params.update(dataset=view["dataset"], model=view["model"], norm=norm)
        if kind in ("min-eps", "targeted"):
            params.update(x=x, label=label)
        if kind == "targeted":
            params["target"] = st.selectbox(_("Target class"), [c for c in range(len(names)) if c != label],
                                            format_func=lambda c: f"{c}: {class_name(names[c])}", key="teach_ch_target")
        default = view["eps"] if norm == view["norm"] and view["eps"] > 0 else \
            data.info(view["dataset"]).default_eps(norm)
        eps = st.number_input(_("eps (ceiling)") if kind == "min-eps" else "eps", 0.001, challenges.EPS_MAX[norm],
                              float(default), format="%.4f",
                              key=f"teach_ch_eps_{norm}_{default:.4f}")  # a new presented eps resets it
        params["eps_max" if kind == "min-eps" else "eps"] = eps
    if st.button(_("Start this challenge"), type="primary", key="teach_ch_start"):
        try:
            cid = challenges.start(s, code, kind, model_for=model_for, split_for=resources.test_split, **params)
            st.success(_("Challenge {id} started.", id=cid))
        except (AdvcoreError, KeyError) as exc:
            st.error(_("Cannot start: {error}", error=exc))


def leaderboard_table(s: Store, code: str, challenge: dict) -> list[dict]:
    board = challenges.leaderboard(s, code, challenge)
    if not board:
        st.caption(_("No correct answer yet."))
        return board
    rows = [{_("rank"): r["rank"], _("nickname"): plain(r["nickname"]),  # st.table renders Markdown
             **({_("{norm} norm", norm=challenge["norm"]): round(r["score"], 5)} if challenge["kind"] == "min-eps"
                else {}),
             _("solved at"): time.strftime("%H:%M:%S", time.localtime(r["time"])), _("attempts"): r["attempts"]}
            for r in board]
    st.table(rows)  # static and large: readable on a projector
    return board


def teacher_challenge(s: Store, code: str, challenge: dict) -> None:
    """One challenge on the teacher's screen: status buttons, leaderboard, the best answer's images."""
    cid = challenge["id"]
    st.markdown(_("**{id} · {title}** ({status}): {task}", id=cid, title=challenges.title(challenge["kind"]),
                  status=challenges.status_name(challenge["status"]), task=plain(challenges.describe(challenge))))
    cols = st.columns(3)
    if challenge["status"] == "open" and cols[0].button(_("Close"), key=f"close_{cid}"):
        challenge = challenges.set_status(s, code, cid, "closed")
    if challenge["status"] != "revealed" and cols[1].button(_("Reveal"), key=f"reveal_{cid}"):
        challenge = challenges.set_status(s, code, cid, "revealed")
    if challenge["kind"] == "quiz":
        counts = challenges.quiz_counts(s, code, challenge)
        right = challenge["answer"] if challenge["status"] == "revealed" else None
        st.dataframe([{_("choice"): c + (" ✓" if i == right else ""), _("answers"): counts[i]}
                      for i, c in enumerate(challenge["choices"])],
                     hide_index=True, key=f"quiz_{cid}")
    board = leaderboard_table(s, code, challenge)
    if board and board[0].get("image_id") and cols[2].toggle(_("Show the best answer"), key=f"best_{cid}"):
        best = next(e for e in s.submissions(code, cid) if e["id"] == board[0]["submission"])
        if challenge["kind"] == "robust":
            x = resources.test_split(challenge["dataset"]).x[best["index"]:best["index"] + 1]
        else:
            x = s.get_image(challenge["image_id"])
        adv = s.get_image(best["image_id"])
        if adv is not None and x is not None:
            st.html(pictures.triptych(x[0], adv[0]))
            st.caption(_("{nickname}'s answer: {model} reads it as class {pred}.", nickname=plain(best["nickname"]),
                         model=challenge["model"], pred=best["pred"]))
        else:
            st.warning(_("The images of this answer are no longer stored on this server."))


def training_queue(s: Store, code: str) -> None:
    """The room's training jobs, in queue order, with a cancel button for open ones."""
    jobs = s.jobs(room=code)
    st.subheader(_("Training queue"))
    if not jobs:
        st.caption(_("No model trained or queued for this room. Models trained for the room are deleted with it."))
        return
    for job in jobs:
        cols = st.columns([3, 2, 1])
        pos = queue.position(s, job["id"])
        where = _(JOB_STATES.get(job["status"], job["status"])) if pos is None else \
            _("running") if pos == 0 else _("queued, #{position}", position=pos)
        cols[0].write(_("**{model}** for {nickname}", model=job.get("model_id"),  # ids are slugs: [a-z0-9-]
                        nickname=plain(job.get("nickname"))))
        cols[1].write(where)
        if pos is not None and cols[2].button(_("Cancel"), key=f"cancel_{job['id']}"):
            queue.cancel(s, job["id"])
            st.rerun()
