"""Widgets built from the attack registry, the eps slider, and the URL state.

Nothing here lists attacks or their parameters: every control comes from
``advcore.attacks.ATTACKS``. The URL holds data set, model, image, attack and eps
so a link opens exactly one example; bad or hostile values are clamped or
refused with a message.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import streamlit as st

from advcore import attacks, data
from advcore.attacks.registry import EPS_UI_MAX

from . import limits

URL_KEYS = ("dataset", "model", "image", "attack", "eps")


def dataset_select(where, key: str) -> str:
    """The data-set picker every page uses (``where``: st or a column/container)."""
    return where.selectbox("Data set", list(data.DATASETS), key=key, format_func=lambda d: data.DATASETS[d].title)


def eps_grid(norm: str) -> list[float]:
    """Slider positions: k/255 for linf (k = 0..128), 0.05 steps for l2."""
    if norm == "linf":
        return [round(k / 255, 6) for k in range(math.ceil(EPS_UI_MAX["linf"] * 255) + 1)]
    return [round(k * 0.05, 4) for k in range(int(EPS_UI_MAX["l2"] / 0.05) + 1)]


def eps_label(eps: float, norm: str = "linf") -> str:
    return f"{eps:.3f} ({eps * 255:.0f}/255)" if norm == "linf" else f"{eps:.2f} (L2)"


def nearest(grid: list[float], value: float) -> float:
    return grid[int(np.argmin(np.abs(np.asarray(grid) - value)))]


def eps_slider(norm: str, key: str, default: float) -> float:
    """The eps slider, in pixel units with the k/255 value shown; keyboard-movable."""
    grid = eps_grid(norm)
    state_key = f"{key}_{norm}"
    if state_key not in st.session_state or st.session_state[state_key] not in grid:
        st.session_state[state_key] = nearest(grid, default)
    return st.select_slider("epsilon (perturbation budget)", options=grid, key=state_key,
                            format_func=lambda v: eps_label(v, norm),
                            help="largest allowed change: per pixel for linf, in total (L2 norm) for l2")


def attack_controls(spec: attacks.AttackSpec, key: str, class_names, true_class: int,
                    model_ids: list[str]) -> dict:
    """Widgets for every parameter of ``spec`` except eps and trace; returns the params.

    Server limits cap steps, restarts and queries. Targeted attacks get a target-class picker;
    'model' parameters (the transfer source) a picker over ``model_ids``.
    """
    params = {}
    for p in spec.params:
        if p.name in ("eps", "trace"):
            continue
        wkey = f"{key}_{spec.name}_{p.name}"
        if p.kind == "choice":
            params[p.name] = st.radio(p.name, p.choices, key=wkey, horizontal=True, help=p.help)
        elif p.kind == "model":
            params[p.name] = st.selectbox(p.name, model_ids, key=wkey, help=p.help)
        elif p.kind == "bool":
            params[p.name] = st.checkbox(p.name.replace("_", " "), value=p.default, key=wkey, help=p.help)
        elif p.kind == "int":
            high = {"steps": limits.MAX_STEPS, "restarts": limits.MAX_RESTARTS,
                    "queries": limits.MAX_QUERIES}.get(p.name, int(p.high))
            params[p.name] = int(st.number_input(p.name, int(p.low), high, min(int(p.default), high), key=wkey,
                                                 help=f"{p.help} (at most {high} here)"))
        elif p.name == "step_size":
            if st.checkbox("auto step size (2.5·eps/steps)", value=True, key=wkey + "_auto"):
                params[p.name] = None
            else:
                params[p.name] = float(st.number_input("step size (pixel units)", 0.0, 1.0, 0.01, 0.001,
                                                       format="%.4f", key=wkey, help=p.help))
        else:
            params[p.name] = float(st.number_input(p.name, float(p.low), float(p.high), float(p.default),
                                                   key=wkey, help=p.help))
    if spec.targeted and st.checkbox("targeted", key=f"{key}_{spec.name}_targeted",
                                     help="push the image towards a class you choose"):
        choices = [c for c in range(len(class_names)) if c != true_class]
        params["target"] = st.selectbox("target class", choices, key=f"{key}_target",
                                        format_func=lambda c: f"{c}: {class_names[c]}")
    return params


@dataclass
class UrlState:
    """Values read from the URL, validated; ``messages`` say what was refused or clamped."""

    dataset: str | None = None
    model: str | None = None
    image: int | None = None
    attack: str | None = None
    eps: float | None = None
    messages: list[str] = field(default_factory=list)


def read_url(model_ids_for) -> UrlState:
    """Parse ``st.query_params``; ``model_ids_for(dataset)`` lists the valid model ids."""
    q = st.query_params
    state = UrlState()
    text = {k: str(q.get(k))[:100] for k in URL_KEYS if q.get(k) is not None}
    if "dataset" in text:
        if text["dataset"] in data.DATASETS:
            state.dataset = text["dataset"]
        else:
            state.messages.append(f"The link names an unknown data set ({text['dataset']!r}); showing MNIST.")
    dataset = state.dataset or "mnist"
    if "model" in text:
        if text["model"] in model_ids_for(dataset):
            state.model = text["model"]
        else:
            state.messages.append(f"The link names a model that is not available for {dataset} "
                                  f"({text['model']!r}); showing the first one.")
    if "image" in text:
        try:
            state.image = int(text["image"])
        except ValueError:
            state.messages.append(f"The image in the link ({text['image']!r}) is not a number; showing image 0.")
    if "attack" in text:
        if text["attack"] in attacks.ATTACKS:
            state.attack = text["attack"]
        else:
            state.messages.append(f"The link names an unknown attack ({text['attack']!r}); showing PGD.")
    if "eps" in text:
        try:
            eps = float(text["eps"])
            if not math.isfinite(eps):
                raise ValueError
        except ValueError:
            state.messages.append(f"The eps in the link ({text['eps']!r}) is not a number; using the default.")
        else:
            clamped = min(max(eps, 0.0), EPS_UI_MAX["linf"])
            if clamped != eps:
                state.messages.append(f"The eps in the link ({eps:g}) is outside [0, {EPS_UI_MAX['linf']}]; "
                                      f"using {clamped:g}.")
            state.eps = clamped
    return state


def write_url(**values) -> None:
    """Put the current example in the URL (only keys that changed, to avoid extra reruns)."""
    for key, value in values.items():
        text = str(value)
        if st.query_params.get(key) != text:
            st.query_params[key] = text
