"""Result panels shared by Explore and Compare: cached one-image analyses, the metric rows (with
one-sentence explanations and units from ``advcore.metrics.METRIC_HELP``) and the every-model tiles.

The numbers come from ``advcore.live``; this module only caches and places them.
"""

from __future__ import annotations

import html
import json

import numpy as np
import streamlit as st

from advcore import bars, images, live, metrics, pictures
from advcore.i18n import N_, _, ngettext

from . import resources


# The cached functions take the image as ``_x``: Streamlit leaves arguments with a leading underscore
# out of the cache key, so the array is not hashed on every rerun; ``image_key`` ("test:<index>" in
# the model's data set, or a digest of a drawn or uploaded image's pixels) identifies it instead.
# A slow attack (APGD-DLR, Square, many restarts) shows a spinner; Streamlit holds it back for 0.5 s, so quick
# eps moves do not flash it.
@st.cache_data(max_entries=4096, show_spinner=False)
def _analyse(model_key: str, image_key: str, _x: np.ndarray, label: int, attack: str, params_json: str,
             defence: str = "none", adaptive: bool = False) -> dict:
    return live.analyse(resources.model(model_key), _x, label, attack, json.loads(params_json), defence, adaptive)


@st.cache_resource(max_entries=1024, show_spinner=False)
def _curve(model_key: str, image_key: str, _x: np.ndarray, label: int, attack: str, params_json: str,
          eps_max: float, defence: str = "none", adaptive: bool = False) -> dict:
    """The eps curve (cached: it does not depend on the slider)."""
    return live.eps_curve(resources.model(model_key), _x, label, attack, json.loads(params_json), eps_max,
                          defence=defence, adaptive=adaptive)


def analyse(*args, **kwargs) -> dict:
    """The one-image analysis (cached), with a spinner in the reader's language while a slow attack runs."""
    return _spinning(_analyse, N_("Running the attack on the server..."), *args, **kwargs)


def curve(*args, **kwargs) -> dict:
    """The eps curve (cached: it does not depend on the slider), with a spinner while it is searched."""
    return _spinning(_curve, N_("Searching the smallest eps that flips this image..."), *args, **kwargs)


def _spinning(cached, message: str, *args, **kwargs):
    """``cached(*args, **kwargs)`` under ``st.spinner`` (shown after 0.5 s, as Streamlit's own cache spinner)."""
    with st.spinner(_(message), show_time=False):
        return cached(*args, **kwargs)


@st.cache_data(max_entries=4096, show_spinner=False)
def noise(model_key: str, image_key: str, _x: np.ndarray, label: int, eps: float, norm: str,
          defence: str = "none") -> dict:
    return live.noise_control(resources.model(model_key), _x, label, eps, norm, defence=defence)


def prediction_text(names, probs) -> str:
    top = int(np.argmax(probs))
    return f"{names[top]} ({probs[top]:.1%})"


def noise_sentence(names, clean_probs, adv_probs, noise_probs) -> str:
    """What comparing the attack with random noise of the same budget shows, stated only from the three
    predictions measured (clean, attacked, noised), so it is never claimed where it does not hold."""
    clean, adv, noised = (int(np.argmax(p)) for p in (clean_probs, adv_probs, noise_probs))
    if noised != clean:
        return _("Noise of the same size changes the prediction too ({clean} → {noised}): at this eps the size "
                 "alone is enough, so this image does not show that the direction matters. Lower eps to find a "
                 "budget where only the attack's direction flips it.", clean=names[clean], noised=names[noised])
    if adv != clean:
        return _("Noise of the same size leaves the prediction at {clean}, while the attack's chosen direction "
                 "changes it: the direction of the change matters, not only its size.", clean=names[clean])
    return _("At this eps neither the attack nor noise of the same size changes the prediction.")


def verdict(result: dict, label: int, target: int | None) -> tuple[str, str]:
    """(words, tone) for one result: 'already misclassified', 'fooled', 'still right', 'target T reached'..."""
    return live.verdict(result["shift"]["clean_class"], result["shift"]["adv_class"], label, target)


_DELTA_COLOUR = {"bad": "inverse", "good": "normal", "neutral": "off"}
_MARK = {"bad": ":red", "good": ":green", "neutral": ":gray"}


def norm_help(key: str, value_255: float | None = None) -> str:
    extra = " " + _("Here: {value:.1f} in /255 units.", value=value_255) if value_255 is not None else ""
    return _(metrics.METRIC_HELP[key]) + extra


MODE_WORDS = {"none": N_("naive"), "bpda": N_("adaptive: BPDA"), "eot": N_("adaptive: EOT"),
              "bpda+eot": N_("adaptive: BPDA+EOT")}


def evaluation_words(result: dict) -> str:
    """Which evaluation ran, for a tile label: '' without a defence, else e.g. 'naive' or 'adaptive: BPDA'."""
    return "" if result.get("defence", "none") == "none" else _(MODE_WORDS[result["mode"]])


def show_predictions(result: dict, names, label: int, target: int | None = None, linf: bool = True,
                     prefix: str = "", compact: bool = False) -> None:
    """The row a class looks at first: clean and adversarial predictions (with what happened), the
    true-class probability and the size of the change (``compact``: the two predictions only). Behind a
    defence both predictions are the defended model's, and the labels say so and which attack ran."""
    words, tone = verdict(result, label, target)
    shift, norms = result["shift"], result["norms"]
    row = st.columns(2 if compact else 4 if linf else 3)
    defended = evaluation_words(result)
    clean_label, adv_label = _("clean prediction"), _("adversarial prediction")
    clean_help = _("the model's answer on the unchanged image, with its probability")
    adv_help = _("the model's answer on the attacked image, with its probability")
    if defended:
        clean_label = _("clean prediction · behind {defence}", defence=result['defence'])
        adv_label = _("adversarial prediction · {evaluation} attack", evaluation=defended)
        clean_help = _("the defended model's ({defence}) answer on the unchanged image", defence=result['defence'])
        adv_help = _("the defended model's answer on the image the {evaluation} attack made; naive: the attack uses "
                     "whatever gradient flows through the defence (none through JPEG, bit reduction or a vote); "
                     "adaptive: BPDA differentiates those stages as the identity and EOT averages random draws "
                     "(Athalye, Carlini & Wagner 2018)", evaluation=defended)
    row[0].metric(f"{prefix}{clean_label}", prediction_text(names, result["clean_probs"]), help=clean_help)
    row[1].metric(f"{prefix}{adv_label}", prediction_text(names, result["adv_probs"]), delta=words,
                  delta_color=_DELTA_COLOUR[tone], delta_arrow="off", help=adv_help)
    if compact:
        return
    change = -shift["true_prob_drop"] * 100
    row[2].metric(prefix + _("true-class probability"), f"{shift['true_prob_adv']:.1%}",
                  delta=_("{change:+.1f} points", change=change) if abs(change) >= 0.05 else _("no change"),
                  delta_color="normal",
                  delta_arrow="auto" if abs(change) >= 0.05 else "off", help=norm_help("true_prob_drop"))
    if linf:
        row[3].metric(prefix + _("L∞ of the change"), f"{norms['linf']:.4f}",
                      help=norm_help("linf", norms["linf_255"]))


TOP_K = 10  # classes in the probability bars of a data set with more (a 1,000-class ImageNet model)


def shown_classes(n_classes: int, true_class: int, target: int | None, *probs, k: int = TOP_K) -> list[int]:
    """The classes the probability bars show: all of them up to ``k``; else the true class, the target and the
    classes with the highest probability in any of ``probs`` (clean, adversarial, noise), ``k`` in all, in
    class order."""
    if n_classes <= k:
        return list(range(n_classes))
    must = [c for c in (true_class, target) if c is not None and 0 <= c < n_classes]
    best = np.argsort(-np.max(np.stack([np.asarray(p) for p in probs]), axis=0), kind="stable")
    chosen = list(dict.fromkeys([*must, *map(int, best)]))[:k]
    return sorted(chosen)


def probability_chart(names, clean_probs, adv_probs, true_class: int, noise_probs=None, target: int | None = None,
                      **style) -> tuple[dict, str]:
    """``bars.probability_bars`` over ``shown_classes``; (HTML for ``st.html``, a caption sentence saying how
    many of the classes are shown, '' when all are)."""
    series = [p for p in (clean_probs, adv_probs, noise_probs) if p is not None]
    shown = shown_classes(len(names), true_class, target, *series)
    pick = np.asarray(shown)
    figure = bars.probability_bars([names[c] for c in shown], np.asarray(clean_probs)[pick],
                                  np.asarray(adv_probs)[pick], shown.index(true_class),
                                  None if noise_probs is None else np.asarray(noise_probs)[pick],
                                  target=None if target is None else shown.index(target), **style)
    note = "" if len(shown) == len(names) else " " + ngettext(
        "Shown: the {n} of {total:,} classes most probable before, after or under noise (the true class always).",
        "Shown: the {n} of {total:,} classes most probable before, after or under noise (the true class always).",
        len(shown), total=len(names))
    return figure, note


def show_norms(result: dict) -> None:
    """The other measures of the change and of the prediction shift, each with its explanation and unit."""
    norms, shift = result["norms"], result["shift"]
    row = st.columns(4)
    row[0].metric(_("L2 of the change"), f"{norms['l2']:.3f}", help=norm_help("l2", norms["l2_255"]))
    row[1].metric(_("L0: values changed"), f"{norms['l0']:.0f}", help=norm_help("l0"))
    row[2].metric(_("PSNR"), "∞ dB" if not np.isfinite(result["psnr"]) else f"{result['psnr']:.1f} dB",
                  help=norm_help("psnr"))
    row[3].metric(_("KL(clean ‖ adv)"), f"{shift['kl']:.3f} nats", help=norm_help("kl"))


def model_tiles(entries: list[tuple[str, np.ndarray | None, str, str, str]], per_row: int = 5) -> None:
    """Tiles of (model id, adversarial image or None, prediction text, verdict words, tone): the image (its
    text alternative names the model, the prediction and the verdict), the whole model name and prediction
    (wrapped, never cut), and the verdict in words ("fooled", "still right"), coloured too."""
    for start in range(0, len(entries), per_row):
        cols = st.columns(per_row)
        for col, (model_id, image, prediction, words, tone) in zip(cols, entries[start:start + per_row]):
            with col.container(border=True):
                if image is not None:
                    alt = html.escape(_("{model_id}'s adversarial image: predicted {prediction}; {verdict}",
                                        model_id=model_id, prediction=prediction, verdict=words), quote=True)
                    st.html(f'<img src="{pictures.data_uri(np.asarray(image)[0] if np.ndim(image) == 4 else image)}"'
                            f' alt="{alt}" style="width:100%;height:auto;image-rendering:pixelated;display:block">')
                st.markdown(f"**{model_id}**  \n{prediction}  \n{_MARK[tone]}[**{words}**]")


def downloads(dataset: str, model_id: str, picked, attack: str, result: dict, key: str = "dl") -> None:
    numbers = {"dataset": dataset, "model": model_id, "image": picked.description, "label": picked.label,
               "attack": attack, "params": result["params"], "norms": result["norms"], "psnr": result["psnr"],
               "prediction_shift": result["shift"], "defence_effect": result["defence_effect"]}
    d1, d2 = st.columns(2)
    d1.download_button(_("Download the adversarial image (PNG)"), images.to_png(result["x_adv"]),
                       file_name=f"adv-{model_id}-{attack}.png", mime="image/png", key=f"{key}_png")
    d2.download_button(_("Download the numbers (JSON)"), json.dumps(numbers, indent=2, default=float),
                       file_name=f"adv-{model_id}-{attack}.json", mime="application/json", key=f"{key}_json")
