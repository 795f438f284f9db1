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
                f"**{eps_label(view['eps'], view['norm'])}**. *{spec.paper}*")
    if view.get("note"):
        st.info(plain(view["note"]))
    shown = r["shown"]
    for i, (model_id, result) in enumerate(shown):
        if len(shown) > 1:
            st.subheader(f"Model {'AB'[i]}: {model_id}")
        show_result(names, r["x"], label, result, f"{key}_{i}" if i else key)
