"""Links that open one exact view of the Explore page (its state lives in the URL's query string).

A link is an ``advcore.view.ExploreView`` written as a query string (``ExploreView.to_query``); Explore reads
it back with ``ExploreView.from_query``. This module writes such links without Streamlit, so lessons, the CLI,
the classroom and tests can build them. A link carries the language it opens in (``?lang=``): the view's,
else the one given, else ``advcore.i18n.link_language()`` (the current one; none for English, the default), so
a Chinese lesson's link opens Explore in Chinese.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit

from . import attacks, i18n
from .errors import AdvcoreError
from .view import VIEW_KEYS, ExploreView, setting_names

EXPLORE_PATH = "/"  # Explore is the default page: its URL is the app's root (a /explore link is "not found")
__all__ = ["EXPLORE_PATH", "VIEW_KEYS", "explore_link", "explore_query", "parse_link", "setting_keys", "view_link"]


def setting_keys(attack: str) -> set[str]:
    """The attack's settings a link may carry: its registry parameters but eps, trace and norm."""
    return setting_names(attack)


def explore_query(*, dataset: str, model: str, attack: str, eps: float, image: int | None = None,
                  norm: str | None = None, target: int | None = None, model_b: str | None = None,
                  defence: str | None = None, adaptive: bool | None = None, lang: str | None = None,
                  **settings) -> dict[str, str]:
    """The query values of one Explore view (None values are left out; floats with 4 decimals, eps on the data
    set's slider grid, as Explore writes them). ``defence``: a spec string of ``advcore.defences`` ('jpeg:75';
    None or 'none': no defence), ``adaptive``: the naive/adaptive switch (only written with a defence), ``lang``:
    the language (None: ``i18n.link_language()``). Unknown
    attacks, defences, settings the attack does not take or any value the view refuses raise AdvcoreError."""
    if attack not in attacks.ATTACKS:
        raise AdvcoreError(f"unknown attack {attack!r}")
    unknown = set(settings) - setting_keys(attack)
    if unknown:
        raise AdvcoreError(f"{attack} has no setting(s) {', '.join(sorted(unknown))}")
    given = {"dataset": dataset, "model": model, "image": image, "attack": attack, "eps": float(eps), "norm": norm,
             "target": target, "model_b": model_b, "defence": None if defence in (None, "none") else defence,
             "adaptive": adaptive, "lang": lang or i18n.link_language(), **settings}
    view, messages = ExploreView.from_query({k: _raw(v) for k, v in given.items() if v is not None})
    if messages:
        raise AdvcoreError(messages[0])
    return view.to_query()


def _raw(value) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def view_link(view: ExploreView, lang: str | None = None) -> str:
    """'/?dataset=mnist&...&lang=zh': the relative link of a view, in the view's language, else ``lang``, else
    ``i18n.link_language()``."""
    return f"{EXPLORE_PATH}?{urlencode(view.replace(lang=view.lang or lang or i18n.link_language()).to_query())}"


def explore_link(**view) -> str:
    """'/?dataset=mnist&model=...': a relative link to the view (keywords as ``explore_query``)."""
    return f"{EXPLORE_PATH}?{urlencode(explore_query(**view))}"


def parse_link(link: str) -> dict[str, str]:
    """The query values of a link (the inverse of ``explore_link``)."""
    return dict(parse_qsl(urlsplit(link).query, keep_blank_values=True))
