"""One Explore view: what Explore, Compare, a lesson's "Open this in Explore", the teacher's presenter and the
followers show, as one frozen value (no Streamlit here).

A view is a data set, a model (and Compare's second model), an image (a test-set index, or the id of a drawn or
uploaded image kept on the server), an attack with its norm, eps, target and other settings, and a defence with
the naive / adaptive switch. ``ExploreView.from_query`` reads a link's query string: a bad or hostile value gives
a message and its default, never an exception. ``to_query`` writes the view back (floats with 4 decimals, values
at None left out). Moving to another data set, attack or norm keeps what still applies (``with_dataset``,
``with_attack``, ``with_norm``). ``lang`` is the language the link opens in (``?lang=zh``; None: not written);
it is kept out of ``VIEW_KEYS`` because the page's language is the session's (``advcore.ui.navigation``):
a page writing its view into the URL never removes it.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from . import attacks, data, defences, i18n, zoo
from .errors import AdvcoreError
from .i18n import N_, _

VIEW_KEYS = ("dataset", "model", "image", "kept", "attack", "eps", "norm", "target", "model_b", "defence", "adaptive")
# Every attack setting a link may carry: steps, step_size, restarts, seed, source, ... (not eps, norm, trace).
SETTING_KEYS = tuple(sorted({p.name for spec in attacks.ATTACKS.values() for p in spec.params}
                            - {"eps", "trace", "norm"}))
LANG_KEY = "lang"  # the language a link opens in (advcore.i18n.LANGUAGES); not one of VIEW_KEYS
MAX_TEXT = 100  # characters of a query value read at most


def setting_names(attack: str) -> set[str]:
    """The settings of ``attack`` a view holds: its registry parameters but eps, trace and norm."""
    return {p.name for p in attacks.get(attack).params} - {"eps", "trace", "norm"}


def _text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        short = f"{value:.4f}"
        return short if float(short) == value or abs(value) >= 1e4 else repr(value)
    return str(value)


def snap_eps(dataset: str, norm: str, eps: float) -> float:
    """``eps`` on the data set's slider grid (the grid position closest to it)."""
    return data.info(dataset).eps_range(norm).nearest(eps)


@dataclass(frozen=True)
class ExploreView:
    """One view. ``model`` None: the page's default model; ``eps`` None: the data set's default for the norm;
    ``norm`` None: the attack's own default; ``settings``: the attack's other parameters, checked by the registry,
    as sorted (name, value) pairs (only those given: the rest are the attack's defaults); ``defence``: the spec
    string of one defence of ``advcore.defences`` (None: none); ``lang``: a code of ``advcore.i18n.LANGUAGES``
    the link opens in (None: the reader's own)."""

    dataset: str = "mnist"
    model: str | None = None
    image: int | None = None
    kept: str | None = None
    attack: str = "pgd"
    eps: float | None = None
    norm: str | None = None
    target: int | None = None
    settings: tuple[tuple[str, Any], ...] = ()
    defence: str | None = None
    adaptive: bool = False
    model_b: str | None = None
    lang: str | None = None

    # --- what the view means -------------------------------------------------------------------

    @property
    def spec(self) -> attacks.AttackSpec:
        return attacks.get(self.attack)

    @property
    def effective_norm(self) -> str:
        """The norm the attack runs in: the view's, else the attack's default ('norm' parameter or first norm)."""
        if self.norm is not None:
            return self.norm
        param = next((p for p in self.spec.params if p.name == "norm"), None)
        return param.default if param is not None else self.spec.norms[0]

    @property
    def effective_eps(self) -> float:
        return self.eps if self.eps is not None else data.info(self.dataset).default_eps(self.effective_norm)

    def setting(self, name: str, default=None):
        return dict(self.settings).get(name, default)

    def attack_params(self) -> dict:
        """What ``advcore.attacks.run`` takes: the settings, the norm (for attacks that have one), eps and the
        target (when set)."""
        params = dict(self.settings)
        if any(p.name == "norm" for p in self.spec.params):
            params["norm"] = self.effective_norm
        params["eps"] = self.effective_eps
        if self.target is not None:
            params["target"] = self.target
        return params

    # --- moving to another view ----------------------------------------------------------------

    def replace(self, **changes) -> ExploreView:
        return dataclasses.replace(self, **changes)

    def with_dataset(self, dataset: str) -> ExploreView:
        """Another data set: its default model, image and eps; the attack, its settings and the defence stay."""
        if dataset == self.dataset:
            return self
        return self.replace(dataset=dataset, model=None, model_b=None, image=None, kept=None, eps=None, target=None)

    def with_attack(self, attack: str, eps_for: Callable[[str], float | None] | None = None) -> ExploreView:
        """Another attack, keeping what still applies: the norm when the attack does it (and then eps), the
        target when it is targeted, the settings it also takes. ``eps_for(norm)``: the eps to use when the
        norm must change (None: the data set's default)."""
        if attack == self.attack:
            return self
        spec = attacks.get(attack)
        old_norm = self.effective_norm
        norm = old_norm if old_norm in spec.norms else None
        moved = self.replace(attack=attack, norm=norm,
                             target=self.target if spec.targeted else None,
                             settings=tuple((k, v) for k, v in self.settings if k in setting_names(attack)))
        if moved.effective_norm != old_norm:
            moved = moved.replace(eps=eps_for(moved.effective_norm) if eps_for else None)
        return moved

    def with_norm(self, norm: str, eps: float | None = None) -> ExploreView:
        """Another norm (one the attack does): its ``eps`` (None: the data set's default for it)."""
        if norm == self.effective_norm:
            return self
        if norm not in self.spec.norms:
            raise AdvcoreError(f"{self.spec.title} does not do the {norm} norm")
        return self.replace(norm=norm, eps=eps)

    def with_setting(self, name: str, value) -> ExploreView:
        """One setting changed (checked by the registry; the attack's default or None drops it)."""
        params = {p.name: p for p in self.spec.params}
        if name not in setting_names(self.attack):
            raise AdvcoreError(f"{self.attack} has no setting {name}")
        value = params[name].check(value) if value is not None else None
        settings = {k: v for k, v in self.settings if k != name}
        if value is not None and value != params[name].default:
            settings[name] = value
        return self.replace(settings=tuple(sorted(settings.items())))

    def with_defence(self, defence: str | None, adaptive: bool | None = None) -> ExploreView:
        """Another defence (a spec string; None or 'none': no defence, and the switch back to naive)."""
        chain = defences.parse(defence)
        spec = str(chain) if chain else None
        switch = self.adaptive if adaptive is None else adaptive
        return self.replace(defence=spec, adaptive=bool(switch) and spec is not None)

    # --- the query string ----------------------------------------------------------------------

    def to_query(self) -> dict[str, str]:
        """The view's query values (None values and the naive switch without a defence left out; eps with 4
        decimals, which ``from_query`` puts back on the data set's grid)."""
        values = {"dataset": self.dataset, "model": self.model, "image": self.image, "kept": self.kept,
                  "attack": self.attack, "eps": None if self.eps is None else f"{self.eps:.4f}", "norm": self.norm,
                  "target": self.target, "model_b": self.model_b, "defence": self.defence,
                  "adaptive": self.adaptive if self.defence else None, **dict(self.settings), LANG_KEY: self.lang}
        return {k: _text(v) for k, v in values.items() if v is not None}

    @classmethod
    def from_query(cls, query: Mapping[str, Any],
                   model_ids: Callable[[str], list[str]] | None = None) -> tuple[ExploreView, list[str]]:
        """The view a query string asks for, and what was refused or changed, in words (never an exception).
        ``model_ids(dataset)``: the models this server offers (None: any well-formed id)."""
        return _Reader(query, model_ids).read()


class _Reader:
    """``ExploreView.from_query``, one key at a time (each sets a field or adds a message)."""

    def __init__(self, query: Mapping[str, Any], model_ids):
        self.text = {}
        for key, value in dict(query).items():
            if isinstance(value, (list, tuple)):
                value = value[0] if value else ""
            if key in (*VIEW_KEYS, *SETTING_KEYS, LANG_KEY) and value is not None:
                self.text[key] = str(value)[:MAX_TEXT]
        self.model_ids = model_ids
        self.messages: list[str] = []
        self.fields: dict[str, Any] = {}

    def read(self) -> tuple[ExploreView, list[str]]:
        for step in (self._dataset, self._models, self._image, self._kept, self._attack, self._norm, self._eps,
                     self._target, self._defence, self._settings, self._lang):
            step()
        return ExploreView(**self.fields), self.messages

    def _dataset(self) -> None:
        name = self.text.get("dataset")
        if name is None:
            return
        if name in data.DATASETS:
            self.fields["dataset"] = name
        else:
            self.messages.append(_("The link names an unknown data set ({name}); showing MNIST.", name=repr(name)))

    @property
    def dataset(self) -> str:
        return self.fields.get("dataset", "mnist")

    def _models(self) -> None:
        for key in ("model", "model_b"):
            name = self.text.get(key)
            if name is None:
                continue
            try:
                zoo.check_id(name)
                if self.model_ids is not None and name not in self.model_ids(self.dataset):
                    raise AdvcoreError(name)
            except AdvcoreError:
                self.messages.append(_("The link names a model that is not available for {dataset} ({name}); "
                                       "showing the first one.", dataset=self.dataset, name=repr(name)))
            else:
                self.fields[key] = name

    def _number(self, key: str, message: str) -> int | None:
        """The link's ``key`` as an int, or None and ``message`` (an ``N_``-marked text with ``{value}``)."""
        try:
            return int(self.text[key])
        except ValueError:
            self.messages.append(_(message, value=repr(self.text[key])))
            return None

    def _image(self) -> None:
        if "image" not in self.text:
            return
        index = self._number("image", N_("The image in the link ({value}) is not a number; showing image 0."))
        if index is not None and index < 0:
            self.messages.append(_("The image in the link ({index}) is outside the test set; showing image 0.",
                                   index=index))
            index = None
        self.fields["image"] = index

    def _kept(self) -> None:
        kept = self.text.get("kept")
        if kept is None:
            return
        if kept.isascii() and kept.isalnum() and len(kept) <= 16:
            self.fields["kept"] = kept
        else:
            self.messages.append(_("The link's image id is not valid; showing a test image."))

    def _attack(self) -> None:
        name = self.text.get("attack")
        if name is None:
            return
        if name in attacks.ATTACKS:
            self.fields["attack"] = name
        else:
            self.messages.append(_("The link names an unknown attack ({name}); showing PGD.", name=repr(name)))

    @property
    def spec(self) -> attacks.AttackSpec:
        return attacks.get(self.fields.get("attack", "pgd"))

    def _norm(self) -> None:
        norm = self.text.get("norm")
        if norm is None:
            return
        if norm not in ("linf", "l2"):
            self.messages.append(_("The norm in the link ({norm}) is not linf or l2; using linf.", norm=repr(norm)))
        elif norm not in self.spec.norms:
            self.messages.append(_("{attack} does not do the {norm} norm; using {default}.", attack=self.spec.title,
                                   norm=norm, default=self.spec.norms[0]))
        else:
            self.fields["norm"] = norm

    def _eps(self) -> None:
        if "eps" not in self.text:
            return
        try:
            eps = float(self.text["eps"])
            if not math.isfinite(eps):
                raise ValueError
        except ValueError:
            self.messages.append(_("The eps in the link ({value}) is not a number; using the default.",
                                   value=repr(self.text["eps"])))
            return
        norm = ExploreView(attack=self.spec.name, norm=self.fields.get("norm")).effective_norm
        high = data.info(self.dataset).eps_range(norm).grid()[-1]  # MNIST: 128/255, a grey level above 0.5
        clamped = min(max(eps, 0.0), high)
        if abs(clamped - eps) > 5e-5:  # the 4 decimals of a written eps are not "outside"
            self.messages.append(_("The eps in the link ({eps:g}) is outside [0, {high:g}] for {norm} on {dataset}; "
                                   "using {clamped:g}.", eps=eps, high=high, norm=norm, dataset=self.dataset,
                                   clamped=clamped))
        self.fields["eps"] = snap_eps(self.dataset, norm, clamped)

    def _target(self) -> None:
        if "target" not in self.text:
            return
        target = self._number("target", N_("The target in the link ({value}) is not a number; untargeted."))
        if target is None:
            return
        if not 0 <= target < len(data.info(self.dataset).class_names):
            self.messages.append(_("The target in the link ({target}) is not a class of {dataset}; untargeted.",
                                   target=target, dataset=self.dataset))
        elif not self.spec.targeted:
            self.messages.append(_("{attack} has no targeted mode; untargeted.", attack=self.spec.title))
        else:
            self.fields["target"] = target

    def _defence(self) -> None:
        if "defence" in self.text:
            try:
                chain = defences.parse(self.text["defence"])
            except AdvcoreError as exc:
                self.messages.append(_("The link's defence is refused ({reason}); no defence.", reason=exc))
                chain = defences.parse(None)
            if len(chain.stages) > 1:
                self.messages.append(_("Explore applies one defence; the link chains {n} ({chain}), so only {first} "
                                       "is used.", n=len(chain.stages), chain=chain, first=chain.stages[0]))
            if chain:
                self.fields["defence"] = str(defences.Defence(chain.stages[:1]))
        if "adaptive" in self.text and "defence" in self.fields:
            self.fields["adaptive"] = self.text["adaptive"].lower() in ("true", "1", "yes")

    def _lang(self) -> None:
        text = self.text.get(LANG_KEY)
        if text is None:
            return
        lang = i18n.normalize(text)
        if lang is None:
            self.messages.append(_("The link's language ({value}) is not one of {languages}; using the page's.",
                                   value=repr(text), languages=", ".join(i18n.LANGUAGES)))
        else:
            self.fields["lang"] = lang

    def _settings(self) -> None:
        params = {p.name: p for p in self.spec.params}
        settings = {}
        for name in sorted(setting_names(self.spec.name) & set(self.text)):
            try:
                value = params[name].check(self.text[name])
            except AdvcoreError as exc:
                self.messages.append(_("The link's {name} is refused ({reason}); using the default.", name=name,
                                       reason=exc))
                continue
            if value is not None:
                settings[name] = value
        self.fields["settings"] = tuple(sorted(settings.items()))
