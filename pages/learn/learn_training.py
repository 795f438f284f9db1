"""Lesson 8: adversarial training (Madry et al. 2018); the accuracy-robustness trade-off and what robust
models' gradients look like (Tsipras et al. 2019); large targeted attacks paint features (Santurkar et al. 2019)."""

import streamlit as st

from advcore import attacks, i18n, landscape, viz_learn
from advcore.i18n import _
from advcore.lessons import checks
from advcore.ui import a11y
from advcore.ui import lesson as L

PAGE = "training"
N_ALIGN = 100
PAINT_EPS = 4.0  # L2, pixel units: large on purpose (Santurkar et al. 2019)
PAINT_STEPS = 100


def tradeoff_rows() -> list[dict]:
    """Clean and PGD-40 accuracy at each shipped model's reference eps, from the cards (no computation); user
    models (a student's 18%-clean try) are no lesson material."""
    rows = []
    for card in (c for c in L.resources.model_cards() if c.get("shipped", True)):
        res = card.get("results", {})
        pgd = [e for e in res.get("robust", []) if e["attack"] == "pgd" and e.get("steps") == 40]
        if res.get("clean_accuracy") is not None and pgd:
            rows.append({"id": card["id"], "clean": res["clean_accuracy"],
                         "robust": max(pgd, key=lambda e: e["eps"])["robust_accuracy"]})
    return rows


@st.cache_resource(show_spinner=_("Measuring where the gradients of {n} test images lie (once)...", n=N_ALIGN))
def on_digit(model_key: str) -> float:
    data = L.split()
    return float(landscape.gradient_on_digit(L.net(model_key), data.x[:N_ALIGN], data.y[:N_ALIGN]).mean())


@st.cache_data(max_entries=256, show_spinner=False)
def gradient(model_key: str, index: int):
    return landscape.input_gradient(L.net(model_key), L.split().x[index:index + 1], [int(L.split().y[index])])[0]


@st.cache_data(max_entries=256, show_spinner=_("Painting..."))
def paint(model_key: str, index: int, target: int) -> dict:
    x, y = L.split().x[index:index + 1], [int(L.split().y[index])]
    r = attacks.run("pgd", L.net(model_key), x, y, eps=PAINT_EPS, norm="l2", steps=PAINT_STEPS, target=[target],
                    random_start=False)
    return {"x_adv": r.x_adv[0], "adv": int(r.adv_pred[0])}


lesson = L.header(f"learn_{PAGE}")
L.model(L.STANDARD)
L.model(L.ROBUST)
names = [i18n.class_name(n) for n in L.split().class_names]
a11y.plotly_chart(st, viz_learn.tradeoff_scatter(tradeoff_rows()), key="training_tradeoff",
                config={"displayModeBar": False})
st.caption(_("Every zoo model's clean accuracy against its accuracy under PGD-40 at its data set's reference eps "
             "(MNIST 0.3, Fashion-MNIST 0.1, CIFAR-10 8/255), as measured in its model card."))
left, right = st.columns([1, 3], gap="large")
index, x, y = L.image(left, PAGE, default=0)
choices = [c for c in range(len(names)) if c != y]
target = left.selectbox(_("paint towards class"), choices, key=f"{PAGE}_target_{y}", format_func=lambda c: names[c],
                        index=choices.index(3) if 3 in choices else 0)
eps = L.eps_slider(left, PAGE, default=0.2, high=0.5, label=_("eps for the task (L∞)"))
with right:
    g = {m: gradient(L.key(m), index) for m in (L.STANDARD, L.ROBUST)}
    share = {m: on_digit(L.key(m)) for m in (L.STANDARD, L.ROBUST)}
    a11y.plotly_chart(st, viz_learn.image_row([x[0], g[L.STANDARD], g[L.ROBUST]],
                                        [_("image"), _("{model} gradient", model=L.STANDARD),
                                         _("{model} gradient", model=L.ROBUST)],
                                        signed=[False, True, True], height=250),
                    key="training_gradients", config={"displayModeBar": False})
    st.caption(_("Share of the gradient's magnitude on or next to the digit's strokes, mean over test images "
                 "0-{last}: {standard} {standard_share:.0%}, {robust} {robust_share:.0%} (those pixels are about a "
                 "quarter of the image).", last=N_ALIGN - 1, standard=L.STANDARD, standard_share=share[L.STANDARD],
                 robust=L.ROBUST, robust_share=share[L.ROBUST]))
    p = {m: paint(L.key(m), index, target) for m in (L.STANDARD, L.ROBUST)}
    a11y.plotly_chart(st, viz_learn.image_row([p[L.STANDARD]["x_adv"], p[L.ROBUST]["x_adv"]],
                                        [_("{model} → reads {name}", model=m, name=L.name(p[m]["adv"]))
                                         for m in (L.STANDARD, L.ROBUST)], height=250),
                    key="training_paint", config={"displayModeBar": False})
    st.caption(_("Targeted PGD towards {name} with a large L2 budget ({eps:g}, {steps} steps) on each model: what "
                 "does the change look like?", name=names[target], eps=PAINT_EPS, steps=PAINT_STEPS))
L.try_it(lesson, PAGE, lambda: checks.robust_gap(L.model(L.STANDARD), L.model(L.ROBUST), x, y, eps,
                                                 class_names=L.split().class_names))
L.explore(model=L.ROBUST, image=index, attack="pgd", eps=eps)
L.footer(lesson)
