"""Eps sweeps of shipped models, measured once and shipped beside their cards, so the Sweep page's
default request is answered at once instead of in a minute.

``models/<id>.sweep.json`` holds the weights' sha256, the exact request (data set and its source,
attacks, norm, steps, eps grid, number of images) and the rows ``evaluate.sweep_attacks`` returned.
A file is used only for a request equal to its own and only while the card's weights sha256 matches;
anything else is computed as before. ``python -m advcore sweep-files`` (re)writes them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from . import attacks, cards, defences, evaluate, zoo
from .attacks import adaptive
from .errors import AdvcoreError
from .i18n import _, pgettext

# The Sweep page's default request (its form starts from these).
DEFAULT_ATTACKS = ("fgsm", "pgd")
DEFAULT_NORM = "linf"
DEFAULT_STEPS = 20
DEFAULT_POINTS = 9
DEFAULT_N = 500


def eps_grid(eps_max: float, points: int) -> list[float]:
    """``points`` evenly spaced eps values from 0 to ``eps_max`` (pixel units), rounded to 1e-6."""
    return [round(float(e), 6) for e in np.linspace(0.0, eps_max, points)]


def request(split, attack_names, norm: str, steps: int, eps_values, n: int) -> dict:
    """The canonical description of one model's sweep (what a shipped file must match)."""
    return {"dataset": split.name, "test_set": split.source, "attacks": list(attack_names), "norm": norm,
            "steps": int(steps), "eps": [round(float(e), 6) for e in eps_values], "n": min(int(n), len(split))}


def default_request(split) -> dict:
    return request(split, DEFAULT_ATTACKS, DEFAULT_NORM, DEFAULT_STEPS,
                   eps_grid(cards.large_eps(split.name), DEFAULT_POINTS), DEFAULT_N)


def path_of(model_id: str) -> Path:
    return zoo.models_dir() / f"{zoo.check_id(model_id)}.sweep.json"


def shipped_rows(model_id: str, wanted: dict) -> pd.DataFrame | None:
    """The shipped rows of ``model_id`` for ``wanted``, or None (not shipped, other request, or weights
    that no longer match the card)."""
    try:
        card = zoo.card(model_id)
        content = json.loads(path_of(model_id).read_text())
    except (OSError, ValueError, zoo.ModelError):
        return None
    if not card["shipped"] or content.get("weights_sha256") != card.get("weights_sha256"):
        return None
    if content.get("request") != wanted:
        return None
    return pd.DataFrame(content["rows"])


def measure(model_id: str, model, split, wanted: dict, batch_size: int = evaluate.DEFAULT_BATCH,
            progress: Callable[[int], None] | None = None) -> pd.DataFrame:
    """Run the sweep ``wanted`` describes on one model."""
    return evaluate.sweep_attacks({model_id: model}, split, wanted["attacks"], wanted["eps"],
                                  {"norm": wanted["norm"], "steps": wanted["steps"]}, wanted["n"], batch_size,
                                  progress)


def write(model_id: str, model, split, wanted: dict, command: str) -> Path:
    """Measure and write ``models/<id>.sweep.json`` atomically."""
    table = measure(model_id, model, split, wanted)
    content = {"model": model_id, "weights_sha256": zoo.card(model_id)["weights_sha256"], "request": wanted,
               "command": command, "rows": json.loads(table.to_json(orient="records"))}
    path = path_of(model_id)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(content, indent=1) + "\n")
    os.replace(tmp, path)
    return path


def _load_or_skip(load_model: Callable[[str], object], model_id: str, skipped: list[tuple[str, str]]):
    """load_model(model_id), or None with (model_id, the reason) appended to ``skipped`` (the page words it:
    a sweep runs outside any page session, and its result is shared by sessions in every language)."""
    try:
        return load_model(model_id)
    except AdvcoreError as exc:
        skipped.append((model_id, str(exc)))
        return None


def iterative_gradient(attack_names) -> list[str]:
    """The iterative white-box gradient attacks among ``attack_names`` (those a defended sweep runs)."""
    return [a for a in attack_names if attacks.ATTACKS[a].family == "gradient" and attacks.ATTACKS[a].iterative]


def sweep(ids, load_model: Callable[[str], object], split, attack_names, norm: str, steps: int, eps_values,
          n: int, batch_size: int = evaluate.DEFAULT_BATCH,
          progress: Callable[[int], None] | None = None) -> tuple[pd.DataFrame, list[str], list[tuple[str, str]]]:
    """The sweep table of several models: shipped rows where they match, computed rows otherwise.

    load_model(id) is called only for models that must be computed; an AdvcoreError from it skips that
    model. Returns (table, ids served from shipped files, (model id, reason) per skipped model). ``progress``
    counts attacked images of the computed part."""
    wanted = request(split, attack_names, norm, steps, eps_values, n)
    tables, served, skipped = [], [], []
    for model_id in ids:
        rows = shipped_rows(model_id, wanted)
        if rows is None:
            model = _load_or_skip(load_model, model_id, skipped)
            if model is None:
                continue
            rows = measure(model_id, model, split, wanted, batch_size, progress)
        else:
            served.append(model_id)
        tables.append(rows)
    if not tables:
        return pd.DataFrame(), served, skipped
    order = {"attack": {a: i for i, a in enumerate(attack_names)}, "model": {m: i for i, m in enumerate(ids)}}
    table = pd.concat(tables, ignore_index=True)
    table = table.sort_values(["attack", "model", "eps"], key=lambda c: c.map(order[c.name]) if c.name in order else c,
                              kind="stable").reset_index(drop=True)
    return table, served, skipped


def standard_models(ids) -> list[str]:
    """The ids among ``ids`` whose card says they were trained on clean images only (recipe 'standard');
    for them a large FGSM-PGD gap is normal (``evaluate.sanity_checks``' ``standard_models``)."""
    out = []
    for model_id in ids:
        try:
            recipe = zoo.card(model_id).get("recipe", {}).get("recipe")
        except AdvcoreError:
            continue
        if recipe == "standard":
            out.append(model_id)
    return out


def defended_sweep(ids, load_model: Callable[[str], object], split, attack_names, norm: str, steps: int, eps_values,
                   n: int, specs, samples: int = 8, batch_size: int = evaluate.DEFAULT_BATCH,
                   progress: Callable[[int], None] | None = None) -> tuple[pd.DataFrame, list[tuple[str, str]]]:
    """Each model behind each defence in ``specs``, under each iterative gradient attack of ``attack_names``,
    twice: naive (the gradient TensorFlow gives through the defence) and adaptive (the defence's recommended
    BPDA and/or EOT; Athalye, Carlini & Wagner 2018). Rows as ``evaluate.sweep``'s plus ``defence``,
    ``adaptive``, ``base_model``; their ``model`` is "<id> + <spec> (<mode>)", so sanity checks and charts
    read each as a model of its own. Returns (table, (model id, reason) per skipped model)."""
    gradient = iterative_gradient(attack_names)
    tables, skipped = [], []
    if not specs or not gradient:
        return pd.DataFrame(), skipped
    for model_id in ids:
        model = _load_or_skip(load_model, model_id, skipped)
        if model is None:
            continue
        for spec in specs:
            spec = str(defences.parse(spec))
            for attack in gradient:
                for mode in dict.fromkeys(("none", adaptive.recommended_mode(spec))):
                    params = attacks.accepted(attack, {"norm": norm, "steps": steps})
                    rows = adaptive.sweep({f"{model_id} + {spec} ({'naive' if mode == 'none' else mode})": model},
                                          split, attack, eps_values, params, spec, mode, samples, n, batch_size,
                                          progress)
                    tables.append(rows.assign(base_model=model_id))
    return (pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()), skipped


def defence_flags(table: pd.DataFrame, note: Callable[[str], str] = str) -> list:
    """Per model and defence, ``adaptive.masking_flag`` at the eps where naive and adaptive differ most, in the
    current language (``note``: turns the flag's stored English sentence into it; the page passes
    ``advcore.ui.model_table_notes.note``)."""
    if table.empty or "defence" not in table:
        return []
    flags = []
    for (base, spec, attack), rows in table.groupby(["base_model", "defence", "attack"], sort=False):
        naive = rows[rows["adaptive"] == "none"].set_index("eps")
        strong = rows[rows["adaptive"] != "none"].set_index("eps")
        if naive.empty or strong.empty:
            continue
        gap = (naive["robust_accuracy"] - strong["robust_accuracy"]).dropna()
        eps = gap.idxmax()
        flag = adaptive.masking_flag(naive.loc[eps].to_dict(), strong.loc[eps].to_dict())
        message = _("{model} behind {defence}, {attack} at eps {eps:.4g}: {message}", model=base, defence=spec,
                    attack=pgettext("attack title", attacks.ATTACKS[attack].title), eps=eps, message=note(flag.message))
        flags.append(evaluate.Flag(f"{flag.check}:{base}:{attack}", flag.ok, message, base, attack))
    return flags
