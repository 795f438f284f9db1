"""A presented view, computed once and drawn: the teacher's attack on the teacher's image, as the teacher's
page, a student's answer and the followers' stream (``advcore.ui.follow_stream``) show it.

The attack is ``advcore.live.analyse``, cached across sessions (``analyse``): thirty followers of one view
compute it once. Eps is in pixel units ([0, 1] images).
"""

from __future__ import annotations

import json

import numpy as np
import streamlit as st

from advcore import attacks, data, live, pictures
from advcore.bars import probability_bars
from advcore.classroom.rooms import ClassroomError
from advcore.classroom.store import Store
from advcore.errors import AdvcoreError
from advcore.i18n import _, class_name

from . import resources
from .escape import plain
from .widgets import eps_label


def model_for(model_id: str):
    """The server's cached model (what the challenge checks run on)."""
    return resources.model(resources.model_key(model_id))


def image_of(s: Store, source: dict) -> tuple[np.ndarray, int, str]:
    """(image (1, H, W, C), label, cache key) of a view or a challenge: a test index or a stored image.
    ClassroomError if the stored image is gone (its callers show that and go on)."""
    if "image_id" in source:
        x = s.get_image(source["image_id"])
        if x is None:
            raise ClassroomError(_("its image is no longer stored on this server; the teacher can present or start it "
                                   "again"))
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
    return f"{class_name(names[top])} ({probs[top]:.0%})"


def shown_names(names) -> list[str]:
    """A data set's class names as shown (``i18n.class_name``), for the probability bars."""
    return [class_name(n) for n in names]


def show_result(names, x: np.ndarray, label: int, result: dict, key: str, target: int | None = None) -> None:
    """Metrics, the original | perturbation | adversarial images and the class probabilities."""
    row = st.columns(4)
    fooled = int(np.argmax(result["adv_probs"])) != label
    for i, (title, value, delta) in enumerate(metric_values(names, label, result)):
        row[i].metric(title, value, delta=delta, delta_color="normal" if delta is None or not fooled else "inverse",
                      help=f"{result['norms']['linf_255']:.1f}/255" if i == 2 else None)
    st.html(pictures.triptych(x[0], result["x_adv"]))
    bars = st.columns([3, 2])[0]
    bars.html(probability_bars(shown_names(names), result["clean_probs"], result["adv_probs"], label))
    if target is not None:
        bars.caption(_("Target class: {name}.", name=class_name(names[target])))


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
            "where": _("test image {index}", index=view["image"]) if "image" in view else _("the teacher’s own image")}


def metric_values(names, label: int, result: dict) -> list[tuple[str, str, str | None]]:
    """(label, value, delta) of the four metrics above a result, as ``show_result`` and the follow stream show them."""
    norms = result["norms"]
    fooled = int(np.argmax(result["adv_probs"])) != label
    return [(_("clean prediction"), _prediction(names, result["clean_probs"]), None),
            (_("adversarial prediction"), _prediction(names, result["adv_probs"]),
             _("fooled") if fooled else _("still right")),
            (_("L∞ of the change"), f"{norms['linf']:.4f}", None), (_("L2 of the change"), f"{norms['l2']:.3f}", None)]


def description(r: dict, view: dict, strong=lambda text: f"**{text}**", text=lambda text: text) -> str:
    """The sentence above a presented view (models, defence, image, attack, eps) in the current language; the
    names in bold (``strong``: Markdown by default, the follow stream's HTML), the rest through ``text``."""
    models = r["models"]
    values = {"models": strong(models[0] if len(models) == 1 else
                               _("{first} and {second}", first=models[0], second=models[1])),
              "where": text(r["where"]), "label": text(class_name(r["names"][r["label"]])),
              "attack": strong(r["spec"].title), "eps": strong(eps_label(view["eps"], view["norm"]))}
    if r["defence"] == "none":
        return _("{models} on {where} ({label}), {attack} at eps {eps}.", **values)
    if r["adaptive"]:
        return _("{models} behind the defence {defence} (adaptive attack) on {where} ({label}), {attack} at eps "
                 "{eps}.", defence=strong(r["defence"]), **values)
    return _("{models} behind the defence {defence} (naive attack) on {where} ({label}), {attack} at eps {eps}.",
             defence=strong(r["defence"]), **values)


def model_heading(i: int, model_id: str) -> str:
    """The heading of model A or B of a comparison."""
    return _("Model A: {model}", model=model_id) if i == 0 else _("Model B: {model}", model=model_id)


def show_view(s: Store, view: dict, key: str) -> None:
    """Render a presented view (``view_results``) with Streamlit elements: the teacher's page."""
    try:
        r = view_results(s, view)
    except (AdvcoreError, KeyError) as exc:
        st.error(_("This view cannot be shown: {error}", error=exc))
        return
    names, label = r["names"], r["label"]
    st.markdown(f"{description(r, view)} *{r['spec'].paper}*")
    if view.get("note"):
        st.info(plain(view["note"]))
    shown = r["shown"]
    for i, (model_id, result) in enumerate(shown):
        if len(shown) > 1:
            st.subheader(model_heading(i, model_id))
        show_result(names, r["x"], label, result, f"{key}_{i}" if i else key)
