"""Smoothing certificates against an adaptive attack on the shipped MNIST model: never beaten."""

import numpy as np
import pytest
from scipy.stats import norm

from advcore import attacks, defences, zoo
from advcore.attacks import adaptive

pytestmark = pytest.mark.needs_data

SIGMA = 0.25


def test_an_adaptive_l2_attack_within_the_certified_radius_never_changes_the_vote(mnist_test):
    model = zoo.load("mnist-standard")
    x = mnist_test.x[:10]
    cert = defences.certify(model, x, SIGMA, n0=100, n=500, alpha=0.001, seed=0)
    ok = np.flatnonzero(cert.pred != defences.ABSTAIN)
    assert len(ok) >= 8
    # the strongest attack we have on the smoothed classifier: L2 PGD at eps = each image's radius, through
    # the vote's soft approximation (BPDA) averaged over noise draws (EOT), aimed at the certified class
    attacker = adaptive.attack_model(defences.apply(model, f"smooth:{SIGMA}:8"), "bpda+eot", 4)
    result = attacks.run("pgd", attacker, x[ok], cert.pred[ok], eps=cert.radius[ok], norm="l2", steps=10)
    delta = np.sqrt(((result.x_adv - x[ok]) ** 2).reshape(len(ok), -1).sum(1))
    assert np.all(delta <= cert.radius[ok] + 1e-4) and delta.mean() > 0.5 * cert.radius[ok].mean()
    # Cohen et al. 2019, Lemma: p_A(x + d) >= Phi(Phi^-1(p_A(x)) - ||d|| / sigma) >= 1/2 inside the radius
    promised = norm.cdf(norm.ppf(cert.p_lower[ok]) - delta / SIGMA)
    counts = defences.noise_counts(model, result.x_adv, SIGMA, 500, seed=7)[np.arange(len(ok)), cert.pred[ok]]
    share = counts / 500
    assert np.all(share + 3 * np.sqrt(0.25 / 500) >= promised), (share, promised)
    assert np.all(share + 3 * np.sqrt(0.25 / 500) >= 0.5)
    # the attack did push: the vote share fell on average
    assert share.mean() < (cert.counts[ok] / cert.n).mean()


def test_sweep_sanity_checks_flag_the_naive_evaluation_and_not_the_bpda_one(mnist_test):
    """evaluate.sanity_checks on a sweep of mnist-standard behind bits:3: the naive PGD keeps its accuracy at
    eps 0.5 and loses to black-box Square; the same sweep through BPDA raises neither flag."""
    from advcore import evaluate
    defended = defences.apply(zoo.load("mnist-standard"), "bits:3")
    models = {"naive": defended, "bpda": adaptive.attack_model(defended, "bpda")}
    table = evaluate.sweep_attacks(models, mnist_test, ["pgd", "square"], [0.0, 0.3, 0.5],
                                   {"steps": 20, "queries": 300}, n=40)
    flags = {f.check: f for f in evaluate.sanity_checks(table, large_eps=0.5)}
    assert not flags["large-eps:naive:pgd"].ok and flags["large-eps:bpda:pgd"].ok
    naive = table[(table.model == "naive") & (table.attack == "pgd") & (table.eps == 0.3)].robust_accuracy.item()
    square = table[(table.model == "naive") & (table.attack == "square") & (table.eps == 0.3)].robust_accuracy.item()
    assert naive >= square + 0.3  # Square, with no gradient at all, beats the naive white-box attack
    assert not flags["pgd-vs-square"].ok and "model naive" in flags["pgd-vs-square"].message
