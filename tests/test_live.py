"""advcore.live without data: eps ranges per data set, verdict words, the eps curve on a tiny untrained model."""

import numpy as np
import pytest

from advcore import data, live


@pytest.mark.parametrize("dataset,norm,standard", [
    ("mnist", "linf", (0.1, 0.2, 0.3)), ("fashion", "linf", (0.1,)),
    ("cifar10", "linf", (2 / 255, 4 / 255, 8 / 255, 16 / 255)), ("cifar10", "l2", (0.25, 0.5)), ("mnist", "l2", (2.0,)),
])
def test_slider_grids_hold_the_standard_budgets_exactly(dataset, norm, standard):
    grid = data.info(dataset).eps_range(norm).grid()
    assert all(round(v, 6) in grid for v in standard) and grid == sorted(grid) and grid[0] == 0


def test_cifar_opens_at_8_of_255_and_spans_about_32_of_255():
    r = data.info("cifar10").eps_range("linf")
    assert r.default == pytest.approx(8 / 255) and r.grid()[-1] == pytest.approx(32 / 255, abs=1e-6)
    assert len(r.grid()) == 33  # one position per grey level: the change is spread over the slider
    assert data.info("cifar10").eps_range("l2").high > 0.5  # L2 links above 0.5 are not clamped


def test_mnist_keeps_every_grey_level_for_the_load_test():
    grid = data.info("mnist").eps_range("linf").grid()
    assert all(round(k / 255, 6) in grid for k in range(129))
    assert all(grid[k] <= k / 255 + 1e-6 for k in range(101))  # the k-th option is at most k/255


@pytest.mark.parametrize("clean,adv,target,words", [
    (3, 3, None, "already misclassified"), (3, 5, None, "already misclassified"), (7, 7, None, "still right"),
    (7, 2, None, "fooled"), (7, 2, 2, "target 2 reached"), (7, 4, 2, "target 2 not reached"),
])
def test_verdict_never_calls_an_already_wrong_image_fooled(clean, adv, target, words):
    assert live.verdict(clean, adv, 7, target)[0] == words


def test_targeted_eps_curve_plots_the_target_probability():
    from advcore import zoo
    model = zoo.build("cnn-tiny", "mnist")
    x = np.random.default_rng(0).random((1, 28, 28, 1), dtype=np.float32)
    c = live.eps_curve(model, x, 1, "fgsm", {"norm": "linf", "target": 4}, 0.3, points=6)
    assert c["other_name"] == "target class 4" and len(c["other_prob"]) == 6
    u = live.eps_curve(model, x, 1, "fgsm", {"norm": "linf"}, 0.3, points=6)
    assert u["other_name"] == "top other class" and np.all(u["other_prob"] >= 0)
