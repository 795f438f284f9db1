"""Lesson 7: without gradients; the Square Attack's queries (Andriushchenko et al. 2020) and transfer between
models (Papernot, McDaniel & Goodfellow 2016)."""

import streamlit as st

from advcore import attacks, evaluate, viz_learn, zoo
from advcore.i18n import _, ngettext
from advcore.lessons import checks
from advcore.ui import a11y
from advcore.ui import lesson as L

PAGE = "blackbox"
MATRIX_N, MATRIX_EPS, MATRIX_STEPS = 100, 0.2, 10
TARGET = L.STANDARD


def model_ids() -> list[str]:
    """The lesson's data set's shipped models (never user models)."""
    return zoo.by_origin(L.resources.model_cards(L.DATASET))[0]


@st.cache_resource(show_spinner=_("Transfer matrix: PGD on each model, {n} test images (once)...", n=MATRIX_N))
def matrix(keys: tuple[str, ...]):
    models = {k.split("@")[0]: L.net(k) for k in keys}
    return evaluate.transfer_matrix(models, L.split(), "pgd", {"eps": MATRIX_EPS, "steps": MATRIX_STEPS},
                                   n=MATRIX_N)


@st.cache_data(max_entries=512, show_spinner=False)
def transferred(target_key: str, source_key: str, index: int, eps: float) -> dict:
    x, y = L.split().x[index:index + 1], [int(L.split().y[index])]
    adv = attacks.run("pgd", L.net(source_key), x, y, eps=eps, steps=20)
    return {"x_adv": adv.x_adv[0], "source": int(adv.adv_pred[0]),
            "target": int(L.net(target_key)(adv.x_adv, training=False).numpy().argmax())}


@st.cache_data(max_entries=256, show_spinner=_("Square Attack: querying the model..."))
def square(model_key: str, index: int, eps: float, queries: int) -> dict:
    x, y = L.split().x[index:index + 1], [int(L.split().y[index])]
    r = attacks.run("square", L.net(model_key), x, y, eps=eps, queries=queries)
    return {"x_adv": r.x_adv[0], "adv": int(r.adv_pred[0]), "queries": float(r.info["queries"][0])}


lesson = L.header(f"learn_{PAGE}")
L.model(TARGET)
ids = [m for m in model_ids() if L.resources.try_model(m)[1] is None]
left, right = st.columns([1, 3], gap="large")
index, x, y = L.image(left, PAGE, default=0)
eps = L.eps_slider(left, PAGE, default=0.15, high=0.3)
queries = left.select_slider(_("Square Attack query budget"), [50, 100, 200, 300, 500, 1000, 2000], value=200,
                             key=f"{PAGE}_queries")
sources = [m for m in ids if m != TARGET] or [TARGET]
source = left.selectbox(_("transfer: source model (its gradients craft the example)"), sources,
                        key=f"{PAGE}_source")
s = square(L.key(TARGET), index, eps, queries)
t = transferred(L.key(TARGET), L.key(source), index, eps)
with right:
    a11y.plotly_chart(st, viz_learn.image_row(
        [x[0], s["x_adv"], t["x_adv"]],
        [_("image: {name}", name=L.name(y)),
         _("Square, {queries:.0f} queries: {name}", queries=s["queries"], name=L.name(s["adv"])),
         _("from {source}: {name}", source=source, name=L.name(t["target"]))]), key="blackbox_row",
        config={"displayModeBar": False})
    st.caption(_("Middle: the Square Attack on {target}, scores only (it stops at the first success). Right: PGD "
                 "made on {source} (which reads it as {name}), shown to {target}.", target=TARGET, source=source,
                 name=L.name(t["source"])))
    # PGD on every model over MATRIX_N images takes seconds: measured when asked, then kept for every visitor
    if st.toggle(ngettext("Show the transfer matrix ({n} model)", "Show the transfer matrix ({n} models)", len(ids)),
                 key=f"{PAGE}_matrix",
                 help=_("PGD on each MNIST model over {n} test images: a few seconds the first time on this server, "
                        "then kept for every visitor", n=MATRIX_N)):
        st.markdown(_("**Transfer matrix**: accuracy of each model (columns) on PGD examples made on each model "
                      "(rows), eps {k:.0f}/255, {steps} steps, test images 0-{last}.", k=MATRIX_EPS * 255,
                      steps=MATRIX_STEPS, last=MATRIX_N - 1))
        a11y.plotly_chart(st, viz_learn.matrix_heatmap(matrix(tuple(L.key(m) for m in ids)), _("evaluated on"),
                                                       _("crafted on")), key="blackbox_matrix",
                          config={"displayModeBar": False})
L.try_it(lesson, PAGE, lambda: checks.square(L.model(TARGET), x, y, eps, queries, class_names=L.split().class_names),
         _("The check runs the Square Attack on {model} with your eps and query budget.", model=TARGET))
L.explore(model=TARGET, image=index, attack="square", eps=eps, queries=queries)
L.footer(lesson)
