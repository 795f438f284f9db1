"""Lesson 4: where the example lands; a PCA of penultimate features of 1,000 test images with the clean
image and its adversarial version (the "data projector" of You, Tse & Zhao 2023)."""

import numpy as np
import streamlit as st

from advcore import attacks, i18n, landscape, viz_learn
from advcore.i18n import _
from advcore.lessons import checks
from advcore.ui import a11y
from advcore.ui import lesson as L

PAGE = "features"
N_IMAGES = 1000


@st.cache_resource(show_spinner=_("Projecting the features of {n} test images (once per model)...", n=N_IMAGES))
def projection(model_key: str) -> tuple[landscape.Projection, np.ndarray]:
    """The 2-D PCA of the first N_IMAGES test images' features and the classes' mean features."""
    net, data = L.net(model_key), L.split()
    feats = landscape.features(net, data.x[:N_IMAGES])
    return landscape.project(feats, data.y[:N_IMAGES]), checks.class_means(feats, data.y[:N_IMAGES])


@st.cache_data(max_entries=512, show_spinner=False)
def moved(model_key: str, index: int, eps: float) -> dict:
    net = L.net(model_key)
    x, y = L.split().x[index:index + 1], int(L.split().y[index])
    adv = attacks.run("pgd", net, x, [y], eps=eps)
    proj, means = projection(model_key)
    feats = landscape.features(net, np.concatenate([x, adv.x_adv]))
    points = proj.place(feats)
    gaps = np.linalg.norm(means[:, None] - means[None], axis=2)[np.triu_indices(len(means), 1)]
    return {"clean_xy": points[0].tolist(), "adv_xy": points[1].tolist(), "x_adv": adv.x_adv[0],
            "adv": int(adv.adv_pred[0]), "moved": float(np.linalg.norm(feats[1] - feats[0])),
            "mean_gap": float(np.median(gaps[np.isfinite(gaps)])),
            "nearest": int(checks.nearest_mean(feats[1:], means)[0])}


lesson = L.header(f"learn_{PAGE}")
left, right = st.columns([1, 3], gap="large")
model_id = left.radio(_("Model"), [L.STANDARD, L.ROBUST], key=f"{PAGE}_model",
                      help=_("the robust model was trained with PGD (Madry et al. 2018)"))
L.model(model_id)
index, x, y = L.image(left, PAGE, default=0)
eps = L.eps_slider(left, PAGE, default=0.2, high=0.3, label=_("eps of the PGD attack (L∞)"))
proj, means = projection(L.key(model_id))
other = L.ROBUST if model_id == L.STANDARD else L.STANDARD
if L.resources.try_model(other)[1] is None:
    projection(L.key(other))  # both models' projections on the first visit: the switch between them stays quick
r = moved(L.key(model_id), index, eps)
a11y.plotly_chart(left, viz_learn.image_row([x[0], r["x_adv"]], [_("reads {name}", name=L.name(y)),
                                                                _("reads {name}", name=L.name(r["adv"]))],
                                            height=200), key="features_images", config={"displayModeBar": False})
with right:
    names = [i18n.class_name(n) for n in L.split().class_names]
    a11y.plotly_chart(st, viz_learn.feature_scatter(proj.points, proj.labels, names, r["clean_xy"], r["adv_xy"]),
                      key="features_scatter", config={"displayModeBar": False})
    st.caption(_("{model}: first two principal components of the features of test images 0-{last} (they hold "
                 "{share:.0%} of the variance). Circle: the clean image; star: after PGD. In the full feature space "
                 "the attack moved the features {moved:.1f}, {ratio:.1f}× the typical distance between two class "
                 "means; they now lie nearest the mean of class {name}. The picture keeps only part of that move.",
                 model=model_id, last=N_IMAGES - 1, share=proj.explained.sum(), moved=r["moved"],
                 ratio=r["moved"] / r["mean_gap"], name=L.name(r["nearest"])))
L.try_it(lesson, PAGE, lambda: checks.features_land(L.model(model_id), x, y, eps, means,
                                                    class_names=L.split().class_names))
L.explore(model=model_id, image=index, attack="pgd", eps=eps)
L.footer(lesson)
