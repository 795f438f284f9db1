"""Lesson 5: stronger attacks; PGD's steps, step size and restarts, and its per-step trace (Madry et al. 2018)."""

import numpy as np
import streamlit as st

from advcore import attacks, viz_learn
from advcore.i18n import _, ngettext
from advcore.lessons import checks
from advcore.ui import a11y
from advcore.ui import lesson as L

PAGE = "pgd"
STEP_SIZES = (0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2)


@st.cache_data(max_entries=512, show_spinner=False)
def run(model_key: str, index: int, eps: float, steps: int, step_size: float | None, restarts: int,
        random_start: bool) -> dict:
    net = L.net(model_key)
    x, y = L.split().x[index:index + 1], [int(L.split().y[index])]
    r = attacks.run("pgd", net, x, y, eps=eps, steps=steps, step_size=step_size, restarts=restarts,
                    random_start=random_start, trace=True)
    return {"loss": r.trace.loss[:, 0], "x_adv": r.x_adv[0], "adv": int(r.adv_pred[0])}


lesson = L.header(f"learn_{PAGE}")
left, right, index, x, y = L.opening(PAGE, default_image=0)
eps = L.eps_slider(left, PAGE, default=50 / 255, high=80 / 255)
steps = left.slider(_("steps"), 1, 40, 10, key=f"{PAGE}_steps")
step_size = left.select_slider(_("step size alpha (pixel units)"), STEP_SIZES, value=0.02, key=f"{PAGE}_alpha")
restarts = left.slider(_("random restarts"), 1, 5, 1, key=f"{PAGE}_restarts")
random_start = left.checkbox(_("random start"), value=restarts > 1, key=f"{PAGE}_random", disabled=restarts > 1,
                             help=_("start from a random point in the eps-ball (always on with restarts)"))
random_start = random_start or restarts > 1
default_alpha = 2.5 * eps / steps
mine = run(L.key(L.STANDARD), index, eps, steps, step_size, restarts, random_start)
auto = run(L.key(L.STANDARD), index, eps, steps, None, 1, False)
with right:
    top = st.columns([2, 1])
    default_name = _("default alpha 2.5·eps/steps = {alpha:.4f}", alpha=default_alpha)
    a11y.plotly_chart(top[0], viz_learn.lines(np.arange(steps + 1), {
        _("your alpha {alpha:g}", alpha=step_size): mine["loss"], default_name: auto["loss"]},
        _("step"), _("loss (cross-entropy of the true class)"), dashed=(default_name,)),
        key="pgd_trace", config={"displayModeBar": False})
    a11y.plotly_chart(top[1], viz_learn.image_row([mine["x_adv"], auto["x_adv"]],
                                                  [_("yours: {name}", name=L.name(mine["adv"])),
                                                   _("default: {name}", name=L.name(auto["adv"]))],
                                                  height=230), key="pgd_images", config={"displayModeBar": False})
    top[1].caption(ngettext("True class {name}. Eps {k:.0f}/255, {n} step.", "True class {name}. Eps {k:.0f}/255, "
                            "{n} steps.", steps, name=L.name(y), k=eps * 255))
L.try_it(lesson, PAGE, lambda: checks.pgd_fails(L.model(L.STANDARD), x, y, eps, step_size, steps),
         _("The check runs without random start, with your eps and steps."))
L.explore(model=L.STANDARD, image=index, attack="pgd", eps=eps, steps=steps, step_size=step_size,
          restarts=restarts, random_start=random_start)
L.footer(lesson)
