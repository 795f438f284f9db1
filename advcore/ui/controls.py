"""Widgets built from the registries, bound to the page's view, the URL, sharing and presenter mode.

Nothing here lists attacks, defences or their parameters: every control comes from the registries, and one
mapper (``param_widget``) turns a registry ``Param`` into its widget, for attacks and defences alike. Widget
keys follow one scheme, ``<scope>_<owner>_<param>`` (``widget_key``); the target picker is ``<scope>_target``.

The page's state is an ``advcore.view.ExploreView`` kept in the session (``get_view``/``set_view``; Explore
and Compare share one, the teacher's presenter has its own). Every widget is seeded from the view on every run
and writes its value back to it when the user moves it (``on_change``), so a widget that is not drawn in a run
(a closed popover, another page) never loses its value, and the URL holds the view (``write_url``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode

import numpy as np
import streamlit as st

from advcore import attacks, data, defences
from advcore.attacks import adaptive as adaptive_attacks
from advcore.errors import AdvcoreError
from advcore.view import SETTING_KEYS, VIEW_KEYS, ExploreView

from . import limits

VIEW = "view"  # the session key of the view Explore and Compare share
Write = Callable[[object], None]  # writes a widget's new value back into a view


# --- the view in the session ------------------------------------------------------------------

def get_view(scope: str = VIEW) -> ExploreView:
    return st.session_state.get(scope) or ExploreView()


def set_view(view: ExploreView, scope: str = VIEW) -> None:
    st.session_state[scope] = view
    if view.eps is not None:  # each norm's last eps, for coming back to it
        st.session_state.setdefault(f"{scope}_eps_memory", {})[(view.dataset, view.effective_norm)] = view.eps


def remembered_eps(scope: str, dataset: str, norm: str) -> float | None:
    return st.session_state.get(f"{scope}_eps_memory", {}).get((dataset, norm))


def writer(scope: str, update: Callable[[ExploreView, object], ExploreView]) -> Write:
    """A write-back: ``update(view, value)`` becomes the view of ``scope`` (a refused value changes nothing)."""
    def write(value) -> None:
        try:
            set_view(update(get_view(scope), value), scope)
        except AdvcoreError:
            pass
    return write


def page_view(model_ids_for, scope: str = VIEW) -> tuple[ExploreView, list[str]]:
    """The view of a page: the link's on the session's first run of a view page (with messages for what it
    refused), then the session's, so moving between Explore and Compare keeps image, eps and settings."""
    if scope in st.session_state:
        return get_view(scope), []
    view, messages = ExploreView.from_query(st.query_params.to_dict(), model_ids_for)
    set_view(view, scope)
    return view, messages


def write_url(query: dict[str, str]) -> None:
    """Make the URL hold exactly ``query`` (a view's ``to_query``; only changed keys are written, to avoid extra
    reruns)."""
    for key in [k for k in st.query_params if k not in query and k in VIEW_KEYS + SETTING_KEYS]:
        del st.query_params[key]
    for key, text in query.items():
        if st.query_params.get(key) != text:
            st.query_params[key] = text


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
        return bound(where, "selectbox", label or "source model (crafts the attack)", key,
                     value if value in options else options[0], write, once, options=options, help=p.help)
    if p.kind == "choice":
        return bound(where, "radio", label or p.name, key, value if value in p.choices else p.default, write, once,
                     options=p.choices, horizontal=True, help=p.help)
    if p.kind == "bool":
        return bool(bound(where, "checkbox", label or p.name.replace("_", " "), key, bool(value), write, once,
                          help=p.help))
    if p.name == "step_size":
        return _step_size(where, p, key, value, write)
    if p.kind == "int":
        top = int(min(x for x in (p.high, high, SERVER_LIMITS.get(p.name, lambda: None)()) if x is not None))
        low, value = int(p.low), min(max(int(value), int(p.low)), top)
        text = f"{p.help} (at most {top} here)" if p.name in SERVER_LIMITS else _help(p)
        widget = "slider" if slider else "number_input"
        return int(bound(where, widget, label or p.name, key, value, write, once, min_value=low, max_value=top, step=1,
                         help=text))
    top = float(min(x for x in (p.high, high) if x is not None))
    value = min(max(float(value), float(p.low)), top)
    if slider:
        return float(bound(where, "slider", label or p.name, key, value, write, once, min_value=float(p.low),
                           max_value=top, help=_help(p)))
    return float(bound(where, "number_input", label or p.name, key, value, write, once, min_value=float(p.low),
                       max_value=top, help=_help(p)))


def _help(p) -> str:
    return f"{p.unit}: {p.help}" if p.unit else p.help


def _step_size(where, p, key: str, value, write: Write | None):
    """The step size: 'auto' (None: 2.5·eps/steps, Madry et al. 2018) or a number."""
    number = AUTO_STEP if value is None else float(value)
    auto = bool(bound(where, "checkbox", "auto step size (2.5·eps/steps)", key + "_auto", value is None,
                      write and (lambda on: write(None if on else number))))
    if auto:
        return None
    return float(bound(where, "number_input", "step size (pixel units)", key, number, write, min_value=0.0,
                       max_value=1.0, step=0.001, format="%.4f", help=p.help))


# --- data set, eps, attack, target ------------------------------------------------------------

def dataset_select(where, key: str, value: str | None = None, write: Write | None = None) -> str:
    """The data-set picker every page uses (``where``: st or a column/container)."""
    value = value if value in data.DATASETS else next(iter(data.DATASETS))
    return bound(where, "selectbox", "Data set", key, value, write, options=list(data.DATASETS),
                 format_func=lambda d: data.DATASETS[d].title)


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
               label: str = "epsilon (perturbation budget)") -> float:
    """The eps slider over the data set's grid (key ``<key>_<norm>``), in pixel units with the k/255 value shown;
    keyboard-movable. It opens at ``value`` (None: the data set's default eps for the norm)."""
    facts = data.info(dataset).eps_range(norm)
    grid = facts.grid()
    start = nearest(grid, facts.default if value is None else value)
    standard = ", ".join(eps_label(v, norm) for v in facts.standard)
    help_text = ("largest allowed change: per pixel value for linf, in total (L2 norm of the whole change) for l2; "
                 f"standard budgets here: {standard}")
    return bound(st, "select_slider", label, f"{key}_{norm}", start, write, options=grid,
                 format_func=lambda v: eps_label(v, norm), help=help_text)


def attack_select(where, key: str, value: str = "pgd", write: Write | None = None, label: str = "Attack",
                  names: list[str] | None = None) -> attacks.AttackSpec:
    """The attack picker (every registered attack, or ``names``)."""
    names = names or list(attacks.ATTACKS)
    name = bound(where, "selectbox", label, key, value if value in names else names[0], write, options=names,
                 format_func=lambda a: attacks.ATTACKS[a].title)
    return attacks.ATTACKS[name]


UNTARGETED = -1  # the Target widget's "untargeted" option


def target_select(where, spec: attacks.AttackSpec, key: str, class_names, true_class: int,
                  value: int | None = None, write: Write | None = None) -> int | None:
    """Untargeted or a target class (key ``<key>_target``: the only target widget of a scope); None:
    untargeted or not targetable."""
    if not spec.targeted:
        where.selectbox("Target", ["untargeted only"], key=f"{key}_target_none", disabled=True,
                        help=f"{spec.title} has no targeted mode")
        return None
    # The widget holds UNTARGETED (-1) for "untargeted": a selectbox whose value is None shows no choice at all.
    choices = [UNTARGETED] + [c for c in range(len(class_names)) if c != true_class]
    picked = bound(where, "selectbox", "Target", f"{key}_target", value if value in choices else UNTARGETED,
                   None if write is None else lambda c: write(None if c == UNTARGETED else c), options=choices,
                   format_func=lambda c: "untargeted" if c == UNTARGETED else data.class_label(class_names, c),
                   help="untargeted: any wrong class counts; targeted: push the image towards the class you choose")
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


@dataclass
class AttackChoice:
    """What the attack row chose: the attack, its full params (eps and target included), norm, eps, target."""

    spec: attacks.AttackSpec
    params: dict
    norm: str
    eps: float
    target: int | None


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
    with row[2].popover("Settings", icon=":material/tune:", width="stretch"):
        st.caption(f"{spec.title}: {spec.summary}. *{spec.paper}*")
        params = view_attack_controls(spec, key, scope, model_ids, attacked)
    norm = params.get("norm") or view.effective_norm
    with row[3]:
        eps = eps_slider(norm, "eps" if key == "explore" else f"{key}_eps", view.dataset, view.eps,
                         writer(scope, lambda v, eps: v.replace(eps=eps)))
    if view.eps != eps:
        set_view(get_view(scope).replace(eps=eps), scope)
    params.update(eps=eps, **({"target": target} if target is not None else {}))
    return AttackChoice(spec, params, norm, eps, target)


# --- defences ----------------------------------------------------------------------------------

@dataclass
class DefenceChoice:
    """What the defence controls chose: ``spec`` (canonical spec string, 'none' for no defence), the
    naive/adaptive switch, and ``mode``, the attack that runs ('none' = naive, 'bpda', 'eot', 'bpda+eot')."""

    spec: str = "none"
    adaptive: bool = False
    mode: str = "none"


ADAPTIVE_CHOICES = ("naive", "adaptive")


def defence_select(where, key: str, scope: str = VIEW) -> str:
    """The defence picker, bound to the view: 'none' or one defence of ``advcore.defences.DEFENCES``."""
    view = get_view(scope)
    current = defences.parse(view.defence).stages[0].name if view.defence else "none"
    titles = "; ".join(f"{name}: {spec.title}" for name, spec in defences.DEFENCES.items())
    return bound(where, "selectbox", "Defence", f"{key}_defence", current,
                 writer(scope, lambda v, name: v.with_defence(None if name == "none" else name)),
                 options=["none", *defences.DEFENCES],
                 help="an input transformation in front of the model, or randomized smoothing; the defended model "
                      f"is itself a model, so the attack runs on it unchanged ({titles})")


def _set_defence_param(scope: str, name: str, param: str) -> Write:
    def update(v: ExploreView, value) -> ExploreView:
        chain = defences.parse(v.defence)
        values = chain.stages[0].values if chain and chain.stages[0].name == name else {}
        stage = defences.make_stage(name, **dict(values, **{param: value}))
        return v.with_defence(str(defences.Defence((stage,))))
    return writer(scope, update)


def defence_controls(name: str, key: str, scope: str = VIEW) -> DefenceChoice:
    """For a defence ``name`` ('none': nothing drawn): its parameters (from the registry), the naive /
    adaptive switch, and one line on what runs; bound to the view. Widget keys ``<key>_def_<name>_<param>``,
    ``<key>_adaptive``."""
    if name == "none":
        return DefenceChoice()
    spec = defences.get(name)
    view = get_view(scope)
    stage = defences.parse(view.defence).stages[0] if view.defence else None
    current = stage.values if stage is not None and stage.name == name else {}
    cols = st.columns([1.0] * len(spec.params) + [1.8, 3.7], vertical_alignment="bottom")  # the switch whole at 1024 px
    values = {p.name: param_widget(col, p, widget_key(key, f"def_{name}", p.name), current.get(p.name),
                                   _set_defence_param(scope, name, p.name))
              for col, p in zip(cols, spec.params)}
    chain = str(defences.Defence((defences.make_stage(name, **values),)))
    switch = bound(cols[len(spec.params)], "segmented_control", "Attack it", f"{key}_adaptive",
                   ADAPTIVE_CHOICES[int(view.adaptive)],
                   writer(scope, lambda v, choice: v.replace(adaptive=choice == "adaptive" and v.defence is not None)),
                   options=ADAPTIVE_CHOICES,
                   help="naive: the attack uses whatever gradient TensorFlow gives through the defence (zero through "
                        "JPEG, bit reduction and a vote); adaptive: BPDA differentiates those stages as the identity, "
                        "EOT averages over random draws (Athalye, Carlini & Wagner 2018)")
    adaptive = switch == "adaptive"
    mode = adaptive_attacks.recommended_mode(chain) if adaptive else "none"
    if not adaptive:
        what = "**Naive** attack: it differentiates the defended model as it is."
    elif mode == "none":
        what = "**Adaptive** = naive here: this defence is differentiable and not random, nothing to replace."
    else:
        what = {"bpda": "**Adaptive: BPDA**, the defence differentiated as the identity on the backward pass.",
                "eot": "**Adaptive: EOT**, the gradient averaged over "
                       f"{adaptive_attacks.DEFAULT_EOT_SAMPLES} random draws of the defence.",
                "bpda+eot": "**Adaptive: BPDA + EOT**, the identity on the backward pass, averaged over "
                            f"{adaptive_attacks.DEFAULT_EOT_SAMPLES} random draws."}[mode]
    cited = "; ".join(part.strip() for part in re.findall(r"[^;]*?\d{4}", spec.paper))  # authors and years
    cols[-1].caption(f"{spec.title} ({chain}): {spec.summary}. {what} *{cited}*")
    return DefenceChoice(chain, adaptive, mode)


def lazy_expander(label: str, key: str):
    """A closed expander whose contents are built only while it is open: returns the container when open, else
    None. Opening it reruns the page (or the fragment it is in); a closed one costs nothing per slider move."""
    box = st.expander(label, expanded=False, key=key, on_change="rerun")
    return box if box.open else None


def share_link(query: dict[str, str], key: str) -> None:
    """A popover with this view's link (copyable) and its QR code, made only when asked (no cost per move)."""
    with st.popover("Share this view", icon=":material/qr_code_2:"):
        if st.button("Make the link and QR code", key=f"{key}_share"):
            base = (st.context.url or "").split("?")[0]
            link = f"{base}?{urlencode(query)}"
            st.code(link, language=None, wrap_lines=True)
            st.caption("Copy it with the button at the code's right, or scan the code:")
            import segno
            st.image(segno.make(link, error="m").png_data_uri(scale=5, border=2), width=220)


PAGE_CSS = """
<style>
.block-container { padding-top: 3.6rem; padding-bottom: 2rem; padding-left: 2rem; padding-right: 2rem; }
[data-testid="stHeading"] h1 { padding-top: 0; padding-bottom: 0; font-size: 2rem; }
[data-testid="stMetricValue"] { font-size: 1.45rem; line-height: 1.15; }
[data-testid="stMetricValue"] p, [data-testid="stMetricLabel"] p, [data-testid="stMetricDelta"] div {
  white-space: normal; overflow: visible; text-overflow: clip; overflow-wrap: break-word; }
@media (max-width: 1100px) {  /* a 1024-pixel projector: room for whole model names in the pickers */
  .block-container { padding-left: 1rem; padding-right: 1rem; }
  [data-testid="stSelectbox"] input { font-size: 0.8rem; padding-right: 0; }
  [data-testid="stSelectbox"] [role="group"] { padding-left: 0.1rem; }
  [data-testid="stPopoverButton"] { padding-left: 0.4rem; padding-right: 0.4rem; }
}
</style>
"""
PRESENTER_CSS = """
<style>
/* radio options keep their size: six image sources in 20 px wrapped to three rows and pushed the pictures down */
.stMarkdown p, .stCaption p, [data-testid="stWidgetLabel"] p { font-size: 20px !important; }
[data-testid="stHeading"] h1 { font-size: 2.4rem; }
[data-testid="stMetricValue"] { font-size: 2.4rem; }
[data-testid="stMetricLabel"] p { font-size: 1.2rem !important; }
</style>
"""


def presenter_toggle(where) -> bool:
    """A 'Presenter' switch (large type; secondary panels folded) that stays on across pages."""
    if "presenter_mode" not in st.session_state:
        st.session_state.presenter_mode = False
    on = where.toggle("Presenter", value=st.session_state.presenter_mode, key="presenter",
                      help="large type for a projector; the secondary panels fold away (collapse the sidebar "
                           "with « for more room)")
    st.session_state.presenter_mode = on
    return on


def page_header(title: str, intro: str, model_ids_for) -> tuple[bool, ExploreView]:
    """Title with the Presenter switch, the page style, the introduction (hidden when presenting) and the
    page's view (the link's on a session's first run, its messages shown); returns (presenter, view)."""
    left, right = st.columns([4, 1], vertical_alignment="center")
    left.title(title)
    presenter = presenter_toggle(right)
    page_style(presenter)
    if not presenter:
        st.markdown(intro)
    view, messages = page_view(model_ids_for)
    for message in messages:
        st.warning(message)
    arrived_from = st.session_state.get("view_page")
    if arrived_from not in (None, title) and view.image is not None:  # the image picker's own state is per page
        st.session_state.update(image_index=view.image, image_dataset=view.dataset)
    st.session_state["view_page"] = title
    return presenter, view


def page_style(presenter: bool) -> None:
    """Compact page top and metric values that wrap instead of being cut; larger type for presenting."""
    st.html(PAGE_CSS + (PRESENTER_CSS if presenter else ""))
