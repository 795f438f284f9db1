"""Follow the teacher: the presented view is a small JSON dict, versioned in the store.

A view names what the teacher shows: data set, model, image (a test-set index, or the id of
a drawn/uploaded image kept in the store, with its label), attack, its settings (checked by the
attack registry) and eps (pixel units; L∞ or L2 by the attack's ``norm`` setting); optionally a
defence in front of the model (a spec of ``advcore.defences``, attacked naively or adaptively) and a
second model of the same data set (Compare's model B, attacked the same way). Followers poll ``view_version``
(one small read) and fetch the view only when the version moved. The Explore page holds
the same facts in its URL (``dataset, model, image, attack, eps`` and the attack's settings),
so a view converts to and from an Explore link.
"""

from __future__ import annotations

import json
import math
from urllib.parse import parse_qs, urlparse

from advcore import attacks, data, zoo
from advcore.attacks.registry import EPS_UI_MAX

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
        raise ClassroomError(f"unknown data set {dataset!r}")
    try:
        zoo.check_id(model)
    except ValueError as exc:
        raise ClassroomError(str(exc)) from None
    if attack not in attacks.ATTACKS:
        raise ClassroomError(f"unknown attack {attack!r}")
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
            raise ClassroomError(f"{attack} has no setting {name}")
    params = checked
    norm = params.get("norm", spec.norms[0])
    eps = float(eps)
    if not (math.isfinite(eps) and 0 <= eps <= EPS_UI_MAX.get(norm, EPS_UI_MAX["linf"])):
        raise ClassroomError(f"eps {eps:g} is outside [0, {EPS_UI_MAX.get(norm)}] for {norm}")
    if (image is None) == (image_id is None):
        raise ClassroomError("a view shows either a test image (index) or a stored image (id)")
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
            raise ClassroomError("a stored image needs its label")
        view.update(image_id=str(image_id)[:64], label=int(label))
    if len(json.dumps(view)) > MAX_VIEW_BYTES:
        raise ClassroomError("this view is too large to present")
    return view


def _defence(spec) -> str:
    """The canonical spec string of a defence ('none' for none); ClassroomError if it is not one."""
    if spec in (None, "", "none"):
        return "none"
    from advcore import defences
    try:
        return str(defences.parse(str(spec)[:200]))
    except ValueError as exc:  # AdvcoreError
        raise ClassroomError(f"defence {spec!r}: {exc}") from None


def _target(value, dataset: str) -> int:
    try:
        target = int(value)
    except (TypeError, ValueError):
        raise ClassroomError(f"target {value!r} is not a class number") from None
    if not 0 <= target < len(data.info(dataset).class_names):
        raise ClassroomError(f"target {target} is not a class of {dataset}")
    return target


def present(store: Store, code: str, view: dict) -> int:
    """Make ``view`` the room's presented view (the caller checked the teacher key); its version."""
    return store.set_view(code, view)


def poll(store: Store, code: str, known_version: int) -> tuple[int, dict | None] | None:
    """(version, view) if the presented view changed since ``known_version``, else None (one small read)."""
    if store.view_version(code) == known_version:
        return None
    return store.get_view(code)


def explore_link(view: dict, base: str = "") -> str:
    """The Explore link of a presented view (``advcore.links`` builds it; a stored image has no index, so
    the image parameter is left out rather than showing image 0)."""
    from .. import links
    return base.rstrip("/") + links.explore_link(dataset=view["dataset"], model=view["model"],
                                                 attack=view["attack"], eps=view["eps"], image=view.get("image"),
                                                 defence=view.get("defence"), adaptive=view.get("adaptive"),
                                                 **view.get("params", {}))


def view_from_link(link: str) -> dict:
    """A view from an Explore link (``.../?dataset=...&model=...&image=...&attack=...&eps=...``,
    and any attack settings the link carries: norm, steps, target, ...; other parameters are ignored)."""
    query = {k: v[0][:100] for k, v in parse_qs(urlparse(str(link).strip()).query).items()}
    missing = [k for k in EXPLORE_KEYS if k not in query]
    if missing:
        raise ClassroomError(f"the link does not give {', '.join(missing)}")
    try:
        image, eps = int(query["image"]), float(query["eps"])
    except ValueError:
        raise ClassroomError("the link's image or eps is not a number") from None
    settings = {k: v for k, v in query.items() if k not in EXPLORE_KEYS and k in _setting_names(query["attack"])}
    return make_view(query["dataset"], query["model"], query["attack"], eps, image=image, params=settings)


def _setting_names(attack: str) -> set[str]:
    spec = attacks.ATTACKS.get(attack)
    return ({p.name for p in spec.params} | {"target"}) - {"eps", "trace"} if spec else set()
