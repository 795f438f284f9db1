"""BIM / I-FGSM: FGSM repeated with a small step, projected back into the eps-ball.

Kurakin, Goodfellow & Bengio 2016, "Adversarial examples in the physical world".
No random start; the iterate starts at the clean image.
"""

from ..i18n import N_
from .base import AttackResult, gradient_attack
from .registry import EPS, NORM, STEP_SIZE, STEPS, TRACE, AttackSpec, register


def bim(model, x, y, *, eps: float, norm: str = "linf", steps: int = 20, step_size: float | None = None,
        target=None, trace: bool = False) -> AttackResult:
    """Basic iterative method.

    eps, step_size: pixel units (step_size None = 2.5 * eps / steps); steps: iterations;
    target: optional target class per example.
    """
    return gradient_attack(model, x, y, name="bim", params={"steps": steps, "step_size": step_size},
                           eps=eps, norm=norm, steps=steps, step_size=step_size, target=target, trace=trace)


register(AttackSpec(
    "bim", "BIM / I-FGSM", "gradient", ("linf", "l2"), (EPS, NORM, STEPS, STEP_SIZE, TRACE),
    "Kurakin et al. 2016, Adversarial Examples in the Physical World", bim,
    order=20, summary=N_("iterated FGSM from the clean image, projected into the eps-ball")))
