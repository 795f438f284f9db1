"""Training: atomic checkpoints and resume after an interruption."""

import numpy as np
import pytest

from advcore import train
from advcore.errors import AdvcoreError


class Interrupt(Exception):
    pass


def _cfg(**kw):
    base = dict(model_id="resume-test", dataset="mnist", architecture="cnn-tiny", epochs=2, n_train=2048,
                batch_size=128)
    base.update(kw)
    return train.TrainConfig(**base)


@pytest.mark.needs_data
def test_interrupted_training_resumes_from_last_epoch(private_dirs, tmp_path):
    def die_in_second_epoch(event):
        if event["kind"] == "batch" and event["epoch"] == 1 and event["batch"] == 3:
            raise Interrupt

    with pytest.raises(Interrupt):
        train.train(_cfg(), tmp_path, report=die_in_second_epoch, show_progress=False)
    ckpt = train.checkpoint_dir() / "resume-test" / "last.npz"
    assert ckpt.is_file() and not list(ckpt.parent.glob("*.tmp*"))
    # a half-written checkpoint next to it is never read
    (ckpt.parent / "last.npz.tmp.npz").write_bytes(b"garbage")
    epochs_seen = []
    model, state = train.train(_cfg(), tmp_path, resume=True, show_progress=False,
                               report=lambda e: epochs_seen.append(e["epoch"]) if e["kind"] == "epoch" else None)
    assert epochs_seen == [2]  # only the second epoch ran again
    assert [h["epoch"] for h in state.history] == [1, 2]
    assert (tmp_path / "resume-test.keras").is_file()


@pytest.mark.needs_data
def test_resume_refuses_a_checkpoint_of_another_recipe(private_dirs, tmp_path):
    train.train(_cfg(model_id="other-test", epochs=1), tmp_path, show_progress=False)
    with pytest.raises(AdvcoreError, match="checkpoint was made with"):
        train.train(_cfg(model_id="other-test", epochs=1, recipe="pgd-at", eps=0.3), tmp_path, resume=True,
                    show_progress=False)


@pytest.mark.needs_data
@pytest.mark.parametrize("recipe", ["pgd-at", "fgsm-rs", "n-fgsm", "trades"])
def test_adversarial_recipes_run_and_report(private_dirs, tmp_path, recipe):
    events = []
    model, state = train.train(_cfg(model_id=f"r-{recipe}", epochs=1, recipe=recipe, eps=0.1, steps=3),
                               tmp_path, report=events.append, show_progress=False)
    assert state.history[0]["holdout_pgd10_accuracy"] >= 0
    assert np.isfinite(state.history[0]["loss"]) and any(e["kind"] == "batch" for e in events)


@pytest.mark.needs_data
def test_stop_request_keeps_the_model(private_dirs, tmp_path):
    model, state = train.train(_cfg(model_id="stop-test"), tmp_path, should_stop=lambda: True, show_progress=False)
    assert "stopped" in state.stopped and (tmp_path / "stop-test.keras").is_file()


@pytest.mark.parametrize("kw,msg", [({"recipe": "magic"}, "recipe"), ({"eps": float("nan")}, "eps"),
                                    ({"recipe": "pgd-at", "eps": 0.0}, "eps > 0"), ({"epochs": 10**6}, "epochs"),
                                    ({"model_id": "../x"}, "invalid model id")])
def test_bad_configs_are_refused(kw, msg):
    with pytest.raises(AdvcoreError, match=msg):
        _cfg(**kw).check()


@pytest.mark.needs_data
def test_mirrored_strategy_runs_the_same_recipe(private_dirs, tmp_path):
    """`--strategy mirrored` (all GPUs of a machine; here the one CPU device) trains and saves."""
    model, state = train.train(_cfg(model_id="mirrored-test", epochs=1, strategy="mirrored", recipe="pgd-at",
                                    eps=0.1, steps=2), tmp_path, show_progress=False)
    assert np.isfinite(state.history[0]["loss"]) and (tmp_path / "mirrored-test.keras").is_file()


@pytest.mark.needs_data
def test_eps_warmup_grows_the_training_budget(private_dirs, tmp_path):
    seen = []
    original = train._make_train_step

    def spy(model, optimizer, cfg, strategy, global_batch, eps, teacher=None):
        step = original(model, optimizer, cfg, strategy, global_batch, eps, teacher)

        def wrapped(*args):
            seen.append(float(eps.numpy()))
            return step(*args)
        return wrapped

    train._make_train_step = spy
    try:
        train.train(_cfg(model_id="warmup-test", epochs=2, recipe="fgsm-rs", eps=0.3, eps_warmup_epochs=1),
                    tmp_path, show_progress=False)
    finally:
        train._make_train_step = original
    assert seen[0] == 0.0 and max(seen) == pytest.approx(0.3) and seen == sorted(seen)


@pytest.mark.needs_data
def test_distillation_trains_a_teacher_then_a_student_with_saturated_logits(private_dirs, tmp_path):
    """Papernot et al. 2016: student trained at T on the teacher's soft labels, deployed at T = 1, so its
    logits are about T times larger than a normally trained model's (the softmax saturates)."""
    cfg = _cfg(model_id="distill-test", epochs=3, n_train=8192, recipe="distill", temperature=100, lr=3e-3)
    model, state = train.train(cfg, tmp_path, show_progress=False)
    teacher = train.checkpoint_dir() / "distill-test" / "distill-test-teacher.keras"
    assert teacher.is_file() and (tmp_path / "distill-test.keras").is_file()
    assert 0 < state.teacher_seconds < state.seconds
    assert state.history[-1]["holdout_clean_accuracy"] > 0.5
    x = np.random.default_rng(0).random((64, 28, 28, 1), dtype=np.float32)
    assert float(np.std(model(x).numpy())) > 20  # a T = 1 model's logits spread a few units


@pytest.mark.parametrize("kw,msg", [({"temperature": 0.5}, "temperature"), ({"temperature": float("inf")},
                                                                           "temperature")])
def test_bad_temperatures_are_refused(kw, msg):
    with pytest.raises(AdvcoreError, match=msg):
        _cfg(**kw).check()


@pytest.mark.needs_data
def test_mixed_precision_trains_in_bfloat16_and_saves_a_float32_model(private_dirs, tmp_path):
    """bfloat16 arithmetic in training (fgsm-rs, so the inner attack too); the saved, measured and attacked
    model computes in float32 with the trained weights, and learns as the float32 run does."""
    import keras

    def run(precision):
        cfg = _cfg(model_id=f"mixed-{precision}", recipe="fgsm-rs", eps=0.1, epochs=2, lr=3e-3,
                   precision=precision)
        return train.train(cfg, tmp_path, show_progress=False)

    mixed, state = run("bfloat16")
    plain, plain_state = run("float32")
    assert mixed.compute_dtype == "float32" and keras.mixed_precision.global_policy().name == "float32"
    saved = keras.models.load_model(tmp_path / "mixed-bfloat16.keras")
    assert saved.compute_dtype == "float32"
    assert all(layer.dtype_policy.name == "float32" for layer in saved.layers)
    clean, plain_clean = (s.history[-1]["holdout_clean_accuracy"] for s in (state, plain_state))
    assert clean > 0.25 and abs(clean - plain_clean) < 0.1, (clean, plain_clean)  # chance: 0.1
    with pytest.raises(AdvcoreError, match="checkpoint was made with precision='bfloat16'"):
        train.train(_cfg(model_id="mixed-bfloat16", recipe="fgsm-rs", eps=0.1, epochs=2, lr=3e-3),
                    tmp_path, resume=True, show_progress=False)
