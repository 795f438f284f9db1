"""The defence picker and its parameters, bound to the page's view, with the naive / adaptive switch.

Every defence and parameter comes from ``advcore.defences.DEFENCES``; the adaptive attack is BPDA and/or EOT
(Athalye, Carlini & Wagner 2018), chosen by ``advcore.attacks.adaptive.recommended_mode``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import streamlit as st

from advcore import defences
from advcore.attacks import adaptive as adaptive_attacks
from advcore.i18n import N_, _
from advcore.view import ExploreView

from .view_state import VIEW, Write, get_view, writer
from .widgets import bound, param_widget, widget_key


@dataclass
class DefenceChoice:
    """What the defence controls chose: ``spec`` (canonical spec string, 'none' for no defence), the
    naive/adaptive switch, and ``mode``, the attack that runs ('none' = naive, 'bpda', 'eot', 'bpda+eot')."""

    spec: str = "none"
    adaptive: bool = False
    mode: str = "none"


ADAPTIVE_CHOICES = ("naive", "adaptive")
CHOICE_WORDS = {"naive": N_("naive"), "adaptive": N_("adaptive"), "none": N_("none")}  # the options as shown


RUNS = {  # what runs, per mode ('naive': the switch off; 'none': adaptive, with nothing to replace)
    "naive": N_("**Naive** attack: it differentiates the defended model as it is."),
    "none": N_("**Adaptive** = naive here: this defence is differentiable and not random, nothing to replace."),
    "bpda": N_("**Adaptive: BPDA**, the defence differentiated as the identity on the backward pass."),
    "eot": N_("**Adaptive: EOT**, the gradient averaged over {samples} random draws of the defence."),
    "bpda+eot": N_("**Adaptive: BPDA + EOT**, the identity on the backward pass, averaged over {samples} random "
                   "draws."),
}


def defence_select(where, key: str, scope: str = VIEW) -> str:
    """The defence picker, bound to the view: 'none' or one defence of ``advcore.defences.DEFENCES``."""
    view = get_view(scope)
    current = defences.parse(view.defence).stages[0].name if view.defence else "none"
    titles = "; ".join(f"{name}: {_(spec.title)}" for name, spec in defences.DEFENCES.items())
    return bound(where, "selectbox", _("Defence"), f"{key}_defence", current,
                 writer(scope, lambda v, name: v.with_defence(None if name == "none" else name)),
                 options=["none", *defences.DEFENCES], format_func=lambda d: _(CHOICE_WORDS[d]) if d == "none" else d,
                 help=_("an input transformation in front of the model, or randomized smoothing; the defended model "
                        "is itself a model, so the attack runs on it unchanged ({titles})", titles=titles))


def _set_defence_param(scope: str, name: str, param: str) -> Write:
    def update(v: ExploreView, value) -> ExploreView:
        chain = defences.parse(v.defence)
        values = chain.stages[0].values if chain and chain.stages[0].name == name else {}
        stage = defences.make_stage(name, **dict(values, **{param: value}))
        return v.with_defence(str(defences.Defence((stage,))))
    return writer(scope, update)


def defence_controls(name: str, key: str, scope: str = VIEW) -> DefenceChoice:
    """For a defence ``name`` ('none': nothing drawn): its parameters (from the registry), the naive /
    adaptive switch, and one line on what runs; bound to the view. Widget keys ``<key>_def_<name>_<param>``,
    ``<key>_adaptive``."""
    if name == "none":
        return DefenceChoice()
    spec = defences.get(name)
    view = get_view(scope)
    stage = defences.parse(view.defence).stages[0] if view.defence else None
    current = stage.values if stage is not None and stage.name == name else {}
    cols = st.columns([1.0] * len(spec.params) + [1.8, 3.7], vertical_alignment="bottom")  # the switch whole at 1024 px
    values = {p.name: param_widget(col, p, widget_key(key, f"def_{name}", p.name), current.get(p.name),
                                   _set_defence_param(scope, name, p.name))
              for col, p in zip(cols, spec.params)}
    chain = str(defences.Defence((defences.make_stage(name, **values),)))
    switch = bound(cols[len(spec.params)], "segmented_control", _("Attack it"), f"{key}_adaptive",
                   ADAPTIVE_CHOICES[int(view.adaptive)],
                   writer(scope, lambda v, choice: v.replace(adaptive=choice == "adaptive" and v.defence is not None)),
                   options=ADAPTIVE_CHOICES, format_func=lambda c: _(CHOICE_WORDS[c]),
                   help=_("naive: the attack uses whatever gradient TensorFlow gives through the defence (zero "
                          "through JPEG, bit reduction and a vote); adaptive: BPDA differentiates those stages as "
                          "the identity, EOT averages over random draws (Athalye, Carlini & Wagner 2018)"))
    adaptive = switch == "adaptive"
    mode = adaptive_attacks.recommended_mode(chain) if adaptive else "none"
    what = _(RUNS["naive" if not adaptive else mode], samples=adaptive_attacks.DEFAULT_EOT_SAMPLES)
    cited = "; ".join(part.strip() for part in re.findall(r"[^;]*?\d{4}", spec.paper))  # authors and years
    cols[-1].caption(f"{_(spec.title)} ({chain}): {_(spec.summary)}. {what} *{cited}*")
    return DefenceChoice(chain, adaptive, mode)
