"""Attack properties over random inputs, and strength on a trained model."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from advcore import attacks, metrics
from advcore.attacks.base import logits_of
from advcore.errors import AdvcoreError

from .conftest import accuracy

ALL = sorted(a for a, spec in attacks.ATTACKS.items() if spec.family != "transfer")  # transfer: see below
SLACK = 1e-6


FAST = {"steps": 3, "queries": 20, "search_steps": 2}  # keep expensive attacks short in property tests


def norm_of(x, x_adv, norm):
    return metrics.perturbation_norms(x, x_adv)["linf" if norm == "linf" else "l2"]


def quick_params(name, **params):
    """``params`` plus the short settings, keeping only what attack ``name`` takes."""
    defaults = attacks.ATTACKS[name].defaults()
    return {k: v for k, v in {**FAST, **params}.items() if k in defaults or k == "target"}


def norm_for(name, norm):
    norms = attacks.ATTACKS[name].norms
    return norm if norm in norms else norms[0]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.sampled_from(ALL), norm=st.sampled_from(["linf", "l2"]), eps=st.floats(0, 1) | st.floats(1, 30),
       n=st.integers(1, 3), seed=st.integers(0, 2**16))
def test_perturbation_stays_in_ball_and_image_in_range(untrained_model, name, norm, eps, n, seed):
    norm = norm_for(name, norm)
    eps = min(eps, 1.0) if norm == "linf" else eps
    rng = np.random.default_rng(seed)
    x = rng.random((n, 28, 28, 1), dtype=np.float32)
    y = rng.integers(0, 10, n)
    result = attacks.run(name, untrained_model, x, y, **quick_params(name, eps=eps, norm=norm))
    assert result.x_adv.shape == x.shape and result.x_adv.dtype == np.float32
    assert result.x_adv.min() >= 0 and result.x_adv.max() <= 1
    assert np.all(norm_of(x, result.x_adv, norm) <= eps + SLACK)


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("norm", ["linf", "l2"])
def test_eps_zero_changes_nothing(untrained_model, random_batch, name, norm):
    x, y = random_batch[0][:20], random_batch[1][:20]
    result = attacks.run(name, untrained_model, x, y, **quick_params(name, eps=0.0, norm=norm_for(name, norm)))
    np.testing.assert_array_equal(result.x_adv, x)


@pytest.mark.parametrize("name", ALL)
def test_same_seed_same_result(untrained_model, random_batch, name):
    x, y = random_batch[0][:16], random_batch[1][:16]
    params = quick_params(name, eps=0.2, seed=7)
    first = attacks.run(name, untrained_model, x, y, **params).x_adv
    second = attacks.run(name, untrained_model, x, y, **params).x_adv
    np.testing.assert_array_equal(first, second)


def test_changing_eps_step_and_target_does_not_retrace(untrained_model, random_batch):
    x, y = random_batch[0][:1], random_batch[1][:1]
    compiled = attacks.compiled_for(untrained_model)
    attacks.run("pgd", untrained_model, x, y, eps=0.1, steps=20)
    attacks.run("pgd", untrained_model, x, y, eps=0.1, steps=20, target=[(y[0] + 1) % 10])
    before = compiled.traces
    for eps in (0.05, 0.1, 0.2, 0.3):
        attacks.run("pgd", untrained_model, x, y, eps=eps, steps=20, step_size=eps / 5)
        attacks.run("pgd", untrained_model, x, y, eps=eps, steps=10, target=[(y[0] + 2) % 10])
        attacks.run("bim", untrained_model, x, y, eps=eps, steps=7)
        attacks.run("mifgsm", untrained_model, x, y, eps=eps, decay=0.5)
        attacks.run("fgsm", untrained_model, x, y, eps=eps)
    assert compiled.traces == before
    from advcore.attacks import apgd
    attacks.run("apgd-ce", untrained_model, x, y, eps=0.1, steps=20)
    apgd_traces = apgd._compiled_for(untrained_model).traces
    for eps in (0.05, 0.2):
        attacks.run("apgd-ce", untrained_model, x, y, eps=eps, steps=20)
        attacks.run("apgd-ce", untrained_model, x, y, eps=eps, steps=30)
    assert apgd._compiled_for(untrained_model).traces == apgd_traces


def test_accuracy_falls_monotonically_with_eps(tiny_model, batch):
    x, y = batch
    values = [accuracy(tiny_model, attacks.run("pgd", tiny_model, x, y, eps=e, steps=20).x_adv, y)
              for e in (0.0, 0.05, 0.1, 0.15, 0.2, 0.3)]
    assert values[0] > 0.9
    assert all(b <= a + 0.005 for a, b in zip(values, values[1:])), values
    assert values[-1] < 0.05, values


@pytest.mark.parametrize("norm,eps", [("linf", 0.1), ("l2", 1.5)])
def test_iterative_attacks_at_least_as_strong_as_fgsm(tiny_model, batch, norm, eps):
    x, y = batch
    fgsm = accuracy(tiny_model, attacks.run("fgsm", tiny_model, x, y, eps=eps, norm=norm).x_adv, y)
    for name in ("pgd", "bim", "mifgsm", "apgd-ce", "apgd-dlr"):
        acc = accuracy(tiny_model, attacks.run(name, tiny_model, x, y, eps=eps, norm=norm, steps=20).x_adv, y)
        assert acc <= fgsm + 0.01, (name, acc, fgsm)


def test_pgd_at_eps_03_breaks_a_standard_model(tiny_model, batch):
    x, y = batch
    assert accuracy(tiny_model, attacks.run("pgd", tiny_model, x, y, eps=0.3, steps=40).x_adv, y) < 0.05


def test_restarts_never_weaker(tiny_model, batch):
    x, y = batch
    one = attacks.run("pgd", tiny_model, x, y, eps=0.05, steps=10, restarts=1)
    three = attacks.run("pgd", tiny_model, x, y, eps=0.05, steps=10, restarts=3)
    ok_one = one.adv_pred != y
    ok_three = three.adv_pred != y
    assert np.all(ok_three[ok_one])  # an example broken by restart 0 stays broken


@pytest.mark.parametrize("name", ["fgsm", "bim", "pgd", "mifgsm", "apgd-ce", "apgd-dlr"])
def test_targeted_attacks_hit_their_target(tiny_model, batch, name):
    x, y = batch[0][:200], batch[1][:200]
    target = (y + 1) % 10
    result = attacks.run(name, tiny_model, x, y, eps=0.3, target=target, **({} if name == "fgsm" else {"steps": 30}))
    hit = float((result.adv_pred == target).mean())
    assert hit > (0.3 if name == "fgsm" else 0.8), hit


def test_random_noise_barely_moves_accuracy(tiny_model, batch):
    x, y = batch
    clean = accuracy(tiny_model, x, y)
    noisy = accuracy(tiny_model, attacks.run("noise", tiny_model, x, y, eps=0.1).x_adv, y)
    pgd = accuracy(tiny_model, attacks.run("pgd", tiny_model, x, y, eps=0.1, steps=20).x_adv, y)
    assert clean - noisy < 0.05 and pgd < noisy - 0.3, (clean, noisy, pgd)


def test_trace_records_every_step(tiny_model, batch):
    x, y = batch[0][:3], batch[1][:3]
    result = attacks.run("pgd", tiny_model, x, y, eps=0.3, steps=12, trace=True)
    assert result.trace.loss.shape == (13, 3) and result.trace.pred.shape == (13, 3)
    assert np.all((result.trace.true_prob >= 0) & (result.trace.true_prob <= 1))
    assert result.trace.loss[-1].mean() > result.trace.loss[0].mean()


def test_results_carry_clean_and_adversarial_logits(untrained_model, random_batch):
    x, y = random_batch[0][:10], random_batch[1][:10]
    result = attacks.run("pgd", untrained_model, x, y, eps=0.1)
    np.testing.assert_allclose(result.clean_logits, logits_of(untrained_model, x), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(result.adv_logits, logits_of(untrained_model, result.x_adv), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("params,message", [
    ({"eps": -0.1}, "eps"), ({"eps": float("nan")}, "eps"), ({"eps": 1.5}, "eps"), ({"eps": 70, "norm": "l2"}, "eps"),
    ({"eps": 0.1, "steps": 0}, "steps"), ({"eps": 0.1, "steps": 10**9}, "steps"),
    ({"eps": 0.1, "norm": "l3"}, "norm"), ({"eps": 0.1, "bogus": 1}, "bogus"),
    ({"eps": 0.1, "restarts": "many"}, "restarts"),
])
def test_bad_parameters_are_refused_clearly(untrained_model, random_batch, params, message):
    with pytest.raises(AdvcoreError, match=message):
        attacks.run("pgd", untrained_model, random_batch[0][:2], random_batch[1][:2], **params)


def test_target_equal_to_true_class_is_refused(untrained_model, random_batch):
    with pytest.raises(AdvcoreError, match="different from the true class"):
        x, y = random_batch[0][:2], random_batch[1][:2]
        attacks.run("pgd", untrained_model, x, y, eps=0.1, target=y)


def test_registry_describes_every_parameter():
    for spec in attacks.ATTACKS.values():
        assert spec.paper and spec.norms and spec.title
        assert spec.params[0].name == "eps"
        for p in spec.params:
            assert p.kind in ("float", "int", "bool", "choice", "model") and p.help


@pytest.mark.parametrize("name", ["pgd", "fgsm", "noise"])
def test_per_example_eps_matches_separate_runs(untrained_model, random_batch, name):
    x, y = random_batch[0][:4], random_batch[1][:4]
    eps = np.array([0.0, 0.05, 0.1, 0.3], np.float32)
    extra = {"random_start": False} if name == "pgd" else {}  # random starts are drawn per random_batch
    together = attacks.run(name, untrained_model, x, y, eps=eps, **extra)
    norms = metrics.perturbation_norms(x, together.x_adv)["linf"]
    assert np.all(norms <= eps + SLACK) and norms[0] == 0
    for i, e in enumerate(eps):
        alone = attacks.run(name, untrained_model, x[i:i + 1], y[i:i + 1], eps=float(e), **extra)
        if name != "noise":  # noise draws its signs for the whole random_batch at once
            np.testing.assert_allclose(alone.x_adv[0], together.x_adv[i], atol=1e-5)


def test_apgd_checkpoints_follow_the_paper():
    from advcore.attacks.apgd import checkpoints
    assert list(np.flatnonzero(checkpoints(100))) == [22, 41, 57, 70, 80, 87, 93, 99]


def test_dlr_loss_is_invariant_to_logit_scale_and_shift():
    import tensorflow as tf

    from advcore.attacks.apgd import dlr_loss
    logits = tf.constant([[3.0, 1.0, 0.5, -1.0, 2.0]])
    y = tf.constant([0])
    base = dlr_loss(logits, y, None).numpy()
    np.testing.assert_allclose(dlr_loss(logits * 7 + 3, y, None).numpy(), base, rtol=1e-5)
    np.testing.assert_allclose(base, -(3.0 - 2.0) / (3.0 - 1.0), rtol=1e-6)


def test_minimal_attacks_report_the_norm_they_needed(tiny_model, batch):
    x, y = batch[0][:100], batch[1][:100]
    for name in ("deepfool", "cw-l2"):
        free = attacks.run(name, tiny_model, x, y, **quick_params(name, steps=50, search_steps=4))
        found = np.isfinite(free.info["min_norm"])
        assert found.mean() > 0.9, name
        assert np.all(free.adv_pred[found] != y[found]), name  # without a ceiling every found point is adversarial
        ceiling = float(np.median(free.info["min_norm"][found]))
        capped = attacks.run(name, tiny_model, x, y, **quick_params(name, eps=ceiling, steps=50, search_steps=4))
        assert np.all(metrics.perturbation_norms(x, capped.x_adv)["l2"] <= ceiling + 1e-5)
        assert 0.3 < (capped.adv_pred != y).mean() < 0.8  # about half need more than the median


def test_cw_finds_smaller_perturbations_than_deepfool(tiny_model, batch):
    x, y = batch[0][:100], batch[1][:100]
    df = attacks.run("deepfool", tiny_model, x, y).info["min_norm"]
    cw = attacks.run("cw-l2", tiny_model, x, y).info["min_norm"]
    both = np.isfinite(df) & np.isfinite(cw)
    assert np.median(cw[both]) <= np.median(df[both]) * 1.05


def test_square_attack_is_a_real_black_box_attack(tiny_model, batch):
    x, y = batch
    result = attacks.run("square", tiny_model, x, y, eps=0.2, queries=300)
    assert accuracy(tiny_model, result.x_adv, y) < accuracy(tiny_model, attacks.run(
        "noise", tiny_model, x, y, eps=0.2).x_adv, y) - 0.3
    assert 1 <= result.info["queries"].min() and result.info["queries"].max() <= 300


def test_transfer_attack_crafts_on_the_source(tiny_zoo, batch, monkeypatch):
    from advcore import evaluate, zoo
    monkeypatch.setenv(zoo.MODELS_DIR_ENV, str(tiny_zoo))
    zoo.forget()
    x, y = batch[0][:200], batch[1][:200]
    source = zoo.load("tiny-mnist")
    result = attacks.run("transfer", source, x, y, eps=0.2, source=source, steps=10)  # attacks take models
    direct = attacks.run("pgd", source, x, y, eps=0.2, steps=10)
    np.testing.assert_allclose(result.x_adv, direct.x_adv)  # same model: transfer is plain white-box PGD
    by_id = evaluate.run_attack("transfer", source, x, y, eps=0.2, source="tiny-mnist", steps=10)  # caller loads
    np.testing.assert_allclose(by_id.x_adv, direct.x_adv)
    assert by_id.params["source"] == "tiny-mnist"
    with pytest.raises(AdvcoreError, match="source"):
        attacks.run("transfer", source, x, y, eps=0.2)
    with pytest.raises(AdvcoreError, match="source model itself"):
        attacks.run("transfer", source, x, y, eps=0.2, source="tiny-mnist")
    for run in (attacks.run, evaluate.run_attack):
        with pytest.raises(AdvcoreError):
            run("transfer", source, x, y, eps=0.2, source="../../etc/passwd")
    zoo.forget()


# PGD's random start (Madry et al. 2018): a uniform point of the eps-ball. tests/test_crosscheck.py hands our
# start to Foolbox and compares the two PGDs from it image by image; these tests check the start's law.
START_N = 4000  # samples per law
P_MIN = 1e-3  # fixed seeds, so each p-value is one fixed number; a wrong law gives p-values like 1e-100


IMAGE_SHAPES = {3: (1, 1, 3), 784: (28, 28, 1)}  # dimension d: a one-pixel RGB image, an MNIST image


def random_starts(norm: str, d: int, seed=(0, 0)):
    """START_N perturbations from ``norms.random_start`` for images of d values (IMAGE_SHAPES), each with its
    own eps as the attack loop passes them ((n, 1, 1, 1), between 0.5 and 3): (n, d) float64 and eps (n,)."""
    import tensorflow as tf

    from advcore.attacks import norms
    eps = np.random.default_rng(1).uniform(0.5, 3.0, START_N)
    delta = norms.random_start(tf.constant([START_N, *IMAGE_SHAPES[d]]),
                               tf.constant(eps.reshape(-1, 1, 1, 1), tf.float32), norm, tf.constant(seed, tf.int32))
    return delta.numpy().reshape(START_N, d).astype(np.float64), eps.astype(np.float32).astype(np.float64)


def assert_second_moments(v, scale):
    """E[v v^T] = I / scale, entry by entry within 6 standard errors of a mean of START_N terms (each entry's
    standard deviation, scaled by ``scale``, is at most sqrt(2) for the laws here)."""
    moments = scale * (v.T @ v) / len(v)
    assert np.abs(moments - np.eye(v.shape[1])).max() <= 6 * np.sqrt(2 / len(v))


def assert_deterministic_per_seed(norm, d, first):
    """The same seed gives the same points (stateless random ops); another restart's seed other points."""
    np.testing.assert_array_equal(random_starts(norm, d)[0], first)
    assert not np.any(np.all(random_starts(norm, d, seed=(0, 1))[0] == first, axis=1))


@pytest.mark.parametrize("d", [3, 784])
def test_l2_random_start_is_uniform_in_the_ball(d):
    """A uniform point of the L2 eps-ball is a uniform direction times a radius r with P(r <= t eps) = t^d
    (the volume of the t-ball), so (r / eps)^d ~ U(0, 1): a Kolmogorov-Smirnov test. The directions u: no mean
    (Rayleigh test: d n |mean u|^2 ~ chi2(d)), E[u u^T] = I / d, and in d = 3 each coordinate of u is U(-1, 1)
    (Archimedes). Every point inside its ball; the same seed, the same points. d = 3 shows the radius law
    plainly (a radius eps * u instead of eps * u^(1/d) fails there and at d = 784, MNIST's dimension)."""
    from scipy import stats
    delta, eps = random_starts("l2", d)
    r = np.linalg.norm(delta, axis=1)
    assert np.all(r <= eps * (1 + 1e-6))
    radius_p = stats.kstest((r / eps) ** d, "uniform").pvalue
    u = delta / r[:, None]
    rayleigh_p = stats.chi2.sf(d * START_N * np.sum(u.mean(axis=0) ** 2), d)
    print(f"L2 start, d {d}: radius law KS p {radius_p:.3g}, Rayleigh p {rayleigh_p:.3g}")
    assert radius_p > P_MIN, "the radius law"
    assert rayleigh_p > P_MIN, "a mean direction"
    assert_second_moments(u, d)
    if d == 3:
        assert min(stats.kstest(u[:, i], "uniform", args=(-1, 2)).pvalue for i in range(d)) > P_MIN
    assert_deterministic_per_seed("l2", d, delta)


@pytest.mark.parametrize("d", [3, 784])
def test_linf_random_start_is_uniform_in_the_cube(d):
    """A uniform point of the linf eps-ball (the cube) has independent U(-eps, eps) coordinates: every point
    inside, all coordinates / eps together U(-1, 1) (Kolmogorov-Smirnov) and, each, mean 0 and E[c c^T] = I / 3
    (uncorrelated, the same spread); in d = 3 each coordinate's own KS test. The same seed, the same points."""
    from scipy import stats
    delta, eps = random_starts("linf", d)
    c = delta / eps[:, None]
    assert np.all(np.abs(c) <= 1 + 1e-6)
    pooled_p = stats.kstest(c.ravel(), "uniform", args=(-1, 2)).pvalue
    print(f"linf start, d {d}: coordinates KS p {pooled_p:.3g}")
    assert pooled_p > P_MIN
    assert np.abs(c.mean(axis=0)).max() <= 6 * np.sqrt(1 / 3 / START_N)
    assert_second_moments(c, 3)
    if d == 3:
        assert min(stats.kstest(c[:, i], "uniform", args=(-1, 2)).pvalue for i in range(d)) > P_MIN
    assert_deterministic_per_seed("linf", d, delta)
