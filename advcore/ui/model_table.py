"""What the Models page shows of a model card, in words a student reads, and the defence table it computes.

Everything here is read from the cards (``advcore.zoo.card``, written by ``advcore.cards`` and
``advcore.byo``) or measured on request (``defence_table``); no figure is typed in. Cells are text,
never None: a figure a card does not hold is an em dash (``MISSING``) and the page says "not measured".
Labels and words are in the reader's language (``advcore.i18n``); what a card stores in English (sanity flags,
a caveat, why training stopped) is read back by ``advcore.ui.model_table_notes``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from advcore import cards, data, defences
from advcore.attacks import adaptive
from advcore.i18n import N_, _

from .model_table_notes import note

MISSING = "—"

# Training recipes (advcore.train.RECIPES, plus the user-model and distillation cards) in plain words.
TRAINING_WORDS = {
    "standard": N_("standard"),
    "pgd-at": N_("adversarial training (PGD, Madry et al. 2018)"),
    "fgsm-rs": N_("fast adversarial training (FGSM + random start, Wong et al. 2020)"),
    "n-fgsm": N_("fast adversarial training (N-FGSM: FGSM from larger noise, de Jorge et al. 2022)"),
    "trades": N_("TRADES (Zhang et al. 2019)"),
    "distill": N_("defensive distillation (Papernot et al. 2016; masks gradients, not robust)"),
    "user": N_("brought by a user (training not recorded)"),
}

# The robustness figures a table of defences reports, the adaptive mode per defence from the registry.
DEFAULT_DEFENCES = ("jpeg:75", "bits:3", "median:3", "resize-pad")


def recipe_of(card: dict) -> str | None:
    return (card.get("recipe") or {}).get("recipe")


def training_words(card: dict) -> str:
    """How the model was trained, in plain words with its paper; an unknown recipe is named as it is."""
    recipe = recipe_of(card)
    if recipe in TRAINING_WORDS:
        return _(TRAINING_WORDS[recipe])
    if recipe:
        return _("recipe '{recipe}' (see the card's details)", recipe=recipe)
    return _("not recorded on the card")


def percent(value) -> str:
    """0.951 -> '95.1%'; None (not measured) -> the em dash."""
    return MISSING if value is None else f"{float(value):.1%}"


def per_255(eps: float) -> str:
    k = float(eps) * 255
    return f"{k:.0f}/255" if abs(k - round(k)) < 1e-3 else f"{k:.1f}/255"


def eps_text(eps: float) -> str:
    """A budget as a student reads it: '8/255 (0.0314)'."""
    return f"{per_255(eps)} ({float(eps):.3g})"


def budget(card: dict) -> float:
    """The model's own L∞ budget (pixel units): the eps it was trained at, or for a standard or user model
    the data set's largest reference budget (MNIST 0.3, Fashion-MNIST 0.1, CIFAR-10 8/255)."""
    recipe = card.get("recipe") or {}
    if recipe.get("recipe") not in (None, "standard", "user") and recipe.get("eps"):
        return float(recipe["eps"])
    dataset = card.get("dataset")
    try:
        return float(cards.reference_eps(dataset)[-1])
    except Exception:  # an unknown data set: the largest budget the card measured
        return max((float(e["eps"]) for e in _robust(card)), default=0.0)


def _robust(card: dict) -> list[dict]:
    return [e for e in (card.get("results") or {}).get("robust", []) if isinstance(e, dict) and "eps" in e]


def _at(entries, eps: float) -> list[dict]:
    return [e for e in entries if abs(float(e["eps"]) - eps) < 1e-6]


def pgd_entry(card: dict, eps: float) -> dict | None:
    """The card's PGD figure at ``eps``: PGD-40 with one start if there is one (the cards' headline),
    else the first PGD run at that budget (user models: PGD-20)."""
    runs = [e for e in _at(_robust(card), eps) if e.get("attack") == "pgd"]
    headline = [e for e in runs if e.get("steps") == 40 and (e.get("restarts") or 1) == 1]
    return (headline or runs or [None])[0]


def worst_entry(card: dict, eps: float) -> dict | None:
    """The AutoAttack-style worst case (several attacks, per-image strongest) at ``eps``, if measured."""
    return next((e for e in _at(_robust(card), eps) if "," in str(e.get("attack"))), None)


def attack_name(entry: dict) -> str:
    """'PGD-40', 'PGD-100 x 5 restarts', 'FGSM', 'worst of APGD-CE, APGD-DLR, SQUARE'."""
    attack = str(entry.get("attack"))
    if "," in attack:
        return _("worst of {attacks}", attacks=", ".join(a.upper() for a in attack.split(",")))
    name = attack.upper()
    if entry.get("steps") and attack not in ("fgsm", "noise"):
        name += f"-{entry['steps']}"
    if (entry.get("restarts") or 1) > 1:
        name = _("{attack} x {restarts} restarts", attack=name, restarts=entry["restarts"])
    return name


def _n(value) -> str:
    return f"{int(value):,}" if isinstance(value, (int, float)) else MISSING


def dataset_title(name) -> str:
    try:
        return data.info(name).title
    except Exception:
        return str(name) if name else MISSING


def display_id(card: dict) -> str:
    return card["id"] if card.get("shipped", True) else _("{id} (user model)", id=card["id"])


def clean_images(card: dict):
    """How many test images the clean accuracy was measured on: the card's clean run, else (older cards)
    the first robust run's, whose clean accuracy it is (as ``cards.markdown_table`` reads it)."""
    results = card.get("results") or {}
    robust = _robust(card)
    return (results.get("clean") or {}).get("n") or (robust[0].get("n") if robust else None)


def student_row(card: dict) -> dict[str, str]:
    """One row of the students' table: every cell a string, a missing figure the em dash. How many test images
    each figure was measured on is in ``card_fields`` (the page's details)."""
    results = card.get("results") or {}
    eps = budget(card)
    pgd, worst = pgd_entry(card, eps), worst_entry(card, eps)
    return {
        _("Model"): display_id(card),
        _("Data set"): dataset_title(card.get("dataset")),
        _("Training"): training_words(card),
        _("Clean accuracy"): percent(results.get("clean_accuracy")),
        _("Budget ε (L∞)"): per_255(eps),
        _("Robust accuracy (PGD)"): percent(pgd["robust_accuracy"]) if pgd else MISSING,
        _("Worst case"): percent(worst["robust_accuracy"]) if worst else MISSING,
    }


def student_table(all_cards: list[dict]) -> list[dict[str, str]]:
    return [student_row(card) for card in all_cards]


def results_rows(card: dict) -> list[dict[str, str]]:
    """Every robustness figure of a card, one readable row each (no None cells)."""
    return [{_("Attack"): attack_name(e), "ε (L∞)": eps_text(float(e["eps"])),
             _("Robust accuracy"): percent(e.get("robust_accuracy")), _("Test images"): _n(e.get("n")),
             _("Command"): str(e.get("command") or MISSING)} for e in _robust(card)]


def card_fields(card: dict) -> list[tuple[str, str]]:
    """A card's facts as (label, text) pairs, in the order a reader wants them; absent facts are left out."""
    recipe, training, results = card.get("recipe") or {}, card.get("training") or {}, card.get("results") or {}
    source, data_info = card.get("source") or {}, card.get("data") or {}
    fields = [(_("Data set"), dataset_title(card.get("dataset"))), (_("Training"), training_words(card))]
    if card.get("caveat"):
        fields.append((_("Caveat"), note(card["caveat"])))
    if recipe.get("recipe") not in (None, "standard", "user") and recipe.get("eps"):
        fields.append((_("Trained at ε"), eps_text(float(recipe["eps"]))))
    if recipe.get("training_attack"):
        fields.append((_("Training attack"), note(recipe["training_attack"])))
    if card.get("architecture"):
        params = card.get("parameters")
        fields.append((_("Architecture"), _("{architecture} ({params:,} parameters)", architecture=card["architecture"],
                                            params=params) if params else str(card["architecture"])))
    if training.get("seconds"):
        values = {"minutes": training["seconds"] / 60, "hardware": training.get("hardware", "?"),
                  "epochs": training.get("epochs_completed")}
        fields.append((_("Training time"), _("{minutes:.1f} min on {hardware}, {epochs} epochs", **values)
                       if values["epochs"] else _("{minutes:.1f} min on {hardware}", **values)))
    if source.get("file"):
        values = {"file": source["file"], "keras": source.get("keras_version", "?")}
        fields.append((_("Uploaded file"), _("{file} (Keras {keras}; final softmax removed)", **values)
                       if source.get("softmax_stripped") else _("{file} (Keras {keras}; returns logits)", **values)))
    clean_n = clean_images(card)
    if results.get("clean_accuracy") is not None:
        accuracy = percent(results["clean_accuracy"])
        fields.append((_("Clean accuracy"), _("{accuracy} on {n} test images", accuracy=accuracy, n=_n(clean_n))
                       if clean_n else accuracy))
    eps = budget(card)
    pgd = pgd_entry(card, eps)
    if pgd:
        fields.append((_("Robust accuracy at {budget}", budget=per_255(eps)),
                       _("{accuracy} under {attack} on {n} test images", accuracy=percent(pgd["robust_accuracy"]),
                         attack=attack_name(pgd), n=_n(pgd.get("n")))))
    worst = worst_entry(card, eps)
    fields.append((_("Worst case"), _("{accuracy} ({attack}, {n} test images)", accuracy=percent(
        worst["robust_accuracy"]), attack=attack_name(worst), n=_n(worst.get("n"))) if worst else _("not measured")))
    if data_info.get("source") or results.get("test_set"):
        fields.append((_("Test data"), str(data_info.get("source") or results.get("test_set"))
                       + (f" — {note(results['note'])}" if results.get("note") else "")))
    if card.get("created"):
        fields.append((_("Card written"), str(card["created"])))
    if card.get("weights_sha256"):
        fields.append((_("Weights sha256"), str(card["weights_sha256"])[:16] + "…"))
    return fields


def fields_markdown(card: dict) -> str:
    """``card_fields`` as a Markdown list, one "**label:** text" line each."""
    return "\n".join(_("- **{label}:** {text}", label=label, text=text) for label, text in card_fields(card))


def sanity_flags(card: dict) -> list[dict]:
    """The card's sanity flags, each ``message`` in the reader's language."""
    flags = ((card.get("results") or {}).get("sanity") or {}).get("flags") or []
    return [dict(flag, message=note(flag.get("message", ""))) for flag in flags]


# --- the table of defences ---------------------------------------------------------------------

def defence_plan(defence_specs) -> list[tuple[str, str]]:
    """(canonical spec, adaptive mode) per defence, with the undefended model first as ('none', 'none')."""
    plan = [("none", "none")]
    for spec in defence_specs:
        parsed = defences.parse(spec)
        plan.append((str(parsed), adaptive.recommended_mode(parsed)))
    return plan


def defence_cost(n_models: int, plan, n: int) -> int:
    """Images attacked in total (the progress bar's length): naive, plus adaptive where it differs."""
    return n_models * sum(n * (1 + (mode != "none")) for _spec, mode in plan)


def defence_table(models: dict, x: np.ndarray, y: np.ndarray, defence_specs, params: dict, attack: str = "pgd",
                  samples: int = adaptive.DEFAULT_EOT_SAMPLES, batch_size: int = 500,
                  progress: Callable[[int], None] | None = None) -> list[dict]:
    """Per model and defence (and the model undefended): clean accuracy of the defended model, robust
    accuracy under ``attack`` naive (TensorFlow's gradient through the defence) and adaptive (BPDA for
    stages without a gradient, EOT over ``samples`` draws for random ones; Athalye, Carlini & Wagner 2018),
    and whether the naive figure hid the gradient (``adaptive.masking_flag``). Fractions in [0, 1]."""
    rows = []
    for model_id, model in models.items():
        for spec, mode in defence_plan(defence_specs):
            naive = adaptive.evaluate(model, x, y, attack, params, spec, "none", samples, batch_size, progress)
            strong = naive if mode == "none" else adaptive.evaluate(model, x, y, attack, params, spec, mode, samples,
                                                                    batch_size, progress)
            flag = adaptive.masking_flag(naive, strong)
            rows.append({"model": model_id, "defence": spec, "clean": naive["clean_accuracy"],
                         "naive": naive["robust_accuracy"], "adaptive": strong["robust_accuracy"],
                         "mode": mode, "masked": not flag.ok, "n": naive["n"]})
    return rows


NO_MODE = N_("none needed (the gradient passes)")
MODE_WORDS = {"bpda": "BPDA", "eot": "EOT", "bpda+eot": "BPDA + EOT"}  # acronyms, in every language


def defence_rows(rows: list[dict], samples: int) -> list[dict[str, str]]:
    """``defence_table`` rows as text for the page."""
    out = []
    for r in rows:
        mode = (_("no defence to adapt to") if r["defence"] == "none" else _(NO_MODE) if r["mode"] == "none"
                else MODE_WORDS.get(r["mode"], r["mode"]))
        if "eot" in r["mode"]:
            mode = _("{mode} ({samples} draws)", mode=mode, samples=samples)
        out.append({_("Model"): r["model"], _("Defence"): r["defence"],
                    _("Clean accuracy"): percent(r["clean"]), _("Naive PGD"): percent(r["naive"]),
                    _("Adaptive PGD"): percent(r["adaptive"]), _("Adaptive attack"): mode,
                    _("Hidden gradient?"): _("yes") if r["masked"] else _("no")})
    return out


def certified_curves(models: dict, x: np.ndarray, y: np.ndarray, sigmas, n: int = 500, n0: int = 100,
                     alpha: float = 0.001, radii=defences.DEFAULT_RADII,
                     progress: Callable[[int], None] | None = None) -> dict[str, dict]:
    """Certified accuracy against L2 radius (pixel units) of each model smoothed with Gaussian noise of each
    sigma (Cohen, Rosenfeld & Kolter 2019): ``defences.certify_report`` per (model, sigma), keyed
    '<model>, σ = <sigma>'. ``progress(1)`` after each."""
    curves = {}
    for model_id, model in models.items():
        for sigma in sigmas:
            report = defences.certify_report(model, x, y, float(sigma), n0=n0, n=n, alpha=alpha, radii=radii)
            curves[f"{model_id}, σ = {float(sigma):g}"] = report
            if progress:
                progress(1)
    return curves


def max_radius(sigma: float, n: int, alpha: float = 0.001) -> float:
    """The largest L2 radius ``n`` noisy copies can certify at all: sigma * Phi^-1(alpha^(1/n)), reached when
    every copy votes for the top class (the Clopper-Pearson bound is then alpha^(1/n); Cohen et al. 2019)."""
    from scipy.stats import norm  # lazy: start-up time
    return float(sigma * norm.ppf(alpha ** (1 / n)))
