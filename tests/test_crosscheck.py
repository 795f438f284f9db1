"""Our attacks against peer libraries on the shipped MNIST models, 500 test images.

Ours must never be weaker than Foolbox 3 (and IBM ART) by more than one accuracy point at the
same budget; APGD-CE must be at least as strong as PGD with as many gradient evaluations;
DeepFool's and C&W's minimal L2 must be within 10% of Foolbox's (or smaller).
"""

import numpy as np
import pytest
import tensorflow as tf

from advcore import attacks, data, metrics, zoo

pytestmark = pytest.mark.needs_data  # loads the shipped models or the data sets

fb = pytest.importorskip("foolbox", reason="test-only dependency (requirements-dev.txt)")
N = 500
SLACK = 0.01
RUNS = 3  # independent random starts on each side: a single start moves accuracy by about +-1 point


@pytest.fixture(scope="module")
def mnist():
    split = data.load("mnist", "test")
    return split.x[:N], split.y[:N]


@pytest.fixture(scope="module", params=["mnist-standard", "mnist-pgd"])
def shipped(request):
    zoo.forget()
    return request.param, zoo.load(request.param)


def ours(model, name, x, y, **params):
    return metrics.accuracy(attacks.run(name, model, x, y, **params).adv_logits, y)


def foolbox_accuracy(model, attack, x, y, eps):
    fmodel = fb.TensorFlowModel(model, bounds=(0, 1))
    _, _, success = attack(fmodel, tf.constant(x), tf.constant(y.astype(np.int64)), epsilons=eps)
    return float(1 - success.numpy().mean())


@pytest.mark.parametrize("norm,eps,steps", [("linf", 0.3, 40), ("l2", 2.0, 40)])
def test_pgd_not_weaker_than_foolbox(shipped, mnist, norm, eps, steps):
    """Mean robust accuracy over RUNS independent random starts on each side."""
    model_id, model = shipped
    x, y = mnist
    step = 0.01 if norm == "linf" else 2.5 * eps / steps
    peer = (fb.attacks.LinfPGD if norm == "linf" else fb.attacks.L2PGD)(steps=steps, abs_stepsize=step)
    theirs = np.mean([foolbox_accuracy(model, peer, x, y, eps) for _ in range(RUNS)])
    mine = np.mean([ours(model, "pgd", x, y, eps=eps, norm=norm, steps=steps, step_size=step, seed=seed)
                    for seed in range(RUNS)])
    print(f"{model_id} PGD-{steps} {norm} eps {eps}: advcore {mine:.3f}, foolbox {theirs:.3f} (means of {RUNS})")
    assert mine <= theirs + SLACK


@pytest.mark.parametrize("eps", [0.1, 0.3])
def test_fgsm_matches_foolbox(shipped, mnist, eps):
    model_id, model = shipped
    x, y = mnist
    theirs = foolbox_accuracy(model, fb.attacks.FGSM(), x, y, eps)
    mine = ours(model, "fgsm", x, y, eps=eps)
    print(f"{model_id} FGSM eps {eps}: advcore {mine:.3f}, foolbox {theirs:.3f}")
    assert mine <= theirs + SLACK


def test_pgd_not_weaker_than_art(shipped, mnist):
    art = pytest.importorskip("art.attacks.evasion", reason="IBM ART is a test-only dependency")
    from art.estimators.classification import TensorFlowV2Classifier
    model_id, model = shipped
    x, y = mnist
    clf = TensorFlowV2Classifier(model=model, nb_classes=10, input_shape=(28, 28, 1), clip_values=(0.0, 1.0),
                                 loss_object=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    attack = art.ProjectedGradientDescent(clf, norm=np.inf, eps=0.3, eps_step=0.01, max_iter=40, num_random_init=1,
                                          batch_size=N, verbose=False)
    theirs = metrics.accuracy(np.asarray(model(attack.generate(x, y=np.eye(10)[y]).astype(np.float32))), y)
    mine = ours(model, "pgd", x, y, eps=0.3, steps=40, step_size=0.01)
    print(f"{model_id} PGD-40 linf 0.3: advcore {mine:.3f}, ART {theirs:.3f}")
    assert mine <= theirs + SLACK


def test_apgd_at_least_as_strong_as_pgd_with_the_same_gradients(mnist):
    zoo.forget()
    model = zoo.load("mnist-pgd")
    x, y = mnist
    pgd = ours(model, "pgd", x, y, eps=0.3, steps=100, step_size=0.01)
    apgd = ours(model, "apgd-ce", x, y, eps=0.3, steps=100)
    print(f"mnist-pgd eps 0.3, 100 gradient steps: PGD {pgd:.3f}, APGD-CE {apgd:.3f}")
    assert apgd <= pgd + 0.005


def _median_l2(x, x_adv, fooled):
    return float(np.median(np.sqrt(((x_adv - x) ** 2).reshape(len(x), -1).sum(axis=1))[fooled]))


@pytest.mark.parametrize("name", ["deepfool", "cw-l2"])
def test_minimal_attacks_match_foolbox(mnist, name):
    """Median L2 of the smallest adversarial change within 10% of Foolbox's, each at advcore's default budget
    (DeepFool 50 steps; C&W 5 binary-search steps of 100 steps, Carlini & Wagner 2017)."""
    zoo.forget()
    model = zoo.load("mnist-standard")
    x, y = mnist[0][:200], mnist[1][:200]
    correct = metrics.accuracy(np.asarray(model(x)), y)
    fmodel = fb.TensorFlowModel(model, bounds=(0, 1))
    peer = fb.attacks.L2DeepFoolAttack(steps=50, overshoot=0.02) if name == "deepfool" else \
        fb.attacks.L2CarliniWagnerAttack(binary_search_steps=5, steps=100, stepsize=0.05, initial_const=1.0)
    adv, _, success = peer(fmodel, tf.constant(x), tf.constant(y.astype(np.int64)), epsilons=None)
    theirs = _median_l2(x, adv.numpy(), success.numpy())
    result = attacks.run(name, model, x, y)
    mine = float(np.median(result.info["min_norm"][np.isfinite(result.info["min_norm"])]))
    print(f"{name} median L2 on mnist-standard: advcore {mine:.3f}, foolbox {theirs:.3f} (clean acc {correct:.3f})")
    assert mine <= 1.10 * theirs
