"""Transfer attack: craft adversarial examples on a source model, evaluate them on the target.

Papernot, McDaniel & Goodfellow 2016, "Transferability in Machine Learning: from
Phenomena to Black-Box Attacks using Adversarial Samples". The target's gradients
are never used, so a defence that only hides its own gradients does not stop it.
"""

from __future__ import annotations

from .base import AttackResult, logits_of
from .registry import EPS, NORM, SEED, STEPS, AttackSpec, Param, register, run


def transfer(model, x, y, *, eps, source: str, norm: str = "linf", steps: int = 20, seed: int = 0,
             target=None) -> AttackResult:
    """PGD on the ``source`` model (a zoo id), evaluated on ``model``.

    eps: budget in pixel units; steps: PGD steps on the source; target: optional class.
    """
    from .. import zoo
    from ..errors import AdvcoreError
    if not source:
        raise AdvcoreError("the transfer attack needs a source model (--source ID)")
    source_model = zoo.load(source)
    crafted = run("pgd", source_model, x, y, eps=eps, norm=norm, steps=steps, seed=seed, target=target)
    params = dict(crafted.params, source=source)
    return AttackResult(crafted.x_adv, logits_of(model, x), logits_of(model, crafted.x_adv),
                        "transfer", params, info={"source_accuracy": float((crafted.adv_pred == y).mean())})


register(AttackSpec(
    "transfer", "Transfer from another model", "transfer", ("linf", "l2"),
    (EPS, NORM, STEPS, SEED, Param("source", "model", None, help="model whose gradients craft the examples")),
    "Papernot et al. 2016, Transferability in Machine Learning", transfer, iterative=False, order=80,
    summary="PGD on a source model, tried on this one: no access to this model's gradients"))
