"""The teacher's presenter: a view picker bound to the presenter's own view, and presenting it to the room.

The presenter's view lives in the session under ``<key>_view`` (``advcore.ui.view_state``), its widgets are
Explore's (``advcore.ui.widgets``); ``present_if_changed`` makes it the room's presented view
(``advcore.classroom.follow.present``) only when it changed. Explore and Compare offer ``present_button`` to the
teacher of a room in the same browser session.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import streamlit as st

from advcore import data, images
from advcore.attacks.base import logits_of
from advcore.classroom import follow, rooms
from advcore.classroom.rooms import ClassroomError
from advcore.classroom.store import Store
from advcore.errors import AdvcoreError
from advcore.i18n import N_, _, class_name
from advcore.view import ExploreView

from . import canvas, resources
from .attack_row import view_attack_controls
from .presented_view import model_for
from .room_session import store
from .view_state import get_view, remembered_eps, set_view, writer
from .widgets import attack_select, bound, dataset_select, eps_slider, target_select

TEST_IMAGE, DRAW, UPLOAD = N_("Test image"), N_("Draw"), N_("Upload")  # the image sources (English ids, shown
IMAGE_SOURCES = (TEST_IMAGE, DRAW, UPLOAD)                              # translated)


def _own_image(s: Store, code: str, dataset: str, model_id: str, source: str, key: str):
    """A drawn or uploaded image, kept in the store under its content id; (image id, label) or None."""
    shape = data.info(dataset).shape
    try:
        if source == DRAW:
            pixels = canvas.draw(f"{key}_canvas", shape[0])
            x = None if pixels is None else images.from_drawing(pixels, shape)
        else:
            upload = st.file_uploader(_("PNG or JPEG"), type=["png", "jpg", "jpeg"], key=f"{key}_upload")
            x = None if upload is None else images.from_bytes(upload.getvalue(), shape,
                                                              invert_light_background=shape[-1] == 1)
    except images.ImageError as exc:
        st.error(_("This image cannot be used: {error}.", error=exc))
        return None
    if x is None:
        st.caption(_("Draw or upload an image to present it."))
        return None
    stored = st.session_state.setdefault(f"{key}_stored", {})
    digest = hashlib.sha1(x.tobytes()).hexdigest()
    if digest not in stored:
        stored[digest] = s.put_image(x, room=code)
    names = data.info(dataset).class_names
    guess = int(np.argmax(logits_of(model_for(model_id), x)[0]))
    label = st.selectbox(_("What is it? (the true class; starts at the model's guess)"), range(len(names)),
                         index=guess, format_func=lambda c: f"{c}: {class_name(names[c])}",
                         key=f"{key}_label_{digest[:12]}")
    return stored[digest], int(label)


PRESENTED_IMAGE = N_("Presented image")  # the room's drawn or uploaded image, when the presenter starts from it


def _without(model_b: str | None, defence: str | None) -> str | None:
    """The label of the button that drops model B and/or the defence from the presented view (None: neither)."""
    if model_b and defence:
        return _("Present without model B {model} and the defence {defence}", model=model_b, defence=defence)
    if model_b:
        return _("Present without model B {model}", model=model_b)
    return _("Present without the defence {defence}", defence=defence) if defence else None


def presenter_view(s: Store, code: str, key: str = "teach") -> ExploreView:
    """The presenter's view (session key ``<key>_view``): the room's presented view whenever that is not the
    one this presenter last showed (entering the room after a reload, coming back after presenting from
    Explore or Compare), so every student's screen stays where it is."""
    version = s.view_version(code)
    if st.session_state.get(f"{key}_view_at") != (code, version):
        st.session_state[f"{key}_view_at"] = (code, version)
        stored = s.get_view(code)[1]
        try:
            load_into_presenter(stored, key)
            st.session_state[f"presented_{code}"] = json.dumps(stored, sort_keys=True)
        except (ClassroomError, AdvcoreError, KeyError, TypeError, ValueError):  # nothing (or nothing valid) yet
            set_view(ExploreView(), f"{key}_view")
    return get_view(f"{key}_view")


def presenter(s: Store, code: str, key: str = "teach") -> dict | None:
    """The teacher's view picker (data set, model, image, attack, settings, eps), bound to the presenter's view
    like Explore's widgets to Explore's; returns the view to present."""
    scope = f"{key}_view"
    view = presenter_view(s, code, key)
    left, right = st.columns([1, 2])
    dataset = dataset_select(left, f"{key}_dataset", view.dataset,
                             writer(scope, lambda v, name: v.with_dataset(name)))
    ids = resources.model_ids(dataset)
    if not ids:
        st.error(_("No model for {dataset} is available.", dataset=dataset))
        return None
    model_id = bound(left, "selectbox", _("Model"), f"{key}_model_{dataset}",
                     view.model if view.model in ids else ids[0],
                     writer(scope, lambda v, model: v.replace(model=model)), options=ids)
    split = resources.test_split(dataset)
    sources = IMAGE_SOURCES if data.info(dataset).shape[-1] == 1 else (TEST_IMAGE, UPLOAD)
    kept = st.session_state.get(f"{key}_presented_image")
    sources += (PRESENTED_IMAGE,) if kept and kept[2] == dataset else ()
    if st.session_state.get(f"{key}_source") not in sources:
        st.session_state[f"{key}_source"] = sources[0]
    index = None
    with left:
        source = st.radio(_("Image"), sources, horizontal=True, key=f"{key}_source", format_func=_)
        if source == TEST_IMAGE:
            index = int(bound(st, "number_input", _("Test image (0-{high})", high=len(split) - 1),
                              f"{key}_image_{dataset}",
                              min(max(view.image or 0, 0), len(split) - 1),
                              writer(scope, lambda v, i: v.replace(image=int(i))),
                              min_value=0, max_value=len(split) - 1))
            image, label = {"image": index}, int(split.y[index])
        elif source == PRESENTED_IMAGE:
            image, label = {"image_id": kept[0], "label": kept[1]}, kept[1]
        else:
            own = _own_image(s, code, dataset, model_id, source, key)
            if own is None:
                return None
            image, label = {"image_id": own[0], "label": own[1]}, own[1]
        plain_label = _without(view.model_b, view.defence)
        if plain_label and st.button(plain_label, key=f"{key}_plain"):
            set_view(get_view(scope).replace(model_b=None, defence=None, adaptive=False), scope)
            st.rerun()
    spec = attack_select(right, f"{key}_attack", view.attack, writer(
        scope, lambda v, name: v.with_attack(name, lambda norm: remembered_eps(scope, v.dataset, norm))))
    with right.popover(_("Attack settings"), use_container_width=True):
        params = view_attack_controls(spec, key, scope, ids, model_id)
        target = target_select(st, spec, key, split.class_names, label, view.target,
                               writer(scope, lambda v, target: v.replace(target=target)))
    norm = params.get("norm") or view.effective_norm
    with right:
        eps = eps_slider(norm, f"{key}_eps", dataset, view.eps,
                         writer(scope, lambda v, eps: v.replace(eps=eps)))
    st.session_state.setdefault(f"{key}_note", "")
    note = right.text_input(_("A line for the class (optional)"), max_chars=200, key=f"{key}_note")
    view = get_view(scope).replace(model=model_id, eps=eps, image=index)
    set_view(view, scope)
    params = {k: v for k, v in params.items() if v is not None}
    if target is not None:
        params["target"] = target
    try:
        return follow.make_view(dataset, model_id, spec.name, eps, params=params, note=note,
                                page="compare" if view.model_b else "explore", defence=view.defence or "none",
                                adaptive=view.adaptive, model_b=view.model_b, **image)
    except ClassroomError as exc:
        st.error(str(exc))
        return None


def load_into_presenter(view: dict, key: str = "teach") -> None:
    """Make a presented view (or one read from a link) the presenter's: its widgets follow on the next run."""
    if view["model"] not in resources.model_ids(view["dataset"]):
        raise ClassroomError(_("model {model} is not available for {dataset} on this server",
                               model=repr(view["model"]), dataset=view["dataset"]))
    set_view(follow.explore_view(view), f"{key}_view")
    st.session_state[f"{key}_note"] = view.get("note", "")
    if "image_id" in view:
        st.session_state[f"{key}_presented_image"] = (view["image_id"], int(view["label"]), view["dataset"])
        st.session_state[f"{key}_source"] = PRESENTED_IMAGE
    else:
        st.session_state[f"{key}_source"] = TEST_IMAGE


def present_if_changed(s: Store, code: str, view: dict, key: str = "teach") -> int:
    """Present ``view`` unless it is what this session presented last; the current version (the presenter
    ``key`` knows it shows that version)."""
    text = json.dumps(view, sort_keys=True)
    if st.session_state.get(f"presented_{code}") != text:
        st.session_state[f"presented_{code}"] = text
        version = follow.present(s, code, view)
        st.session_state[f"{key}_view_at"] = (code, version)
        return version
    return s.view_version(code)


def teacher_room() -> str | None:
    """The room this browser session controls (created or entered on the Teach page, its key still valid),
    or None."""
    code, key = st.session_state.get("teach_room"), st.session_state.get("teach_key")
    if not code or not key:
        return None
    try:
        rooms.recheck_teacher(store(), code, key)
    except ClassroomError:
        return None
    return code


def present_button(where, key: str, picked, note: str = "", **view) -> None:
    """'Present this view' for the teacher of a room in this browser session (nothing for anyone else):
    ``view`` (``follow.make_view``'s data set, model, attack, eps, params, page) on the picked image becomes
    the room's presented view; a drawn or uploaded image is put in the store for the followers."""
    code = teacher_room()
    if code is None:
        return
    if not where.button(_("Present this view to room {code}", code=code), key=f"{key}_present",
                        icon=":material/co_present:",
                        help=_("students following your room see this view within a second")):
        return
    s = store()
    image = {"image": picked.index} if picked.index is not None else \
        {"image_id": s.put_image(picked.x, room=code), "label": picked.label}
    try:
        version = follow.present(s, code, follow.make_view(**view, **image, note=note))
    except ClassroomError as exc:
        where.error(_("This view cannot be presented: {error}", error=exc))
        return
    where.success(_("Presented to room {code} (view {version}).", code=code, version=version))
