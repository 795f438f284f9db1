"""Batched robustness evaluation, epsilon sweeps, and sanity checks on the results.

The sanity checks follow Carlini et al. 2019, "On Evaluating Adversarial
Robustness" (Sec. 5), and Croce & Hein 2020 (AutoAttack): each returns a flag a
student can read, so a weak evaluation is not mistaken for a robust model.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import pandas as pd

from . import attacks, metrics, zoo
from .attacks.base import AttackResult, logits_of
from .attacks.batches import DEFAULT_BATCH, MAX_EVAL_IMAGES, attack_batched, check_n
from .attacks.checks import Flag, gradient_check, zero_gradient_share

# Re-exported: evaluate is where callers find the batched runner, the image bound and the masking checks.
__all__ = ["DEFAULT_BATCH", "MAX_EVAL_IMAGES", "Flag", "attack_batched", "check_n", "evaluate", "gradient_check",
           "run_attack", "sanity_checks", "sweep", "sweep_attacks", "transfer_matrix", "with_models", "worst_case",
           "zero_gradient_share"]


def _model_ids(attack: str, params: dict) -> dict:
    """The model parameters of ``attack`` (the transfer attack's source) that ``params`` gives as zoo ids."""
    return {p.name: params[p.name] for p in attacks.get(attack).params
            if p.kind == "model" and isinstance(params.get(p.name), str)}


def with_models(attack: str, params: dict) -> dict:
    """``params`` of ``attack`` with each model parameter given as a zoo id replaced by the model
    (``advcore.zoo.load``, which refuses a bad id): attacks take model objects, and callers holding
    settings (links, widgets, CLI flags) resolve the ids here."""
    return dict(params, **{name: zoo.load(model_id) for name, model_id in _model_ids(attack, params).items()})


def run_attack(attack: str, model, x, y, **params) -> AttackResult:
    """``attacks.run`` with settings as links and widgets hold them (model parameters as zoo ids, loaded by
    ``with_models``); the result's params name those models by their ids again."""
    result = attacks.run(attack, model, x, y, **with_models(attack, params))
    result.params.update(_model_ids(attack, params))
    return result


def evaluate(model, split, attack: str, params: dict, n: int = 1000, batch_size: int = DEFAULT_BATCH,
             progress: Callable[[int], None] | None = None) -> dict:
    """Robust accuracy and friends of ``model`` under ``attack`` on the first ``n`` images of ``split``."""
    n = check_n(n, len(split))
    x, y = split.x[:n], split.y[:n]
    started = time.perf_counter()
    x_adv, clean, adv = attack_batched(model, x, y, attack, with_models(attack, params), batch_size, progress)
    summary = metrics.summarise(x, x_adv, clean, adv, y, params.get("target"))
    summary["seconds"] = round(time.perf_counter() - started, 3)
    return summary


def worst_case(model, split, attack_list, n: int = 1000, batch_size: int = DEFAULT_BATCH,
               progress: Callable[[int], None] | None = None) -> dict:
    """Per-example worst case over several attacks, as AutoAttack reports (Croce & Hein 2020):
    an example counts as robust only if it is classified correctly and every attack fails.

    attack_list: [(name, params), ...]. Returns the usual summary of the worst-case images
    plus ``per_attack`` robust accuracies.
    """
    n = check_n(n, len(split))
    x, y = split.x[:n], split.y[:n]
    started = time.perf_counter()
    x_worst, adv_worst, clean, per_attack = x.copy(), None, None, {}
    fooled = np.zeros(n, bool)
    for name, params in attack_list:
        x_adv, clean, adv = attack_batched(model, x, y, name, with_models(name, params), batch_size, progress)
        hit = adv.argmax(axis=1) != y
        per_attack[name] = float(1 - hit.mean())
        if adv_worst is None:
            adv_worst = clean.copy()
        new = hit & ~fooled
        x_worst[new], adv_worst[new] = x_adv[new], adv[new]
        fooled |= hit
    summary = metrics.summarise(x, x_worst, clean, adv_worst, y)
    summary.update(per_attack=per_attack, seconds=round(time.perf_counter() - started, 3))
    return summary


def sweep(models: dict, split, attack: str, eps_values, params: dict | None = None, n: int = 1000,
          batch_size: int = DEFAULT_BATCH, progress: Callable[[int], None] | None = None) -> pd.DataFrame:
    """Accuracy against eps for several models: one row per (model, eps).

    models: {id: model}; eps_values in pixel units. Columns: model, attack, eps,
    eps_255, n, clean_accuracy, robust_accuracy, attack_success_rate, mean_l2,
    mean_linf, max_linf, mean_kl, mean_attack_strength, mean_defence_effect, seconds.
    """
    params = dict(params or {})
    rows = []
    for model_id, model in models.items():
        for eps in eps_values:
            summary = evaluate(model, split, attack, dict(params, eps=float(eps)), n, batch_size, progress)
            rows.append({"model": model_id, "attack": attack, "eps": float(eps), "eps_255": float(eps) * 255,
                         **summary})
    return pd.DataFrame(rows)


def sweep_attacks(models: dict, split, attack_names, eps_values, params: dict | None = None, n: int = 1000,
                  batch_size: int = DEFAULT_BATCH, progress: Callable[[int], None] | None = None) -> pd.DataFrame:
    """``sweep`` for several attacks (e.g. FGSM against PGD); each takes the params it accepts."""
    tables = [sweep(models, split, name, eps_values, attacks.accepted(name, dict(params or {})), n, batch_size,
                    progress) for name in attack_names]
    return pd.concat(tables, ignore_index=True)


def transfer_matrix(models: dict, split, attack: str, params: dict, n: int = 500,
                    progress: Callable[[int], None] | None = None, batch_size: int = DEFAULT_BATCH) -> pd.DataFrame:
    """Accuracy of each target model (columns) on adversarial examples crafted on each
    source model (rows), over the first ``n`` test images. The diagonal is white-box."""
    n = check_n(n, len(split))
    x, y = split.x[:n], split.y[:n]
    matrix = pd.DataFrame(index=list(models), columns=list(models), dtype=float)
    params = with_models(attack, params)
    for source, source_model in models.items():
        x_adv, _, _ = attack_batched(source_model, x, y, attack, params, batch_size, progress)
        for target, target_model in models.items():
            matrix.loc[source, target] = metrics.accuracy(logits_of(target_model, x_adv), y)
    return matrix


TOLERANCE = 0.02  # accuracy points of slack for the sampling noise of a few hundred images
MASKING_GAP = 0.3  # FGSM accuracy this far above an iterative attack's: single-step-only robustness


def _name(attack: str) -> str:
    """The attack's title as a student reads it ("PGD", "FGSM / FGM"); the name itself if unknown."""
    return attacks.ATTACKS[attack].title if attack in attacks.ATTACKS else attack


def _where(points: pd.DataFrame) -> str:
    """'model M at eps E' for the first (model, eps) row of ``points``, and how many more there are."""
    model_id, eps = points.index[0]
    more = len(points) - 1
    return f"model {model_id} at eps {eps:.4g}" + (f" (and {more} more point{'s' * (more > 1)})" if more else "")


def sanity_checks(table: pd.DataFrame, large_eps: float | None = None, standard_models=()) -> list[Flag]:
    """Flags over a sweep table (rows as returned by ``sweep``, possibly several attacks). Every
    message names the model and the attack it concerns.

    - accuracy must not rise as eps grows (per model and attack);
    - at ``large_eps`` (e.g. 0.5 on MNIST, 32/255 on CIFAR-10) accuracy should be near 0;
    - an iterative gradient attack must not be weaker than FGSM at the same eps;
    - FGSM must not leave accuracy far (``MASKING_GAP``) above the iterative attack's (gradient
      masking, e.g. catastrophic overfitting; Wong et al. 2020). That sign concerns models trained
      against attacks or behind a defence: on ``standard_models`` (ids trained on clean images only,
      rows without a defence) a large gap is normal, so it is only an info note there;
    - random noise or a black-box attack (e.g. Square) must not be stronger than a white-box
      gradient attack at the same eps.
    """
    flags = []
    for (model_id, attack), rows in table.groupby(["model", "attack"], sort=False):
        rows = rows.sort_values("eps")
        acc = rows["robust_accuracy"].to_numpy()
        rising = np.flatnonzero(np.diff(acc) > TOLERANCE)
        who = f"{model_id} under {_name(attack)}"
        flags.append(Flag(
            f"monotone:{model_id}:{attack}", rising.size == 0,
            f"{who}: accuracy falls (or stays) as eps grows" if rising.size == 0 else
            f"{who}: accuracy rose from eps {rows['eps'].iloc[rising[0]]:.4g} to "
            f"{rows['eps'].iloc[rising[0] + 1]:.4g}; a bigger budget must never help the model, so the attack "
            "is not converging (gradient masking?)", model_id, attack))
        if large_eps is not None and attack != "noise":
            big = rows[np.isclose(rows["eps"], large_eps)]
            if len(big):
                value = float(big["robust_accuracy"].iloc[0])
                flags.append(Flag(
                    f"large-eps:{model_id}:{attack}", value <= 0.1,
                    f"{who}: at eps {large_eps:.4g} accuracy is {value:.1%}" + (
                        "" if value <= 0.1 else "; with so large a budget any image can be changed into "
                        "another class, so any accuracy above 10% means the attack is failing, not the model winning"),
                    model_id, attack))
    defended = table["defence"].fillna("none").astype(str) != "none" if "defence" in table else False
    standard = set(table.loc[table["model"].isin(list(standard_models)) & ~defended, "model"])
    by_attack = {a: t.set_index(["model", "eps"])["robust_accuracy"] for a, t in table.groupby("attack")}
    references = {"fgsm": "single-step FGSM"}
    references.update({a: f"{attacks.ATTACKS[a].title.lower()}" for a in by_attack
                       if a in attacks.ATTACKS and attacks.ATTACKS[a].family in ("control", "black-box")})
    strong_attacks = [a for a in by_attack if a in attacks.ATTACKS and attacks.ATTACKS[a].family == "gradient"
                      and attacks.ATTACKS[a].iterative]
    for strong in strong_attacks:
        title = _name(strong)
        for weak, label in references.items():
            if weak not in by_attack:
                continue
            joined = pd.concat([by_attack[strong], by_attack[weak]], axis=1, keys=["strong", "weak"]).dropna()
            models = ", ".join(dict.fromkeys(joined.index.get_level_values(0)))
            worse = joined[joined["strong"] > joined["weak"] + TOLERANCE]
            if weak == "fgsm":
                eps_level = joined.index.get_level_values(1)
                gaps = joined[(joined["weak"] - joined["strong"] > MASKING_GAP) & (eps_level > 0)]
                on_standard = gaps.index.get_level_values(0).isin(list(standard))
                gap, normal = gaps[~on_standard], gaps[on_standard]
                others = ", ".join(m for m in dict.fromkeys(joined.index.get_level_values(0)) if m not in standard)
                flags.append(Flag(
                    f"{strong}-vs-fgsm-gap", gap.empty,
                    (f"FGSM and {title} agree within {MASKING_GAP:.0%} on {others}" if others else
                     f"FGSM against {title}: only standard models here, where a gap is no warning sign")
                    if gap.empty else
                    f"{_where(gap)}: the model resists FGSM ({gap['weak'].iloc[0]:.1%}) far better than {title} "
                    f"({gap['strong'].iloc[0]:.1%}); its loss surface hides the direction from single steps "
                    "(gradient masking, e.g. the catastrophic overfitting of fast adversarial training), so only "
                    f"the {title} number counts", ", ".join(dict.fromkeys(gap.index.get_level_values(0))), strong))
                if len(normal):
                    flags.append(Flag(
                        f"{strong}-vs-fgsm-gap:standard", True,
                        f"{_where(normal)}: FGSM leaves {normal['weak'].iloc[0]:.1%}, {title} "
                        f"{normal['strong'].iloc[0]:.1%}. Normal for a standard model (trained on clean images "
                        "only): its loss is far from linear, so one big step misses what many small steps find. "
                        "The gap is a warning sign only for adversarially trained or defended models.",
                        ", ".join(dict.fromkeys(normal.index.get_level_values(0))), strong, "info"))
            flags.append(Flag(
                f"{strong}-vs-{weak}", worse.empty,
                f"{title} is at least as strong as {label} on every model ({models})" if worse.empty else
                f"{_where(worse)}: {title} leaves accuracy {worse['strong'].iloc[0]:.1%} but {label} only "
                f"{worse['weak'].iloc[0]:.1%}; a white-box gradient attack should never lose to {label}, so "
                "the gradients are misleading it (gradient masking): trust the lower number",
                ", ".join(dict.fromkeys(worse.index.get_level_values(0))), strong))
    return flags
