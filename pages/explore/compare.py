"""Compare: two models of one data set side by side under one attack and one eps slider (the
standard-vs-robust moment). Layout only; the numbers come from advcore.live via advcore.ui.results."""

import json

import streamlit as st

from advcore import pictures, viz
from advcore.errors import AdvcoreError
from advcore.i18n import N_, _, class_name
from advcore.ui import attack_row, layout, picker, presenting, resources, results, view_state, widgets

INTRO = N_("The same image, the same attack and the same **epsilon** against two models. Try a standard model on "
         "the left and an adversarially trained one on the right (Madry et al. 2018), then move epsilon: the "
         "robust model holds longer, and its perturbation looks more like the digit or object itself.")
TITLE = N_("Compare two models")


def default_pair(dataset: str) -> tuple[str, str]:
    """A standard model first and an adversarially trained one second, when the zoo has both."""
    cards = resources.model_cards(dataset)
    def recipe(card):
        return (card.get("recipe") or {}).get("recipe")
    standard = [c["id"] for c in cards if recipe(c) == "standard"]
    robust = sorted((c for c in cards if recipe(c) not in (None, "standard")), key=lambda c: recipe(c) != "pgd-at")
    robust = [c["id"] for c in robust]  # PGD adversarial training first: the classic robust model
    ids = [c["id"] for c in cards]
    first = (standard or ids)[0]
    second = next((m for m in robust + ids if m != first), first)
    return first, second


def model_pickers(where_a, where_b, dataset: str, view) -> tuple[str, str]:
    """Model A and model B, bound to the view (a standard and a robust model when the view names none)."""
    ids = resources.model_ids(dataset)
    first, second = default_pair(dataset)
    a_value = view.model if view.model in ids else first
    b_value = view.model_b if view.model_b in ids else next((m for m in (second, *ids) if m != a_value), a_value)
    a = widgets.bound(where_a, "selectbox", _("Model A"), f"compare_a_{dataset}", a_value,
                      view_state.writer(view_state.VIEW, lambda v, model: v.replace(model=model)), options=ids)
    b = widgets.bound(where_b, "selectbox", _("Model B"), f"compare_b_{dataset}", b_value,
                      view_state.writer(view_state.VIEW, lambda v, model: v.replace(model_b=model)), options=ids)
    return a, b


def side(model_id: str, picked, choice: attack_row.AttackChoice, names, font: int, slot: str) -> None:
    """One model's column: predictions, perturbation and adversarial image, probability bars."""
    _model, error = resources.try_model(model_id)
    if error:
        st.error(_("Model {model_id} is unavailable: {error}", model_id=model_id, error=error))
        return
    params_json = json.dumps(choice.params, sort_keys=True)
    try:
        result = results.analyse(resources.model_key(model_id), picked.key, picked.x, picked.label,
                                 choice.spec.name, params_json)
    except AdvcoreError as exc:
        st.error(str(exc))
        return
    st.markdown(f"#### {model_id}")
    results.show_predictions(result, names, picked.label, choice.target, linf=False, compact=True)
    words, _tone = results.verdict(result, picked.label, choice.target)  # in words, not by colour alone
    titles = ((_("original"),), (_("what changed"),),
              (_("adversarial"), _("{prediction}, {verdict}", prediction=results.prediction_text(
                  names, result['adv_probs']), verdict=words)))
    st.html(pictures.triptych(picked.x[0], result["x_adv"], titles, size=210, font_size=font, with_original=False))
    bars, shown = results.probability_chart(names, result["clean_probs"], result["adv_probs"], picked.label,
                                            target=choice.target, font_size=font, height=300)
    st.html(bars)
    if shown:
        st.caption(shown.strip())


@st.fragment
def compare_panel(dataset: str, a: str, b: str, picked, presenter: bool) -> None:
    names = [class_name(n) for n in resources.test_split(dataset).class_names]
    choice = attack_row.attack_row("compare", names, picked.label if picked else -1, resources.model_ids(dataset),
                                   (a, b))
    query = view_state.get_view().replace(defence=None, adaptive=False).to_query()  # Compare shows no defence
    view_state.write_url(query)
    if picked is None:
        st.info(_("Pick an image above."))
        return
    if "source" in choice.params and choice.params["source"] is None:
        st.warning(_("The transfer attack needs a third model of {dataset} to craft the attack on; there is none.",
                     dataset=dataset))
        return
    font = 18 if presenter else viz.FONT_SIZE
    left, right = st.columns(2, gap="large")
    with left:
        side(a, picked, choice, names, font, "a")
    with right:
        side(b, picked, choice, names, font, "b")
    st.caption(_("Both models get the same image ({description}, true class {true_class}) and {attack} at eps "
                 "{eps}; each perturbation is crafted against its own model. Colours are amplified by the factor "
                 "in the title (red: brighter, blue: darker; the colour bar gives the true change).",
                 description=picked.description, true_class=names[picked.label],
                 attack=widgets.attack_title(choice.spec), eps=widgets.eps_label(choice.eps, choice.norm))
               + f" *{choice.spec.paper}*")
    presenting.present_button(st, "compare", picked, dataset=dataset, model=a, model_b=b, attack=choice.spec.name,
                              eps=choice.eps, params=choice.params, page="compare")
    with st.expander(_("Link to this comparison"), expanded=False):
        layout.share_link(query, "compare")


presenter, view = layout.page_header(_(TITLE), _(INTRO), resources.model_ids)
top = st.columns([1.3, 1.4, 1.4, 2.15, 0.8], vertical_alignment="bottom")
dataset = widgets.dataset_select(top[0], "compare_dataset", view.dataset,
                                 view_state.writer(view_state.VIEW, lambda v, name: v.with_dataset(name)))
if not resources.model_ids(dataset):
    st.error(_("No model for {dataset} is available. Train one with `python -m advcore train`.", dataset=dataset))
    st.stop()
model_a, model_b = model_pickers(top[1], top[2], dataset, view)
picked = picker.pick_image(dataset, model_a, view.image, source_where=top[3], detail_where=top[4],
                           url_kept=view.kept)
view_state.set_view(view_state.get_view().replace(model=model_a, model_b=model_b,
                                                  image=picked.index if picked else view.image,
                                                  kept=picked.kept if picked else view.kept))
compare_panel(dataset, model_a, model_b, picked, presenter)
