"""The one description of every attack: name, family, norms, parameters, paper.

The CLI and the dashboard build their controls from ``ATTACKS``; nothing else
lists the attacks. ``run`` validates parameters against the description (ranges
bound heavy requests, so one person cannot hold a shared server).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ..errors import AdvcoreError
from ..i18n import N_, _
from ..params import Param, check_params, lookup

MAX_STEPS = 1000
MAX_RESTARTS = 20


@dataclass(frozen=True)
class AttackSpec:
    """Registry entry: ``fn(model, x, y, **params) -> AttackResult``."""

    name: str
    title: str
    family: str
    norms: tuple[str, ...]
    params: tuple[Param, ...]
    paper: str
    fn: Callable = field(repr=False, compare=False)
    iterative: bool = True
    targeted: bool = True
    summary: str = ""
    order: int = 50  # position in menus (lower first)

    def param(self, name: str) -> Param:
        return next(p for p in self.params if p.name == name)

    def defaults(self) -> dict:
        return {p.name: p.default for p in self.params}


ATTACKS: dict[str, AttackSpec] = {}


def register(spec: AttackSpec) -> AttackSpec:
    """Add an attack; ATTACKS stays sorted by ``order`` so menus list them sensibly."""
    ATTACKS[spec.name] = spec
    ordered = sorted(ATTACKS.values(), key=lambda s: (s.order, s.name))
    ATTACKS.clear()
    ATTACKS.update((s.name, s) for s in ordered)
    return spec


def get(name: str) -> AttackSpec:
    return lookup(ATTACKS, name, "attack")


def validate(name: str, params: dict) -> dict:
    """Fill defaults and check every parameter of attack ``name``; unknown names are refused."""
    spec = get(name)
    checked = check_params(name, spec.params, params, frozenset({"target"}))
    if "target" in params and params["target"] is not None:
        if not spec.targeted:
            raise AdvcoreError(_("{name} has no targeted mode", name=name))
        checked["target"] = params["target"]
    return checked


def accepted(name: str, params: dict) -> dict:
    """The subset of ``params`` that attack ``name`` takes (for running several attacks alike)."""
    names = {p.name for p in get(name).params} | ({"target"} if get(name).targeted else set())
    return {k: v for k, v in params.items() if k in names}


def run(name: str, model, x, y, **params):
    """Validate ``params`` against the registry, then run the attack (bad input: AdvcoreError)."""
    return get(name).fn(model, x, y, **validate(name, params))


# Parameters shared by several attacks (one definition each).
EPS = Param("eps", "float", 0.1, 0.0, 64.0, N_("pixel units ([0,1] scale)"),
            N_("perturbation budget: the largest allowed norm of x_adv - x (at most 1 for linf)"),
            per_example=True)
# Slider ranges people find useful, per norm (pixel units).
EPS_UI_MAX = {"linf": 0.5, "l2": 8.0}
NORM = Param("norm", "choice", "linf", unit="", help=N_("norm of the budget"), choices=("linf", "l2"))
STEPS = Param("steps", "int", 20, 1, MAX_STEPS, N_("iterations"), N_("number of gradient steps"))
STEP_SIZE = Param("step_size", "float", None, 0.0, 10.0, N_("pixel units per step"),
                  N_("step length alpha; empty = 2.5 * eps / steps (Madry et al. 2018)"))
RESTARTS = Param("restarts", "int", 1, 1, MAX_RESTARTS, N_("runs"),
                 N_("random restarts; the strongest result per example is kept"))
RANDOM_START = Param("random_start", "bool", True, help=N_("start from a uniform point in the eps-ball"))
SEED = Param("seed", "int", 0, 0, 2**31 - 1, "", N_("random seed (same seed, same result)"))
DECAY = Param("decay", "float", 1.0, 0.0, 10.0, "", N_("momentum decay factor mu (Dong et al. 2018)"))
TRACE = Param("trace", "bool", False, help=N_("record loss, true-class probability and prediction per step"))
