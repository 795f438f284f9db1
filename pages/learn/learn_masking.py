"""Lesson 9: false robustness; a preprocessing defence that stops naive PGD and falls to BPDA/EOT
(Athalye, Carlini & Wagner 2018), and the evaluation checklist of Carlini et al. 2019."""

import pandas as pd
import streamlit as st

from advcore import lessons, viz_learn
from advcore.attacks import adaptive
from advcore.i18n import N_, _
from advcore.lessons import checks
from advcore.ui import a11y, resources
from advcore.ui import lesson as L

PAGE = "masking"
DISTILLED = "mnist-distilled"  # defensive distillation at T = 100 (Papernot et al. 2016), shipped in the zoo
DEFENCES = {"bits:2": N_("bits:2 (4 grey levels)"), "jpeg:50": N_("jpeg:50 (JPEG)"),
            "resize-pad": N_("resize-pad (random)")}
N_IMAGES, STEPS = 100, 20


@st.cache_data(max_entries=512, show_spinner=_("Attacking through the defence..."))
def one(model_key: str, index: int, defence: str, mode: str, eps: float) -> dict:
    x, y = L.split().x[index:index + 1], int(L.split().y[index])
    net = L.net(model_key)
    naive, x_naive = checks.defended_attack(net, x, y, defence, "none", eps, STEPS)
    mine, x_mine = checks.defended_attack(net, x, y, defence, mode, eps, STEPS)
    return {"naive": naive, "x_naive": x_naive[0], "adaptive": mine, "x_adaptive": x_mine[0]}


@st.cache_resource(show_spinner=_("Naive and adaptive PGD over {n} test images (once per defence)...", n=N_IMAGES))
def compare(model_key: str, defence: str, eps: float) -> dict:
    data = L.split()
    return adaptive.compare(L.net(model_key), data.x[:N_IMAGES], data.y[:N_IMAGES], "pgd",
                            {"eps": eps, "steps": STEPS}, defence)


@st.cache_data(max_entries=512, show_spinner=_("Attacking the distilled model..."))
def distilled(model_key: str, index: int, eps: float) -> dict:
    """PGD on cross-entropy and APGD on the DLR loss against the distilled model, and its gradient check."""
    x, y = L.split().x[index:index + 1], int(L.split().y[index])
    return checks.distilled_attacks(L.net(model_key), x, y, eps, STEPS)


lesson = L.header(f"learn_{PAGE}")
L.model(L.STANDARD)
left, right = st.columns([1, 3], gap="large")
defence = left.selectbox(_("defence in front of mnist-standard"), list(DEFENCES), format_func=lambda d: _(DEFENCES[d]),
                         key=f"{PAGE}_defence")
mode = left.radio(_("attack mode"), adaptive.MODES, index=adaptive.MODES.index(adaptive.recommended_mode(defence)),
                  key=f"{PAGE}_mode_{defence}", horizontal=True,
                  help=_("none: differentiate through the defence as it is (naive); bpda: treat the non-differentiable "
                         "stage as the identity; eot: average over the defence's random draws"))
index, x, y = L.image(left, PAGE, default=0)
eps = L.eps_slider(left, PAGE, default=0.15, high=0.3)
r = one(L.key(L.STANDARD), index, defence, mode, eps)
with right:
    a11y.plotly_chart(st, viz_learn.image_row(
        [x[0], r["x_naive"], r["x_adaptive"]],
        [_("image: {name}", name=L.name(y)), _("naive PGD → defended reads {name}", name=L.name(r["naive"])),
         _("PGD with {mode} → reads {name}", mode=mode, name=L.name(r["adaptive"]))], height=260), key="masking_row",
        config={"displayModeBar": False})
    if st.toggle(_("{n} test images: naive against {mode} (slow, once per defence and eps)", n=N_IMAGES,
                   mode=adaptive.recommended_mode(defence)), key=f"{PAGE}_many"):
        c = compare(L.key(L.STANDARD), defence, eps)
        cols = st.columns(2)
        cols[0].metric(_("accuracy under naive PGD"), f"{c['naive']['robust_accuracy']:.0%}")
        cols[1].metric(_("accuracy under PGD with {mode}", mode=c["adaptive"]["adaptive"]),
                       f"{c['adaptive']['robust_accuracy']:.0%}")
        for flag in c["flags"]:
            (st.success if flag.ok else st.error)(f"{flag.check}: {flag.message}")
    st.markdown(_("**A defence inside the model: {model}** (defensive distillation, Papernot et al. 2016). Its "
                  "logits are about 100 times too large, so the softmax saturates and the cross-entropy gradient is "
                  "exactly zero: PGD on cross-entropy gets no direction. APGD on the DLR loss, which uses differences "
                  "of logits and does not saturate (Croce & Hein 2020), needs no such gradient.", model=DISTILLED))
    show = st.toggle(_("Attack {model} on this image at this eps", model=DISTILLED), key=f"{PAGE}_distilled")
    d = distilled(L.key(DISTILLED), index, eps) if show and resources.try_model(DISTILLED)[1] is None else None
    if show and d is None:
        st.info(_("The shipped model {model} is not available on this server.", model=DISTILLED))
    elif d is not None:
        cols = st.columns(3)
        cols[0].metric(_("PGD on cross-entropy"), L.name(d["pgd"]), help=_("what the naive evaluation reports"))
        cols[1].metric(_("APGD on the DLR loss"), L.name(d["apgd_dlr"]),
                       help=_("a scale-invariant loss: the saturated softmax does not hide it"))
        cols[2].metric(_("zero input gradients"), f"{d['zero_gradient']:.0%}",
                       help=_("share of 200 test images whose cross-entropy gradient is all zeros (the sanity flag)"))
    st.markdown(_("**The evaluation checklist** (Carlini et al. 2019): the flags AdvLab raises on sweeps, model "
                  "cards and this page."))
    st.table(pd.DataFrame([(flag, _(meaning), _(case)) for flag, meaning, case in lessons.CHECKLIST],
                          columns=[_("flag"), _("what it means"), _("a case that triggers it")]).set_index(_("flag")))
L.try_it(lesson, PAGE, lambda: checks.adaptive_break(L.model(L.STANDARD), x, y, defence, mode, eps,
                                                     class_names=L.split().class_names),
         _("The check uses the defence, mode, image and eps above."))
L.explore(model=L.STANDARD, image=index, attack="pgd", eps=eps, steps=STEPS, defence=defence, adaptive=mode != "none")
L.footer(lesson)
