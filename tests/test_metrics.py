"""Norms, prediction shift and batch metrics on hand-checked values."""

import numpy as np
import pytest

from advcore import metrics


def test_norms_of_a_known_perturbation():
    x = np.zeros((1, 2, 2, 1), np.float32)
    x_adv = x.copy()
    x_adv[0, 0, 0, 0], x_adv[0, 1, 1, 0] = 0.3, -0.4
    n = metrics.perturbation_norms(x, x_adv)
    assert n["l0"][0] == 2
    assert n["l1"][0] == pytest.approx(0.7)
    assert n["l2"][0] == pytest.approx(0.5)
    assert n["linf"][0] == pytest.approx(0.4)
    assert n["linf_255"][0] == pytest.approx(102)


def test_l0_ignores_changes_below_half_a_grey_level():
    x = np.zeros((1, 4, 4, 1), np.float32)
    assert metrics.perturbation_norms(x, x + 0.4 / 255)["l0"][0] == 0


def test_psnr():
    x = np.zeros((2, 4, 4, 1), np.float32)
    x_adv = x.copy()
    x_adv[1] += 0.1
    values = metrics.psnr(x, x_adv)
    assert np.isinf(values[0]) and values[1] == pytest.approx(20.0)


def test_prediction_shift_and_kl():
    clean = np.array([[5.0, 0.0, 0.0], [0.0, 3.0, 0.0]])
    adv = np.array([[0.0, 5.0, 0.0], [0.0, 3.0, 0.0]])
    shift = metrics.prediction_shift(clean, adv, np.array([0, 1]))
    assert list(shift["clean_class"]) == [0, 1] and list(shift["adv_class"]) == [1, 1]
    assert shift["kl"][1] == pytest.approx(0.0, abs=1e-12) and shift["kl"][0] > 4
    assert shift["true_prob_drop"][0] > 0.9 and shift["true_prob_drop"][1] == pytest.approx(0)


def test_success_rate_counts_only_correct_points():
    y = np.array([0, 1, 2, 0])
    clean = np.eye(3)[[0, 1, 1, 0]] * 5  # third point already wrong
    adv = np.eye(3)[[1, 1, 0, 0]] * 5
    assert metrics.success_rate(clean, adv, y) == pytest.approx(1 / 3)
    assert metrics.accuracy(adv, y) == pytest.approx(0.5)


def test_seed_formulas_are_batched_norms():
    x = np.zeros((3, 2, 2, 1))
    x_adv = x + np.arange(3).reshape(3, 1, 1, 1) * 0.1
    np.testing.assert_allclose(metrics.attack_strength(x, x_adv), [0, 0.2, 0.4])
    logits = np.array([[10.0, 0], [0, 10.0]])
    effect = metrics.defence_effect(logits, logits[::-1])
    assert effect.shape == (2,) and np.all(effect > 1.3)


def test_summary_keys():
    x = np.zeros((2, 2, 2, 1))
    s = metrics.summarise(x, x, np.eye(2), np.eye(2), np.array([0, 1]))
    for key in ("n", "clean_accuracy", "robust_accuracy", "attack_success_rate", "max_linf", "mean_l2"):
        assert key in s


@pytest.mark.parametrize("key,unit", [("linf", "pixel units"), ("l2", "pixel units"), ("l0", "count"),
                                      ("psnr", "dB"), ("kl", "nats"), ("true_prob_drop", "percentage points")])
def test_every_metric_has_a_one_sentence_explanation_with_its_unit(key, unit):
    text = metrics.METRIC_HELP[key]
    assert unit in text and text.endswith(".") and len(text) < 260
