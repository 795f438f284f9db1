"""Sweep: attack strength vs. defence effect over many test images. Layout only."""

import pandas as pd
import streamlit as st

from advcore import attacks, cards, defences, evaluate, heavy, shipped_sweeps, viz, zoo
from advcore.attacks import adaptive
from advcore.attacks.registry import EPS_UI_MAX
from advcore.i18n import N_, _, ngettext
from advcore.ui import a11y, heavy_view, limits, resources, store, widgets
from advcore.ui.model_table_notes import note

EOT_SAMPLES = 8  # EOT draws per gradient of an adaptive attack on a randomised defence
COLUMNS = {  # the table's column names as shown (the CSV keeps the English keys)
    "model": N_("model"), "attack": N_("attack"), "eps": N_("eps"), "eps_255": N_("eps (/255)"),
    "n": N_("images"), "clean_accuracy": N_("clean accuracy"), "robust_accuracy": N_("robust accuracy"),
    "attack_success_rate": N_("attack success rate"), "mean_l2": N_("mean L2"), "mean_linf": N_("mean L∞"),
    "max_linf": N_("largest L∞"), "mean_l0": N_("mean L0"), "psnr": N_("PSNR (dB)"), "mean_kl": N_("mean KL"),
    "mean_true_prob_drop": N_("mean true-class probability drop"), "mean_attack_strength": N_("mean attack strength"),
    "mean_defence_effect": N_("mean defence effect"), "seconds": N_("seconds"), "defence": N_("defence"),
    "adaptive": N_("adaptive attack"), "eot_samples": N_("EOT draws"), "base_model": N_("model without defence"),
}


def shown_table(table: pd.DataFrame) -> pd.DataFrame:
    """The table with its column names in the reader's language."""
    return table.rename(columns=lambda c: _(COLUMNS[c]) if c in COLUMNS else c)


st.title(_("Sweep: attack strength vs. defence effect"))
st.caption(_("Accuracy over the first N test images as the budget grows, for standard and adversarially "
             "trained models. A robust model's curve stays up; a standard model's falls to 0."))

dataset = widgets.dataset_select(st.columns(3)[0], "sweep_dataset")  # outside the form: the lists follow it
with st.form("sweep_form"):
    c1, c2, c3 = st.columns(3)
    shipped, yours = zoo.by_origin(resources.model_cards(dataset))
    choose = _("Choose options")  # the multiselects' placeholder (Streamlit's own is English)
    chosen = c1.multiselect(_("Models"), shipped, default=shipped, key=f"sweep_models_{dataset}", placeholder=choose)
    if yours:  # student-trained or uploaded: only when picked, never in the default sweep
        chosen += c1.multiselect(_("Your models"), yours, default=[], key=f"sweep_yours_{dataset}",
                                 placeholder=choose)
    names = c2.multiselect(_("Attacks"), list(attacks.ATTACKS), default=list(shipped_sweeps.DEFAULT_ATTACKS),
                           key="sweep_attacks", placeholder=choose,
                           format_func=lambda a: widgets.attack_title(attacks.ATTACKS[a]))
    norm = c2.radio(_("Norm"), ["linf", "l2"], horizontal=True, key="sweep_norm")
    steps = c2.number_input(_("Steps (iterative attacks)"), 1, limits.MAX_STEPS, shipped_sweeps.DEFAULT_STEPS,
                            key="sweep_steps")
    default_max = cards.large_eps(dataset) if norm == "linf" else 4.0
    eps_max = c3.number_input(_("Largest eps (pixel units)"), 0.001, EPS_UI_MAX[norm], default_max, format="%.4f",
                              key=f"sweep_eps_max_{dataset}_{norm}")
    points = c3.slider(_("Eps values"), 2, limits.MAX_SWEEP_POINTS, shipped_sweeps.DEFAULT_POINTS, key="sweep_points")
    n = c3.slider(_("Test images"), 10, limits.MAX_SWEEP_IMAGES, min(shipped_sweeps.DEFAULT_N, limits.MAX_SWEEP_IMAGES),
                  step=10, key="sweep_n")
    specs = st.multiselect(
        _("Defences (extra lines: naive attack dashed, adaptive attack solid)"), list(defences.DEFENCES),
        default=[], key="sweep_defences", placeholder=choose,
        format_func=lambda d: _("{title} ({spec}, adaptive: {mode})", title=_(defences.DEFENCES[d].title),
                                spec=defences.make_stage(d),
                                mode=adaptive.recommended_mode(str(defences.make_stage(d)))),
        help=_("Each model behind each defence at its default setting, under the iterative gradient attacks "
               "chosen above, attacked twice: naively (the gradient TensorFlow gives through the defence) and "
               "adaptively (BPDA and/or EOT; Athalye, Carlini & Wagner 2018). The shaded gap between the two "
               "lines is robustness the defence only seemed to give."))
    submitted = st.form_submit_button(_("Run sweep"), type="primary")
specs = [str(defences.make_stage(d)) for d in specs]

eps_values = shipped_sweeps.eps_grid(eps_max, points)
request = store.ResultStore.key(dataset=dataset, models=chosen, attacks=names, norm=norm, steps=steps,
                                eps=eps_values, n=n, defences=specs)
split = resources.test_split(dataset)
wanted = shipped_sweeps.request(split, names, norm, steps, eps_values, n)
computed = [m for m in chosen if shipped_sweeps.shipped_rows(m, wanted) is None]  # the rest is read
# A request the shipped sweep files answer whole (the default one) is drawn at once, without pressing Run.
shipped_only = bool(chosen and names) and not computed and not specs
work = None
if (submitted or shipped_only) and store.results().get(request) is None:
    if not chosen or not names:
        st.warning(_("Choose at least one model and one attack."))
        st.stop()
    iterative = shipped_sweeps.iterative_gradient(names)
    images = min(n, len(split))
    modes = sum(1 + (adaptive.recommended_mode(s) != "none") for s in specs)  # naive, and adaptive if other
    total = images * len(eps_values) * (len(computed) * len(names) + len(chosen) * modes * len(iterative))
    params = {a: attacks.accepted(a, {"norm": norm, "steps": int(steps)}) for a in names}
    cost = (heavy.cost(images, params, len(eps_values), len(computed))
            + heavy.defended_cost(images, {a: params[a] for a in iterative}, len(eps_values), len(chosen), specs,
                                  EOT_SAMPLES))

    def run(progress):
        table, served, skipped = shipped_sweeps.sweep(chosen, zoo.load, split, names, norm, int(steps),
                                                      eps_values, n, limits.BATCH, progress)
        defended, more = shipped_sweeps.defended_sweep(chosen, zoo.load, split, names, norm, int(steps),
                                                       eps_values, n, specs, EOT_SAMPLES, limits.BATCH,
                                                       progress)
        return pd.concat([table, defended], ignore_index=True), served, skipped + more

    work = heavy_view.Work(run, total, cost, _("attacking images"))
result = heavy_view.show("sweep", request, work)
if result is None:
    st.info(_("Choose the models, attacks and budget, then press **Run sweep**. Results are kept, so a "
              "second view of the same sweep is instant."))
    st.stop()
table, served, skipped = result
for model_id, reason in skipped:
    st.warning(_("Skipping {model_id}: {reason}", model_id=model_id, reason=reason))
if table.empty:
    st.stop()
if served:
    computed = [m for m in table["model"].unique() if m not in served]
    st.caption(_("Measured when the model was made and shipped with it: {served} (`models/<id>.sweep.json`); "
                 "attacked now: {computed}.", served=", ".join(served), computed=", ".join(computed)) if computed
               else _("Measured when the model was made and shipped with it: {served} (`models/<id>.sweep.json`).",
                      served=", ".join(served)))

if not split.full:
    st.warning(_("Only the shipped sample of {n} images is available: numbers are rough.", n=len(split)))
a11y.plotly_chart(st, viz.sweep_chart(table, height=520), key="sweep_accuracy")  # full width: lines stay apart
st.caption(_("Every point of these charts is in the table at the end of the page."))
with st.container():
    st.subheader(_("Sanity checks"))
    large = cards.large_eps(dataset) if norm == "linf" else None
    flags = evaluate.sanity_checks(table, large, shipped_sweeps.standard_models(chosen))
    flags += shipped_sweeps.defence_flags(table, note)
    show = {"warning": (st.warning, ":material/warning:"), "info": (st.info, ":material/info:")}
    for flag in sorted((f for f in flags if f.severity != "ok"), key=lambda f: f.severity != "warning"):
        box, icon = show[flag.severity]
        box(note(flag.message), icon=icon)
    passed = [f for f in flags if f.severity == "ok"]
    with st.expander(ngettext("{n} of {total} checks passed", "{n} of {total} checks passed", len(passed),
                              total=len(flags)), expanded=len(passed) == len(flags)):
        for flag in passed:
            st.success(note(flag.message), icon=":material/check_circle:")
left, right = st.columns(2)
a11y.plotly_chart(left, viz.sweep_chart(table, "attack_success_rate", _("attack success rate (over correct points)")),
                  key="sweep_success")
a11y.plotly_chart(right, viz.sweep_chart(table, "mean_l2", _("mean L2 of the perturbation")), key="sweep_l2")
st.dataframe(shown_table(table), hide_index=True, key="sweep_table")
st.download_button(_("Download the table (CSV)"), table.to_csv(index=False), file_name=f"sweep-{dataset}.csv",
                   mime="text/csv", key="sweep_csv")
