"""Model cards: measured on the test set by the training command, never written by hand.

A card records the recipe, the data source and its sha256, training time and
hardware, the weights' sha256, and results: clean accuracy and robust accuracy
under PGD-40 at the data set's reference eps on the full test set (with the exact
command that reproduces each number), and for robust models the stronger checks
of Carlini et al. 2019: PGD-100 with 5 restarts, FGSM, random noise and an eps
sweep with its sanity flags.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import asdict
from pathlib import Path

import pandas as pd

from . import __version__, data, evaluate
from .i18n import N_
from .train import CLEAN_RECIPES, TrainConfig, TrainState, hardware


def reference_eps(dataset: str) -> tuple[float, ...]:
    """A data set's reference budgets (pixel units), as ``advcore.data.DatasetInfo`` states them."""
    return tuple(data.info(dataset).reference_eps)


def large_eps(dataset: str) -> float:
    """The budget at which any model of ``dataset`` should fall to about 0 accuracy (``DatasetInfo.large_eps``)."""
    return float(data.info(dataset).large_eps)


def pgd_step(dataset: str, eps: float) -> float:
    """Card convention for PGD-40: step 0.01 on MNIST, eps/4 otherwise."""
    return 0.01 if dataset == "mnist" else eps / 4


def evaluate_command(model_id: str, dataset: str, attack: str, params: dict, n: int) -> str:
    """The CLI line that reproduces one card figure."""
    flags = " ".join(f"--{k.replace('_', '-')} {v:.6g}" if isinstance(v, float) else f"--{k.replace('_', '-')} {v}"
                     for k, v in params.items())
    return f"python -m advcore evaluate --dataset {dataset} --model {model_id} --attack {attack} {flags} --n {n} --json"


def _measure(model, model_id, split, attack, params, n) -> dict:
    summary = evaluate.evaluate(model, split, attack, params, n)
    return {"attack": attack, **params, "n": summary["n"], "clean_accuracy": summary["clean_accuracy"],
            "robust_accuracy": summary["robust_accuracy"], "attack_success_rate": summary["attack_success_rate"],
            "seconds": summary["seconds"],
            "command": evaluate_command(model_id, split.name, attack, params, summary["n"])}


def measure(model, model_id: str, dataset: str, robust_eps: float | None, eval_n: int = 10_000,
            extra_n: int = 1000, log=print) -> dict:
    """All card results for one model (robust_eps None for a standard model)."""
    split = data.load(dataset, "test")
    eps_list = (robust_eps,) if robust_eps else reference_eps(dataset)
    results = {"test_set": split.source, "full_test_set": split.full, "robust": []}
    for eps in eps_list:
        params = {"eps": eps, "norm": "linf", "steps": 40, "step_size": pgd_step(dataset, eps),
                  "restarts": 1, "seed": 0}
        entry = _measure(model, model_id, split, "pgd", params, eval_n)
        log(f"  PGD-40 eps {eps:.4g}: {entry['robust_accuracy']:.2%} on {entry['n']} ({entry['seconds']:.0f} s)")
        results["robust"].append(entry)
    clean = _measure(model, model_id, split, "fgsm", {"eps": 0.0, "norm": "linf"}, len(split))
    log(f"  clean: {clean['clean_accuracy']:.2%} on {clean['n']}")
    results["clean"] = {key: clean[key] for key in ("n", "clean_accuracy", "command")}
    results["clean_accuracy"] = clean["clean_accuracy"]
    if robust_eps:
        strong = {"eps": robust_eps, "norm": "linf", "steps": 100, "step_size": pgd_step(dataset, robust_eps),
                  "restarts": 5, "seed": 0}
        for attack, params in (("pgd", strong), ("fgsm", {"eps": robust_eps, "norm": "linf"})):
            entry = _measure(model, model_id, split, attack, params, extra_n)
            log(f"  {attack} {params}: {entry['robust_accuracy']:.2%} on {entry['n']}")
            results["robust"].append(entry)
        worst = measure_worst_case(model, model_id, split, robust_eps, extra_n)
        log(f"  worst of {worst['attack']}: {worst['robust_accuracy']:.2%} on {worst['n']} {worst['per_attack']}")
        results["robust"].append(worst)
        extra_rows = [{"model": model_id, "attack": a, "eps": robust_eps, "robust_accuracy": acc}
                      for a, acc in worst["per_attack"].items()]
        results["sanity"] = measure_sanity(model, model_id, split, robust_eps, extra_n, extra_rows)
        log(f"  sanity: {[f['check'] + (' ok' if f['ok'] else ' FAILED') for f in results['sanity']['flags']]}")
    return results


WORST_CASE = (("apgd-ce", {"steps": 100}), ("apgd-dlr", {"steps": 100}), ("square", {"queries": 1000}))


def measure_worst_case(model, model_id: str, split, eps: float, n: int) -> dict:
    """AutoAttack-style number (Croce & Hein 2020): an image counts as robust only if APGD-CE,
    APGD-DLR (100 steps each) and the black-box Square Attack (1,000 queries) all fail on it."""
    names = ",".join(a for a, _params in WORST_CASE)
    summary = evaluate.worst_case(model, split, [(a, dict(p, eps=eps)) for a, p in WORST_CASE], n)
    params = {"eps": eps, "norm": "linf", "steps": 100, "queries": 1000}
    return {"attack": names, **params, "n": summary["n"], "clean_accuracy": summary["clean_accuracy"],
            "robust_accuracy": summary["robust_accuracy"], "per_attack": summary["per_attack"],
            "attack_success_rate": summary["attack_success_rate"], "seconds": summary["seconds"],
            "command": evaluate_command(model_id, split.name, names, params, summary["n"])}


def measure_sanity(model, model_id: str, split, eps: float, n: int, extra_rows: list | None = None) -> dict:
    """Eps sweep (PGD-40) up to the large eps, FGSM and noise at ``eps`` (plus ``extra_rows``, e.g.
    APGD and Square results), and the flags over them."""
    large = large_eps(split.name)
    grid = sorted({0.0, eps / 2, eps, (eps + large) / 2, large})
    pgd = {"norm": "linf", "steps": 40, "seed": 0}
    models = {model_id: model}
    table = pd.concat([evaluate.sweep(models, split, "pgd", grid, pgd, n),
                       evaluate.sweep(models, split, "fgsm", [eps], {"norm": "linf"}, n),
                       evaluate.sweep(models, split, "noise", [eps], {"norm": "linf"}, n),
                       pd.DataFrame(extra_rows or [])], ignore_index=True)
    flags = evaluate.sanity_checks(table, large_eps=large)
    flags.append(evaluate.gradient_check(model, split.x[:200], split.y[:200]))
    return {"n": int(table["n"].iloc[0]),
            "table": table[["attack", "eps", "robust_accuracy"]].round(4).to_dict("records"),
            "flags": [f.as_dict() for f in flags]}


CAVEATS = {"distill": N_(
    "Defensive distillation (Papernot et al. 2016) is not a defence: the student's logits are about T times too "
    "large, so its softmax saturates and the cross-entropy gradient underflows to zero. FGSM and PGD on cross-"
    "entropy then find almost nothing (this card's PGD and FGSM figures), while attacks that do not need that "
    "gradient succeed: APGD on the scale-invariant DLR loss (Croce & Hein 2020) and the black-box Square Attack "
    "(the worst case), as Carlini & Wagner 2017 showed with attacks on logits. The card's sanity flags catch it: "
    "all-zero gradients, a black-box attack beating white-box PGD, accuracy not reaching 0 at a large eps.")}
# The attack each adversarial recipe trains against, as the card states it (``{steps}``: the recipe's steps).
TRAINING_ATTACKS = {"pgd-at": N_("PGD-{steps} linf, random start"), "fgsm-rs": N_("FGSM, uniform random start"),
                    "n-fgsm": N_("FGSM step eps from uniform noise in [-2eps, 2eps], unprojected"),
                    "trades": N_("PGD-{steps} on KL")}
STORED = (*CAVEATS.values(), *TRAINING_ATTACKS.values())  # English on the card; advcore.ui.model_table_notes reads


def evaluation_eps(cfg: TrainConfig) -> float | None:
    """The budget a card's strong checks (PGD-100x5, FGSM, worst case, sanity) run at: the training eps of an
    adversarially trained model; for a distilled model, which claims robustness without a training eps, the
    data set's largest reference budget; None (PGD-40 at the reference budgets only) for a standard model."""
    if cfg.recipe == "distill":
        return max(reference_eps(cfg.dataset))
    return None if cfg.recipe == "standard" else cfg.eps


def build_card(model, cfg: TrainConfig, state: TrainState, weights: Path, command: str, log=print) -> dict:
    """Measure ``model`` and assemble its card."""
    started = time.perf_counter()
    results = measure(model, cfg.model_id, cfg.dataset, evaluation_eps(cfg), cfg.eval_n, cfg.extra_n, log)
    recipe = {k: v for k, v in asdict(cfg).items() if k not in ("model_id", "dataset", "architecture", "eval_n",
                                                                "extra_n")}
    recipe.update(loss={"standard": "cross-entropy", "pgd-at": "cross-entropy on PGD examples",
                        "fgsm-rs": "cross-entropy on FGSM-RS examples",
                        "n-fgsm": "cross-entropy on N-FGSM examples",
                        "trades": f"TRADES: CE + {cfg.beta} * KL",
                        "distill": f"cross-entropy at temperature {cfg.temperature:g} on a teacher's soft labels "
                                   f"(teacher: cross-entropy at the same temperature)"}[cfg.recipe],
                  training_attack=None if cfg.recipe in CLEAN_RECIPES
                  else TRAINING_ATTACKS[cfg.recipe].format(steps=cfg.steps),
                  step_size_used=cfg.alpha,
                  optimizer={"adam": "Adam", "sgd": "SGD, Nesterov momentum 0.9"}[cfg.optimizer])
    return {
        "id": cfg.model_id,
        "dataset": cfg.dataset,
        "architecture": cfg.architecture,
        "parameters": int(model.count_params()),
        "recipe": recipe,
        "data": data.source_fingerprint(cfg.dataset),
        "training": {"seconds": round(state.seconds, 1), "epochs_completed": len(state.history),
                     **({"teacher_seconds": round(state.teacher_seconds, 1)} if state.teacher_seconds else {}),
                     "hardware": hardware(), "history": state.history, "stopped": state.stopped,
                     "command": command},
        "weights_file": weights.name,
        "weights_sha256": data.sha256_file(weights),
        "results": results,
        **({"caveat": CAVEATS[cfg.recipe]} if cfg.recipe in CAVEATS else {}),
        "measured_seconds": round(time.perf_counter() - started, 1),
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "advcore_version": __version__,
    }


def headline(card: dict) -> dict:
    """The few numbers a table of models shows: clean accuracy and PGD-40 at each reference eps."""
    res = card.get("results", {})
    row = {"id": card["id"], "dataset": card.get("dataset"), "recipe": card.get("recipe", {}).get("recipe"),
           "train_eps": card.get("recipe", {}).get("eps"), "clean": res.get("clean_accuracy")}
    for entry in res.get("robust", []):
        name = (f"worst({entry['attack']})" if "," in entry["attack"]
                else f"{entry['attack']}-{entry.get('steps', 1)}x{entry.get('restarts', 1)}")
        label = f"{name} @{entry['eps']:.3g} ({entry['eps'] * 255:.3g}/255)"
        row[label] = entry["robust_accuracy"]
    row["train_minutes"] = round(card.get("training", {}).get("seconds", 0) / 60, 1)
    row["shipped"] = card.get("shipped", True)
    return row


def markdown_table(entries: list[dict]) -> str:
    """The zoo table of docs/models.md, made from the cards (so no figure is typed by hand): per model the recipe,
    size, training minutes, clean accuracy (and on how many test images) and, at the largest reference
    eps (the training eps for adversarially trained models), PGD-40, PGD-100x5 and the worst case, each with its n."""
    def find(robust, eps, attack, steps, restarts=1):
        return next((e for e in robust if e["attack"] == attack and e.get("steps") == steps
                     and e.get("restarts", 1) == restarts and abs(e["eps"] - eps) < 1e-9), None)

    def cell(entry):
        return "—" if entry is None else f"{entry['robust_accuracy']:.1%} (n={entry['n']})"

    rows = ["| model | recipe | architecture | params | train min (2-core CPU) | clean | eps | PGD-40 | PGD-100x5 "
            "| worst of APGD-CE/DLR, Square |", "|---|---|---|---|---|---|---|---|---|---|"]
    for card in entries:
        res, recipe = card.get("results", {}), card.get("recipe", {})
        robust = res.get("robust", [])
        trained_at = recipe.get("eps") if recipe.get("recipe") not in CLEAN_RECIPES else None
        eps = trained_at or max((e["eps"] for e in robust), default=0)  # clean recipes: the largest measured

        clean_n = res.get("clean", {}).get("n") or (robust[0]["n"] if robust else "?")
        worst = next((e for e in robust if "," in e["attack"]), None)
        rows.append(f"| `{card['id']}` | {recipe.get('recipe')} | {card.get('architecture')} | "
                    f"{card.get('parameters', 0):,} | {card.get('training', {}).get('seconds', 0) / 60:.1f} | "
                    f"{res.get('clean_accuracy', 0):.2%} (n={clean_n}) | {eps:.4g} ({eps * 255:.3g}/255) | "
                    f"{cell(find(robust, eps, 'pgd', 40))} | {cell(find(robust, eps, 'pgd', 100, 5))} | "
                    f"{cell(worst)} |")
    return "\n".join(rows)
