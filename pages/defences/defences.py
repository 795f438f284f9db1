"""Defences: input transformations and randomized smoothing, attacked naively and adaptively; a smoothing
certificate for one image. Layout only: the work is advcore.defences and advcore.attacks.adaptive."""

import numpy as np
import streamlit as st

from advcore import attacks, data, defences, heavy, metrics, viz, zoo
from advcore.attacks import adaptive
from advcore.i18n import _, class_name, pgettext
from advcore.ui import heavy_view, limits, model_table_notes, param_labels, resources, store, widgets

GRADIENT_ATTACKS = [a for a, s in attacks.ATTACKS.items() if s.family == "gradient" and "linf" in s.norms]

st.title(_("Defences: real robustness or hidden gradients?"))
st.markdown(_(
    "Many proposed defences transform the image before the model sees it (JPEG compression, fewer grey levels, "
    "a median filter, random resizing). Attacked the usual way they often look robust, because the attack "
    "follows the gradient and these transformations give it none, or a random one. Athalye, Carlini & Wagner "
    "(2018, *Obfuscated Gradients Give a False Sense of Security*) showed that an **adaptive** attack breaks "
    "them: **BPDA** runs the transformation forward but treats it as the identity when taking the gradient, and "
    "**EOT** averages the gradient over many random draws. Compare the two numbers below: only the lower one "
    "tells you how robust the defended model is."))


def defence_spec(where, key: str) -> str:
    """Defences picked in order with their parameters from the registry; returns the spec string."""
    names = where.multiselect(_("Defences (applied in this order)"), list(defences.DEFENCES), default=["bits"],
                              key=f"{key}_names", format_func=lambda d: _(defences.DEFENCES[d].title))
    parts = []
    for name in names:
        spec = defences.DEFENCES[name]
        values = {p.name: widgets.param_widget(where, p, widgets.widget_key(key, name, p.name), slider=True,
                                               label=_("{defence}: {parameter} ({unit})", defence=_(spec.title),
                                                       parameter=param_labels.label(p), unit=_(p.unit)),
                                               high=64 if p.kind == "int" else None, once=True)
                  for p in spec.params}  # in a form: seeded once, read on submit
        parts.append(str(defences.make_stage(name, **values)))
        where.caption(f"{_(spec.summary)} — {spec.paper}")
    return "+".join(parts) or "none"


with st.form("defence_form"):
    c1, c2, c3 = st.columns(3)
    dataset = widgets.dataset_select(c1, "def_dataset")
    model_cards = resources.model_cards(dataset)
    shipped, yours = zoo.by_origin(model_cards)  # shipped first (the default); yours marked "user model"
    names_of = {c["id"]: zoo.display_name(c) for c in model_cards}
    model_id = c1.selectbox(_("Model"), shipped + yours, key=f"def_model_{dataset}", format_func=names_of.get)
    spec = defence_spec(c2, "def")
    attack = c3.selectbox(_("Attack"), GRADIENT_ATTACKS, key="def_attack",
                          format_func=lambda a: attacks.ATTACKS[a].title)
    facts = data.info(dataset)  # the data set's budget (MNIST 0.3, CIFAR-10 8/255) and its L∞ range
    eps = c3.number_input(_("eps (L∞, pixel units)"), 0.0, facts.eps_range("linf").high, facts.budget, 1 / 255,
                          format="%.4f", key=f"def_eps_{dataset}")
    steps = c3.number_input(_("Steps"), 2, min(limits.MAX_STEPS, 100), 20, key="def_steps")
    recommended = adaptive.recommended_mode(spec) if spec != "none" else "none"
    mode = c3.selectbox(_("Adaptive attack"), adaptive.MODES, index=adaptive.MODES.index(recommended),
                        key=f"def_mode_{spec}", help=_("recommended for this defence: {mode}", mode=recommended))
    samples = c3.slider(_("EOT draws"), 1, 16, 4, key="def_eot", help=_("random draws averaged per gradient (EOT)"))
    n = c1.slider(_("Test images"), 10, 200, 50, step=10, key="def_n")
    submitted = st.form_submit_button(pgettext("button", "Attack"), type="primary")

net, error = resources.try_model(model_id) if model_id else (None, _("no model for this data set"))
if error:
    st.error(error)
    st.stop()
split = resources.test_split(dataset)
params = attacks.accepted(attack, {"eps": float(eps), "steps": int(steps)})
request = store.ResultStore.key(page="defences", model=resources.model_key(model_id), spec=spec, attack=attack,
                                params=params, mode=mode, samples=samples, n=n)
work = None
if submitted and store.results().get(request) is None:
    x, y = split.x[:n], split.y[:n]

    def attack_both(progress) -> dict:
        """Naive and adaptive, and the model's clean accuracy without the defence."""
        both = adaptive.compare(net, x, y, attack, params, spec, mode, samples, limits.BATCH, progress)
        return dict(both, undefended=metrics.accuracy(attacks.base.logits_of(net, x), y))

    work = heavy_view.Work(attack_both, len(x) * (1 + (mode != "none")),
                           heavy.defended_cost(len(x), {attack: params}, 1, 1, [spec], samples, mode),
                           _("attacking naive and adaptive"))
outcome = heavy_view.show("defences", request, work)

if outcome is None:
    st.info(_("Pick a model, defences and an attack, then press **{button}**.", button=pgettext("button", "Attack")))
else:
    naive, strong = outcome["naive"], outcome["adaptive"]
    st.subheader(_("{model} behind {defence}, {attack} at eps {eps}, {n} test images", model=model_id,
                   defence=outcome["defence"], attack=attacks.ATTACKS[attack].title,
                   eps=widgets.eps_label(float(eps)), n=naive["n"]))
    m = st.columns(4)
    m[0].metric(_("Clean, no defence"), f"{outcome['undefended']:.1%}")
    m[1].metric(_("Clean, defended"), f"{naive['clean_accuracy']:.1%}")
    m[2].metric(_("Naive attack"), f"{naive['robust_accuracy']:.1%}", help=_(
        "the attack uses TensorFlow's gradient through the defence: zero through JPEG, bit-depth reduction and the "
        "smoothing vote"))
    m[3].metric(_("Adaptive attack ({mode})", mode=strong["adaptive"]), f"{strong['robust_accuracy']:.1%}",
                delta=f"{strong['robust_accuracy'] - naive['robust_accuracy']:+.1%}", delta_color="off",
                help=_("BPDA: identity gradient through non-differentiable steps; EOT: gradient averaged over "
                       "random draws (Athalye et al. 2018)"))
    for flag, what in zip(outcome["flags"], (_("Gradient check on the defended model"),
                                             _("Naive against adaptive"))):
        (st.success if flag.ok else st.error)(_("**{label}:** {text}", label=what,
                                                text=model_table_notes.note(flag.message)))

st.header(_("A certificate: randomized smoothing"))
st.markdown(_(
    "Randomized smoothing (Cohen, Rosenfeld & Kolter 2019, *Certified Adversarial Robustness via Randomized "
    "Smoothing*) classifies many copies of the image with Gaussian noise added and returns the majority vote. "
    "If the top class wins clearly enough, no change of L2 size below the **certified radius** "
    "σ·Φ⁻¹(p) can change the vote, where p is a lower confidence bound on the top class's share of the votes. "
    "This is a proof about the smoothed model, not the result of an attack; it holds with probability "
    "1 − α over the random noise. If p is not above 1/2 the smoothed model abstains."))
with st.form("certify_form"):
    c1, c2, c3 = st.columns(3)
    index = int(c1.number_input(_("Test image"), 0, len(split) - 1, 0, key=f"cert_index_{dataset}"))
    sigma = c2.select_slider(_("Noise σ (pixel units)"), [0.12, 0.25, 0.5, 1.0], value=0.25, key="cert_sigma")
    samples_n = c3.select_slider(_("Noise samples n"), [100, 500, 1000, 2000], value=1000, key="cert_n")
    certify_now = st.form_submit_button(_("Certify"))
cert_request = store.ResultStore.key(page="certify", model=resources.model_key(model_id), index=index, sigma=sigma,
                                     n=samples_n)
cert = store.results().get(cert_request)
if cert is None and certify_now:
    with st.spinner(_("Classifying {n} noisy copies...", n=samples_n + 100)):
        cert = defences.certify(net, split.x[index:index + 1], sigma, n0=100, n=samples_n, alpha=0.001)
    store.results().put(cert_request, cert)
if cert is not None:
    noisy = np.clip(split.x[index] + np.random.default_rng(0).normal(0, sigma, split.x[index].shape), 0, 1)
    c1, c3 = st.columns([1, 1])
    c1.image([viz.to_uint8_rgb(split.x[index]), viz.to_uint8_rgb(noisy)], width=160,
             caption=[_("image"), _("one noisy copy (σ = {sigma})", sigma=sigma)])
    names = [class_name(name) for name in split.class_names]
    if cert.pred[0] == defences.ABSTAIN:
        c3.warning(_("The smoothed model abstains: the top class's share is not certainly above 1/2 (lower bound "
                     "{bound:.3f}). True class: {true}.", bound=cert.p_lower[0], true=names[split.y[index]]))
    else:
        c3.metric(_("Smoothed prediction"), names[cert.pred[0]],
                  help=_("true class: {true}; {votes} of {n} noisy votes", true=names[split.y[index]],
                         votes=cert.counts[0], n=cert.n))
        c3.metric(_("Certified L2 radius"), f"{cert.radius[0]:.3f}",
                  help=_("lower bound on the top class's vote share: {bound:.4f} (α = {alpha})",
                         bound=cert.p_lower[0], alpha=cert.alpha))
        c3.caption(_("No perturbation with L2 norm below {radius:.3f} (an L∞ budget of {linf:.4f} spread over every "
                     "pixel) can change this vote. `python -m advcore certify` gives certified accuracy over many "
                     "images.", radius=cert.radius[0], linf=cert.radius[0] / np.sqrt(split.x[index].size)))
