"""MI-FGSM: iterative FGSM with a momentum term on L1-normalised gradients.

Dong, Liao, Pang, Su, Zhu, Hu & Li 2018, "Boosting Adversarial Attacks with
Momentum" (CVPR): g_t = mu * g_{t-1} + grad / ||grad||_1, step along sign(g_t).
"""

from ..i18n import N_
from .base import AttackResult, gradient_attack
from .registry import DECAY, EPS, NORM, STEP_SIZE, STEPS, TRACE, AttackSpec, register


def mifgsm(model, x, y, *, eps: float, norm: str = "linf", steps: int = 20, step_size: float | None = None,
           decay: float = 1.0, target=None, trace: bool = False) -> AttackResult:
    """Momentum iterative FGSM.

    eps, step_size: pixel units (step_size None = 2.5 * eps / steps; the paper uses
    eps / steps); decay: momentum factor mu (1.0 in the paper); target: optional.
    """
    params = {"steps": steps, "step_size": step_size, "decay": decay}
    return gradient_attack(model, x, y, name="mifgsm", params=params, eps=eps, norm=norm, steps=steps,
                           step_size=step_size, decay=decay, target=target, trace=trace)


register(AttackSpec(
    "mifgsm", "MI-FGSM", "gradient", ("linf", "l2"), (EPS, NORM, STEPS, STEP_SIZE, DECAY, TRACE),
    "Dong et al. 2018, Boosting Adversarial Attacks with Momentum", mifgsm,
    order=30, summary=N_("iterated FGSM with momentum on the normalised gradient")))
