"""Parameters of attacks and defences: one typed, range-checked description each, and their checks.

``advcore.attacks.registry`` and ``advcore.defences`` describe their parameters with ``Param``; the CLI's
flags and the dashboard's widgets are built from these descriptions, and ``check_params`` bounds every
request (ranges bound heavy work, so one person cannot hold a shared server).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import AdvcoreError
from .i18n import N_, _
from .ids import check_id


@dataclass(frozen=True)
class Param:
    """One attack or defence parameter: kind is 'float', 'int', 'bool', 'choice' or 'model' (in settings and
    links a zoo id of the same data set; when an attack runs, the model itself: the caller loads the id);
    unit is for people."""

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
                return value if callable(value) and not isinstance(value, str) else check_id(value)
            number = float(value)
            if self.kind == "int":
                if not math.isfinite(number) or number != int(number):
                    raise ValueError
                number = int(number)
        except (TypeError, ValueError):
            raise AdvcoreError(_("{name}: {value!r} is not a valid {kind}", name=self.name, value=value,
                                  kind=self.describe())) from None
        if not math.isfinite(number) or (self.low is not None and number < self.low) or (
                self.high is not None and number > self.high):
            bounds = dict(name=self.name, low=self.low, high=self.high, unit=_(self.unit) if self.unit else "",
                          value=value)
            raise AdvcoreError(_("{name} must be in [{low}, {high}] {unit}, got {value}", **bounds) if self.unit else
                               _("{name} must be in [{low}, {high}], got {value}", **bounds))
        return number

    def describe(self) -> str:
        if self.kind == "choice":
            return _("choice of {choices}", choices="|".join(map(str, self.choices)))
        if self.kind == "bool":
            return _("true/false")
        if self.kind == "model":
            return _("model id")
        return _("{kind} in [{low}, {high}]", kind=self.kind, low=self.low, high=self.high)


_UNKNOWN = {  # lookup's refusal per kind of table (one whole sentence each); "" for any other kind
    "attack": N_("unknown attack {name!r}; choose one of: {choices}"),
    "defence": N_("unknown defence {name!r}; choose one of: {choices}"),
    "": N_("unknown {kind} {name!r}; choose one of: {choices}"),
}


def lookup(table: dict, name: str, kind: str):
    """``table[name]``, or an AdvcoreError naming the choices (``kind``: 'attack', 'defence')."""
    if name not in table:
        raise AdvcoreError(_(_UNKNOWN.get(kind, _UNKNOWN[""]), kind=kind, name=name, choices=", ".join(table)))
    return table[name]


def check_params(owner: str, params: tuple[Param, ...], given: dict, extra: frozenset = frozenset()) -> dict:
    """Every parameter of ``params`` from ``given`` or its default, range-checked; a name in ``given`` that
    is neither a parameter nor in ``extra`` is refused, naming ``owner`` and what it takes."""
    known = {p.name for p in params}
    unknown = set(given) - known - extra
    if unknown:
        raise AdvcoreError(_("{owner} has no parameter(s) {unknown}; it takes: {known}", owner=owner,
                             unknown=", ".join(sorted(unknown)), known=", ".join(sorted(known)) or _("none")))
    return {p.name: p.check(given.get(p.name, p.default)) for p in params}
