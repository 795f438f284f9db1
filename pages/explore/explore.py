"""Explore: one image, one attack, live. Layout only; the numbers come from advcore.live via advcore.ui.results."""

import json

import numpy as np
import streamlit as st

from advcore import data, defences, pictures, tracechart, viz, zoo
from advcore.errors import AdvcoreError
from advcore.i18n import N_, _, class_name
from advcore.ui import (
    a11y,
    attack_row,
    defence_controls,
    layout,
    model_table,
    picker,
    presenting,
    resources,
    results,
    startup,
    view_state,
    widgets,
)

INTRO = N_("An **adversarial example** is an image changed too little for people to notice, yet the model's answer "
         "changes (Szegedy et al. 2014).  \n"
         "**Try first:** move **epsilon**, the largest change allowed per pixel, until the adversarial prediction "
         "flips.")
TITLE = N_("Explore: one image, one attack")


def every_model(dataset, picked, attack, params_json, names, target, defence: defence_controls.DefenceChoice) -> None:
    """The same attack at the same eps on every model of the data set, each marked fooled or held."""
    entries = []
    for other in resources.model_ids(dataset):
        _model, error = resources.try_model(other)
        if error:
            entries.append((other, None, _("unavailable"), error[:60], "neutral"))
            continue
        res = results.analyse(resources.model_key(other), picked.key, picked.x, picked.label, attack, params_json,
                              defence.spec, defence.adaptive)
        entries.append((other, res["x_adv"], results.prediction_text(names, res["adv_probs"]),
                        *results.verdict(res, picked.label, target)))
    results.model_tiles(entries)


@st.fragment
def explore_panel(dataset: str, model_id: str, picked: picker.Picked | None, presenter: bool,
                  defence: defence_controls.DefenceChoice) -> None:
    names = [class_name(n) for n in resources.test_split(dataset).class_names]
    font = 18 if presenter else viz.FONT_SIZE
    choice = attack_row.attack_row("explore", names, picked.label if picked else -1, resources.model_ids(dataset),
                                   model_id)
    spec, params, norm, eps, target = choice.spec, choice.params, choice.norm, choice.eps, choice.target
    query = view_state.get_view().replace(model_b=None).to_query()  # Compare's model B stays in the session
    view_state.write_url(query)
    if picked is None:
        st.info(_("Pick an image above: draw it or upload it. A drawn or uploaded image is kept on this server "
                  "while it runs, so the page's link shows it again."))
        return
    if "source" in params and params["source"] is None:
        st.warning(_("The transfer attack needs another model of {dataset} to craft the attack on; there is none "
                     "besides {model_id}. Train one on the Train page.", dataset=dataset, model_id=model_id))
        return
    params_json = json.dumps(params, sort_keys=True)
    key = resources.model_key(model_id)
    try:
        result = results.analyse(key, picked.key, picked.x, picked.label, spec.name, params_json,
                                 defence.spec, defence.adaptive)
    except AdvcoreError as exc:  # e.g. a parameter out of range
        st.error(str(exc))
        return
    misclassified = result["shift"]["clean_class"] != picked.label
    # What follows eps is computed first; what comes after is layout only.
    control = results.noise(key, picked.key, picked.x, picked.label, eps, norm, defence.spec)
    # one title line a panel: the metric values below stay above a 720-pixel fold
    titles = ((_("original: {prediction}", prediction=results.prediction_text(names, result['clean_probs'])),),
              (_("what changed"),),
              (_("adversarial: {prediction}", prediction=results.prediction_text(names, result['adv_probs'])),))
    triptych = pictures.triptych(picked.x[0], result["x_adv"], titles, size=310 if presenter else 256,
                                 font_size=font)
    bars, shown = results.probability_chart(names, result["clean_probs"], result["adv_probs"], picked.label,
                                            control["probs"], target=target, font_size=font, height=340)
    noise_row = pictures.picture_row([pictures.image_panel(result["x_adv"], _("adversarial")),
                                      pictures.image_panel(control["x_adv"], _("random noise"))], size=150,
                                     font_size=font)
    trace = None if result["trace"] is None else tracechart.attack_trace(
        result["trace"]["loss"], result["trace"]["true_prob"], font_size=font, height=340)
    amp = pictures.amplification(result["x_adv"].mean(-1) - picked.x[0].mean(-1))

    st.html(triptych)
    results.show_predictions(result, names, picked.label, target)
    if result["undefended_adv_probs"] is not None:
        defence_note(result, names, model_id)
    st.caption(_("**Left:** the image ({description}, true class {true_class}). **Middle:** what the attack "
                 "changed, colours ×{amp:.1f} so the change is visible (red: brighter, blue: darker; the colour bar "
                 "gives the true change). **Right:** what the model sees.", description=picked.description,
                 true_class=names[picked.label], amp=amp) + " " + attack_row.attack_line(spec))
    if misclassified:
        st.warning(_("**Already misclassified:** the model answers {answer} for this {true_class} before any attack, "
                     "so there is nothing to fool and the search for the eps that flips it is skipped. Pick another "
                     "image (\"{only_right}\" lists only those).", answer=names[result['shift']['clean_class']],
                     true_class=names[picked.label], only_right=_(picker.ONLY_RIGHT)))
    if "min_norm" in result["info"]:
        needed = result["info"]["min_norm"]
        st.info(_("{attack} needed a perturbation of {norm} norm — none found; eps is its ceiling (beyond it the "
                  "image is left unchanged).", attack=widgets.attack_title(spec), norm=norm)
                if not np.isfinite(needed) else
                _("{attack} needed a perturbation of {norm} norm {needed:.3f}; eps is its ceiling (beyond it the "
                  "image is left unchanged).", attack=widgets.attack_title(spec), norm=norm, needed=needed))
    if "queries" in result["info"]:
        st.info(_("Black-box: {queries:.0f} model queries used, no gradients.", queries=result['info']['queries']))
    if target is not None:
        reached = result["shift"]["adv_class"] == target
        st.markdown(_("Targeted: pushing towards **{target}**, :red[**reached**] at this eps.",
                      target=data.class_label(names, target)) if reached else
                    _("Targeted: pushing towards **{target}**, :green[**not reached**] at this eps.",
                      target=data.class_label(names, target)))
    presenting.present_button(st, "explore", picked, dataset=dataset, model=model_id, attack=spec.name, eps=eps,
                              params=params, page="explore", defence=defence.spec, adaptive=defence.adaptive)
    with st.expander(_("How big is the change? L2, L0, PSNR, KL"), expanded=not presenter):
        results.show_norms(result)
    left, right = st.columns([2, 1])
    with left:
        st.html(bars)
        st.caption(_("Each class's probability before (blue) and after (red) the attack, and under random noise "
                     "of the same budget (grey).") + shown)
    with right:
        st.html(noise_row)
        st.caption(_("Random noise of the same size ({eps}) → **{prediction}**.", eps=widgets.eps_label(eps, norm),
                     prediction=results.prediction_text(names, control['probs'])) + " "
                   + results.noise_sentence(names, result["clean_probs"], result["adv_probs"], control["probs"]))
    with st.expander(_("Step by step and against eps"), expanded=not presenter):
        trace_and_curve(key, picked, spec, params, norm, dataset, names, trace, misclassified, target, font,
                        defence)
    if st.toggle(_("Run this attack on every model of this data set (follows eps)"), key="every_model"):
        every_model(dataset, picked, spec.name, params_json, names, target, defence)
    more = layout.lazy_expander(_("Downloads, link and model card"), "explore_more")
    if more is not None:
        with more:
            results.downloads(dataset, model_id, picked, spec.name, result)
            layout.share_link(query, "explore")
            model_card(dataset, model_id)


def defence_note(result: dict, names, model_id: str) -> None:
    """One line under the tiles behind a defence: what the bare model reads on the same adversarial image, and
    the warning a naive evaluation of a gradient-masking defence deserves."""
    bare = results.prediction_text(names, result["undefended_adv_probs"])
    line = _("Behind **{defence}**, {evaluation} attack. Without the defence, {model_id} reads this adversarial "
             "image as **{bare}**.", defence=result['defence'], evaluation=results.evaluation_words(result),
             model_id=model_id, bare=bare)
    if result["mode"] == "none" and defences.parse(result["defence"]).masks_gradient:
        line += " " + _("A naive attack gets no gradient through this defence, so a defence that holds here may "
                        "only hide the gradient: switch to **adaptive** (Athalye, Carlini & Wagner 2018).")
    st.caption(line)


def trace_and_curve(key, picked, spec, params, norm, dataset, names, trace, misclassified, target, font,
                    defence: defence_controls.DefenceChoice) -> None:
    """The attack's trace (``trace``: its HTML, None for one-step attacks) and the eps curve, side by side."""
    left, right = st.columns(2)
    with left:
        if trace is not None:
            st.html(trace)
            st.caption(_("At each step, the true class's cross-entropy and probability. A targeted attack's steps "
                         "lower the target's cross-entropy; the true class's rises as the image moves towards the "
                         "target. Hover over a step for its values.") if target is not None else
                       _("At each step, the true class's cross-entropy and probability. The attack's steps raise "
                         "that cross-entropy (its loss). Hover over a step for its values."))
        else:
            st.caption(_("One-step or non-gradient attack: no per-step trace."))
    with right:
        if misclassified:
            st.caption(_("No flip search: the model already gets this image wrong."))
        elif spec.family in ("minimal", "black-box"):
            st.caption(_("The eps curve is drawn for gradient attacks (minimal attacks report the norm they "
                         "needed; the black-box attack would take too many queries per point)."))
        elif defences.parse(defence.spec).randomized:
            st.caption(_("The eps curve is not drawn behind a randomized defence (every point would need many "
                         "random draws)."))
        else:
            eps_search(key, picked, spec, params, norm, dataset, names, target, font, defence)


def eps_search(key, picked, spec, params, norm, dataset, names, target, font, defence) -> None:
    eps_max = widgets.eps_grid(norm, dataset)[-1]
    curve_params = json.dumps({k: v for k, v in params.items() if k != "eps"}, sort_keys=True)
    c = results.curve(key, picked.key, picked.x, picked.label, spec.name, curve_params, eps_max, defence.spec,
                      defence.adaptive)
    st.write(flip_sentence(widgets.attack_title(spec), c["flip_eps"], eps_max, norm,
                           None if target is None else names[target]))
    other = _("target {name}", name=names[target]) if target is not None else _(c["other_name"])
    flip_text = None if c["flip_eps"] is None else (
        _("reaches the target at {eps}", eps=widgets.eps_label(c['flip_eps'], norm)) if target is not None else
        _("flips at {eps}", eps=widgets.eps_label(c['flip_eps'], norm)))
    a11y.plotly_chart(st, viz.eps_curve(c["eps"], c["true_prob"], c["other_prob"], c["flip_eps"], other_name=other,
                                  flip_text=flip_text, font_size=font, height=300, ticks_255=norm == "linf",
                                  x_title="eps" if norm == "linf" else _("eps (L2, pixel units)")), key="curve",
                    config={"displayModeBar": False})


def flip_sentence(attack: str, flip_eps: float | None, eps_max: float, norm: str, target: str | None) -> str:
    """What the eps search found, in one sentence (``target``: the target class's name, None: untargeted)."""
    if flip_eps is None:
        values = dict(attack=attack, eps=widgets.eps_label(eps_max, norm), target=target)
        return (_("{attack} never reach the target {target} for eps up to {eps}.", **values) if target is not None
                else _("{attack} never flip this image for eps up to {eps}.", **values))
    values = dict(attack=attack, eps=widgets.eps_label(flip_eps, norm), target=target)
    return (_("{attack} reaches the target {target} from eps ≈ **{eps}**.", **values) if target is not None
            else _("{attack} flips this image from eps ≈ **{eps}**.", **values))


def model_name(model_id: str) -> str:
    """How the model picker shows a model: its id, marked when it is a user model (``zoo.display_name``)."""
    return model_id if zoo.card(model_id).get("shipped", True) else _("{model_id} (user model)", model_id=model_id)


def model_card(dataset: str, model_id: str) -> None:
    card = next(c for c in resources.model_cards(dataset) if c["id"] == model_id)
    st.markdown(_("**Model {model_id}**", model_id=model_id) + "\n" + "\n".join(f"- **{label}:** {text}"
                                                       for label, text in model_table.card_fields(card)))
    with st.popover(_("Raw model card (JSON)")):
        st.json(card, expanded=False)


presenter, view = layout.page_header(_(TITLE), _(INTRO), resources.model_ids)
top = st.columns([1.25, 1.45, 0.95, 2.1, 0.95], vertical_alignment="bottom")
dataset = widgets.dataset_select(top[0], "dataset", view.dataset,
                                 view_state.writer(view_state.VIEW, lambda v, name: v.with_dataset(name)))
ids = resources.model_ids(dataset)
if not ids:
    st.error(_("No model for {dataset} is available. Train one with `python -m advcore train`.", dataset=dataset))
    st.stop()
quicker = startup.explore_opens_on(dataset)  # a faster model where the first is slow on this server
opens_on = quicker.model_id if quicker and quicker.model_id in ids else ids[0]
model_id = widgets.bound(top[1], "selectbox", _("Model"), f"model_{dataset}",
                         view.model if view.model in ids else opens_on,
                         view_state.writer(view_state.VIEW, lambda v, model: v.replace(model=model)), options=ids,
                         format_func=model_name)
if quicker and model_id == quicker.model_id and not presenter:  # presenting keeps the pictures in view
    st.caption(quicker.sentence())
model, error = resources.try_model(model_id)
if error:
    st.error(_("Model {model_id} is unavailable: {error}", model_id=model_id, error=error))
    st.stop()
defence = defence_controls.defence_controls(defence_controls.defence_select(top[2], "explore"), "explore")
picked = picker.pick_image(dataset, model_id, view.image, source_where=top[3], detail_where=top[4],
                           url_kept=view.kept)
view_state.set_view(view_state.get_view().replace(model=model_id, image=picked.index if picked else view.image,
                                                  kept=picked.kept if picked else view.kept))
explore_panel(dataset, model_id, picked, presenter, defence)
