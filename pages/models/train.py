"""Train: adversarially train a small model from the browser, with live curves. Layout only."""

import streamlit as st

from advcore import cards, train, viz
from advcore.errors import AdvcoreError
from advcore.ui import controls, jobs, limits

ARCHITECTURES = {"cnn-tiny": "tiny CNN (seconds per epoch)", "cnn-small": "Wong et al. small CNN"}

st.title("Train a model")
st.caption("A small model, trained here on this server, appears in the zoo (Explore, Sweep, Models) when it "
           f"is done. Limits on this server: {limits.MAX_TRAIN_EPOCHS} epochs, "
           f"{limits.MAX_TRAIN_IMAGES:,} training images.")

dataset = controls.dataset_select(st.columns(3)[0], "train_dataset")  # outside the form: eps follows it
with st.form("train_form"):
    c1, c2, c3 = st.columns(3)
    architecture = c1.selectbox("Architecture", list(ARCHITECTURES), format_func=ARCHITECTURES.get,
                                key="train_arch")
    recipe = c2.selectbox("Recipe", train.RECIPES, index=1, key="train_recipe",
                          help="standard: clean images; pgd-at: Madry et al. 2018; fgsm-rs: Wong et al. 2020; "
                               "n-fgsm: de Jorge et al. 2022; trades: Zhang et al. 2019")
    eps = c2.number_input("Training eps (linf, pixel units)", 0.0, 0.5, cards.reference_eps(dataset)[-1],
                          format="%.4f", key=f"train_eps_{dataset}",
                          help="the budget the model is trained against: 0.3 is usual on MNIST, 0.1 on "
                               "Fashion-MNIST, 8/255 = 0.0314 on CIFAR-10")
    epochs = c3.slider("Epochs", 1, limits.MAX_TRAIN_EPOCHS, 1, key="train_epochs")
    n_train = c3.slider("Training images", 1000, limits.MAX_TRAIN_IMAGES, min(10_000, limits.MAX_TRAIN_IMAGES),
                        step=1000, key="train_n")
    name = st.text_input("Name", "my-robust-model", max_chars=40, key="train_name")
    submitted = st.form_submit_button("Start training", type="primary")

board = jobs.job_board()
if submitted:
    try:
        cfg = train.TrainConfig(
            model_id=jobs.user_model_id(name), dataset=dataset, architecture=architecture, recipe=recipe,
            eps=0.0 if recipe == "standard" else float(eps), steps=7, epochs=int(epochs), n_train=int(n_train),
            lr_schedule="cyclic" if recipe == "fgsm-rs" else "constant", eval_n=1000, extra_n=200).check()
        st.session_state.train_job = board.start(cfg).id
    except AdvcoreError as exc:
        st.error(f"Cannot start: {exc}")


ACTIVE = ("running", "measuring")


def show_job(job: jobs.TrainingJob | None) -> None:
    if job is None:
        st.info("No training started in this session yet.")
        return
    label = {"running": "training", "measuring": "measuring on the test set", "done": "done",
             "stopped": "stopped early", "failed": "failed"}[job.status]
    st.progress(job.progress, text=f"{job.cfg.model_id}: {label}")
    if job.status == "running" and st.button("Stop training", key="train_stop"):
        job.stop.set()
    st.plotly_chart(viz.training_curves(job.batches), key="train_curves")
    if job.epochs:
        st.dataframe(job.epochs, hide_index=True, key="train_epochs_table")
    if job.status in ("done", "stopped"):
        st.success(f"{job.cfg.model_id} is in the zoo for this server. {job.message}")
    elif job.status == "failed":
        st.error(f"Training failed: {job.message}")


@st.fragment(run_every=1.0)
def live_job() -> None:
    """Redrawn every second while the job runs; one full rerun when it ends stops the polling."""
    job = board.get(st.session_state.get("train_job"))
    show_job(job)
    if job is None or job.status not in ACTIVE:
        st.rerun()


current = board.get(st.session_state.get("train_job"))
if current is not None and current.status in ACTIVE:
    live_job()
else:
    show_job(current)
