"""Models: every model in plain words (figures from its card), your own models and their upload, a transfer
matrix, and a table of defences on the standard models. Layout only: the words and the defence table are
advcore.ui.model_table, the upload is advcore.byo."""

import pandas as pd
import streamlit as st

from advcore import attacks, byo, cards, data, defences, evaluate, heavy, viz, viz_learn, zoo
from advcore.i18n import _
from advcore.ui import a11y, heavy_view, limits, model_table, model_table_notes, navigation, resources, store, widgets

CERT_N0 = 100  # noisy copies that guess the top class before the n that count its votes (Cohen et al. 2019)

st.title(_("Models"))
st.caption(_("One row per model. Every figure comes from the model's card, measured on the test set by the command "
             "that trained (or added) it; the command for each figure is in the model's details."))
all_cards = resources.model_cards()
if not all_cards:
    st.error(_("No models found. Train one with `python -m advcore train` (see docs/models.md)."))
    st.stop()

budgets = ", ".join(f"{data.info(d).title} {model_table.per_255(cards.reference_eps(d)[-1])}"
                    for d in sorted({c.get("dataset") for c in all_cards} & set(data.DATASETS)))
HELP = {
    _("Training"): _("how the model was trained; adversarial training trains on attacked images "
                     "(Madry et al. 2018)"),
    _("Clean accuracy"): _("share of test images classified correctly, no attack"),
    _("Budget ε (L∞)"): _("the model's own budget: the ε it was trained at, or for a standard model the data set's "
                          "usual budget ({budgets}); each pixel may change by at most ε, in grey levels of 255 "
                          "(8/255 = 0.0314 in pixel units)", budgets=budgets),
    _("Robust accuracy (PGD)"): _("share of test images still classified correctly after a PGD attack "
                                  "(Madry et al. 2018) at the budget"),
    _("Worst case"): _("per image the strongest of APGD-CE, APGD-DLR and the black-box Square Attack (Croce & Hein "
                       "2020); — means not measured"),
}
student_rows = model_table.student_table(all_cards)
st.table(pd.DataFrame(student_rows).set_index(_("Model")))  # wraps: every column readable at 1280 px
st.caption(" ".join(_("**{name}:** {text}.", name=name, text=text) for name, text in HELP.items()) + " "
           + _("How many test images each figure was measured on, and the command that measured it, are in the "
               "model's details below."))
if any(row[_("Worst case")] == model_table.MISSING for row in student_rows):
    st.caption(_("{missing} in *Worst case*: not measured. The training command measures the worst case only for "
                 "adversarially trained models; a standard model already falls to about 0% under plain PGD.",
                 missing=model_table.MISSING))


def show_card(card: dict) -> None:
    """A card's readable fields, its figures and sanity checks, then the raw card."""
    st.markdown(model_table.fields_markdown(card))
    rows = model_table.results_rows(card)
    if rows:
        st.dataframe(pd.DataFrame(rows), hide_index=True, key=f"card_results_{card['id']}")
    for flag in model_table.sanity_flags(card):
        (st.success if flag.get("ok") else st.error)(flag.get("message", ""))
    training = card.get("training") or {}
    if training.get("stopped"):
        st.info(model_table_notes.note(training["stopped"]))
    command = training.get("command") or (card.get("source") or {}).get("command")
    if command:
        st.code(command, language="bash")
    st.caption(_("The raw card (JSON):"))
    st.json(card, expanded=False)


for card in all_cards:
    with st.expander(_("Details: {model} — {training}", model=model_table.display_id(card),
                       training=model_table.training_words(card))):
        show_card(card)

st.header(_("Your models"))
user_cards = [c for c in all_cards if not c.get("shipped", True)]
done = st.session_state.pop("models_upload_done", None)
if done:
    st.success(_("Added {model}: it is now in every page's model picker for its data set.", model=done))
if not user_cards:
    st.info(_("No user models on this server yet. Add a Keras classifier with `python -m advcore add-model --file "
              "model.keras --dataset mnist --id my-model` (checks it, measures it and writes its card; "
              "see docs/models.md)."))
for card in user_cards:
    st.subheader(model_table.display_id(card))
    st.markdown(model_table.fields_markdown(card))
    for flag in model_table.sanity_flags(card):
        (st.success if flag.get("ok") else st.error)(flag.get("message", ""))

if byo.upload_allowed():
    with st.form("upload_form"):
        st.markdown(_("**Upload a model** (a Keras `.keras` file up to {mb} MB; the same checks as `add-model`: "
                      "built-in Keras layers only, no Lambda or custom code, the data set's input shape, logits out)",
                      mb=byo.MAX_UPLOAD_BYTES >> 20))
        u1, u2 = st.columns(2)
        upload = u1.file_uploader(_("Model file"), type=["keras"], key="upload_file",
                                  max_upload_size=byo.MAX_UPLOAD_BYTES >> 20)
        upload_dataset = widgets.dataset_select(u2, "upload_dataset")
        upload_id = u2.text_input(_("Model id"), key="upload_id", placeholder="my-model",
                                  help=_("1-64 of a-z, 0-9, '-' and '_'; a shipped model's id cannot be used"))
        strip = u2.checkbox(_("Remove a final softmax"), key="upload_strip",
                            help=_("attacks need logits: gradients through a softmax vanish (Carlini & Wagner 2017)"))
        eval_n = u2.number_input(_("Test images to measure it on"), 20, 1000, 200, step=20, key="upload_n")
        add = st.form_submit_button(_("Check and add"), type="primary")
    if add:
        if upload is None or not upload_id.strip():
            st.error(_("Choose a .keras file and give the model an id."))
        else:
            try:
                with st.spinner(_("Checking the model and measuring its card...")):
                    byo.add_uploaded(upload.getvalue(), upload_dataset, upload_id.strip(), strip, int(eval_n),
                                     log=lambda message: None)
            except Exception as exc:  # one message, never a traceback: ModelError's text or the error's own
                st.error(_("The model was not added: {error}", error=exc))
            else:
                resources.model_cards.clear()
                st.session_state["models_upload_done"] = upload_id.strip()
                st.rerun()
else:
    st.caption(_("Uploading a model from the browser is off on this server. A server admin turns it on by starting "
                 "the dashboard with `{variable}=1` (for a teacher's own server: every visitor could then add "
                 "a model).", variable=byo.UPLOAD_ENV))

st.header(_("Transfer matrix"))
st.caption(_("Each cell is the **accuracy of the column model on examples crafted against the row model** (first n "
             "test images). The diagonal is a white-box attack; off the diagonal, how well an attack transfers to a "
             "model whose gradients it never saw (Papernot et al. 2016). Lower means the attack works better."))
dataset = widgets.dataset_select(st.columns(3)[0], "transfer_dataset")  # outside the form: eps follows it
shipped, yours = zoo.by_origin(resources.model_cards(dataset))
with st.form("transfer_form"):
    c2, c3 = st.columns(2)
    ids = shipped + (c3.multiselect(_("Your models too"), yours, default=[], key=f"transfer_yours_{dataset}")
                     if yours else [])
    attack = c2.selectbox(_("Attack"), [a for a, s in attacks.ATTACKS.items() if s.family == "gradient"],
                          key="transfer_attack", format_func=lambda a: attacks.ATTACKS[a].title)
    eps = c2.number_input(_("eps (linf, pixel units)"), 0.0, 1.0, cards.reference_eps(dataset)[-1], format="%.4f",
                          key=f"transfer_eps_{dataset}")
    n = c3.slider(_("Test images"), 10, min(1000, limits.MAX_SWEEP_IMAGES), 200, step=10, key="transfer_n")
    submitted = st.form_submit_button(_("Compute"), type="primary")
request = store.ResultStore.key(dataset=dataset, attack=attack, eps=eps, n=n, models=ids)
work = None
if submitted and store.results().get(request) is None:
    models, errors = resources.usable_models(ids)
    for error in errors:
        st.error(error)
    split = resources.test_split(dataset)
    transfer_params = attacks.accepted(attack, {"eps": eps, "steps": 20})
    images = min(n, len(split))
    work = heavy_view.Work(lambda progress: evaluate.transfer_matrix(
        models, split, attack, transfer_params, n, progress=progress, batch_size=limits.BATCH),
        images * len(models), heavy.transfer_cost(images, attack, transfer_params, len(models)), _("crafting"))
matrix = heavy_view.show("transfer", request, work)
if matrix is not None:
    a11y.plotly_chart(st, viz.transfer_heatmap(matrix), key="transfer_heatmap")

st.header(_("Defences on the standard models"))
st.markdown(_(
    "Input transformations put in front of a **standard** model, attacked with PGD at the data set's budget two "
    "ways: **naive** (the attack uses the gradient TensorFlow gives through the defence: none through JPEG or "
    "bit-depth reduction) and **adaptive** (BPDA: the defence forward, the identity backward; EOT: the gradient "
    "averaged over random draws; Athalye, Carlini & Wagner 2018). Only the adaptive figure says how robust the "
    "defended model is. This takes a while, so it runs when you press **Compute**."))
st.page_link(str(navigation.PAGES_DIR / "defences" / "defences.py"), icon=":material/shield:",
             label=_("One model, any chain of defences, and a smoothing certificate: the Defences page"))
def_dataset = widgets.dataset_select(st.columns(3)[0], "models_def_dataset")
standard = [c["id"] for c in resources.model_cards(def_dataset)
            if c.get("shipped", True) and model_table.recipe_of(c) == "standard"]  # never a user model
def_eps = float(cards.reference_eps(def_dataset)[-1])
with st.form("models_defence_form"):
    d1, d2 = st.columns(2)
    chosen = d1.multiselect(_("Defences"), list(model_table.DEFAULT_DEFENCES) + ["bits:1", "jpeg:50", "median:2"],
                            default=list(model_table.DEFAULT_DEFENCES), key="models_def_specs",
                            help="; ".join(f"{s.name}: {_(s.title)} ({s.paper.split(',')[0]})"
                                           for s in defences.DEFENCES.values()))
    def_n = d2.slider(_("Test images"), 20, 200, 100, step=20, key="models_def_n")
    def_steps = d2.number_input(_("PGD steps"), 5, min(limits.MAX_STEPS, 100), 20, key="models_def_steps")
    draws = d1.slider(_("EOT draws"), 1, 16, 4, key="models_def_eot",
                      help=_("random draws averaged per gradient (EOT)"))
    compute = st.form_submit_button(_("Compute"), type="primary")
st.caption(_("Models: {models} · PGD-{steps} at ε = {eps} on the first {n} test images.",
             models=", ".join(standard) or _("none"), steps=def_steps, eps=model_table.eps_text(def_eps), n=def_n))
params = attacks.accepted("pgd", {"eps": def_eps, "steps": int(def_steps)})
def_request = store.ResultStore.key(page="models-defences", models=[resources.model_key(i) for i in standard],
                                    defences=chosen, params=params, n=def_n, samples=draws)
work = None
if compute and standard and store.results().get(def_request) is None:
    models, errors = resources.usable_models(standard)
    for error in errors:
        st.error(error)
    split = resources.test_split(def_dataset)
    x, y = split.x[:def_n], split.y[:def_n]
    plan = model_table.defence_plan(chosen)
    work = heavy_view.Work(lambda progress: model_table.defence_table(
        models, x, y, chosen, params, samples=draws, batch_size=limits.BATCH, progress=progress),
        model_table.defence_cost(len(models), plan, len(x)),
        heavy.defended_cost(len(x), {"pgd": params}, 1, len(models), [spec for spec, _mode in plan], draws),
        _("attacking"))
table = heavy_view.show("models_defences", def_request, work)
if table is not None:
    st.table(pd.DataFrame(model_table.defence_rows(table, draws)).set_index(_("Model")))
    st.caption(_("**Clean accuracy:** the defended model on the unattacked images (defence 'none': the model alone). "
                 "**Naive and adaptive PGD:** accuracy on the attacked images, scored on the defended model itself. "
                 "**Hidden gradient? yes:** the adaptive attack beats the naive figure by more than 20 points "
                 "(obfuscated gradients, Athalye et al. 2018): only the adaptive figure counts."))
elif not standard:
    st.info(_("This data set has no shipped standard model."))

st.subheader(_("Certified accuracy of the smoothed standard models"))
st.markdown(_(
    "Randomized smoothing (Cohen, Rosenfeld & Kolter 2019) classifies many noisy copies of an image and returns "
    "the majority vote; where the vote is clear it **proves** that no change of L2 size below a radius can change "
    "it. The curve is the share of test images classified correctly with a certificate of at least that radius "
    "(with probability 1 − 0.001 over the noise). A proof, not an attack: no attack can go below it."))
with st.form("models_cert_form"):
    k1, k2 = st.columns(2)
    sigmas = k1.multiselect(_("Noise σ (pixel units)"), [0.12, 0.25, 0.5, 1.0], default=[0.25, 0.5],
                            key="models_sigmas")
    cert_images = k2.slider(_("Test images"), 10, 200, 50, step=10, key="models_cert_images")
    cert_n = k2.select_slider(_("Noisy copies per image"), [100, 500, 1000], value=500, key="models_cert_n")
    certify_now = st.form_submit_button(_("Certify"), type="primary")
cert_request = store.ResultStore.key(page="models-certify", models=[resources.model_key(i) for i in standard],
                                     sigmas=sorted(sigmas), images=cert_images, n=cert_n)
work = None
if certify_now and standard and sigmas and store.results().get(cert_request) is None:
    models, errors = resources.usable_models(standard)
    for error in errors:
        st.error(error)
    split = resources.test_split(def_dataset)
    work = heavy_view.Work(lambda progress: model_table.certified_curves(
        models, split.x[:cert_images], split.y[:cert_images], sorted(sigmas), n=cert_n, n0=CERT_N0, progress=progress),
        len(models) * len(sigmas), heavy.certify_cost(cert_images, CERT_N0 + cert_n, len(sigmas), len(models)),
        _("certifying"))
curves = heavy_view.show("models_certify", cert_request, work)
if curves:
    radii = list(defences.DEFAULT_RADII)
    certified = {name: [r["certified_accuracy"][f"{radius:g}"] for radius in radii] for name, r in curves.items()}
    a11y.plotly_chart(st, viz_learn.lines(radii, certified, _("L2 radius (pixel units)"), _("certified accuracy"),
                                          y_range=[0, 1.02]), key="models_certified_curve")
    accuracies = " · ".join(_("{model}: accuracy {accuracy:.1%}, abstains on {abstain:.1%}", model=name,
                              accuracy=r["clean_accuracy"], abstain=r["abstain_rate"]) for name, r in curves.items())
    reach = ", ".join(f"{model_table.max_radius(s, cert_n):.2f} (σ = {s:g})" for s in sorted(sigmas))
    st.caption(_("{accuracies} ({images} test images, {n} noisy copies each). With {n} copies no radius above "
                 "{reach} can be certified, whatever the model: more copies reach further. `python -m advcore "
                 "certify` does the same from the command line.", accuracies=accuracies, images=cert_images,
                 n=cert_n, reach=reach))
