"""Lesson 10: certified robustness by randomized smoothing (Cohen, Rosenfeld & Kolter 2019): noisy copies, a
majority vote, a certified L2 radius per image, the certified-accuracy curve, and an attack that cannot beat it."""

import numpy as np
import streamlit as st

from advcore import defences, viz_learn
from advcore.i18n import _
from advcore.lessons import checks
from advcore.ui import a11y
from advcore.ui import lesson as L

PAGE = "certified"
SIGMAS = (0.12, 0.25, 0.5, 1.0)
N0, N, ALPHA = 50, 500, 0.001
CURVE_IMAGES, CURVE_N = 100, 500
RADII = np.round(np.arange(0, 2.01, 0.1), 2)


@st.cache_data(max_entries=512, show_spinner=_("Voting over noisy copies..."))
def certify(model_key: str, index: int, sigma: float) -> dict:
    x = L.split().x[index:index + 1]
    cert = defences.certify(L.net(model_key), x, sigma, N0, N, ALPHA)
    noisy = np.clip(np.repeat(x, 3, axis=0) + np.random.default_rng(0).normal(0, sigma, (3, *x.shape[1:])), 0, 1)
    counts = defences.noise_counts(L.net(model_key), x, sigma, 200, seed=2)[0]
    return {"pred": int(cert.pred[0]), "radius": float(cert.radius[0]), "p_lower": float(cert.p_lower[0]),
            "noisy": noisy.astype(np.float32), "counts": counts}


@st.cache_resource(show_spinner=_("Certifying {n} test images (once per sigma)...", n=CURVE_IMAGES))
def curve(model_key: str, sigma: float) -> dict:
    data = L.split()
    cert = defences.certify(L.net(model_key), data.x[:CURVE_IMAGES], sigma, N0, CURVE_N, ALPHA)
    return defences.certified_accuracy(cert, data.y[:CURVE_IMAGES], RADII)


@st.cache_data(max_entries=256, show_spinner=_("Attacking the smoothed model (BPDA + EOT)..."))
def attack(model_key: str, index: int, sigma: float, eps: float) -> int:
    x, y = L.split().x[index:index + 1], int(L.split().y[index])
    smoothed = f"smooth:{sigma}:16"
    return checks.defended_attack(L.net(model_key), x, y, smoothed, "bpda+eot", eps, steps=20, samples=4)[0]


lesson = L.header(f"learn_{PAGE}")
left, right, index, x, y = L.opening(PAGE, default_image=0)
sigma = left.select_slider(_("noise sigma (pixel units)"), SIGMAS, value=0.12, key=f"{PAGE}_sigma")
c = certify(L.key(L.STANDARD), index, sigma)
with right:
    a11y.plotly_chart(st, viz_learn.image_row([x[0], *c["noisy"]],
                                              [_("image"), *[_("noisy copy {k}", k=k) for k in (1, 2, 3)]]),
                      key="certified_noisy", config={"displayModeBar": False})
    votes = ", ".join(f"{L.name(k)}: {v}" for k, v in enumerate(c["counts"]) if v)
    st.markdown(_("Votes of {model} over 200 noisy copies: {votes}.", model=L.STANDARD, votes=votes))
    cols = st.columns(3)
    cols[0].metric(_("smoothed prediction"), _("abstains") if c["pred"] == defences.ABSTAIN else L.name(c["pred"]))
    cols[1].metric(_("p(top class) ≥"), f"{c['p_lower']:.3f}",
                   help=_("lower confidence bound from {n} votes, confidence 1 - {alpha}", n=N, alpha=ALPHA))
    cols[2].metric(_("certified L2 radius"), f"{c['radius']:.2f}",
                   help=_("sigma · Φ⁻¹(p): no change of L2 norm below it changes the smoothed prediction"))
    if c["radius"] > 0 and st.toggle(_("Attack the smoothed model inside the certified radius (PGD-L2, BPDA + EOT)"),
                                     key=f"{PAGE}_attack"):
        pred = attack(L.key(L.STANDARD), index, sigma, round(c["radius"] * 0.99, 4))
        st.markdown(_("PGD with L2 eps {eps:.2f} (just inside the radius): the smoothed model reads **{name}**. The "
                      "certificate says this holds for every attack, with probability 1 − {alpha} over the noise.",
                      eps=c["radius"] * 0.99, name=L.name(pred), alpha=ALPHA))
    if st.toggle(_("Certified accuracy curve over {n} test images (once per sigma)", n=CURVE_IMAGES),
                 key=f"{PAGE}_curve"):
        acc = curve(L.key(L.STANDARD), sigma)
        a11y.plotly_chart(st, viz_learn.lines(RADII, {f"sigma {sigma:g}": list(acc.values())}, _("L2 radius r"),
                                              _("certified accuracy"), y_range=[0, 1.02]), key="certified_curve",
                          config={"displayModeBar": False})
L.try_it(lesson, PAGE, lambda: checks.certified(L.model(L.STANDARD), x, y, sigma))
L.explore(model=L.STANDARD, image=index, attack="pgd", norm="l2", eps=max(c["radius"], 0.5),
          defence=f"smooth:{sigma}:16", adaptive=True)  # the smoothed model, attacked with BPDA + EOT as above
L.footer(lesson)
