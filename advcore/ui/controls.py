"""Widgets built from the attack registry, the eps slider, the URL state, sharing and presenter mode.

Nothing here lists attacks or their parameters: every control comes from
``advcore.attacks.ATTACKS``. The URL holds data set, model(s), image, attack, eps and
every attack setting (norm, steps, step size, restarts, seed, target, transfer source, ...),
so a link opens exactly one view; bad or hostile values are clamped or refused with a message.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from urllib.parse import urlencode

import numpy as np
import streamlit as st

from advcore import attacks, data, defences, live
from advcore.attacks import adaptive as adaptive_attacks
from advcore.errors import AdvcoreError

from . import limits

URL_KEYS = ("dataset", "model", "image", "attack", "eps", "norm", "target", "model_b", "kept", "defence", "adaptive")
SETTING_KEYS = tuple(sorted({p.name for spec in attacks.ATTACKS.values() for p in spec.params}
                            - {"eps", "trace", "norm"}))  # steps, step_size, restarts, seed, source, ...


def dataset_select(where, key: str) -> str:
    """The data-set picker every page uses (``where``: st or a column/container)."""
    return where.selectbox("Data set", list(data.DATASETS), key=key, format_func=lambda d: data.DATASETS[d].title)


def eps_grid(norm: str, dataset: str = "mnist") -> list[float]:
    """Slider positions of ``dataset``'s eps range (advcore.live.EPS_RANGES): every grey level k/255 for
    linf, fixed steps for l2, and the data set's standard budgets exactly."""
    return live.eps_range(dataset, norm).grid()


def _per_255(eps: float) -> str:
    k = eps * 255
    return f"{k:.0f}" if abs(k - round(k)) < 1e-3 else f"{k:.1f}"


def eps_label(eps: float, norm: str = "linf") -> str:
    return f"{eps:.3f} ({_per_255(eps)}/255)" if norm == "linf" else f"{eps:.2f} (L2)"


def nearest(grid: list[float], value: float) -> float:
    return grid[int(np.argmin(np.abs(np.asarray(grid) - value)))]


def eps_slider(norm: str, key: str, default: float | None = None, dataset: str = "mnist",
               label: str = "epsilon (perturbation budget)") -> float:
    """The eps slider over the data set's grid, in pixel units with the k/255 value shown; keyboard-movable.

    It opens at ``default`` (e.g. a link's eps) or else the data set's default, and goes back to the new
    data set's default when the data set changes (0.3 on MNIST means nothing on CIFAR-10)."""
    grid = eps_grid(norm, dataset)
    state_key, owner_key = f"{key}_{norm}", f"{key}_{norm}_dataset"
    owner = st.session_state.get(owner_key)
    if st.session_state.get(state_key) not in grid or owner not in (None, dataset):
        start = default if default is not None and owner is None else live.eps_range(dataset, norm).default
        st.session_state[state_key] = nearest(grid, start)
    st.session_state[owner_key] = dataset
    standard = ", ".join(eps_label(v, norm) for v in live.eps_range(dataset, norm).standard)
    help_text = ("largest allowed change: per pixel value for linf, in total (L2 norm of the whole change) for l2; "
                 f"standard budgets here: {standard}")
    return st.select_slider(label, options=grid, key=state_key, format_func=lambda v: eps_label(v, norm),
                            help=help_text)


def attack_select(where, key: str = "attack", label: str = "Attack") -> attacks.AttackSpec:
    """The attack picker (every registered attack), its one-line summary and paper below it."""
    name = where.selectbox(label, list(attacks.ATTACKS), key=key, format_func=lambda a: attacks.ATTACKS[a].title)
    return attacks.ATTACKS[name]


def target_select(where, spec: attacks.AttackSpec, key: str, class_names, true_class: int) -> int | None:
    """Untargeted or a target class, shown next to the attack picker (None: untargeted / not targetable)."""
    if not spec.targeted:
        where.selectbox("Target", ["untargeted only"], key=f"{key}_target_none", disabled=True,
                        help=f"{spec.title} has no targeted mode")
        return None
    choices = [None] + [c for c in range(len(class_names)) if c != true_class]
    if st.session_state.get(f"{key}_target") not in choices:
        st.session_state[f"{key}_target"] = None
    return where.selectbox("Target", choices, key=f"{key}_target",
                           format_func=lambda c: "untargeted" if c is None else data.class_label(class_names, c),
                           help="untargeted: any wrong class counts; targeted: push the image towards the class "
                                "you choose")


def _seed(key: str, value) -> None:
    """A widget's starting value, put in the session state once (so a link can set it first, without
    Streamlit's warning about a default and a state value at once)."""
    if key not in st.session_state:
        st.session_state[key] = value


def attack_controls(spec: attacks.AttackSpec, key: str, class_names=(), true_class: int = -1,
                    model_ids: list[str] = (), attacked: str | tuple[str, ...] = (),
                    with_target: bool = True) -> dict:
    """Widgets for every parameter of ``spec`` except eps and trace; returns the params.

    Server limits cap steps, restarts and queries. A 'model' parameter (the transfer source) offers the
    other models of the data set, never an attacked model itself; with none, ``source`` is None and
    the caller says so. ``with_target``: a 'targeted' checkbox and target picker here too (pages that
    show ``target_select`` next to the attack picker pass False).
    """
    attacked = (attacked,) if isinstance(attacked, str) else tuple(attacked)
    params = {}
    for p in spec.params:
        if p.name in ("eps", "trace"):
            continue
        wkey = f"{key}_{spec.name}_{p.name}"
        if p.kind == "choice":
            _seed(wkey, p.default)
            params[p.name] = st.radio(p.name, p.choices, key=wkey, horizontal=True, help=p.help)
        elif p.kind == "model":
            others = [m for m in model_ids if m not in attacked]
            params[p.name] = st.selectbox("source model (crafts the attack)", others, key=wkey, help=p.help) \
                if others else None
        elif p.kind == "bool":
            _seed(wkey, bool(p.default))
            params[p.name] = st.checkbox(p.name.replace("_", " "), key=wkey, help=p.help)
        elif p.kind == "int":
            high = {"steps": limits.MAX_STEPS, "restarts": limits.MAX_RESTARTS,
                    "queries": limits.MAX_QUERIES}.get(p.name, int(p.high))
            _seed(wkey, min(int(p.default), high))
            params[p.name] = int(st.number_input(p.name, int(p.low), high, key=wkey,
                                                 help=f"{p.help} (at most {high} here)"))
        elif p.name == "step_size":
            _seed(wkey + "_auto", True)
            _seed(wkey, 0.01)
            if st.checkbox("auto step size (2.5·eps/steps)", key=wkey + "_auto"):
                params[p.name] = None
            else:
                params[p.name] = float(st.number_input("step size (pixel units)", 0.0, 1.0, step=0.001,
                                                       format="%.4f", key=wkey, help=p.help))
        else:
            _seed(wkey, float(p.default))
            params[p.name] = float(st.number_input(p.name, float(p.low), float(p.high), key=wkey, help=p.help))
    if with_target and spec.targeted and st.checkbox("targeted", key=f"{key}_{spec.name}_targeted",
                                                     help="push the image towards a class you choose"):
        choices = [c for c in range(len(class_names)) if c != true_class]
        params["target"] = st.selectbox("target class", choices, key=f"{key}_target",
                                        format_func=lambda c: data.class_label(class_names, c))
    return params


@dataclass
class DefenceChoice:
    """What the defence controls chose: ``spec`` (canonical spec string, 'none' for no defence), the
    naive/adaptive switch, and ``mode``, the attack that runs ('none' = naive, 'bpda', 'eot', 'bpda+eot')."""

    spec: str = "none"
    adaptive: bool = False
    mode: str = "none"

    def query(self) -> dict:
        """The URL values (none without a defence)."""
        return {} if self.spec == "none" else {"defence": self.spec, "adaptive": self.adaptive}


ADAPTIVE_CHOICES = ("naive", "adaptive")


def defence_select(where, key: str) -> str:
    """The defence picker: 'none' or one defence of ``advcore.defences.DEFENCES`` (its title shown)."""
    titles = "; ".join(f"{name}: {spec.title}" for name, spec in defences.DEFENCES.items())
    return where.selectbox("Defence", ["none", *defences.DEFENCES], key=f"{key}_defence",
                           help="an input transformation in front of the model, or randomized smoothing; the defended "
                                f"model is itself a model, so the attack runs on it unchanged ({titles})")


def defence_controls(name: str, key: str) -> DefenceChoice:
    """For a defence ``name`` ('none': nothing drawn): its parameters (from the registry), the naive /
    adaptive switch, and one line on what runs. Widget keys ``<key>_def_<name>_<param>``, ``<key>_adaptive``."""
    if name == "none":
        return DefenceChoice()
    spec = defences.get(name)
    cols = st.columns([1.0] * len(spec.params) + [1.8, 3.7], vertical_alignment="bottom")  # the switch whole at 1024 px
    values = {}
    for col, p in zip(cols, spec.params):
        wkey = f"{key}_def_{name}_{p.name}"
        _seed(wkey, p.default)
        label = p.name
        if p.kind == "int":
            values[p.name] = int(col.number_input(label, int(p.low), int(p.high), step=1, key=wkey,
                                                  help=f"{p.unit}: {p.help}"))
        else:
            values[p.name] = float(col.number_input(label, float(p.low), float(p.high), key=wkey,
                                                    help=f"{p.unit}: {p.help}"))
    chain = str(defences.Defence((defences.make_stage(name, **values),)))
    _seed(f"{key}_adaptive", "naive")
    switch = cols[len(spec.params)].segmented_control(
        "Attack it", ADAPTIVE_CHOICES, key=f"{key}_adaptive",
        help="naive: the attack uses whatever gradient TensorFlow gives through the defence (zero through JPEG, "
             "bit reduction and a vote); adaptive: BPDA differentiates those stages as the identity, EOT averages "
             "over random draws (Athalye, Carlini & Wagner 2018)")
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


def seed_defence_widgets(url: UrlState, key: str) -> None:
    """Put a link's defence, its parameters and the naive/adaptive switch into the widgets (first run)."""
    if url.defence is not None:
        st.session_state[f"{key}_defence"] = url.defence.name
        for name, value in url.defence.params:
            st.session_state[f"{key}_def_{url.defence.name}_{name}"] = value
    if url.adaptive is not None:
        st.session_state[f"{key}_adaptive"] = ADAPTIVE_CHOICES[int(url.adaptive)]


@dataclass
class AttackChoice:
    """What the attack row chose: the attack, its full params (eps and target included), norm, eps, target."""

    spec: attacks.AttackSpec
    params: dict
    norm: str
    eps: float
    target: int | None


def attack_row(key: str, dataset: str, class_names, true_class: int, model_ids: list[str],
               attacked: str | tuple[str, ...], url_eps: float | None = None, url_norm: str | None = None
               ) -> AttackChoice:
    """One row: attack picker | target (visible, not in a popover) | settings popover | the eps slider.

    Widget keys: ``attack``/``eps_<norm>`` for Explore (key 'explore'), ``<key>_attack``/``<key>_eps_<norm>``
    for other pages; attack settings ``<key>_<attack>_<param>``."""
    row = st.columns([1.2, 1.15, 1.1, 2.35], vertical_alignment="bottom")
    spec = attack_select(row[0], key="attack" if key == "explore" else f"{key}_attack")
    target = target_select(row[1], spec, key, class_names, true_class)
    with row[2].popover("Settings", icon=":material/tune:", width="stretch"):
        st.caption(f"{spec.title}: {spec.summary}. *{spec.paper}*")
        params = attack_controls(spec, key, model_ids=model_ids, attacked=attacked, with_target=False)
    norm = params.get("norm", spec.norms[0])
    with row[3]:
        eps = eps_slider(norm, "eps" if key == "explore" else f"{key}_eps",
                         url_eps if (url_norm or "linf") == norm else None, dataset)
    params.update(eps=eps, **({"target": target} if target is not None else {}))
    return AttackChoice(spec, params, norm, eps, target)


@dataclass
class UrlState:
    """Values read from the URL, validated; ``messages`` say what was refused or clamped. ``settings``
    holds the attack's other parameters (checked against the registry when applied)."""

    dataset: str | None = None
    model: str | None = None
    model_b: str | None = None
    image: int | None = None
    attack: str | None = None
    eps: float | None = None
    norm: str | None = None
    target: int | None = None
    kept: str | None = None  # id of a drawn/uploaded image kept on the server
    defence: defences.Stage | None = None  # one defence with its parameters (None: no defence)
    adaptive: bool | None = None  # the naive / adaptive switch
    settings: dict = field(default_factory=dict)
    messages: list[str] = field(default_factory=list)


def _url_model(text: dict, name: str, ids: list[str], state: UrlState, dataset: str) -> str | None:
    if name not in text:
        return None
    if text[name] in ids:
        return text[name]
    state.messages.append(f"The link names a model that is not available for {dataset} "
                          f"({text[name]!r}); showing the first one.")
    return None


def read_url(model_ids_for) -> UrlState:
    """Parse ``st.query_params``; ``model_ids_for(dataset)`` lists the valid model ids."""
    q = st.query_params
    state = UrlState()
    text = {k: str(q.get(k))[:100] for k in URL_KEYS + SETTING_KEYS if q.get(k) is not None}
    if "dataset" in text:
        if text["dataset"] in data.DATASETS:
            state.dataset = text["dataset"]
        else:
            state.messages.append(f"The link names an unknown data set ({text['dataset']!r}); showing MNIST.")
    dataset = state.dataset or "mnist"
    ids = model_ids_for(dataset)
    state.model = _url_model(text, "model", ids, state, dataset)
    state.model_b = _url_model(text, "model_b", ids, state, dataset)
    for name in ("image", "target"):
        if name in text:
            try:
                setattr(state, name, int(text[name]))
            except ValueError:
                state.messages.append(f"The {name} in the link ({text[name]!r}) is not a number; "
                                      f"{'showing image 0' if name == 'image' else 'untargeted'}.")
    if state.target is not None and not 0 <= state.target < len(data.DATASETS[dataset].class_names):
        state.messages.append(f"The target in the link ({state.target}) is not a class of {dataset}; untargeted.")
        state.target = None
    if "attack" in text:
        if text["attack"] in attacks.ATTACKS:
            state.attack = text["attack"]
        else:
            state.messages.append(f"The link names an unknown attack ({text['attack']!r}); showing PGD.")
    if "norm" in text:
        if text["norm"] in ("linf", "l2"):
            state.norm = text["norm"]
        else:
            state.messages.append(f"The norm in the link ({text['norm']!r}) is not linf or l2; using linf.")
    if "eps" in text:
        try:
            eps = float(text["eps"])
            if not math.isfinite(eps):
                raise ValueError
        except ValueError:
            state.messages.append(f"The eps in the link ({text['eps']!r}) is not a number; using the default.")
        else:
            high = live.eps_range(dataset, state.norm or "linf").high
            clamped = min(max(eps, 0.0), high)
            if clamped != eps:
                state.messages.append(f"The eps in the link ({eps:g}) is outside [0, {high:g}] for "
                                      f"{state.norm or 'linf'} on {dataset}; using {clamped:g}.")
            state.eps = clamped
    if "kept" in text:
        if text["kept"].isalnum() and len(text["kept"]) <= 16:
            state.kept = text["kept"]
        else:
            state.messages.append("The link's image id is not valid; showing a test image.")
    if "defence" in text:
        _url_defence(text["defence"], state)
    if "adaptive" in text:
        state.adaptive = text["adaptive"].lower() in ("true", "1", "yes")
    state.settings = {k: text[k] for k in SETTING_KEYS if k in text}
    return state


def _url_defence(text: str, state: UrlState) -> None:
    try:
        chain = defences.parse(text)
    except AdvcoreError as exc:
        state.messages.append(f"The link's defence is refused ({exc}); no defence.")
        return
    if len(chain.stages) > 1:
        state.messages.append(f"Explore applies one defence; the link chains {len(chain.stages)} "
                              f"({chain}), so only {chain.stages[0]} is used.")
    state.defence = chain.stages[0] if chain else None


def seed_attack_widgets(url: UrlState, key: str) -> None:
    """Put a link's attack settings into the widgets of ``url.attack`` (first run of a session only);
    a value the registry refuses is left at its default, with a message."""
    spec = attacks.ATTACKS[url.attack or "pgd"]
    names = {p.name: p for p in spec.params}
    if url.norm and "norm" in names and url.norm in names["norm"].choices:
        st.session_state[f"{key}_{spec.name}_norm"] = url.norm
    for name, raw in url.settings.items():
        if name not in names:
            continue
        wkey = f"{key}_{spec.name}_{name}"
        try:
            value = names[name].check(raw)
        except AdvcoreError as exc:
            url.messages.append(f"The link's {name} is refused ({exc}); using the default.")
            continue
        if name == "step_size":
            st.session_state[wkey + "_auto"] = value is None
        if value is not None:
            st.session_state[wkey] = value
    if url.target is not None and spec.targeted:
        st.session_state[f"{key}_target"] = url.target


def view_query(**values) -> dict[str, str]:
    """The query-string values of a view: None values are left out, floats written with 4 decimals."""
    def text(v) -> str:
        return ("true" if v else "false") if isinstance(v, bool) else f"{v:.4f}" if isinstance(v, float) else str(v)
    return {k: text(v) for k, v in values.items() if v is not None}


def write_url(values: dict[str, str]) -> None:
    """Make the URL hold exactly ``values`` (only keys that changed are written, to avoid extra reruns)."""
    for key in [k for k in st.query_params if k not in values and k in URL_KEYS + SETTING_KEYS]:
        del st.query_params[key]
    for key, text in values.items():
        if st.query_params.get(key) != text:
            st.query_params[key] = text


def attack_query(spec: attacks.AttackSpec, params: dict) -> dict:
    """The URL values of an attack's settings (``target`` and every parameter but eps and trace)."""
    return {k: v for k, v in params.items() if k not in ("eps", "trace") and v is not None}


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
[data-testid="stMetricValue"] { font-size: 1.75rem; line-height: 1.15; }
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
.stMarkdown p, .stCaption p, [data-testid="stWidgetLabel"] p, .stRadio label p { font-size: 20px !important; }
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


def page_header(title: str, intro: str, model_ids_for) -> tuple[bool, UrlState]:
    """Title with the Presenter switch, the page style, the introduction (hidden when presenting) and the
    link's state, its messages shown; returns (presenter, url state)."""
    left, right = st.columns([4, 1], vertical_alignment="center")
    left.title(title)
    presenter = presenter_toggle(right)
    page_style(presenter)
    if not presenter:
        st.markdown(intro)
    url = read_url(model_ids_for)
    for message in url.messages:
        st.warning(message)
    return presenter, url


def page_style(presenter: bool) -> None:
    """Compact page top and metric values that wrap instead of being cut; larger type for presenting."""
    st.html(PAGE_CSS + (PRESENTER_CSS if presenter else ""))
