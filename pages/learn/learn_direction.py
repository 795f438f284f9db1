"""Lesson 2: direction matters; FGSM against random noise of the same budget (Goodfellow et al. 2015)."""

import numpy as np
import streamlit as st

from advcore import attacks, landscape, viz_learn
from advcore.i18n import _
from advcore.lessons import checks
from advcore.ui import a11y
from advcore.ui import lesson as L

PAGE = "direction"
N_FIRST, N_MORE = 100, 500  # test images in the curve at first, and after the button
CURVE_EPS = tuple(round(k / 255, 6) for k in range(0, 81, 10))


@st.cache_data(max_entries=512, show_spinner=False)
def one_image(model_key: str, index: int, eps: float) -> dict:
    net = L.net(model_key)
    x, y = L.split().x[index:index + 1], [int(L.split().y[index])]
    fgsm = attacks.run("fgsm", net, x, y, eps=eps)
    noise = attacks.run("noise", net, x, y, eps=eps, seed=0)
    return {"fgsm": fgsm.x_adv[0], "fgsm_pred": int(fgsm.adv_pred[0]), "noise": noise.x_adv[0],
            "noise_pred": int(noise.adv_pred[0])}


@st.cache_resource(show_spinner=_("Attacking the test images at every budget (once)..."), max_entries=8)
def curves(model_key: str, n: int) -> dict:
    """FGSM and noise accuracy at each of CURVE_EPS on the first ``n`` test images (one gradient per image)."""
    return landscape.direction_curves(L.net(model_key), L.split().x[:n], L.split().y[:n], CURVE_EPS)


lesson = L.header(f"learn_{PAGE}")
left, right, index, x, y = L.opening(PAGE, default_image=4)
eps = L.eps_slider(left, PAGE, default=30 / 255, high=80 / 255)
left.caption(_("Model: {model}. True class: {name}.", model=L.STANDARD, name=L.name(y)))
r = one_image(L.key(L.STANDARD), index, eps)
with right:
    a11y.plotly_chart(st, viz_learn.image_row(
        [x[0], r["fgsm"], r["fgsm"] - x[0], r["noise"], r["noise"] - x[0]],
        [_("image"), _("FGSM: reads {name}", name=L.name(r["fgsm_pred"])), _("FGSM change"),
         _("noise: reads {name}", name=L.name(r["noise_pred"])), _("noise change")],
        signed=[False, False, True, False, True]), key="direction_row",
        config={"displayModeBar": False})
    st.caption(_("Both changes move every pixel by the same eps (until the [0, 1] clip); only the signs differ."))
    more = st.session_state.get(f"{PAGE}_more", False)
    n_images = N_MORE if more else N_FIRST
    c = curves(L.key(L.STANDARD), n_images)
    fgsm_name, noise_name = _("FGSM (gradient sign)"), _("random ±eps noise")
    a11y.plotly_chart(st, viz_learn.lines(np.asarray(CURVE_EPS) * 255, {fgsm_name: c["fgsm"], noise_name: c["noise"]},
                                          "eps (/255)", _("accuracy on {n} test images", n=n_images),
                                          y_range=[0, 1.02], marker_x=eps * 255,
                                          colours={fgsm_name: "#d62728", noise_name: "#7f7f7f"}),
                      key="direction_curves", config={"displayModeBar": False})
    if not more:
        st.button(_("Measure on {n} test images", n=N_MORE), key=f"{PAGE}_more_button",
                  on_click=lambda: st.session_state.update({f"{PAGE}_more": True}),
                  help=_("The curves above use the first {first} test images; {more} give a smoother curve (a few "
                         "seconds, once per server).", first=N_FIRST, more=N_MORE))
L.try_it(lesson, PAGE, lambda: checks.direction(L.model(L.STANDARD), x, y, eps,
                                                class_names=L.split().class_names))
L.explore(model=L.STANDARD, image=index, attack="fgsm", eps=eps)
L.footer(lesson)
