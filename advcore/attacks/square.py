"""Square Attack (Linf): a score-based black-box attack that needs no gradients.

Andriushchenko, Croce, Flammarion & Hein 2020, "Square Attack: a query-efficient
black-box adversarial attack via random search" (ECCV). Start from vertical stripes
of +/-eps; at each query change one random square window to a random +/-eps per
channel and keep it if the margin loss (true logit minus the best other) falls. The
square's side shrinks on the paper's schedule. If a model resists PGD but falls to
Square, its gradients were hiding the way (gradient masking).
"""

from __future__ import annotations

import numpy as np

from ..i18n import N_
from .base import AttackResult, as_inputs, check_budget, eps_param, logits_of, per_example
from .registry import EPS, SEED, AttackSpec, Param, register


def _margin(logits: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Z_y - max_{i != y} Z_i per example: negative once the example is misclassified."""
    rows = np.arange(len(y))
    true = logits[rows, y]
    other = logits.copy()
    other[rows, y] = -np.inf
    return true - other.max(axis=1)


def _p_schedule(p_init: float, query: int, queries: int) -> float:
    """Fraction of pixels in the square after ``query`` queries (the paper's halvings,
    rescaled to a budget of ``queries`` as in the authors' code)."""
    q = int(query / queries * 10000)
    for limit, divisor in ((10, 1), (50, 2), (200, 4), (500, 8), (1000, 16), (2000, 32), (4000, 64),
                           (6000, 128), (8000, 256)):
        if q <= limit:
            return p_init / divisor
    return p_init / 512


def square(model, x, y, *, eps, queries: int = 1000, p_init: float = 0.8, seed: int = 0) -> AttackResult:
    """Square Attack, Linf, untargeted.

    eps: budget in pixel units; queries: model evaluations per example (the budget);
    p_init: initial fraction of the image a square covers; seed: random seed.
    info['queries'] is the number of queries each example needed (the budget where it held).
    """
    check_budget(eps, "linf")
    x, y, _ = as_inputs(x, y, None)
    rng = np.random.default_rng(seed)
    n, h, w, c = x.shape
    e = per_example(eps, n)
    clean = logits_of(model, x)
    stripes = rng.choice([-1.0, 1.0], size=(n, 1, w, c)).astype(np.float32)
    x_adv = np.clip(x + e * stripes, 0.0, 1.0)
    margin = _margin(logits_of(model, x_adv), y)
    used = np.ones(n, np.int64)
    for query in range(1, int(queries)):
        active = np.flatnonzero(margin > 0)
        if active.size == 0:
            break
        side = int(round(np.sqrt(_p_schedule(p_init, query, queries) * h * w)))
        side = min(max(side, 1), h - 1)
        top, left = rng.integers(0, h - side + 1), rng.integers(0, w - side + 1)
        candidate = x_adv[active].copy()
        window = rng.choice([-1.0, 1.0], size=(active.size, 1, 1, c)).astype(np.float32) * e[active]
        candidate[:, top:top + side, left:left + side, :] = np.clip(
            x[active, top:top + side, left:left + side, :] + window, 0.0, 1.0)
        new_margin = _margin(logits_of(model, candidate), y[active])
        better = new_margin < margin[active]
        x_adv[active[better]] = candidate[better]
        margin[active[better]] = new_margin[better]
        used[active] += 1
    adv = logits_of(model, x_adv)
    return AttackResult(x_adv.astype(np.float32), clean, adv, "square",
                        {"eps": eps_param(eps), "queries": int(queries), "p_init": float(p_init), "seed": seed},
                        info={"queries": used, "mean_queries": float(used.mean())})


register(AttackSpec(
    "square", "Square Attack (black-box)", "black-box", ("linf",),
    (EPS, Param("queries", "int", 1000, 1, 10000, N_("model queries"), N_("query budget per image")),
     Param("p_init", "float", 0.8, 0.01, 1.0, N_("fraction"), N_("initial square size (share of the image)")), SEED),
    "Andriushchenko et al. 2020, Square Attack: a Query-Efficient Black-Box Adversarial Attack via Random Search",
    square, iterative=False, targeted=False, order=70,
    summary=N_("random search with squares of +/-eps using only the model's scores: no gradients at all")))
