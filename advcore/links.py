"""Links that open one exact view of the Explore page (its state lives in the URL's query string).

Explore reads data set, model, image, attack, eps, norm, target and every attack setting (steps,
step_size, restarts, seed, source, ...) from its query parameters (``advcore.ui.controls.read_url``).
This module writes such links without Streamlit, so lessons, the CLI and tests can build them.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit

from . import attacks
from .errors import AdvcoreError

EXPLORE_PATH = "/"  # Explore is the default page: its URL is the app's root (a /explore link is "not found")
VIEW_KEYS = ("dataset", "model", "image", "attack", "eps", "norm", "target", "model_b", "defence", "adaptive")


def setting_keys(attack: str) -> set[str]:
    """The attack's settings a link may carry: its registry parameters but eps, trace and norm."""
    return {p.name for p in attacks.get(attack).params} - {"eps", "trace", "norm"}


def _text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def explore_query(*, dataset: str, model: str, attack: str, eps: float, image: int | None = None,
                  norm: str | None = None, target: int | None = None, model_b: str | None = None,
                  defence: str | None = None, adaptive: bool | None = None, **settings) -> dict[str, str]:
    """The query values of one Explore view (None values are left out; floats with 4 decimals, as
    Explore writes them). ``defence``: a spec string of ``advcore.defences`` ('jpeg:75'; None or 'none':
    no defence), ``adaptive``: the naive/adaptive switch (only written with a defence). Unknown attacks,
    defences or settings the attack does not take raise AdvcoreError."""
    unknown = set(settings) - setting_keys(attack)
    if unknown:
        raise AdvcoreError(f"{attack} has no setting(s) {', '.join(sorted(unknown))}")
    if norm is not None and norm not in attacks.get(attack).norms:
        raise AdvcoreError(f"{attack} does not support norm {norm!r}")
    from . import defences
    chain = defences.parse(defence)
    values = {"dataset": dataset, "model": model, "image": image, "attack": attack, "eps": float(eps),
              "norm": norm, "target": target, "model_b": model_b, "defence": str(chain) if chain else None,
              "adaptive": bool(adaptive) if chain else None, **dict(sorted(settings.items()))}
    return {k: _text(v) for k, v in values.items() if v is not None}


def explore_link(**view) -> str:
    """'/?dataset=mnist&model=...': a relative link to the view (keywords as ``explore_query``)."""
    return f"{EXPLORE_PATH}?{urlencode(explore_query(**view))}"


def parse_link(link: str) -> dict[str, str]:
    """The query values of a link (the inverse of ``explore_link``)."""
    return dict(parse_qsl(urlsplit(link).query, keep_blank_values=True))
