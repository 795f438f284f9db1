"""Explore's and Compare's attack row, bound to the page's view: attack | target | settings | eps.

The row's widgets come from ``advcore.ui.widgets`` and write back into the view of a scope
(``advcore.ui.view_state``); eps is in pixel units. Returns what the row chose (``AttackChoice``).
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from advcore import attacks
from advcore.i18n import _

from .view_state import VIEW, Write, get_view, remembered_eps, set_view, writer
from .widgets import attack_controls, attack_select, attack_title, eps_slider, target_select


@dataclass
class AttackChoice:
    """What the attack row chose: the attack, its full params (eps and target included), norm, eps, target."""

    spec: attacks.AttackSpec
    params: dict
    norm: str
    eps: float
    target: int | None


def attack_line(spec: attacks.AttackSpec) -> str:
    """The attack in one line: its title, what it does (in the current language) and its paper."""
    return _("{attack}: {summary}. *{paper}*", attack=attack_title(spec), summary=_(spec.summary), paper=spec.paper)


def _set_param(scope: str, name: str) -> Write:
    if name == "norm":
        return writer(scope, lambda v, norm: v.with_norm(norm, remembered_eps(scope, v.dataset, norm)))
    return writer(scope, lambda v, value: v.with_setting(name, value))


def view_attack_controls(spec, key: str, scope: str, model_ids=(), attacked=()) -> dict:
    """``attack_controls`` bound to the view of ``scope``."""
    view = get_view(scope)
    values = dict(view.settings, norm=view.effective_norm)
    return attack_controls(spec, key, values, lambda name: _set_param(scope, name), model_ids, attacked)


def attack_row(key: str, class_names, true_class: int, model_ids: list[str], attacked: str | tuple[str, ...],
               scope: str = VIEW) -> AttackChoice:
    """One row, bound to the view of ``scope``: attack picker | target (visible, not in a popover) | settings
    popover | the eps slider. Widget keys: ``attack``/``eps_<norm>`` for Explore (key 'explore'),
    ``<key>_attack``/``<key>_eps_<norm>`` for other pages; attack settings ``<key>_<attack>_<param>``."""
    view = get_view(scope)
    row = st.columns([1.2, 1.15, 1.1, 2.35], vertical_alignment="bottom")
    spec = attack_select(row[0], "attack" if key == "explore" else f"{key}_attack", view.attack,
                         writer(scope, lambda v, name: v.with_attack(
                             name, lambda norm: remembered_eps(scope, v.dataset, norm))))
    target = target_select(row[1], spec, key, class_names, true_class, view.target,
                           writer(scope, lambda v, target: v.replace(target=target)))
    with row[2].popover(_("Settings"), icon=":material/tune:", width="stretch"):
        st.caption(attack_line(spec))
        params = view_attack_controls(spec, key, scope, model_ids, attacked)
    norm = params.get("norm") or view.effective_norm
    with row[3]:
        eps = eps_slider(norm, "eps" if key == "explore" else f"{key}_eps", view.dataset, view.eps,
                         writer(scope, lambda v, eps: v.replace(eps=eps)))
    if view.eps != eps:
        set_view(get_view(scope).replace(eps=eps), scope)
    params.update(eps=eps, **({"target": target} if target is not None else {}))
    return AttackChoice(spec, params, norm, eps, target)
