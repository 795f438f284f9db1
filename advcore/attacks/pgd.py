"""PGD: projected gradient descent from a random start, with restarts.

Madry, Makelov, Schmidt, Tsipras & Vladu 2018, "Towards Deep Learning Models
Resistant to Adversarial Attacks" (ICLR). Linf and L2; each restart starts from
a fresh random point and the strongest result per example is kept.
"""

from ..i18n import N_
from .base import AttackResult, gradient_attack
from .registry import EPS, NORM, RANDOM_START, RESTARTS, SEED, STEP_SIZE, STEPS, TRACE, AttackSpec, register


def pgd(model, x, y, *, eps: float, norm: str = "linf", steps: int = 20, step_size: float | None = None,
        restarts: int = 1, random_start: bool = True, seed: int = 0, target=None,
        trace: bool = False) -> AttackResult:
    """Projected gradient descent.

    eps, step_size: pixel units (step_size None = 2.5 * eps / steps); steps: iterations
    per restart; restarts: independent random starts; seed: makes the random starts
    reproducible; target: optional target class per example.
    """
    params = {"steps": steps, "step_size": step_size, "restarts": restarts,
              "random_start": random_start, "seed": seed}
    return gradient_attack(model, x, y, name="pgd", params=params, eps=eps, norm=norm, steps=steps,
                           step_size=step_size, random_start=random_start, restarts=restarts,
                           target=target, seed=seed, trace=trace)


register(AttackSpec(
    "pgd", "PGD", "gradient", ("linf", "l2"),
    (EPS, NORM, STEPS, STEP_SIZE, RESTARTS, RANDOM_START, SEED, TRACE),
    "Madry et al. 2018, Towards Deep Learning Models Resistant to Adversarial Attacks", pgd,
    order=5, summary=N_("iterated steps from a random start in the eps-ball; the strongest restart wins")))
