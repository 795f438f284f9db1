"""Follow the teacher: the presented view is a small JSON dict, versioned in the store.

A view names what the teacher shows: data set, model, image (a test-set index, or the id of
a drawn/uploaded image kept in the store, with its label), attack, its settings (checked by the
attack registry) and eps (pixel units; L∞ or L2 by the attack's ``norm`` setting); optionally a
defence in front of the model (a spec of ``advcore.defences``, attacked naively or adaptively) and a
second model of the same data set (Compare's model B, attacked the same way). Each server process watches the
version of every followed room (``advcore.classroom.broadcast``: one small read per room, not per follower) and
pushes each new view, computed and rendered once, to its followers' pages (``advcore.ui.follow_stream``). The
Explore page holds
the same facts in its URL as an ``advcore.view.ExploreView``: a view converts to and from one
(``explore_view``, ``from_explore_view``), and so to and from an Explore link.
"""

from __future__ import annotations

import json
import math
from urllib.parse import parse_qs, urlparse

from advcore import attacks, data, defences, links, zoo
from advcore.attacks.registry import EPS_UI_MAX
from advcore.i18n import _
from advcore.view import ExploreView

from .rooms import ClassroomError
from .store import Store

MAX_VIEW_BYTES = 4096
EXPLORE_KEYS = ("dataset", "model", "image", "attack", "eps")


def make_view(dataset: str, model: str, attack: str, eps: float, *, image: int | None = None,
              image_id: str | None = None, label: int | None = None, params: dict | None = None,
              page: str = "explore", note: str = "", defence: str = "none", adaptive: bool = False,
              model_b: str | None = None) -> dict:
    """A checked view dict (ClassroomError on a bad value)."""
    if dataset not in data.DATASETS:
        raise ClassroomError(_("unknown data set {dataset}", dataset=repr(dataset)))
    try:
        zoo.check_id(model)
    except ValueError as exc:
        raise ClassroomError(str(exc)) from None
    if attack not in attacks.ATTACKS:
        raise ClassroomError(_("unknown attack {attack}", attack=repr(attack)))
    spec = attacks.ATTACKS[attack]
    known = {p.name: p for p in spec.params}
    checked = {}
    for name, value in (params or {}).items():
        if name in ("eps", "trace") or value is None:
            continue
        if name == "target":
            checked[name] = _target(value, dataset)
        elif name in known:
            try:
                checked[name] = known[name].check(value)
            except ValueError as exc:  # AdvcoreError
                raise ClassroomError(str(exc)) from None
        else:
            raise ClassroomError(_("{attack} has no setting {name}", attack=attack, name=name))
    params = checked
    norm = params.get("norm", spec.norms[0])
    eps = float(eps)
    if not (math.isfinite(eps) and 0 <= eps <= EPS_UI_MAX.get(norm, EPS_UI_MAX["linf"])):
        raise ClassroomError(_("eps {eps:g} is outside [0, {high}] for {norm}", eps=eps, high=EPS_UI_MAX.get(norm),
                               norm=norm))
    if (image is None) == (image_id is None):
        raise ClassroomError(_("a view shows either a test image (index) or a stored image (id)"))
    view = {"page": page, "dataset": dataset, "model": model, "attack": attack, "eps": eps, "params": params,
            "norm": norm, "note": " ".join(str(note).split())[:200]}
    defence = _defence(defence)
    if defence != "none":
        view.update(defence=defence, adaptive=bool(adaptive))
    if model_b is not None and model_b != model:
        try:
            view["model_b"] = zoo.check_id(model_b)
        except ValueError as exc:
            raise ClassroomError(str(exc)) from None
    if image is not None:
        view["image"] = int(image)
    else:
        if label is None:
            raise ClassroomError(_("a stored image needs its label"))
        view.update(image_id=str(image_id)[:64], label=int(label))
    if len(json.dumps(view)) > MAX_VIEW_BYTES:
        raise ClassroomError(_("this view is too large to present"))
    return view


def _defence(spec) -> str:
    """The canonical spec string of a defence ('none' for none); ClassroomError if it is not one."""
    if spec in (None, "", "none"):
        return "none"
    try:
        return str(defences.parse(str(spec)[:200]))
    except ValueError as exc:  # AdvcoreError
        raise ClassroomError(_("defence {spec}: {error}", spec=repr(spec), error=exc)) from None


def _target(value, dataset: str) -> int:
    try:
        target = int(value)
    except (TypeError, ValueError):
        raise ClassroomError(_("target {value} is not a class number", value=repr(value))) from None
    if not 0 <= target < len(data.info(dataset).class_names):
        raise ClassroomError(_("target {target} is not a class of {dataset}", target=target, dataset=dataset))
    return target


def present(store: Store, code: str, view: dict) -> int:
    """Make ``view`` the room's presented view (the caller checked the teacher key); its version."""
    return store.set_view(code, view)


def poll(store: Store, code: str, known_version: int) -> tuple[int, dict | None] | None:
    """(version, view) if the presented view changed since ``known_version``, else None (one small read)."""
    if store.view_version(code) == known_version:
        return None
    return store.get_view(code)


def explore_view(view: dict) -> ExploreView:
    """The ``ExploreView`` of a presented view (its test image, or no image for a stored one)."""
    params = dict(view.get("params") or {})
    norm, target = params.pop("norm", None), params.pop("target", None)
    defence = view.get("defence")
    return ExploreView(dataset=view["dataset"], model=view["model"], image=view.get("image"), attack=view["attack"],
                       eps=float(view["eps"]), norm=norm, target=target, settings=tuple(sorted(params.items())),
                       defence=None if defence in (None, "none") else defence,
                       adaptive=bool(view.get("adaptive", False)) and defence not in (None, "none"),
                       model_b=view.get("model_b"))


def from_explore_view(ev: ExploreView, *, image_id: str | None = None, label: int | None = None,
                      note: str = "", page: str | None = None) -> dict:
    """A checked presented view of an ``ExploreView`` (its test image, or a stored image ``image_id``)."""
    params = dict(ev.settings, **({"norm": ev.norm} if ev.norm is not None else {}),
                  **({"target": ev.target} if ev.target is not None else {}))
    image = {"image_id": image_id, "label": label} if image_id is not None else {"image": ev.image or 0}
    return make_view(ev.dataset, ev.model or "", ev.attack, ev.effective_eps, params=params, note=note,
                     page=page or ("compare" if ev.model_b else "explore"), defence=ev.defence or "none",
                     adaptive=ev.adaptive, model_b=ev.model_b, **image)


def explore_link(view: dict, base: str = "") -> str:
    """The Explore link of a presented view (a stored image has no index, so the image parameter is left out
    rather than showing image 0)."""
    return base.rstrip("/") + links.view_link(explore_view(view))


def view_from_link(link: str) -> dict:
    """A view from an Explore link (``.../?dataset=...&model=...&image=...&attack=...&eps=...``, and whatever
    else of an ``ExploreView`` it carries: settings, target, defence, model B); ClassroomError on a bad value."""
    query = {k: v[0] for k, v in parse_qs(urlparse(str(link).strip()).query).items()}
    missing = [k for k in EXPLORE_KEYS if k not in query]
    if missing:
        raise ClassroomError(_("the link does not give {keys}", keys=", ".join(missing)))
    ev, messages = ExploreView.from_query(query)
    if messages:
        raise ClassroomError(messages[0])
    if ev.image is None:
        raise ClassroomError(_("the link's image is not a test image"))
    return from_explore_view(ev)
