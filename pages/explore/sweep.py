"""Sweep: attack strength vs. defence effect over many test images. Layout only."""

import pandas as pd
import streamlit as st

from advcore import attacks, cards, defences, evaluate, heavy, shipped_sweeps, viz, zoo
from advcore.attacks import adaptive
from advcore.attacks.registry import EPS_UI_MAX
from advcore.ui import heavy_view, limits, resources, store, widgets

EOT_SAMPLES = 8  # EOT draws per gradient of an adaptive attack on a randomised defence

st.title("Sweep: attack strength vs. defence effect")
st.caption("Accuracy over the first N test images as the budget grows, for standard and adversarially "
           "trained models. A robust model's curve stays up; a standard model's falls to 0.")

dataset = widgets.dataset_select(st.columns(3)[0], "sweep_dataset")  # outside the form: the lists follow it
with st.form("sweep_form"):
    c1, c2, c3 = st.columns(3)
    shipped, yours = zoo.by_origin(resources.model_cards(dataset))
    chosen = c1.multiselect("Models", shipped, default=shipped, key=f"sweep_models_{dataset}")
    if yours:  # student-trained or uploaded: only when picked, never in the default sweep
        chosen += c1.multiselect("Your models", yours, default=[], key=f"sweep_yours_{dataset}")
    names = c2.multiselect("Attacks", list(attacks.ATTACKS), default=list(shipped_sweeps.DEFAULT_ATTACKS),
                           key="sweep_attacks",
                           format_func=lambda a: attacks.ATTACKS[a].title)
    norm = c2.radio("Norm", ["linf", "l2"], horizontal=True, key="sweep_norm")
    steps = c2.number_input("Steps (iterative attacks)", 1, limits.MAX_STEPS, shipped_sweeps.DEFAULT_STEPS,
                            key="sweep_steps")
    default_max = cards.large_eps(dataset) if norm == "linf" else 4.0
    eps_max = c3.number_input("Largest eps (pixel units)", 0.001, EPS_UI_MAX[norm], default_max, format="%.4f",
                              key=f"sweep_eps_max_{dataset}_{norm}")
    points = c3.slider("Eps values", 2, limits.MAX_SWEEP_POINTS, shipped_sweeps.DEFAULT_POINTS, key="sweep_points")
    n = c3.slider("Test images", 10, limits.MAX_SWEEP_IMAGES, min(shipped_sweeps.DEFAULT_N, limits.MAX_SWEEP_IMAGES),
                  step=10, key="sweep_n")
    specs = st.multiselect(
        "Defences (extra lines: naive attack dashed, adaptive attack solid)", list(defences.DEFENCES),
        default=[], key="sweep_defences",
        format_func=lambda d: f"{defences.DEFENCES[d].title} ({defences.make_stage(d)}, adaptive: "
                              f"{adaptive.recommended_mode(str(defences.make_stage(d)))})",
        help="Each model behind each defence at its default setting, under the iterative gradient attacks "
             "chosen above, attacked twice: naively (the gradient TensorFlow gives through the defence) and "
             "adaptively (BPDA and/or EOT; Athalye, Carlini & Wagner 2018). The shaded gap between the two "
             "lines is robustness the defence only seemed to give.")
    submitted = st.form_submit_button("Run sweep", type="primary")
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
        st.warning("Choose at least one model and one attack.")
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

    work = heavy_view.Work(run, total, cost, "attacking images")
result = heavy_view.show("sweep", request, work)
if result is None:
    st.info("Choose the models, attacks and budget, then press **Run sweep**. Results are kept, so a "
            "second view of the same sweep is instant.")
    st.stop()
table, served, skipped = result
for message in skipped:
    st.warning(message)
if table.empty:
    st.stop()
if served:
    computed = [m for m in table["model"].unique() if m not in served]
    st.caption(f"Measured when the model was made and shipped with it: {', '.join(served)} "
               f"(`models/<id>.sweep.json`)" + (f"; attacked now: {', '.join(computed)}." if computed else "."))

if not split.full:
    st.warning(f"Only the shipped sample of {len(split)} images is available: numbers are rough.")
st.plotly_chart(viz.sweep_chart(table, height=520), key="sweep_accuracy")  # full width: ten lines stay apart
st.caption("Every point of these charts is in the table at the end of the page.")
with st.container():
    st.subheader("Sanity checks")
    large = cards.large_eps(dataset) if norm == "linf" else None
    flags = evaluate.sanity_checks(table, large, shipped_sweeps.standard_models(chosen))
    flags += shipped_sweeps.defence_flags(table)
    show = {"warning": (st.warning, ":material/warning:"), "info": (st.info, ":material/info:")}
    for flag in sorted((f for f in flags if f.severity != "ok"), key=lambda f: f.severity != "warning"):
        box, icon = show[flag.severity]
        box(flag.message, icon=icon)
    passed = [f for f in flags if f.severity == "ok"]
    with st.expander(f"{len(passed)} of {len(flags)} checks passed", expanded=len(passed) == len(flags)):
        for flag in passed:
            st.success(flag.message, icon=":material/check_circle:")
left, right = st.columns(2)
left.plotly_chart(viz.sweep_chart(table, "attack_success_rate", "attack success rate (over correct points)"),
                  key="sweep_success")
right.plotly_chart(viz.sweep_chart(table, "mean_l2", "mean L2 of the perturbation"), key="sweep_l2")
st.dataframe(table, hide_index=True, key="sweep_table")
st.download_button("Download the table (CSV)", table.to_csv(index=False), file_name=f"sweep-{dataset}.csv",
                   mime="text/csv", key="sweep_csv")
