"""Result panels shared by Explore and Compare: cached one-image analyses, the metric rows (with
one-sentence explanations and units from ``advcore.metrics.METRIC_HELP``) and the every-model tiles.

The numbers come from ``advcore.live``; this module only caches and places them.
"""

from __future__ import annotations

import json

import numpy as np
import streamlit as st

from advcore import images, live, metrics, viz

from . import resources


# The cached functions take the image as ``_x``: Streamlit leaves arguments with a leading underscore
# out of the cache key, so the array is not hashed on every rerun; ``image_key`` ("test:<index>" in
# the model's data set, or a digest of a drawn or uploaded image's pixels) identifies it instead.
@st.cache_data(max_entries=4096, show_spinner=False)
def analyse(model_key: str, image_key: str, _x: np.ndarray, label: int, attack: str, params_json: str) -> dict:
    return live.analyse(resources.model(model_key), _x, label, attack, json.loads(params_json))


@st.cache_resource(max_entries=1024, show_spinner="Searching the smallest eps that flips this image...")
def curve(model_key: str, image_key: str, _x: np.ndarray, label: int, attack: str, params_json: str,
          eps_max: float) -> dict:
    """The eps curve (cached: it does not depend on the slider)."""
    return live.eps_curve(resources.model(model_key), _x, label, attack, json.loads(params_json), eps_max)


@st.cache_data(max_entries=4096, show_spinner=False)
def noise(model_key: str, image_key: str, _x: np.ndarray, label: int, eps: float, norm: str) -> dict:
    return live.noise_control(resources.model(model_key), _x, label, eps, norm)


def prediction_text(names, probs) -> str:
    top = int(np.argmax(probs))
    return f"{names[top]} ({probs[top]:.1%})"


def verdict(result: dict, label: int, target: int | None) -> tuple[str, str]:
    """(words, tone) for one result: 'already misclassified', 'fooled', 'still right', 'target T reached'..."""
    return live.verdict(result["shift"]["clean_class"], result["shift"]["adv_class"], label, target)


_DELTA_COLOUR = {"bad": "inverse", "good": "normal", "neutral": "off"}
_MARK = {"bad": ":red", "good": ":green", "neutral": ":gray"}


def norm_help(key: str, value_255: float | None = None) -> str:
    extra = f" Here: {value_255:.1f} in /255 units." if value_255 is not None else ""
    return metrics.METRIC_HELP[key] + extra


def show_predictions(result: dict, names, label: int, target: int | None = None, linf: bool = True,
                     prefix: str = "", compact: bool = False) -> None:
    """The row a class looks at first: clean and adversarial predictions (with what happened), the
    true-class probability and the size of the change (``compact``: the two predictions only)."""
    words, tone = verdict(result, label, target)
    shift, norms = result["shift"], result["norms"]
    row = st.columns(2 if compact else 4 if linf else 3)
    row[0].metric(f"{prefix}clean prediction", prediction_text(names, result["clean_probs"]),
                  help="the model's answer on the unchanged image, with its probability")
    row[1].metric(f"{prefix}adversarial prediction", prediction_text(names, result["adv_probs"]), delta=words,
                  delta_color=_DELTA_COLOUR[tone], delta_arrow="off",
                  help="the model's answer on the attacked image, with its probability")
    if compact:
        return
    change = -shift["true_prob_drop"] * 100
    row[2].metric(f"{prefix}true-class probability", f"{shift['true_prob_adv']:.1%}",
                  delta=f"{change:+.1f} points" if abs(change) >= 0.05 else "no change", delta_color="normal",
                  delta_arrow="auto" if abs(change) >= 0.05 else "off", help=norm_help("true_prob_drop"))
    if linf:
        row[3].metric(f"{prefix}L∞ of the change", f"{norms['linf']:.4f}", help=norm_help("linf", norms["linf_255"]))


def show_norms(result: dict) -> None:
    """The other measures of the change and of the prediction shift, each with its explanation and unit."""
    norms, shift = result["norms"], result["shift"]
    row = st.columns(4)
    row[0].metric("L2 of the change", f"{norms['l2']:.3f}", help=norm_help("l2", norms["l2_255"]))
    row[1].metric("L0: values changed", f"{norms['l0']:.0f}", help=norm_help("l0"))
    row[2].metric("PSNR", "∞ dB" if not np.isfinite(result["psnr"]) else f"{result['psnr']:.1f} dB",
                  help=norm_help("psnr"))
    row[3].metric("KL(clean ‖ adv)", f"{shift['kl']:.3f} nats", help=norm_help("kl"))


def model_tiles(entries: list[tuple[str, np.ndarray | None, str, str, str]], per_row: int = 5) -> None:
    """Tiles of (model id, adversarial image or None, prediction text, verdict words, tone): the image,
    the whole model name and prediction (wrapped, never cut), and the verdict in colour."""
    for start in range(0, len(entries), per_row):
        cols = st.columns(per_row)
        for col, (model_id, image, prediction, words, tone) in zip(cols, entries[start:start + per_row]):
            with col.container(border=True):
                if image is not None:
                    st.image(viz.to_uint8_rgb(image), width="stretch")
                st.markdown(f"**{model_id}**  \n{prediction}  \n{_MARK[tone]}[**{words}**]")


def downloads(dataset: str, model_id: str, picked, attack: str, result: dict, key: str = "dl") -> None:
    numbers = {"dataset": dataset, "model": model_id, "image": picked.description, "label": picked.label,
               "attack": attack, "params": result["params"], "norms": result["norms"], "psnr": result["psnr"],
               "prediction_shift": result["shift"], "defence_effect": result["defence_effect"]}
    d1, d2 = st.columns(2)
    d1.download_button("Download the adversarial image (PNG)", images.to_png(result["x_adv"]),
                       file_name=f"adv-{model_id}-{attack}.png", mime="image/png", key=f"{key}_png")
    d2.download_button("Download the numbers (JSON)", json.dumps(numbers, indent=2, default=float),
                       file_name=f"adv-{model_id}-{attack}.json", mime="application/json", key=f"{key}_json")
