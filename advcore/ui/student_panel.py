"""The student's answer panel: an attack on a challenge's image and its submit button, or a quiz's choices.

The server re-checks every submission (``advcore.classroom.challenges.submit``); a member's submission limit
is keyed by room and nickname (``room_session.member_key``), which a reload does not change.
"""

from __future__ import annotations

import json

import streamlit as st

from advcore import attacks, data
from advcore.classroom import challenges
from advcore.classroom.rooms import ClassroomError
from advcore.classroom.store import Store
from advcore.errors import AdvcoreError
from advcore.i18n import _

from . import resources
from .escape import plain
from .presented_view import analyse, image_of, model_for, show_result
from .room_session import member_key
from .widgets import attack_controls, attack_select, attack_title, eps_slider, target_select


def answer_image_challenge(s: Store, code: str, nick: str, challenge: dict) -> None:
    """The student's attack on a challenge image (or a test image they pick), and the submit button."""
    cid = challenge["id"]
    dataset = challenge["dataset"]
    names = data.info(dataset).class_names
    if challenge["kind"] == "robust":
        n = len(resources.test_split(dataset))
        index = int(st.number_input(_("Test image (0-{high})", high=n - 1), 0, n - 1, 0, key=f"ans_{cid}_index"))
        split = resources.test_split(dataset)
        x, label, image_key = split.x[index:index + 1], int(split.y[index]), f"test:{index}"
    else:
        index = None
        try:
            x, label, image_key = image_of(s, challenge)
        except ClassroomError as exc:
            st.error(_("This challenge cannot be answered: {error}", error=exc))
            return
    cols = st.columns([1, 1, 2])
    spec = attack_select(cols[0], f"ans_{cid}_attack", names=[a for a in attacks.ATTACKS if a != "transfer"])
    attack = spec.name
    with cols[1].popover(_("Attack settings"), use_container_width=True):
        params = attack_controls(spec, f"ans_{cid}", model_ids=resources.model_ids(dataset),
                                 attacked=challenge["model"])
        params = {k: v for k, v in params.items() if v is not None or k == "step_size"}
        target = target_select(st, spec, f"ans_{cid}", names, label)
        if target is not None:
            params["target"] = target
    if challenge["norm"] not in spec.norms:
        st.warning(_("{attack} does not do the {norm} norm this challenge measures in.",
                     attack=attack_title(spec), norm=challenge["norm"]))
    if "norm" in params or len(spec.norms) > 1:
        params["norm"] = challenge["norm"]
    if challenge["kind"] == "targeted":
        params["target"] = challenge["target"]
    with cols[2]:
        params["eps"] = eps_slider(challenge["norm"], f"ans_{cid}_eps", dataset, challenge["eps"])  # budget
    try:
        result = analyse(resources.model_key(challenge["model"]), image_key, x, label, attack,
                         json.dumps(params, sort_keys=True))
    except AdvcoreError as exc:
        st.error(str(exc))
        return
    show_result(names, x, label, result, f"ans_{cid}", target=challenge.get("target"))
    if st.button(_("Submit this adversarial image"), type="primary", key=f"ans_{cid}_submit"):
        try:
            entry = challenges.submit(s, code, cid, nick, x_adv=result["x_adv"], index=index, model_for=model_for,
                                      split_for=resources.test_split, session=member_key(code, nick))
            st.success(_("Accepted: {model} reads it as class {pred}; {norm} norm {size:.4f}.",
                         model=challenge["model"], pred=entry["pred"], norm=challenge["norm"], size=entry["norm"]))
        except ClassroomError as exc:
            st.error(_("Not accepted: {error}", error=exc))


def answer_quiz(s: Store, code: str, nick: str, challenge: dict) -> None:
    cid = challenge["id"]
    mine = s.submissions(code, cid, nick)
    if mine:
        picked = challenge["choices"][mine[0]["choice"]]
        if "answer" not in challenge:
            st.write(_("You answered **{choice}**.", choice=plain(picked)))
        elif mine[0]["correct"]:
            st.write(_("You answered **{choice}** — right!", choice=plain(picked)))
        else:
            st.write(_("You answered **{choice}** — not this time.", choice=plain(picked)))
        return
    choice = st.radio(plain(challenge["question"]), range(len(challenge["choices"])), key=f"quiz_{cid}_choice",
                      format_func=lambda i: plain(challenge["choices"][i]), index=None)
    if st.button(_("Answer"), type="primary", key=f"quiz_{cid}_submit", disabled=choice is None):
        try:
            challenges.submit(s, code, cid, nick, choice=int(choice), session=member_key(code, nick))
            st.rerun()
        except ClassroomError as exc:
            st.error(_("Not accepted: {error}", error=exc))
