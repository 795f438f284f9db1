"""The faster paths give the same answers as the slow ones they replace (data-free: an untrained cnn-tiny and
random images): lesson 2's curves from one gradient equal running FGSM and noise at every eps; the compiled
noise-and-vote of the smoothing certificate counts every copy, is reproducible, and agrees with a NumPy vote."""

import numpy as np
import pytest

from advcore import defences, evaluate, landscape
from advcore.attacks.base import logits_of
from advcore.data import Split
from advcore.errors import AdvcoreError

EPS = (0.0, 0.02, 0.05, 0.1, 0.2, 0.3)


def test_direction_curves_equal_fgsm_and_noise_run_at_every_eps(untrained_model, random_batch):
    x = random_batch[0][:32]
    y = logits_of(untrained_model, x).argmax(1)  # labels the model gets right, so the curves fall from 1
    y[::4] = (y[::4] + 1) % 10  # ... and some it gets wrong (FGSM keeps those clean images: still wrong)
    split = Split("random", "test", x, y, tuple(str(c) for c in range(10)), "random", False)
    table = evaluate.sweep_attacks({"m": untrained_model}, split, ["fgsm", "noise"], EPS, n=len(x))
    fast = landscape.direction_curves(untrained_model, x, y, EPS)
    for attack in ("fgsm", "noise"):
        np.testing.assert_array_equal(fast[attack], table[table.attack == attack].robust_accuracy.to_numpy())
    assert fast["fgsm"][0] == pytest.approx(0.75) and fast["fgsm"][-1] < fast["fgsm"][0]


def test_noise_counts_count_every_copy_and_are_reproducible(untrained_model, random_batch):
    x = random_batch[0][:5]
    counts = defences.noise_counts(untrained_model, x, 0.25, 37, batch=16, seed=3)
    assert counts.shape == (5, 10) and counts.dtype == np.int64
    assert np.all(counts.sum(axis=1) == 37)
    np.testing.assert_array_equal(counts, defences.noise_counts(untrained_model, x, 0.25, 37, batch=16, seed=3))
    assert not np.array_equal(counts, defences.noise_counts(untrained_model, x, 0.25, 37, batch=16, seed=4))
    assert defences.noise_counts(untrained_model, x[:0], 0.25, 10).shape[0] == 0
    with pytest.raises(AdvcoreError):
        defences.noise_counts(untrained_model, x, 0.25, 0)


def test_noise_counts_agree_with_a_numpy_vote_in_distribution(untrained_model, random_batch):
    """The compiled vote and a NumPy one (fresh Gaussian noise, the model's compiled forward pass, argmax,
    bincount) estimate the same class shares: within 5 standard errors on 2,000 copies of each image."""
    x = random_batch[0][:3]
    n = 2000
    ours = defences.noise_counts(untrained_model, x, 0.5, n, batch=1000, seed=0) / n
    rng = np.random.default_rng(1)
    ref = np.stack([np.bincount(logits_of(untrained_model, xi[None] + rng.normal(0, 0.5, (n, *xi.shape)).astype(
        np.float32)).argmax(1), minlength=10) for xi in x]) / n
    se = np.sqrt(np.maximum(ref * (1 - ref), 1 / n) / n) * np.sqrt(2)
    assert np.all(np.abs(ours - ref) <= 5 * se), (ours, ref)


def test_certify_uses_the_compiled_vote_and_abstains_on_a_coin_toss():
    """A linear model reading class 1 when the pixel sum exceeds 2: a black image is far from its boundary
    (certified), a grey one (sum exactly 2) sits on it, so the noisy vote is a coin toss (abstain)."""
    import keras
    model = keras.Sequential([keras.Input((2, 2, 1)), keras.layers.Flatten(), keras.layers.Dense(2)])
    model.layers[-1].set_weights([np.array([[0, 1]] * 4, np.float32), np.array([0, -2], np.float32)])
    x = np.stack([np.zeros((2, 2, 1), np.float32), np.full((2, 2, 1), 0.5, np.float32)])
    cert = defences.certify(model, x, sigma=0.25, n0=50, n=400, alpha=0.001, batch=128)
    assert cert.pred[0] == 0 and cert.radius[0] > 0.5  # far from the boundary (sum 0 < 2)
    assert cert.pred[1] == defences.ABSTAIN and cert.radius[1] == 0  # on it (sum of 4 x 0.5 = 2)
