"""Widgets built from the registries: one mapper from a registry parameter to its widget, and the pickers.

Nothing here lists attacks, defences or their parameters: every control comes from the registries, and one
mapper (``param_widget``) turns a registry ``Param`` into its widget, for attacks and defences alike. Widget
keys follow one scheme, ``<scope>_<owner>_<param>`` (``widget_key``); the target picker is ``<scope>_target``.

Every widget is seeded on every run (``bound``): from the page's view when it writes back to it through a
``advcore.ui.view_state.writer`` (``write``), else with its own last value, so a widget that is not drawn in
a run (a closed popover, another page) never loses its value. Eps is in pixel units ([0, 1] images).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import streamlit as st

from advcore import attacks, data
from advcore.i18n import _, pgettext

from . import limits
from .param_labels import label as param_label
from .view_state import Write


def _put(key: str, value, write: Write | None, once: bool = False, widget: dict | None = None) -> dict:
    """Seed a widget on every run: from the view when it is bound (``write``), else with its own last value
    (``value`` the first time), so the browser mounts a widget it has not drawn yet (a closed popover) with that
    value, not the widget's bare default. ``once``: seed only the first time (a widget in a form, whose edits
    wait for the submit button). Returns the widget's on_change arguments."""
    if write is not None:
        st.session_state[key] = value
        return {"on_change": lambda: write(st.session_state[key])}
    if not once or key not in st.session_state:
        current = st.session_state.get(key, value)
        st.session_state[key] = current if _fits(current, widget or {}) else value
    return {}


def _fits(value, widget: dict) -> bool:
    """Whether a widget's last value is still one of its options / within its range."""
    if "options" in widget:
        return value in list(widget["options"])
    low, high = widget.get("min_value"), widget.get("max_value")
    return (low is None or value >= low) and (high is None or value <= high)


def bound(where, kind: str, label: str, key: str, value, write: Write | None = None, once: bool = False, **kwargs):
    """Any widget (``kind``: 'selectbox', 'radio', ...) seeded from ``value`` and writing back through ``write``."""
    return getattr(where, kind)(label, key=key, **_put(key, value, write, once, kwargs), **kwargs)


# --- one mapper: registry parameter -> widget -------------------------------------------------

def widget_key(scope: str, owner: str, param: str) -> str:
    """The one key scheme of parameter widgets: ``<scope>_<owner>_<param>`` ('explore_pgd_steps',
    'explore_def_jpeg_quality', 'teach_pgd_norm')."""
    return f"{scope}_{owner}_{param}"


SERVER_LIMITS = {"steps": lambda: limits.MAX_STEPS, "restarts": lambda: limits.MAX_RESTARTS,
                 "queries": lambda: limits.MAX_QUERIES}
AUTO_STEP = 0.01  # the step size offered when "auto" is switched off


def param_widget(where, p: attacks.Param, key: str, value=None, write: Write | None = None, *,
                 label: str | None = None, high: float | None = None, slider: bool = False,
                 options: list[str] = (), once: bool = False):
    """The widget of one registry parameter (attack or defence), seeded with ``value`` (None: its default) and
    writing back through ``write`` (None: an unbound widget keeping its own value; ``once``: in a form). Server
    limits cap steps, restarts and queries; ``high`` caps further. A 'model' parameter picks among ``options``
    (None without any). Returns the value, converted."""
    value = p.default if value is None else value
    if p.kind == "model":
        if not options:
            return None
        return bound(where, "selectbox", label or _("source model (crafts the attack)"), key,
                     value if value in options else options[0], write, once, options=options, help=_help(p))
    label = label or param_label(p)
    if p.kind == "choice":
        return bound(where, "radio", label, key, value if value in p.choices else p.default, write, once,
                     options=p.choices, horizontal=True, help=_help(p))
    if p.kind == "bool":
        return bool(bound(where, "checkbox", label, key, bool(value), write, once, help=_help(p)))
    if p.name == "step_size":
        return _step_size(where, p, key, value, write)
    if p.kind == "int":
        top = int(min(x for x in (p.high, high, SERVER_LIMITS.get(p.name, lambda: None)()) if x is not None))
        low, value = int(p.low), min(max(int(value), int(p.low)), top)
        text = _("{help} (at most {top} here)", help=_(p.help), top=top) if p.name in SERVER_LIMITS else _help(p)
        widget = "slider" if slider else "number_input"
        return int(bound(where, widget, label, key, value, write, once, min_value=low, max_value=top, step=1,
                         help=text))
    top = float(min(x for x in (p.high, high) if x is not None))
    value = min(max(float(value), float(p.low)), top)
    if slider:
        return float(bound(where, "slider", label, key, value, write, once, min_value=float(p.low),
                           max_value=top, help=_help(p)))
    return float(bound(where, "number_input", label, key, value, write, once, min_value=float(p.low),
                       max_value=top, help=_help(p)))


def _help(p) -> str:
    if not p.help:
        return ""
    return _("{unit}: {help}", unit=_(p.unit), help=_(p.help)) if p.unit else _(p.help)


def _step_size(where, p, key: str, value, write: Write | None):
    """The step size: 'auto' (None: 2.5·eps/steps, Madry et al. 2018) or a number."""
    number = AUTO_STEP if value is None else float(value)
    auto = bool(bound(where, "checkbox", _("auto step size (2.5·eps/steps)"), key + "_auto", value is None,
                      write and (lambda on: write(None if on else number))))
    if auto:
        return None
    return float(bound(where, "number_input", _("step size (pixel units)"), key, number, write, min_value=0.0,
                       max_value=1.0, step=0.001, format="%.4f", help=_(p.help)))


# --- data set, eps, attack, target ------------------------------------------------------------

def dataset_select(where, key: str, value: str | None = None, write: Write | None = None) -> str:
    """The data-set picker every page uses (``where``: st or a column/container)."""
    value = value if value in data.DATASETS else next(iter(data.DATASETS))
    return bound(where, "selectbox", _("Data set"), key, value, write, options=list(data.DATASETS),
                 format_func=lambda d: _(data.DATASETS[d].title))


def eps_grid(norm: str, dataset: str = "mnist") -> list[float]:
    """Slider positions of ``dataset``'s eps range (``advcore.data.DatasetInfo.eps_range``): every grey level
    k/255 for linf, fixed steps for l2, and the data set's standard budgets exactly."""
    return data.info(dataset).eps_range(norm).grid()


def _per_255(eps: float) -> str:
    k = eps * 255
    return f"{k:.0f}" if abs(k - round(k)) < 1e-3 else f"{k:.1f}"


def eps_label(eps: float, norm: str = "linf") -> str:
    return f"{eps:.3f} ({_per_255(eps)}/255)" if norm == "linf" else f"{eps:.2f} (L2)"


def nearest(grid: list[float], value: float) -> float:
    return grid[int(np.argmin(np.abs(np.asarray(grid) - value)))]


def eps_slider(norm: str, key: str, dataset: str, value: float | None = None, write: Write | None = None,
               label: str | None = None) -> float:
    """The eps slider over the data set's grid (key ``<key>_<norm>``), in pixel units with the k/255 value shown;
    keyboard-movable. It opens at ``value`` (None: the data set's default eps for the norm)."""
    facts = data.info(dataset).eps_range(norm)
    grid = facts.grid()
    start = nearest(grid, facts.default if value is None else value)
    standard = ", ".join(eps_label(v, norm) for v in facts.standard)
    help_text = _("largest allowed change: per pixel value for linf, in total (L2 norm of the whole change) for "
                  "l2; standard budgets here: {standard}", standard=standard)
    return bound(st, "select_slider", label or _("epsilon (perturbation budget)"), f"{key}_{norm}", start, write,
                 options=grid,
                 format_func=lambda v: eps_label(v, norm), help=help_text)


def attack_title(spec: attacks.AttackSpec) -> str:
    """An attack's title as shown: acronyms stay as they are ("PGD"), a title in words is in the current language
    ("Square Attack (black-box)"). The context "attack title" keeps the glossary's "PGD" (the method's name in
    prose) out of the menus; the entries are in the explore catalog (tests/test_i18n_explore.py checks them)."""
    return pgettext("attack title", spec.title)


def attack_select(where, key: str, value: str = "pgd", write: Write | None = None, label: str | None = None,
                  names: list[str] | None = None) -> attacks.AttackSpec:
    """The attack picker (every registered attack, or ``names``)."""
    names = names or list(attacks.ATTACKS)
    name = bound(where, "selectbox", label or _("Attack"), key, value if value in names else names[0], write,
                 options=names,
                 format_func=lambda a: attack_title(attacks.ATTACKS[a]))
    return attacks.ATTACKS[name]


UNTARGETED = -1  # the Target widget's "untargeted" option


def target_select(where, spec: attacks.AttackSpec, key: str, class_names, true_class: int,
                  value: int | None = None, write: Write | None = None) -> int | None:
    """Untargeted or a target class (key ``<key>_target``: the only target widget of a scope); None:
    untargeted or not targetable."""
    if not spec.targeted:
        where.selectbox(_("Target"), [_("untargeted only")], key=f"{key}_target_none", disabled=True,
                        help=_("{name} has no targeted mode", name=attack_title(spec)))
        return None
    # The widget holds UNTARGETED (-1) for "untargeted": a selectbox whose value is None shows no choice at all.
    choices = [UNTARGETED] + [c for c in range(len(class_names)) if c != true_class]
    picked = bound(where, "selectbox", _("Target"), f"{key}_target", value if value in choices else UNTARGETED,
                   None if write is None else lambda c: write(None if c == UNTARGETED else c), options=choices,
                   format_func=lambda c: _("untargeted") if c == UNTARGETED else data.class_label(class_names, c),
                   help=_("untargeted: any wrong class counts; targeted: push the image towards the class you "
                          "choose"))
    return None if picked == UNTARGETED else picked


def attack_controls(spec: attacks.AttackSpec, key: str, values: dict | None = None,
                    write: Callable[[str], Write] | None = None, model_ids: list[str] = (),
                    attacked: str | tuple[str, ...] = ()) -> dict:
    """Widgets for every parameter of ``spec`` but eps, trace and the target (``target_select``); returns them.
    ``values``: the parameters' current values (absent: defaults); ``write(name)``: the write-back of one.
    A 'model' parameter (the transfer source) offers the other models of the data set, never an attacked
    model itself; with none, ``source`` is None and the caller says so."""
    attacked = (attacked,) if isinstance(attacked, str) else tuple(attacked)
    values = values or {}
    others = [m for m in model_ids if m not in attacked]
    return {p.name: param_widget(st, p, widget_key(key, spec.name, p.name), values.get(p.name),
                                 write(p.name) if write else None, options=others)
            for p in spec.params if p.name not in ("eps", "trace")}
