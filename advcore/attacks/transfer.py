"""Transfer attack: craft adversarial examples on a source model, evaluate them on the target.

Papernot, McDaniel & Goodfellow 2016, "Transferability in Machine Learning: from
Phenomena to Black-Box Attacks using Adversarial Samples". The target's gradients
are never used, so a defence that only hides its own gradients does not stop it.
"""

from __future__ import annotations

from ..errors import AdvcoreError
from ..i18n import N_, _
from .base import AttackResult, logits_of
from .registry import EPS, NORM, SEED, STEPS, AttackSpec, Param, register, run


def transfer(model, x, y, *, eps, source, norm: str = "linf", steps: int = 20, seed: int = 0,
             target=None) -> AttackResult:
    """PGD on the ``source`` model (the model itself: a caller holding a zoo id loads it, e.g. with
    ``advcore.evaluate.with_models``), evaluated on ``model``.

    eps: budget in pixel units; steps: PGD steps on the source; target: optional class.
    """
    if source is None:
        raise AdvcoreError(_("the transfer attack needs a source model (--source ID)"))
    if isinstance(source, str):
        raise AdvcoreError(_("the transfer attack takes the source model itself, not its id {source!r}: "
                              "load it first (advcore.evaluate.with_models)", source=source))
    crafted = run("pgd", source, x, y, eps=eps, norm=norm, steps=steps, seed=seed, target=target)
    params = dict(crafted.params, source=getattr(source, "name", "source model"))
    return AttackResult(crafted.x_adv, logits_of(model, x), logits_of(model, crafted.x_adv),
                        "transfer", params, info={"source_accuracy": float((crafted.adv_pred == y).mean())})


register(AttackSpec(
    "transfer", "Transfer from another model", "transfer", ("linf", "l2"),
    (EPS, NORM, STEPS, SEED, Param("source", "model", None, help=N_("model whose gradients craft the examples"))),
    "Papernot et al. 2016, Transferability in Machine Learning", transfer, iterative=False, order=80,
    summary=N_("PGD on a source model, tried on this one: no access to this model's gradients")))
