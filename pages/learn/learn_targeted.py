"""Lesson 6: targeted attacks and minimal perturbations (DeepFool: Moosavi-Dezfooli et al. 2016;
C&W: Carlini & Wagner 2017); L∞ against L2."""

import numpy as np
import pandas as pd
import streamlit as st

from advcore import attacks, i18n, metrics, viz_learn
from advcore.i18n import _
from advcore.lessons import checks
from advcore.ui import a11y
from advcore.ui import lesson as L

PAGE = "targeted"
MINIMAL = (("deepfool", {"norm": "l2"}, "DeepFool (L2)"), ("deepfool", {"norm": "linf"}, "DeepFool (L∞)"),
           ("cw-l2", {"steps": 50}, "C&W (L2)"))


@st.cache_data(max_entries=512, show_spinner=False)
def targeted(model_key: str, index: int, target: int, eps: float) -> dict:
    net = L.net(model_key)
    x, y = L.split().x[index:index + 1], [int(L.split().y[index])]
    r = attacks.run("pgd", net, x, y, eps=eps, steps=40, target=[target])
    return {"x_adv": r.x_adv[0], "adv": int(r.adv_pred[0]), "p": metrics.softmax(r.adv_logits)[0]}


@st.cache_data(max_entries=256, show_spinner=_("Searching the smallest change..."))
def minimal(model_key: str, index: int) -> list[dict]:
    net = L.net(model_key)
    x, y = L.split().x[index:index + 1], [int(L.split().y[index])]
    rows = []
    for name, params, title in MINIMAL:
        r = attacks.run(name, net, x, y, **params)
        norms = metrics.perturbation_norms(x, r.x_adv)
        rows.append({"attack": title, "reads": int(r.adv_pred[0]), "L2": float(norms["l2"][0]),
                     "linf": float(norms["linf"][0] * 255), "x_adv": r.x_adv[0]})
    return rows  # class ids, not names: the cache is shared by sessions in every language


lesson = L.header(f"learn_{PAGE}")
left, right, index, x, y = L.opening(PAGE, default_image=0)
names = [i18n.class_name(n) for n in L.split().class_names]
choices = [c for c in range(len(names)) if c != y]
target = left.selectbox(_("target class"), choices, index=choices.index(3) if 3 in choices else 0,
                        key=f"{PAGE}_target_{y}", format_func=lambda c: names[c])
eps = L.eps_slider(left, PAGE, default=25 / 255, high=0.3)
r = targeted(L.key(L.STANDARD), index, target, eps)
with right:
    st.markdown(_("**Targeted PGD (40 steps) towards {target}**: the model reads **{name}**, p({target}) = "
                  "{p:.0%}.", target=names[target], name=L.name(r["adv"]), p=r["p"][target]))
    rows = minimal(L.key(L.STANDARD), index)
    a11y.plotly_chart(st, viz_learn.image_row(
        [x[0], r["x_adv"], *[row["x_adv"] for row in rows]],
        [_("image"), _("targeted: {name}", name=L.name(r["adv"])),
         *[f"{row['attack']}: {L.name(row['reads'])}" for row in rows]]),
        key="targeted_row", config={"displayModeBar": False})
    st.markdown(_("**Minimal attacks, untargeted**: the smallest change each found, in both norms."))
    st.dataframe(pd.DataFrame([{_("attack"): row["attack"], _("reads"): L.name(row["reads"]), "L2": row["L2"],
                                "L∞ (/255)": row["linf"]} for row in rows]).round(3),
                 hide_index=True, use_container_width=True)
    st.caption(_("For scale: an L∞ change of e/255 on every one of the {n} pixels has L2 norm e/255·√{n}.",
                 n=int(np.prod(x.shape))))
L.try_it(lesson, PAGE, lambda: checks.targeted(L.model(L.STANDARD), x, y, target, eps,
                                               class_names=L.split().class_names))
L.explore(model=L.STANDARD, image=index, attack="pgd", eps=eps, target=target, steps=40)
L.footer(lesson)
