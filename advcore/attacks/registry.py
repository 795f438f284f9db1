"""The one description of every attack: name, family, norms, parameters, paper.

The CLI and the dashboard build their controls from ``ATTACKS``; nothing else
lists the attacks. ``run`` validates parameters against the description (ranges
bound heavy requests, so one person cannot hold a shared server).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import AdvcoreError

MAX_STEPS = 1000
MAX_RESTARTS = 20


@dataclass(frozen=True)
class Param:
    """One attack parameter: kind is 'float', 'int', 'bool', 'choice' or 'model' (a zoo id of the
    same data set); unit is for people."""

    name: str
    kind: str
    default: Any
    low: float | None = None
    high: float | None = None
    unit: str = ""
    help: str = ""
    choices: tuple = ()
    per_example: bool = False  # may also be given as one value per example (eps)

    def check(self, value: Any) -> Any:
        """Convert and range-check a value; AdvcoreError with a readable message if bad."""
        if value is None and self.default is None:
            return None
        if self.per_example and np.ndim(value) > 0:
            return np.asarray([self.check(v) for v in np.ravel(value)], np.float32)
        try:
            if self.kind == "bool":
                if isinstance(value, str):
                    if value.lower() not in ("true", "false", "1", "0", "yes", "no"):
                        raise ValueError
                    return value.lower() in ("true", "1", "yes")
                return bool(value)
            if self.kind == "choice":
                if value not in self.choices:
                    raise ValueError
                return value
            if self.kind == "model":
                from ..zoo import check_id
                return check_id(value)
            number = float(value)
            if self.kind == "int":
                if not math.isfinite(number) or number != int(number):
                    raise ValueError
                number = int(number)
        except (TypeError, ValueError):
            raise AdvcoreError(f"{self.name}: {value!r} is not a valid {self.describe()}") from None
        if not math.isfinite(number) or (self.low is not None and number < self.low) or (
                self.high is not None and number > self.high):
            raise AdvcoreError(f"{self.name} must be in [{self.low}, {self.high}]"
                               f"{' ' + self.unit if self.unit else ''}, got {value}")
        return number

    def describe(self) -> str:
        if self.kind == "choice":
            return "choice of " + "|".join(map(str, self.choices))
        if self.kind == "bool":
            return "true/false"
        if self.kind == "model":
            return "model id"
        return f"{self.kind} in [{self.low}, {self.high}]"


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


def lookup(table: dict, name: str, kind: str):
    """``table[name]``, or an AdvcoreError naming the choices (``kind``: 'attack', 'defence')."""
    if name not in table:
        raise AdvcoreError(f"unknown {kind} {name!r}; choose one of: {', '.join(table)}")
    return table[name]


def check_params(owner: str, params: tuple[Param, ...], given: dict, extra: frozenset = frozenset()) -> dict:
    """Every parameter of ``params`` from ``given`` or its default, range-checked; a name in ``given`` that
    is neither a parameter nor in ``extra`` is refused, naming ``owner`` and what it takes."""
    known = {p.name for p in params}
    unknown = set(given) - known - extra
    if unknown:
        raise AdvcoreError(f"{owner} has no parameter(s) {', '.join(sorted(unknown))}; "
                           f"it takes: {', '.join(sorted(known)) or 'none'}")
    return {p.name: p.check(given.get(p.name, p.default)) for p in params}


def get(name: str) -> AttackSpec:
    return lookup(ATTACKS, name, "attack")


def validate(name: str, params: dict) -> dict:
    """Fill defaults and check every parameter of attack ``name``; unknown names are refused."""
    spec = get(name)
    checked = check_params(name, spec.params, params, frozenset({"target"}))
    if "target" in params and params["target"] is not None:
        if not spec.targeted:
            raise AdvcoreError(f"{name} has no targeted mode")
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
EPS = Param("eps", "float", 0.1, 0.0, 64.0, "pixel units ([0,1] scale)",
            "perturbation budget: the largest allowed norm of x_adv - x (at most 1 for linf)",
            per_example=True)
# Slider ranges people find useful, per norm (pixel units).
EPS_UI_MAX = {"linf": 0.5, "l2": 8.0}
NORM = Param("norm", "choice", "linf", unit="", help="norm of the budget", choices=("linf", "l2"))
STEPS = Param("steps", "int", 20, 1, MAX_STEPS, "iterations", "number of gradient steps")
STEP_SIZE = Param("step_size", "float", None, 0.0, 10.0, "pixel units per step",
                  "step length alpha; empty = 2.5 * eps / steps (Madry et al. 2018)")
RESTARTS = Param("restarts", "int", 1, 1, MAX_RESTARTS, "runs",
                 "random restarts; the strongest result per example is kept")
RANDOM_START = Param("random_start", "bool", True, help="start from a uniform point in the eps-ball")
SEED = Param("seed", "int", 0, 0, 2**31 - 1, "", "random seed (same seed, same result)")
DECAY = Param("decay", "float", 1.0, 0.0, 10.0, "", "momentum decay factor mu (Dong et al. 2018)")
TRACE = Param("trace", "bool", False, help="record loss, true-class probability and prediction per step")
