"""Lesson 3: why it works; logits along the gradient sign vs random directions (Goodfellow et al. 2015, Fig. 4)
and the 2-D loss/decision landscape of a standard and a robust model (Madry et al. 2018)."""

import numpy as np
import streamlit as st

from advcore import i18n, landscape, viz_learn
from advcore.i18n import _
from advcore.lessons import checks
from advcore.ui import a11y
from advcore.ui import lesson as L

PAGE = "linearity"
ALONG = np.linspace(0, 0.5, 26, dtype=np.float32)
SIZE = 21  # 441 points per model: a radius move is 2 x 441 forward passes (31 x 31 took seconds on a busy CPU)


@st.cache_data(max_entries=256, show_spinner=False)
def directions(model_key: str, index: int) -> tuple[np.ndarray, np.ndarray]:
    """The sign of the model's gradient at the image and a random sign direction (seed 0): one gradient per
    image, shared by the 1-D curves and every radius of the 2-D slice."""
    x, y = L.split().x[index:index + 1], int(L.split().y[index])
    sign = landscape.sign_direction(L.net(model_key), x, [y])[0]
    return sign, landscape.random_direction(sign.shape, 0)


@st.cache_data(max_entries=256, show_spinner=False)
def logits(model_key: str, index: int) -> dict:
    net = L.net(model_key)
    x = L.split().x[index:index + 1]
    sign, random = directions(model_key, index)
    return {"gradient": landscape.logits_along(net, x, sign, ALONG),
            "random": landscape.logits_along(net, x, random, ALONG)}


@st.cache_data(max_entries=256, show_spinner=False)
def grid(model_key: str, index: int, radius: float) -> landscape.Grid:
    """``landscape.landscape`` at this radius, from the cached directions."""
    return landscape.grid(L.net(model_key), L.split().x[index], int(L.split().y[index]), *directions(model_key, index),
                          radius, SIZE)


lesson = L.header(f"learn_{PAGE}")
L.model(L.STANDARD)
L.model(L.ROBUST)
left, right = st.columns([1, 3], gap="large", vertical_alignment="bottom")
index, x, y = L.image(left, PAGE, default=0)
right.markdown(_("**{model}**, test image {index} (true class {name}: the thick line). The same loss colour scale "
                 "for both models below, saturating above the largest loss inside the balls.", model=L.STANDARD,
                 index=index, name=L.name(y)))
names = [i18n.class_name(n) for n in L.split().class_names]
z = logits(L.key(L.STANDARD), index)
cols = st.columns(2)
for col, which, title in ((cols[0], "gradient", _("along the gradient sign")),
                          (cols[1], "random", _("along a random sign direction"))):
    series = {f"{names[c]}": z[which][:, c] for c in range(len(names))}
    fig = viz_learn.lines(ALONG * 255, series, _("step t (/255)"), _("logit"), title=title,
                          colours={f"{names[c]}": viz_learn.CLASS_COLOURS[c] for c in range(len(names))})
    fig.update_traces(line={"width": 6}, selector={"name": f"{names[y]}"})
    a11y.plotly_chart(col, fig, key=f"linearity_{which}", config={"displayModeBar": False})


@st.fragment
def slices() -> None:
    """The radius slider and the two landscapes: a radius move reruns only this part of the page."""
    radius = L.eps_slider(st, PAGE, default=0.3, high=0.5, label=_("radius of the slice (L∞, the dashed diamond)"))
    grids = {m: grid(L.key(m), index, radius) for m in (L.STANDARD, L.ROBUST)}
    zmax = max(max(g.max_loss for g in grids.values()), 0.1)
    cols = st.columns(2)
    for col, (model_id, g) in zip(cols, grids.items()):
        title = _("{model}: max loss {loss:.2f} in the ball", model=model_id, loss=g.max_loss)
        a11y.plotly_chart(col, viz_learn.landscape_figure(g, names, title, zmax=zmax), key=f"landscape_{model_id}",
                          config={"displayModeBar": False})
        col.caption(_("{model}: the true class covers {share:.0%} of the ball.", model=model_id, share=g.true_region))
    L.try_it(lesson, PAGE, lambda: checks.linearity(grids[L.STANDARD], grids[L.ROBUST]))
    L.explore(model=L.STANDARD, image=index, attack="pgd", eps=radius)


slices()
L.footer(lesson)
