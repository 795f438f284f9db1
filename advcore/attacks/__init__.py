"""Gradient attacks, one module per family, described by one registry.

Every attack is ``fn(model, x, y, *, eps, ...) -> AttackResult``; see
``registry.ATTACKS`` for the parameters of each.
"""

from . import apgd, bim, fgsm, mifgsm, minimal, noise, pgd, square, transfer  # noqa: F401  (registers the attacks)
from .base import AttackResult, Trace, compiled_for
from .registry import ATTACKS, AttackSpec, Param, accepted, get, run, validate

__all__ = ["ATTACKS", "accepted", "AttackResult", "AttackSpec", "Param", "Trace", "compiled_for", "get", "run",
           "validate"]
