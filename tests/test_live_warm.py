"""The live path's compiled attack is traced once per norm and trace switch for any batch size, and the
start-up warm-up covers everything a page load and an eps move use (data-free: untrained cnn-tiny)."""

import logging

import numpy as np
import pytest

from advcore import attacks, defences, live, zoo
from advcore.attacks.base import compiled_for


@pytest.fixture
def fresh_model():
    return zoo.build("cnn-tiny", "mnist", seed=1)  # its own compiled loop, counted from zero


def test_warm_traces_each_path_once_and_page_calls_never_retrace(fresh_model, caplog):
    compiled = compiled_for(fresh_model)
    live.warm(fresh_model, (28, 28, 1))
    warmed = compiled.traces
    assert warmed == 4  # {linf, l2} x {with, without the per-step trace}, each for any batch size
    x = np.random.default_rng(0).random((1, 28, 28, 1), dtype=np.float32)
    with caplog.at_level(logging.WARNING):
        for eps in (0.05, 0.1, 0.2):
            live.analyse(fresh_model, x, 3, "pgd", {"eps": eps, "steps": 5})
            live.noise_control(fresh_model, x, 3, eps, "linf")
        live.eps_curve(fresh_model, x, 3, "pgd", {"steps": 5}, 0.5)  # a batch of CURVE_POINTS (and refined)
        attacks.run("pgd", fresh_model, np.repeat(x, 7, axis=0), np.arange(7), eps=1.0, norm="l2", steps=3)
    assert compiled.traces == warmed
    assert not [r for r in caplog.records if "retracing" in r.getMessage()]


def test_setting_names_the_judge_the_attacker_and_the_mode(fresh_model):
    bare = live.setting(fresh_model)
    assert bare.judge is fresh_model and bare.attacker is fresh_model and bare.mode == "none" and not bare.defended
    naive = live.setting(fresh_model, "jpeg:60")
    assert isinstance(naive.judge, defences.Defended) and naive.attacker is naive.judge and naive.mode == "none"
    assert live.setting(fresh_model, "jpeg:60", adaptive=True).mode == "bpda"
    assert live.setting(fresh_model, "resize-pad", adaptive=True).mode == "eot"
    assert live.setting(fresh_model, "median:3", adaptive=True).mode == "none"  # differentiable: nothing to replace


def test_a_defended_analysis_is_scored_on_the_defended_model(fresh_model):
    x = np.random.default_rng(1).random((1, 28, 28, 1), dtype=np.float32)
    out = live.analyse(fresh_model, x, 2, "fgsm", {"eps": 0.1}, defence="bits:1", adaptive=True)
    judge = defences.apply(fresh_model, "bits:1")
    from advcore.attacks.base import logits_of
    expected = np.exp(logits_of(judge, out["x_adv"][None]))[0]
    np.testing.assert_allclose(out["adv_probs"], expected / expected.sum(), rtol=1e-5)
    assert out["defence"] == "bits:1" and out["mode"] == "bpda" and out["undefended_adv_probs"] is not None


def test_the_start_up_warms_each_data_sets_default_model_mnist_first():
    from advcore.ui import startup
    pairs = startup.default_models()
    assert pairs[0] == ("mnist", zoo.list_cards("mnist")[0]["id"])
    assert {d for d, _ in pairs} == {c["dataset"] for c in zoo.list_cards() if c.get("shipped")}


WARM_THEN_ATTACK = """
import os, threading
from advcore.ui import startup
startup.default_models = lambda: [("mnist", "mnist-standard")]  # a shipped model, warmed at low priority
warm = threading.Thread(target=startup.warm_default_models)
warm.start(); warm.join()
import numpy as np
from advcore import live, zoo
model = zoo.build("cnn-tiny", "mnist", seed=1)
live.analyse(model, np.zeros((1, 28, 28, 1), np.float32), 3, "pgd", {"eps": 0.1, "steps": 3})
nice = [int(open(f"/proc/self/task/{t}/stat").read().rsplit(")", 1)[1].split()[16])
        for t in os.listdir("/proc/self/task")]
print("NICE", sorted(set(nice)))
"""


@pytest.mark.skipif(not __import__("os").path.exists("/proc/self/task"), reason="Linux thread priorities")
def test_the_warm_up_threads_lower_priority_is_not_inherited_by_tensorflows_threads():
    """The warm-up thread lowers its own priority; TensorFlow's runtime threads, which run every visitor's
    attack, are started before that (by ``advcore.ui.server``) and keep the normal priority."""
    import subprocess
    import sys
    out = subprocess.run([sys.executable, "-c", WARM_THEN_ATTACK], capture_output=True, text=True, timeout=300,
                         env={**__import__("os").environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert out.returncode == 0, out.stderr[-2000:]
    line = next(line for line in out.stdout.splitlines() if line.startswith("NICE"))
    assert line == "NICE [0]", line
