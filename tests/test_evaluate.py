"""Evaluation: batched numbers match a single run; the sanity flags fire on the signs of a weak evaluation."""

import numpy as np
import pandas as pd

from advcore import attacks, evaluate, metrics


def table(rows):
    return pd.DataFrame([{"model": m, "attack": a, "eps": e, "eps_255": e * 255, "robust_accuracy": acc}
                         for m, a, e, acc in rows])


def flags(rows, **kw):
    return {f.check.split(":")[0]: f for f in evaluate.sanity_checks(table(rows), **kw)}


def test_a_sound_evaluation_raises_no_flag():
    rows = [("m", "pgd", e, acc) for e, acc in ((0, .99), (.1, .9), (.3, .5), (.5, .01))]
    rows += [("m", "fgsm", .3, .6), ("m", "noise", .3, .97)]
    assert all(f.ok for f in evaluate.sanity_checks(table(rows), large_eps=.5))


def test_flags_accuracy_rising_with_eps():
    assert not flags([("m", "pgd", 0, .99), ("m", "pgd", .1, .7), ("m", "pgd", .2, .8)])["monotone"].ok


def test_flags_high_accuracy_at_a_huge_eps():
    assert not flags([("m", "pgd", 0, .99), ("m", "pgd", .5, .6)], large_eps=.5)["large-eps"].ok


def test_flags_iterative_weaker_than_single_step_and_noise():
    rows = [("m", "pgd", .3, .8), ("m", "fgsm", .3, .5), ("m", "noise", .3, .4)]
    f = {x.check: x for x in evaluate.sanity_checks(table(rows))}
    assert not f["pgd-vs-fgsm"].ok and not f["pgd-vs-noise"].ok


def test_flags_catastrophic_overfitting_gap():
    f = {x.check: x for x in evaluate.sanity_checks(table([("m", "pgd", .3, .02), ("m", "fgsm", .3, .92)]))}
    assert not f["pgd-vs-fgsm-gap"].ok and "gradient masking" in f["pgd-vs-fgsm-gap"].message


def test_gradient_check_spots_a_softmax_output(tiny_model, batch):
    import keras
    x, y = batch[0][:50], batch[1][:50]
    assert evaluate.gradient_check(tiny_model, x, y).ok
    softmaxed = keras.Sequential([tiny_model, keras.layers.Softmax()])
    assert not evaluate.gradient_check(softmaxed, x, y).ok


def test_batched_evaluation_equals_one_batch(tiny_model, mnist_test):
    one = evaluate.evaluate(tiny_model, mnist_test, "fgsm", {"eps": 0.1}, n=300, batch_size=300)
    many = evaluate.evaluate(tiny_model, mnist_test, "fgsm", {"eps": 0.1}, n=300, batch_size=64)
    assert one["robust_accuracy"] == many["robust_accuracy"] and one["n"] == 300


def test_sweep_table_and_transfer_matrix(tiny_model, mnist_test):
    sweep = evaluate.sweep_attacks({"a": tiny_model}, mnist_test, ["fgsm", "pgd"], [0.0, 0.2],
                                   {"steps": 5}, n=100)
    assert list(sweep["attack"]) == ["fgsm", "fgsm", "pgd", "pgd"]
    at_zero = sweep[sweep["eps"] == 0]
    assert (at_zero["robust_accuracy"] == at_zero["clean_accuracy"]).all()
    matrix = evaluate.transfer_matrix({"a": tiny_model, "b": tiny_model}, mnist_test, "fgsm", {"eps": 0.2}, n=100)
    assert matrix.shape == (2, 2) and np.allclose(matrix.to_numpy(), matrix.iloc[0, 0])
    x, y = mnist_test.x[:100], mnist_test.y[:100]
    direct = attacks.run("fgsm", tiny_model, x, y, eps=0.2)
    assert matrix.iloc[0, 0] == metrics.accuracy(direct.adv_logits, y)
