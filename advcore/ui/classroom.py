"""Streamlit glue for Classroom mode (pages/classroom/): the store per process, the presented
view's rendering, the teacher's presenter and challenge panels, the student's answer panel.

The logic (rooms, checks, leaderboards) is in ``advcore.classroom``; this module places it.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import threading
import time
import uuid
from urllib.parse import quote, unquote, urlencode, urlparse

import numpy as np
import streamlit as st

from advcore import attacks, data, images, live, pictures
from advcore.attacks.base import logits_of
from advcore.bars import probability_bars
from advcore.classroom import challenges, follow, queue, rooms
from advcore.classroom.rooms import ClassroomError
from advcore.classroom.store import Store, open_store
from advcore.errors import AdvcoreError
from advcore.view import ExploreView

from . import canvas, controls, limits, resources

FOLLOW_POLL_S = 2.0  # a student's page checks for challenges and the room's end this often (views are pushed)
TEACHER_POLL_S = 2.0  # the teacher's counts and leaderboard refresh this often
HEARTBEAT_S = 5.0  # a student's page reports itself at most this often
EXPIRE_EVERY_S = 60.0
_expiry = {"last": 0.0, "lock": threading.Lock()}


@st.cache_resource(show_spinner=False)
def _store() -> Store:
    return open_store()


def store() -> Store:
    """This process's store (ADVLAB_STORE, else SQLite); closes idle rooms once a minute."""
    s = _store()
    with _expiry["lock"]:
        due = time.time() - _expiry["last"] > EXPIRE_EVERY_S
        if due:
            _expiry["last"] = time.time()
    if due:
        rooms.expire_rooms(s)
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


_MARKDOWN_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")


def plain(text) -> str:
    """``text`` (a nickname, title, question or choice someone typed) for an element that renders Markdown
    (st.markdown, st.write, st.caption, st.table cells, widget labels): shown as typed, never as Markdown
    or HTML. Every ASCII punctuation mark is backslash-escaped (CommonMark) and line breaks become spaces."""
    return _MARKDOWN_PUNCTUATION.sub(r"\\\1", " ".join(str(text).split()))


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


def join_link(code: str) -> str:
    return f"{base_url()}/join?{urlencode({'room': code})}"


@st.cache_data(max_entries=256, show_spinner=False)
def qr_png(text: str, scale: int = 10) -> bytes:
    """A QR code of ``text`` as PNG (segno), large enough to scan from the back of a room."""
    import segno
    buf = io.BytesIO()
    segno.make(text, error="m").save(buf, kind="png", scale=scale, border=2)
    return buf.getvalue()


def model_for(model_id: str):
    """The server's cached model (what the challenge checks run on)."""
    return resources.model(resources.model_key(model_id))


def image_of(s: Store, source: dict) -> tuple[np.ndarray, int, str]:
    """(image (1, H, W, C), label, cache key) of a view or a challenge: a test index or a stored image.
    ClassroomError if the stored image is gone (its callers show that and go on)."""
    if "image_id" in source:
        x = s.get_image(source["image_id"])
        if x is None:
            raise ClassroomError("its image is no longer stored on this server; the teacher can present or "
                                 "start it again")
        return x, int(source["label"]), source["image_id"]
    split = resources.test_split(source["dataset"])
    index = min(max(int(source.get("image", 0)), 0), len(split) - 1)
    return split.x[index:index + 1], int(split.y[index]), f"test:{index}"


@st.cache_data(max_entries=2048, show_spinner=False)
def analyse(model_key: str, image_key: str, _x: np.ndarray, label: int, attack: str, params_json: str,
            defence: str = "none", adaptive: bool = False) -> dict:
    """``advcore.live.analyse``, cached across sessions: thirty followers of one view compute it once."""
    return live.analyse(resources.model(model_key), _x, label, attack, json.loads(params_json), defence, adaptive)


def _prediction(names, probs) -> str:
    top = int(np.argmax(probs))
    return f"{names[top]} ({probs[top]:.0%})"


def show_result(names, x: np.ndarray, label: int, result: dict, key: str, target: int | None = None) -> None:
    """Metrics, the original | perturbation | adversarial images and the class probabilities."""
    norms = result["norms"]
    row = st.columns(4)
    row[0].metric("clean prediction", _prediction(names, result["clean_probs"]))
    fooled = int(np.argmax(result["adv_probs"])) != label
    row[1].metric("adversarial prediction", _prediction(names, result["adv_probs"]),
                  delta="fooled" if fooled else "still right", delta_color="inverse" if fooled else "normal")
    row[2].metric("L∞ of the change", f"{norms['linf']:.4f}", help=f"{norms['linf_255']:.1f}/255")
    row[3].metric("L2 of the change", f"{norms['l2']:.3f}")
    st.html(pictures.triptych(x[0], result["x_adv"]))
    bars = st.columns([3, 2])[0]
    bars.html(probability_bars(names, result["clean_probs"], result["adv_probs"], label))
    if target is not None:
        bars.caption(f"Target class: {names[target]}.")


def view_results(s: Store, view: dict) -> dict:
    """What a presented view shows, computed: the teacher's attack on the teacher's image (behind the teacher's
    defence, and on the second model of a comparison too), each through ``analyse`` (cached across sessions).
    The teacher's page (``show_view``) and the followers' stream (``advcore.ui.follow_stream``) both use it.
    Raises AdvcoreError (ClassroomError: the image is gone) or KeyError for a view that cannot be shown."""
    defence, adaptive = view.get("defence", "none"), bool(view.get("adaptive", False))
    models = [view["model"]] + ([view["model_b"]] if view.get("model_b") else [])
    x, label, image_key = image_of(s, view)
    names = data.info(view["dataset"]).class_names
    params = json.dumps(dict(view.get("params") or {}, eps=view["eps"]), sort_keys=True)
    shown = [(m, analyse(resources.model_key(m), image_key, x, label, view["attack"], params, defence, adaptive))
             for m in models]
    spec = attacks.ATTACKS[view["attack"]]
    return {"names": names, "x": x, "label": label, "shown": shown, "spec": spec, "defence": defence,
            "adaptive": adaptive, "models": models,
            "where": f"test image {view['image']}" if "image" in view else "the teacher’s own image"}


def metric_values(names, label: int, result: dict) -> list[tuple[str, str, str | None]]:
    """(label, value, delta) of the four metrics above a result, as ``show_result`` and the follow stream show them."""
    norms = result["norms"]
    fooled = int(np.argmax(result["adv_probs"])) != label
    return [("clean prediction", _prediction(names, result["clean_probs"]), None),
            ("adversarial prediction", _prediction(names, result["adv_probs"]), "fooled" if fooled else "still right"),
            ("L∞ of the change", f"{norms['linf']:.4f}", None), ("L2 of the change", f"{norms['l2']:.3f}", None)]


def show_view(s: Store, view: dict, key: str) -> None:
    """Render a presented view (``view_results``) with Streamlit elements: the teacher's page."""
    try:
        r = view_results(s, view)
    except (AdvcoreError, KeyError) as exc:
        st.error(f"This view cannot be shown: {exc}")
        return
    defence, adaptive, names, label, spec = r["defence"], r["adaptive"], r["names"], r["label"], r["spec"]
    behind = "" if defence == "none" else \
        f" behind the defence **{defence}** ({'adaptive' if adaptive else 'naive'} attack)"
    st.markdown(f"**{' and '.join(r['models'])}**{behind} on {r['where']} ({names[label]}), **{spec.title}** at eps "
                f"**{controls.eps_label(view['eps'], view['norm'])}**. *{spec.paper}*")
    if view.get("note"):
        st.info(plain(view["note"]))
    shown = r["shown"]
    for i, (model_id, result) in enumerate(shown):
        if len(shown) > 1:
            st.subheader(f"Model {'AB'[i]}: {model_id}")
        show_result(names, r["x"], label, result, f"{key}_{i}" if i else key)


# --- teacher -----------------------------------------------------------------------------------

IMAGE_SOURCES = ("Test image", "Draw", "Upload")


def _own_image(s: Store, code: str, dataset: str, model_id: str, source: str, key: str):
    """A drawn or uploaded image, kept in the store under its content id; (image id, label) or None."""
    shape = data.info(dataset).shape
    try:
        if source == "Draw":
            pixels = canvas.draw(f"{key}_canvas", shape[0])
            x = None if pixels is None else images.from_drawing(pixels, shape)
        else:
            upload = st.file_uploader("PNG or JPEG", type=["png", "jpg", "jpeg"], key=f"{key}_upload")
            x = None if upload is None else images.from_bytes(upload.getvalue(), shape,
                                                              invert_light_background=shape[-1] == 1)
    except images.ImageError as exc:
        st.error(f"This image cannot be used: {exc}.")
        return None
    if x is None:
        st.caption("Draw or upload an image to present it.")
        return None
    stored = st.session_state.setdefault(f"{key}_stored", {})
    digest = hashlib.sha1(x.tobytes()).hexdigest()
    if digest not in stored:
        stored[digest] = s.put_image(x, room=code)
    names = data.info(dataset).class_names
    guess = int(np.argmax(logits_of(model_for(model_id), x)[0]))
    label = st.selectbox("What is it? (the true class; starts at the model's guess)", range(len(names)),
                         index=guess, format_func=lambda c: f"{c}: {names[c]}", key=f"{key}_label_{digest[:12]}")
    return stored[digest], int(label)


PRESENTED_IMAGE = "Presented image"  # the room's drawn or uploaded image, when the presenter starts from it


def presenter_view(s: Store, code: str, key: str = "teach") -> ExploreView:
    """The presenter's view (session key ``<key>_view``): the room's presented view whenever that is not the
    one this presenter last showed (entering the room after a reload, coming back after presenting from
    Explore or Compare), so every student's screen stays where it is."""
    version = s.view_version(code)
    if st.session_state.get(f"{key}_view_at") != (code, version):
        st.session_state[f"{key}_view_at"] = (code, version)
        _, stored = s.get_view(code)
        try:
            load_into_presenter(stored, key)
            st.session_state[f"presented_{code}"] = json.dumps(stored, sort_keys=True)
        except (ClassroomError, AdvcoreError, KeyError, TypeError, ValueError):  # nothing (or nothing valid) yet
            controls.set_view(ExploreView(), f"{key}_view")
    return controls.get_view(f"{key}_view")


def presenter(s: Store, code: str, key: str = "teach") -> dict | None:
    """The teacher's view picker (data set, model, image, attack, settings, eps), bound to the presenter's view
    like Explore's widgets to Explore's; returns the view to present."""
    scope = f"{key}_view"
    view = presenter_view(s, code, key)
    left, right = st.columns([1, 2])
    dataset = controls.dataset_select(left, f"{key}_dataset", view.dataset,
                                      controls.writer(scope, lambda v, name: v.with_dataset(name)))
    ids = resources.model_ids(dataset)
    if not ids:
        st.error(f"No model for {dataset} is available.")
        return None
    model_id = controls.bound(left, "selectbox", "Model", f"{key}_model_{dataset}",
                              view.model if view.model in ids else ids[0],
                              controls.writer(scope, lambda v, model: v.replace(model=model)), options=ids)
    split = resources.test_split(dataset)
    sources = IMAGE_SOURCES if data.info(dataset).shape[-1] == 1 else ("Test image", "Upload")
    kept = st.session_state.get(f"{key}_presented_image")
    sources += (PRESENTED_IMAGE,) if kept and kept[2] == dataset else ()
    if st.session_state.get(f"{key}_source") not in sources:
        st.session_state[f"{key}_source"] = sources[0]
    index = None
    with left:
        source = st.radio("Image", sources, horizontal=True, key=f"{key}_source")
        if source == "Test image":
            index = int(controls.bound(st, "number_input", f"Test image (0-{len(split) - 1})", f"{key}_image_{dataset}",
                                       min(max(view.image or 0, 0), len(split) - 1),
                                       controls.writer(scope, lambda v, i: v.replace(image=int(i))),
                                       min_value=0, max_value=len(split) - 1))
            image, label = {"image": index}, int(split.y[index])
        elif source == PRESENTED_IMAGE:
            image, label = {"image_id": kept[0], "label": kept[1]}, kept[1]
        else:
            own = _own_image(s, code, dataset, model_id, source, key)
            if own is None:
                return None
            image, label = {"image_id": own[0], "label": own[1]}, own[1]
        extras = [text for text, shown in ((f"model B {view.model_b}", view.model_b),
                                           (f"the defence {view.defence}", view.defence)) if shown]
        if extras and st.button(f"Present without {' and '.join(extras)}", key=f"{key}_plain"):
            controls.set_view(controls.get_view(scope).replace(model_b=None, defence=None, adaptive=False), scope)
            st.rerun()
    spec = controls.attack_select(right, f"{key}_attack", view.attack, controls.writer(
        scope, lambda v, name: v.with_attack(name, lambda norm: controls.remembered_eps(scope, v.dataset, norm))))
    with right.popover("Attack settings", use_container_width=True):
        params = controls.view_attack_controls(spec, key, scope, ids, model_id)
        target = controls.target_select(st, spec, key, split.class_names, label, view.target,
                                        controls.writer(scope, lambda v, target: v.replace(target=target)))
    norm = params.get("norm") or view.effective_norm
    with right:
        eps = controls.eps_slider(norm, f"{key}_eps", dataset, view.eps,
                                  controls.writer(scope, lambda v, eps: v.replace(eps=eps)))
    st.session_state.setdefault(f"{key}_note", "")
    note = right.text_input("A line for the class (optional)", max_chars=200, key=f"{key}_note")
    view = controls.get_view(scope).replace(model=model_id, eps=eps, image=index)
    controls.set_view(view, scope)
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
        raise ClassroomError(f"model {view['model']!r} is not available for {view['dataset']} on this server")
    controls.set_view(follow.explore_view(view), f"{key}_view")
    st.session_state[f"{key}_note"] = view.get("note", "")
    if "image_id" in view:
        st.session_state[f"{key}_presented_image"] = (view["image_id"], int(view["label"]), view["dataset"])
        st.session_state[f"{key}_source"] = PRESENTED_IMAGE
    else:
        st.session_state[f"{key}_source"] = "Test image"


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
    if not where.button(f"Present this view to room {code}", key=f"{key}_present", icon=":material/co_present:",
                        help="students following your room see this view within a second"):
        return
    s = store()
    image = {"image": picked.index} if picked.index is not None else \
        {"image_id": s.put_image(picked.x, room=code), "label": picked.label}
    try:
        version = follow.present(s, code, follow.make_view(**view, **image, note=note))
    except ClassroomError as exc:
        where.error(f"This view cannot be presented: {exc}")
        return
    where.success(f"Presented to room {code} (view {version}).")


def start_challenge_form(s: Store, code: str, view: dict | None) -> None:
    """Templates: min-eps, targeted and robust use the presented view's data set, model and image."""
    kind = st.selectbox("Template", list(challenges.TEMPLATES), key="teach_ch_kind",
                        format_func=lambda k: challenges.TEMPLATES[k].title)
    params: dict = {}
    if kind == "quiz":
        params["question"] = st.text_input("Question", "Which model will still be right at eps 0.3?",
                                           key="teach_ch_question")
        choices = st.text_area("Choices, one a line", "mnist-standard\nmnist-pgd\nboth\nneither",
                               key="teach_ch_choices").splitlines()
        params["choices"] = [c for c in choices if c.strip()]
        params["answer"] = st.selectbox("Right answer", range(len(params["choices"])), key="teach_ch_answer",
                                        format_func=lambda i: params["choices"][i])
    elif view is None:
        st.info("Present a view first: these challenges use its data set, model and image.")
        return
    else:
        names = data.info(view["dataset"]).class_names
        try:
            x, label, _ = image_of(s, view)
        except ClassroomError as exc:
            st.warning(f"The presented view cannot start a challenge: {exc}")
            return
        norm = st.radio("Norm", challenges.NORMS, horizontal=True, key="teach_ch_norm")
        params.update(dataset=view["dataset"], model=view["model"], norm=norm)
        if kind in ("min-eps", "targeted"):
            params.update(x=x, label=label)
        if kind == "targeted":
            params["target"] = st.selectbox("Target class", [c for c in range(len(names)) if c != label],
                                            format_func=lambda c: f"{c}: {names[c]}", key="teach_ch_target")
        default = view["eps"] if norm == view["norm"] and view["eps"] > 0 else \
            data.info(view["dataset"]).default_eps(norm)
        eps = st.number_input("eps (ceiling)" if kind == "min-eps" else "eps", 0.001, challenges.EPS_MAX[norm],
                              float(default), format="%.4f",
                              key=f"teach_ch_eps_{norm}_{default:.4f}")  # a new presented eps resets it
        params["eps_max" if kind == "min-eps" else "eps"] = eps
    if st.button("Start this challenge", type="primary", key="teach_ch_start"):
        try:
            cid = challenges.start(s, code, kind, model_for=model_for, split_for=resources.test_split, **params)
            st.success(f"Challenge {cid} started.")
        except (AdvcoreError, KeyError) as exc:
            st.error(f"Cannot start: {exc}")


def leaderboard_table(s: Store, code: str, challenge: dict) -> list[dict]:
    board = challenges.leaderboard(s, code, challenge)
    if not board:
        st.caption("No correct answer yet.")
        return board
    rows = [{"rank": r["rank"], "nickname": plain(r["nickname"]),  # st.table renders Markdown
             **({f"{challenge['norm']} norm": round(r["score"], 5)} if challenge["kind"] == "min-eps" else {}),
             "solved at": time.strftime("%H:%M:%S", time.localtime(r["time"])), "attempts": r["attempts"]}
            for r in board]
    st.table(rows)  # static and large: readable on a projector
    return board


def teacher_challenge(s: Store, code: str, challenge: dict) -> None:
    """One challenge on the teacher's screen: status buttons, leaderboard, the best answer's images."""
    cid = challenge["id"]
    st.markdown(f"**{cid} · {challenges.TEMPLATES[challenge['kind']].title}** ({challenge['status']}): "
                f"{plain(challenges.describe(challenge))}")
    cols = st.columns(3)
    if challenge["status"] == "open" and cols[0].button("Close", key=f"close_{cid}"):
        challenge = challenges.set_status(s, code, cid, "closed")
    if challenge["status"] != "revealed" and cols[1].button("Reveal", key=f"reveal_{cid}"):
        challenge = challenges.set_status(s, code, cid, "revealed")
    if challenge["kind"] == "quiz":
        counts = challenges.quiz_counts(s, code, challenge)
        st.dataframe([{"choice": c + (" ✓" if i == challenge["answer"] and challenge["status"] == "revealed" else ""),
                       "answers": counts[i]} for i, c in enumerate(challenge["choices"])],
                     hide_index=True, key=f"quiz_{cid}")
    board = leaderboard_table(s, code, challenge)
    if board and board[0].get("image_id") and cols[2].toggle("Show the best answer", key=f"best_{cid}"):
        best = next(e for e in s.submissions(code, cid) if e["id"] == board[0]["submission"])
        if challenge["kind"] == "robust":
            x = resources.test_split(challenge["dataset"]).x[best["index"]:best["index"] + 1]
        else:
            x = s.get_image(challenge["image_id"])
        adv = s.get_image(best["image_id"])
        if adv is not None and x is not None:
            st.html(pictures.triptych(x[0], adv[0]))
            st.caption(f"{plain(best['nickname'])}'s answer: {challenge['model']} reads it as class {best['pred']}.")
        else:
            st.warning("The images of this answer are no longer stored on this server.")


def training_queue(s: Store, code: str) -> None:
    """The room's training jobs, in queue order, with a cancel button for open ones."""
    jobs = s.jobs(room=code)
    st.subheader("Training queue")
    if not jobs:
        st.caption("No model trained or queued for this room. Models trained for the room are deleted with it.")
        return
    for job in jobs:
        cols = st.columns([3, 2, 1])
        pos = queue.position(s, job["id"])
        where = {None: job["status"], 0: "running"}.get(pos, f"queued, #{pos}")
        cols[0].write(f"**{job.get('model_id')}** for {plain(job.get('nickname'))}")  # ids are slugs: [a-z0-9-]
        cols[1].write(where)
        if pos is not None and cols[2].button("Cancel", key=f"cancel_{job['id']}"):
            queue.cancel(s, job["id"])
            st.rerun()


# --- student -------------------------------------------------------------------------------------

def answer_image_challenge(s: Store, code: str, nick: str, challenge: dict) -> None:
    """The student's attack on a challenge image (or a test image they pick), and the submit button."""
    cid = challenge["id"]
    dataset = challenge["dataset"]
    names = data.info(dataset).class_names
    if challenge["kind"] == "robust":
        n = len(resources.test_split(dataset))
        index = int(st.number_input(f"Test image (0-{n - 1})", 0, n - 1, 0, key=f"ans_{cid}_index"))
        split = resources.test_split(dataset)
        x, label, image_key = split.x[index:index + 1], int(split.y[index]), f"test:{index}"
    else:
        index = None
        try:
            x, label, image_key = image_of(s, challenge)
        except ClassroomError as exc:
            st.error(f"This challenge cannot be answered: {exc}")
            return
    cols = st.columns([1, 1, 2])
    spec = controls.attack_select(cols[0], f"ans_{cid}_attack", names=[a for a in attacks.ATTACKS if a != "transfer"])
    attack = spec.name
    with cols[1].popover("Attack settings", use_container_width=True):
        params = controls.attack_controls(spec, f"ans_{cid}", model_ids=resources.model_ids(dataset),
                                          attacked=challenge["model"])
        params = {k: v for k, v in params.items() if v is not None or k == "step_size"}
        target = controls.target_select(st, spec, f"ans_{cid}", names, label)
        if target is not None:
            params["target"] = target
    if challenge["norm"] not in spec.norms:
        st.warning(f"{spec.title} does not do the {challenge['norm']} norm this challenge measures in.")
    if "norm" in params or len(spec.norms) > 1:
        params["norm"] = challenge["norm"]
    if challenge["kind"] == "targeted":
        params["target"] = challenge["target"]
    with cols[2]:
        params["eps"] = controls.eps_slider(challenge["norm"], f"ans_{cid}_eps", dataset, challenge["eps"])  # budget
    try:
        result = analyse(resources.model_key(challenge["model"]), image_key, x, label, attack,
                         json.dumps(params, sort_keys=True))
    except AdvcoreError as exc:
        st.error(str(exc))
        return
    show_result(names, x, label, result, f"ans_{cid}", target=challenge.get("target"))
    if st.button("Submit this adversarial image", type="primary", key=f"ans_{cid}_submit"):
        try:
            entry = challenges.submit(s, code, cid, nick, x_adv=result["x_adv"], index=index, model_for=model_for,
                                      split_for=resources.test_split, session=member_key(code, nick))
            st.success(f"Accepted: {challenge['model']} reads it as class {entry['pred']}; "
                       f"{challenge['norm']} norm {entry['norm']:.4f}.")
        except ClassroomError as exc:
            st.error(f"Not accepted: {exc}")


def answer_quiz(s: Store, code: str, nick: str, challenge: dict) -> None:
    cid = challenge["id"]
    mine = s.submissions(code, cid, nick)
    if mine:
        picked = challenge["choices"][mine[0]["choice"]]
        verdict = (" — right!" if mine[0]["correct"] else " — not this time.") if "answer" in challenge else ""
        st.write(f"You answered **{plain(picked)}**{verdict}")
        return
    choice = st.radio(plain(challenge["question"]), range(len(challenge["choices"])), key=f"quiz_{cid}_choice",
                      format_func=lambda i: plain(challenge["choices"][i]), index=None)
    if st.button("Answer", type="primary", key=f"quiz_{cid}_submit", disabled=choice is None):
        try:
            challenges.submit(s, code, cid, nick, choice=int(choice), session=member_key(code, nick))
            st.rerun()
        except ClassroomError as exc:
            st.error(f"Not accepted: {exc}")
