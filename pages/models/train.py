"""Train: adversarially train a small model from the browser, queued and run by the server, with live
curves. Layout only: the queue is advcore.classroom.queue, the runs advcore.train_runner."""

from dataclasses import asdict

import streamlit as st

from advcore import cards, train, train_runner, viz
from advcore.classroom import queue
from advcore.classroom.store import OPEN_JOB_STATES
from advcore.errors import AdvcoreError
from advcore.i18n import N_, _
from advcore.ui import a11y, escape, jobs, limits, model_table_notes, room_session, teacher_panel, widgets

ARCHITECTURES = {"cnn-tiny": N_("tiny CNN (seconds per epoch)"), "cnn-small": N_("Wong et al. small CNN")}
PHASES = {"training": N_("training"), "checking": N_("checking that it learned"),
          "measuring": N_("measuring on the test set")}
# Defaults measured to learn (tiny CNN, PGD-AT at the data set's eps, 2 epochs, 10,000 images, eps warm-up over
# the first): clean accuracy 74.9% MNIST, 74.8% Fashion-MNIST (lr 0.001), 23.1% CIFAR-10 (lr 0.003; 12.2% at
# 0.001, chance level). The old defaults (1 epoch, no warm-up) ended at 12.6% on MNIST.
DEFAULT_LR = {"cifar10": 3e-3}

st.title(_("Train a model"))
st.caption(_("A small model, trained on this server, appears in the zoo (Explore, Sweep, Models) when it is done. "
             "Training runs one model at a time: yours waits its turn in the queue, and you see your place. "
             "Limits on this server: {epochs} epochs, {images:,} training images.", epochs=limits.MAX_TRAIN_EPOCHS,
             images=limits.MAX_TRAIN_IMAGES))

s = room_session.store()
jobs.workers()  # this process takes its share of the queue
room, nickname = ((st.session_state.class_room, st.session_state.class_nick) if st.session_state.get("class_room")
                  else (st.session_state.teach_room, "teacher") if st.session_state.get("teach_room")
                  else (None, f"guest-{room_session.session_id()[:6]}"))
if room:
    st.caption(_("You are **{nickname}** in room **{room}**: your model is listed for the room and deleted with it.",
                 nickname=escape.plain(nickname), room=room))

panel = st.container()  # this session's job, above the form (filled at the end of the run)
dataset = widgets.dataset_select(st.columns(3)[0], "train_dataset")  # outside the form: eps follows it
with st.form("train_form"):
    c1, c2, c3 = st.columns(3)
    architecture = c1.selectbox(_("Architecture"), list(ARCHITECTURES), format_func=lambda a: _(ARCHITECTURES[a]),
                                key="train_arch")
    recipe = c2.selectbox(_("Recipe"), train.RECIPES, index=train.RECIPES.index("pgd-at"), key="train_recipe",
                          help=_("standard: clean images; pgd-at: Madry et al. 2018; fgsm-rs: Wong et al. 2020; "
                                 "n-fgsm: de Jorge et al. 2022; trades: Zhang et al. 2019"))
    eps = c2.number_input(_("Training eps (linf, pixel units)"), 0.0, 0.5, cards.reference_eps(dataset)[-1],
                          format="%.4f", key=f"train_eps_{dataset}",
                          help=_("the budget the model is trained against: 0.3 is usual on MNIST, 0.1 on "
                                 "Fashion-MNIST, 8/255 = 0.0314 on CIFAR-10. It grows from 0 over the first "
                                 "half of training, so the network first learns the clean task."))
    epochs = c3.slider(_("Epochs"), 1, limits.MAX_TRAIN_EPOCHS, min(2, limits.MAX_TRAIN_EPOCHS), key="train_epochs")
    n_train = c3.slider(_("Training images"), 1000, limits.MAX_TRAIN_IMAGES, min(10_000, limits.MAX_TRAIN_IMAGES),
                        step=1000, key="train_n")
    lr = c1.select_slider(_("Learning rate"), [1e-4, 3e-4, 1e-3, 3e-3, 1e-2], DEFAULT_LR.get(dataset, 1e-3),
                          key=f"train_lr_{dataset}", help=_("Adam's step size"))
    name = st.text_input(_("Name"), "my-robust-model", max_chars=40, key="train_name")
    submitted = st.form_submit_button(_("Queue training"), type="primary")

if submitted:
    try:
        model_id = train_runner.user_model_id(f"{nickname}-{name}" if room else name)  # queue.enqueue reserves it
        cfg = train.TrainConfig(
            model_id=model_id, dataset=dataset, architecture=architecture, recipe=recipe,
            eps=0.0 if recipe in train.CLEAN_RECIPES else float(eps), steps=7, epochs=int(epochs),
            n_train=int(n_train), lr=float(lr), lr_schedule="cyclic" if recipe == "fgsm-rs" else "constant",
            eps_warmup_epochs=0.0 if recipe in train.CLEAN_RECIPES else int(epochs) / 2, eval_n=1000,
            extra_n=200).check()
        st.session_state.train_job = queue.enqueue(s, room, nickname, model_id, asdict(cfg),
                                                   address=None if room else room_session.client_address())
        st.query_params["job"] = st.session_state.train_job  # a reload finds the job again
        jobs.workers().wake.set()
    except AdvcoreError as exc:
        st.error(_("Cannot queue: {error}", error=exc), icon=":material/error:")
if "train_job" not in st.session_state and st.query_params.get("job"):
    st.session_state.train_job = st.query_params["job"]


def minutes(seconds: float) -> str:
    return _("under a minute") if seconds < 60 else _("about {minutes} min", minutes=round(seconds / 60))


def show_job(job: dict | None) -> None:
    if job is None:
        st.info(_("No training queued in this session yet."), icon=":material/info:")
        return
    model_id, status = job["model_id"], job["status"]
    pos = queue.position(s, job["id"]) if status == "queued" else None
    if status == "queued" and pos:
        wait = queue.estimate_wait_s(s, job["id"], limits.MAX_TRAIN_JOBS) or 0.0
        queued = _("{model} is queued: number {place} in line, starts in {wait}.", model=model_id, place=pos,
                   wait=minutes(wait))
        st.info(_("{queued} ({message})", queued=queued, message=model_table_notes.note(job["message"]))
                if job.get("message") else queued, icon=":material/hourglass_top:")
    elif status in OPEN_JOB_STATES:
        phase = _(PHASES[job["phase"]]) if job.get("phase") in PHASES else _("starting")
        st.progress(float(job.get("progress", 0.0)), text=_("{model}: {phase}", model=model_id, phase=phase))
    if status in OPEN_JOB_STATES and st.button(_("Cancel"), key="train_cancel"):
        queue.cancel(s, job["id"])
        st.rerun()
    if job.get("batches"):
        a11y.plotly_chart(st, viz.training_curves(job["batches"]), key="train_curves")
    elif status == "running":
        st.caption(_("The loss and accuracy curves appear after the first batches."))
    if job.get("epochs"):
        st.dataframe(jobs.epoch_table(job["epochs"]), hide_index=True, key="train_epochs_table")
    if status in ("done", "stopped"):
        useful, sentence = jobs.training_outcome(job)
        (st.success if useful else st.warning)(f"{sentence} {model_table_notes.note(job.get('message', ''))}".strip(),
                                               icon=":material/check_circle:" if useful else ":material/warning:")
    elif status == "failed":
        st.error(_("Training {model} failed: {message}", model=model_id,
                   message=model_table_notes.note(job.get("message", ""))), icon=":material/error:")
    elif status == "cancelled":
        st.warning(_("{model} was cancelled.", model=model_id), icon=":material/cancel:")


@st.fragment(run_every=1.0)
def live_job() -> None:
    """Redrawn every second while the job is open; one full rerun when it ends stops the polling."""
    job = s.get_job(st.session_state.get("train_job", ""))
    show_job(job)
    if job is None or job["status"] not in OPEN_JOB_STATES:
        st.rerun()


current = s.get_job(st.session_state.get("train_job", ""))
with panel:
    if current is not None and current["status"] in OPEN_JOB_STATES:
        live_job()
    else:
        show_job(current)

waiting = s.jobs(statuses=OPEN_JOB_STATES)
st.caption(_("Queue on this server: {running} training, {queued} waiting.",
             running=sum(j["status"] == "running" for j in waiting),
             queued=sum(j["status"] == "queued" for j in waiting)))
if st.session_state.get("teach_room"):
    teacher_panel.training_queue(s, st.session_state.teach_room)
