"""Lesson 1: what an adversarial example is; FGSM step by step on one image (Goodfellow et al. 2015)."""

import numpy as np
import streamlit as st

from advcore import attacks, landscape, metrics, viz_learn
from advcore.i18n import _
from advcore.lessons import checks
from advcore.ui import a11y
from advcore.ui import lesson as L

PAGE = "what"


@st.cache_data(max_entries=512, show_spinner=False)
def fgsm_steps(model_key: str, index: int, eps: float) -> dict:
    net = L.net(model_key)
    x = L.split().x[index:index + 1]
    y = int(L.split().y[index])
    result = attacks.run("fgsm", net, x, [y], eps=eps)
    grad = landscape.input_gradient(net, x, [y])[0]
    return {"grad": grad, "x_adv": result.x_adv[0], "clean": int(result.clean_pred[0]),
            "adv": int(result.adv_pred[0]),
            "linf": float(np.abs(result.x_adv - x).max()), "l2": float(metrics.attack_strength(x, result.x_adv)[0]),
            "effect": float(metrics.defence_effect(result.clean_logits, result.adv_logits)[0]),
            "p_clean": float(metrics.softmax(result.clean_logits)[0].max()),
            "p_adv": float(metrics.softmax(result.adv_logits)[0].max())}


lesson = L.header(f"learn_{PAGE}")
left, right, index, x, y = L.opening(PAGE, default_image=4)
eps = L.eps_slider(left, PAGE, default=20 / 255, high=80 / 255)
left.caption(_("Model: {model} (no defence). True class: {name}.", model=L.STANDARD, name=L.name(y)))
r = fgsm_steps(L.key(L.STANDARD), index, eps)
with right:
    a11y.plotly_chart(st, viz_learn.image_row(
        [x[0], r["grad"], np.sign(r["grad"]), r["x_adv"] - x[0], r["x_adv"]],
        [_("1. image<br>reads {name}", name=L.name(r["clean"])), _("2. gradient<br>∇x L"), _("3. its<br>sign"),
         _("4. eps ·<br>sign"), _("5. x'<br>reads {name}", name=L.name(r["adv"]))],
        signed=[False, True, True, True, False]),
        key="what_steps", config={"displayModeBar": False})
    st.caption(_("Red: the loss rises if that pixel gets brighter; blue: if it gets darker. Panel 4 is panel 3 "
                 "times eps, after clipping to the valid range [0, 1]."))
    row = st.columns(4)
    row[0].metric(_("prediction"), f"{L.name(r['clean'])} → {L.name(r['adv'])}",
                  delta=_("fooled") if r["adv"] != y else _("still right"),
                  delta_color="inverse" if r["adv"] != y else "normal")
    row[1].metric(_("attack strength ‖x − x'‖₂"), f"{r['l2']:.2f}", help=f"L∞: {r['linf'] * 255:.0f}/255")
    row[2].metric(_("L∞ of the change"), f"{r['linf'] * 255:.0f}/255")
    row[3].metric(_("defence effect ‖f(x) − f(x')‖₂"), f"{r['effect']:.2f}",
                  help=_("L2 distance between the class probabilities before and after (at most √2)"))
L.try_it(lesson, PAGE, lambda: checks.fgsm_flip(L.model(L.STANDARD), x, y, eps, class_names=L.split().class_names),
         _("Use the image and eps controls above."))
L.explore(model=L.STANDARD, image=index, attack="fgsm", eps=eps)
L.footer(lesson)
