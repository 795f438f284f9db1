"""FGSM and FGM: one gradient step of size eps.

Goodfellow, Shlens & Szegedy 2015, "Explaining and Harnessing Adversarial
Examples" (ICLR). linf: x_adv = clip(x + eps * sign(grad)); l2 (FGM, Miyato et
al. 2016): x_adv = clip(x + eps * grad / ||grad||_2).
"""

from ..i18n import N_
from .base import AttackResult, gradient_attack
from .registry import EPS, NORM, TRACE, AttackSpec, register


def fgsm(model, x, y, *, eps: float, norm: str = "linf", target=None, trace: bool = False) -> AttackResult:
    """Fast gradient (sign) method.

    model: logits model; x: float32 (N, H, W, C) in [0, 1]; y: int labels (N,);
    eps: budget in pixel units; norm: 'linf' (FGSM) or 'l2' (FGM);
    target: optional target class per example (steps towards it instead).
    """
    return gradient_attack(model, x, y, name="fgsm", params={}, eps=eps, norm=norm, steps=1,
                           step_size=eps, target=target, trace=trace)


register(AttackSpec(
    "fgsm", "FGSM / FGM", "gradient", ("linf", "l2"), (EPS, NORM, TRACE),
    "Goodfellow et al. 2015, Explaining and Harnessing Adversarial Examples", fgsm,
    iterative=False, order=10, summary=N_("one step of size eps along the gradient's sign (linf) or direction (l2)")))
