"""Models: every zoo card, and a transfer matrix between the models of one data set. Layout only."""

import pandas as pd
import streamlit as st

from advcore import attacks, cards, evaluate, viz
from advcore.ui import controls, limits, resources, store

st.title("Models")
st.caption("Every figure comes from the model's card, measured by the training command on the test set. "
           "Robust accuracy is PGD accuracy at the budget in the column name.")
all_cards = resources.model_cards()
if not all_cards:
    st.error("No models found. Train one with `python -m advcore train` (see the README).")
    st.stop()
table = pd.DataFrame([cards.headline(c) for c in all_cards])
fraction_columns = [c for c in table.columns if c == "clean" or "@" in c]
st.dataframe(table, hide_index=True, key="models_table",
             column_config={c: st.column_config.NumberColumn(c, format="percent") for c in fraction_columns})

for card in all_cards:
    with st.expander(f"{card['id']} — {card.get('recipe', {}).get('recipe')} on {card.get('dataset')}"):
        recipe, training = card.get("recipe", {}), card.get("training", {})
        st.markdown(f"**Architecture** {card.get('architecture')} ({card.get('parameters', 0):,} parameters) · "
                    f"**Training** {training.get('seconds', 0) / 60:.1f} min on {training.get('hardware')} · "
                    f"**Data** {card.get('data', {}).get('source')} {card.get('data', {}).get('note', '')}")
        st.code(training.get("command", ""), language="bash")
        results = card.get("results", {})
        st.dataframe(pd.DataFrame(results.get("robust", [])), hide_index=True, key=f"card_results_{card['id']}")
        for flag in results.get("sanity", {}).get("flags", []):
            (st.success if flag["ok"] else st.error)(flag["message"])
        if training.get("stopped"):
            st.info(training["stopped"])

st.header("Transfer matrix")
st.caption("Adversarial examples crafted on one model (row), tried on another (column). White-box on the "
           "diagonal; off the diagonal, how well an attack transfers without the target's gradients.")
dataset = controls.dataset_select(st.columns(3)[0], "transfer_dataset")  # outside the form: eps follows it
with st.form("transfer_form"):
    c2, c3 = st.columns(2)
    attack = c2.selectbox("Attack", [a for a, s in attacks.ATTACKS.items() if s.family == "gradient"],
                          key="transfer_attack", format_func=lambda a: attacks.ATTACKS[a].title)
    eps = c2.number_input("eps (linf, pixel units)", 0.0, 1.0, cards.reference_eps(dataset)[-1], format="%.4f",
                          key=f"transfer_eps_{dataset}")
    n = c3.slider("Test images", 10, min(1000, limits.MAX_SWEEP_IMAGES), 200, step=10, key="transfer_n")
    submitted = st.form_submit_button("Compute", type="primary")
ids = resources.model_ids(dataset)
request = store.ResultStore.key(dataset=dataset, attack=attack, eps=eps, n=n, models=ids)
matrix = store.results().get(request)
if matrix is None and submitted:
    models, errors = resources.usable_models(ids)
    for error in errors:
        st.error(error)
    split = resources.test_split(dataset)
    matrix = store.compute_once(request, lambda progress: evaluate.transfer_matrix(
        models, split, attack, attacks.accepted(attack, {"eps": eps, "steps": 20}), n, progress=progress,
        batch_size=limits.BATCH), min(n, len(split)) * len(models), "crafting")
if matrix is not None:
    st.plotly_chart(viz.transfer_heatmap(matrix), key="transfer_heatmap")
