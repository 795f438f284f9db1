"""Explore: one image, one attack, live. Layout only; the numbers come from advcore.live."""

import json

import numpy as np
import streamlit as st

from advcore import attacks, images, live, viz, zoo
from advcore.ui import controls, picker, resources


@st.cache_data(max_entries=4096, show_spinner=False)
def analyse(model_key: str, image_key: str, _x: np.ndarray, label: int, attack: str, params_json: str) -> dict:
    return live.analyse(resources.model(model_key), _x, label, attack, json.loads(params_json))


@st.cache_resource(max_entries=1024, show_spinner="Searching the smallest eps that flips this image...")
def curve(model_key: str, image_key: str, _x: np.ndarray, label: int, attack: str, params_json: str,
          eps_max: float) -> tuple[dict, object]:
    """The eps curve and its figure (built once: it does not depend on the slider)."""
    c = live.eps_curve(resources.model(model_key), _x, label, attack, json.loads(params_json), eps_max)
    return c, viz.eps_curve(c["eps"], c["true_prob"], c["other_prob"], c["flip_eps"])


@st.cache_data(max_entries=4096, show_spinner=False)
def noise(model_key: str, image_key: str, _x: np.ndarray, label: int, eps: float, norm: str) -> dict:
    return live.noise_control(resources.model(model_key), _x, label, eps, norm)


def model_ids(dataset: str) -> list[str]:
    return [c["id"] for c in resources.cards(dataset)]


def apply_url_once(url: controls.UrlState) -> None:
    """Seed the widgets from the link on a session's first run only."""
    if st.session_state.get("url_applied"):
        return
    st.session_state.url_applied = True
    if url.dataset:
        st.session_state.dataset = url.dataset
    if url.model:
        st.session_state[f"model_{url.dataset or 'mnist'}"] = url.model
    if url.attack:
        st.session_state.attack = url.attack


def prediction_text(names, probs) -> str:
    top = int(np.argmax(probs))
    return f"{names[top]} ({probs[top]:.1%})"


def show_metrics(result: dict, names, label: int) -> None:
    norms, shift = result["norms"], result["shift"]
    row = st.columns(4)
    row[0].metric("clean prediction", prediction_text(names, result["clean_probs"]))
    row[1].metric("adversarial prediction", prediction_text(names, result["adv_probs"]),
                  delta="fooled" if shift["adv_class"] != label else "still right",
                  delta_color="inverse" if shift["adv_class"] != label else "normal")
    row[2].metric("true-class probability", f"{shift['true_prob_adv']:.1%}",
                  delta=f"{-shift['true_prob_drop']:+.1%}", delta_color="normal")
    row[3].metric("KL(clean ‖ adv)", f"{shift['kl']:.3f} nats")
    row = st.columns(4)
    row[0].metric("L∞ of the change", f"{norms['linf']:.4f}", help=f"{norms['linf_255']:.1f}/255")
    row[1].metric("L2 of the change", f"{norms['l2']:.3f}", help=f"{norms['l2_255']:.1f} in /255 units")
    row[2].metric("L0: values changed", f"{norms['l0']:.0f}")
    row[3].metric("PSNR", "∞ dB" if not np.isfinite(result["psnr"]) else f"{result['psnr']:.1f} dB")


def every_model_row(dataset, picked, attack, params_json, names) -> None:
    shown, titles = [], []
    for other in model_ids(dataset):
        net, error = resources.try_model(other)
        if error:
            titles.append(f"{other}: unavailable")
            shown.append(np.zeros_like(picked.x[0]))
            continue
        res = analyse(resources.model_key(other), picked.key, picked.x, picked.label, attack, params_json)
        shown.append(res["x_adv"])
        titles.append(f"{other}: {prediction_text(names, res['adv_probs'])}")
    st.plotly_chart(viz.model_row(shown, titles), key="every_model_chart", config={"displayModeBar": False})


@st.fragment
def explore_panel(dataset: str, model_id: str, picked: picker.Picked, url_eps: float | None) -> None:
    names = resources.test_split(dataset).class_names
    top = st.columns([1, 1, 2])
    attack = top[0].selectbox("Attack", list(attacks.ATTACKS), key="attack",
                              format_func=lambda a: attacks.ATTACKS[a].title)
    spec = attacks.ATTACKS[attack]
    top[0].caption(f"{spec.summary}. *{spec.paper}*")
    with top[1].popover("Attack settings", use_container_width=True):
        params = controls.attack_controls(spec, "explore", names, picked.label, model_ids(dataset))
    norm = params.get("norm", spec.norms[0])
    with top[2]:
        eps = controls.eps_slider(norm, "eps", url_eps if url_eps is not None else 0.1)
    params["eps"] = eps
    controls.write_url(dataset=dataset, model=model_id, attack=attack, eps=f"{eps:.4f}",
                       **({"image": picked.index} if picked.index is not None else {}))
    params_json = json.dumps(params, sort_keys=True)
    key = resources.model_key(model_id)
    try:
        result = analyse(key, picked.key, picked.x, picked.label, attack, params_json)
    except ValueError as exc:  # AdvcoreError: e.g. a parameter out of range
        st.error(str(exc))
        return
    show_metrics(result, names, picked.label)
    if "min_norm" in result["info"]:
        needed = result["info"]["min_norm"]
        st.info(f"{spec.title} needed a perturbation of {norm} norm "
                f"{'— none found' if not np.isfinite(needed) else f'{needed:.3f}'}; eps is its ceiling "
                "(beyond it the image is left unchanged).")
    if "queries" in result["info"]:
        st.info(f"Black-box: {result['info']['queries']:.0f} model queries used, no gradients.")
    st.plotly_chart(viz.image_triptych(picked.x[0], result["x_adv"]), key="triptych",
                    config={"displayModeBar": False})
    control = noise(key, picked.key, picked.x, picked.label, eps, norm)
    left, right = st.columns(2)
    with left:
        st.plotly_chart(viz.probability_bars(names, result["clean_probs"], result["adv_probs"], picked.label,
                                             control["probs"]), key="probs")
        st.caption(f"Grey: the same budget as random noise → {prediction_text(names, control['probs'])}. "
                   "The direction of the change matters, not only its size.")
    with right:
        if result["trace"] is not None:
            st.plotly_chart(viz.attack_trace(result["trace"]["loss"], result["trace"]["true_prob"]), key="trace")
        else:
            st.caption("One-step attack: no per-step trace.")
    eps_max = controls.eps_grid(norm)[-1]
    curve_params = json.dumps({k: v for k, v in params.items() if k != "eps"}, sort_keys=True)
    if spec.family in ("minimal", "black-box"):
        st.caption("The eps curve is drawn for gradient attacks (minimal attacks report the norm they needed; "
                   "the black-box attack would take too many queries per point).")
    else:
        eps_search(key, picked, attack, spec, curve_params, eps_max, norm)
    if st.button("Run this attack on every model of this data set", key="every_model"):
        every_model_row(dataset, picked, attack, params_json, names)
    downloads(dataset, model_id, picked, attack, result)


def eps_search(key, picked, attack, spec, curve_params, eps_max, norm) -> None:
    with st.expander("Smallest eps that flips this image, and the probability curve", expanded=True):
        c, figure = curve(key, picked.key, picked.x, picked.label, attack, curve_params, eps_max)
        if c["flip_eps"] is None:
            st.write(f"{spec.title} does not flip this image for any eps up to {controls.eps_label(eps_max, norm)}.")
        else:
            st.write(f"{spec.title} flips this image from eps ≈ **{controls.eps_label(c['flip_eps'], norm)}**.")
        st.plotly_chart(figure, key="curve")


def downloads(dataset, model_id, picked, attack, result) -> None:
    numbers = {"dataset": dataset, "model": model_id, "image": picked.description, "label": picked.label,
               "attack": attack, "params": result["params"], "norms": result["norms"], "psnr": result["psnr"],
               "prediction_shift": result["shift"], "defence_effect": result["defence_effect"]}
    d1, d2 = st.columns(2)
    d1.download_button("Download the adversarial image (PNG)", images.to_png(result["x_adv"]),
                       file_name=f"adv-{model_id}-{attack}.png", mime="image/png", key="dl_png")
    d2.download_button("Download the numbers (JSON)", json.dumps(numbers, indent=2, default=float),
                       file_name=f"adv-{model_id}-{attack}.json", mime="application/json", key="dl_json")


st.title("Explore: one image, one attack")
url = controls.read_url(model_ids)
for message in url.messages:
    st.warning(message)
apply_url_once(url)
left, right = st.columns([1, 3], gap="large")
with left:
    dataset = controls.dataset_select(st, "dataset")
    ids = model_ids(dataset)
    if not ids:
        st.error(f"No model for {dataset} is available. Train one with `python -m advcore train`.")
        st.stop()
    model_id = st.selectbox("Model", ids, key=f"model_{dataset}",
                            format_func=lambda i: zoo.display_name(zoo.card(i)))  # user models marked
    card = next(c for c in resources.cards(dataset) if c["id"] == model_id)
    with st.expander("Model card"):
        st.json(card, expanded=False)
    model, error = resources.try_model(model_id)
    if error:
        st.error(f"Model {model_id} is unavailable: {error}")
        st.stop()
    picked = picker.pick_image(dataset, model_id, url.image)
with right:
    if picked is None:
        st.info("Pick an image on the left.")
    else:
        explore_panel(dataset, model_id, picked, url.eps)
