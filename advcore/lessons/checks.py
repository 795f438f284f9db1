"""The lessons' "try it" checks: run the student's attempt on the server and say whether it solves the task.

Each check is a pure function over models (logits out) and one image (float32 (1, H, W, C) in [0, 1]),
returning a ``Verdict``: ``done``, a one-line ``message`` that starts with "done:" or "not yet:" (in the
current language, ``advcore.i18n``: "完成：" / "还没有：" in Chinese), and the numbers behind it. Budgets and eps
are in pixel units (L∞ unless stated), shown as k/255 too.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import attacks, data, defences, landscape
from ..attacks import adaptive
from ..attacks.base import logits_of
from ..attacks.checks import zero_gradient_share
from ..i18n import _, class_name

TOL = 1e-6  # slack on budget comparisons (slider values are rounded k/255)


@dataclass
class Verdict:
    done: bool
    message: str
    numbers: dict = field(default_factory=dict)


def eps_text(eps: float) -> str:
    return f"{eps * 255:.0f}/255 ({eps:.3f})"


def _name(class_names, c: int) -> str:
    c = int(c)
    return class_name(class_names[c]) if class_names is not None and str(class_names[c]) != str(c) else str(c)


def _over(eps: float, budget: float) -> Verdict | None:
    if eps > budget + TOL:
        return Verdict(False, _("not yet: {eps} is over the budget of {budget}.", eps=eps_text(eps),
                                 budget=eps_text(budget)), {"eps": eps})
    return None


def _pred(model, x: np.ndarray) -> int:
    return int(logits_of(model, x).argmax(axis=1)[0])


def fgsm_flip(model, x, y: int, eps: float, budget: float = 40 / 255, class_names=None) -> Verdict:
    """Lesson 1: FGSM (Goodfellow et al. 2015) at ``eps`` <= ``budget`` makes the model misread ``x``."""
    if (over := _over(eps, budget)) is not None:
        return over
    if _pred(model, x) != y:
        return Verdict(False, _("not yet: the model already gets this image wrong; pick one it reads correctly."))
    adv = attacks.run("fgsm", model, x, [y], eps=eps).adv_pred[0]
    if adv != y:
        return Verdict(True, _("done: it reads {name} at {eps}.", name=_name(class_names, adv), eps=eps_text(eps)),
                       {"eps": eps, "adv_class": int(adv)})
    return Verdict(False, _("not yet: at {eps} it still reads {name}; try a larger eps (at most {budget}) or another "
                            "image.", eps=eps_text(eps), name=_name(class_names, y), budget=eps_text(budget)),
                   {"eps": eps, "adv_class": int(adv)})


def _one_fooled(y: int, first: int, second: int, numbers: dict, done: str, first_holds: str,
                second_fooled: str) -> Verdict:
    """The verdict of a task "fool the first, not the second": ``first``/``second`` are their classes after
    the attack; each message is for one outcome."""
    if first != y and second == y:
        return Verdict(True, done, numbers)
    return Verdict(False, first_holds if first == y else second_fooled, numbers)


def direction(model, x, y: int, eps: float, seed: int = 0, class_names=None) -> Verdict:
    """Lesson 2: at ``eps`` FGSM fools the model but random ±eps noise (the control) does not."""
    fgsm = int(attacks.run("fgsm", model, x, [y], eps=eps).adv_pred[0])
    noise = int(attacks.run("noise", model, x, [y], eps=eps, seed=seed).adv_pred[0])
    at = eps_text(eps)
    return _one_fooled(
        y, fgsm, noise, {"eps": eps, "fgsm_class": fgsm, "noise_class": noise},
        _("done: at {eps} FGSM makes it read {name}, the same budget as noise leaves it {true}.", eps=at,
          name=_name(class_names, fgsm), true=_name(class_names, y)),
        _("not yet: at {eps} even FGSM does not fool the model; raise eps.", eps=at),
        _("not yet: at {eps} random noise fools it too (reads {name}); lower eps.", eps=at,
          name=_name(class_names, noise)))


def linearity(std: landscape.Grid, rob: landscape.Grid) -> Verdict:
    """Lesson 3: in the 2-D slices (``landscape.landscape`` at the same radius), another class enters the
    standard model's L∞ ball while the robust model's ball holds only the true class (Madry et al. 2018)."""
    radius = std.radius
    numbers = {"radius": radius, "standard_true_region": std.true_region, "robust_true_region": rob.true_region}
    at = eps_text(radius)
    caveat = " " + _("A slice shows only two of the ball's directions: an attack searches all of them and may find "
                     "another class where the slice shows none.")
    if std.true_region < 1 and rob.true_region == 1:
        return Verdict(True, _("done: at radius {radius}, in this 2-D slice, {share:.0%} of the standard model's ball "
                               "is another class and all of the robust model's is the true class.", radius=at,
                               share=1 - std.true_region) + caveat, numbers)
    if std.true_region == 1:
        return Verdict(False, _("not yet: at radius {radius}, in this 2-D slice, the standard model's ball shows only "
                                "the true class; make the radius larger.", radius=at) + caveat, numbers)
    return Verdict(False, _("not yet: at radius {radius}, in this 2-D slice, another class enters the robust model's "
                            "ball too ({share:.0%} of it); make the radius smaller.", radius=at,
                            share=1 - rob.true_region), numbers)


def class_means(feats: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """(classes, D) mean feature of each class (classes without an image get +inf, never nearest)."""
    classes = int(np.max(labels)) + 1
    means = np.full((classes, feats.shape[1]), np.inf)
    for c in range(classes):
        if np.any(labels == c):
            means[c] = feats[labels == c].mean(axis=0)
    return means


def nearest_mean(feats: np.ndarray, means: np.ndarray) -> np.ndarray:
    return np.linalg.norm(np.asarray(feats)[:, None, :] - means[None], axis=2).argmin(axis=1)


def features_land(model, x, y: int, eps: float, means: np.ndarray, attack: str = "pgd", budget: float = 0.3,
                  class_names=None) -> Verdict:
    """Lesson 4: after ``attack`` at ``eps`` the image's penultimate features lie nearest another class's
    mean feature (means: (classes, D) from ``class_means`` over test images)."""
    if (over := _over(eps, budget)) is not None:
        return over
    adv = attacks.run(attack, model, x, [y], eps=eps).x_adv
    near = int(nearest_mean(landscape.features(model, adv), means)[0])
    numbers = {"eps": eps, "nearest_class": near, "adv_class": _pred(model, adv)}
    if near != y:
        return Verdict(True, _("done: at {eps} its features sit nearest the average of class {name} (the model "
                               "reads {read}).", eps=eps_text(eps), name=_name(class_names, near),
                               read=_name(class_names, numbers["adv_class"])), numbers)
    return Verdict(False, _("not yet: at {eps} its features still sit nearest the average of class {name}; raise "
                            "eps.", eps=eps_text(eps), name=_name(class_names, y)), numbers)


def pgd_fails(model, x, y: int, eps: float, step_size: float, steps: int = 10) -> Verdict:
    """Lesson 5: PGD with the student's ``step_size`` (no random start) fails where PGD with the default
    step size 2.5·eps/steps (Madry et al. 2018) succeeds, at the same eps and steps."""
    common = dict(eps=eps, steps=steps, random_start=False)
    default = int(attacks.run("pgd", model, x, [y], **common).adv_pred[0])
    mine = int(attacks.run("pgd", model, x, [y], step_size=step_size, **common).adv_pred[0])
    numbers = {"eps": eps, "step_size": step_size, "default_class": default, "student_class": mine}
    if default == y:
        return Verdict(False, _("not yet: at {eps} even the default step size does not flip this image; raise eps "
                                "first.", eps=eps_text(eps)), numbers)
    if mine == y:
        return Verdict(True, _("done: with step size {step:.4f} PGD fails, while the default {default:.4f} flips it: "
                               "the attack's settings, not the model, decided.", step=step_size,
                               default=2.5 * eps / steps), numbers)
    return Verdict(False, _("not yet: step size {step:.4f} still flips the image; try a much smaller one.",
                            step=step_size), numbers)


def targeted(model, x, y: int, target: int, eps: float, budget: float = 0.2, steps: int = 40,
             class_names=None) -> Verdict:
    """Lesson 6: targeted PGD at ``eps`` <= ``budget`` makes the model read ``target``."""
    if target == y:
        return Verdict(False, _("not yet: pick a target class other than the true one."))
    if (over := _over(eps, budget)) is not None:
        return over
    adv = int(attacks.run("pgd", model, x, [y], eps=eps, steps=steps, target=[target]).adv_pred[0])
    numbers = {"eps": eps, "target": target, "adv_class": adv}
    if adv == target:
        return Verdict(True, _("done: it reads {name} at {eps}.", name=_name(class_names, target),
                               eps=eps_text(eps)), numbers)
    return Verdict(False, _("not yet: at {eps} it reads {name}, not {target}; raise eps (at most {budget}).",
                            eps=eps_text(eps), name=_name(class_names, adv), target=_name(class_names, target),
                            budget=eps_text(budget)), numbers)


def square(model, x, y: int, eps: float, queries: int, budget: float = 0.2, max_queries: int = 500,
           seed: int = 0, class_names=None) -> Verdict:
    """Lesson 7: the Square Attack (Andriushchenko et al. 2020), which reads only output scores, fools the
    model with ``eps`` <= ``budget`` and at most ``max_queries`` queries."""
    if (over := _over(eps, budget)) is not None:
        return over
    if queries > max_queries:
        return Verdict(False, _("not yet: {queries} queries is over the budget of {budget}.", queries=queries,
                                budget=max_queries), {"queries": queries})
    r = attacks.run("square", model, x, [y], eps=eps, queries=queries, seed=seed)
    adv, used = int(r.adv_pred[0]), int(np.ravel(r.info["queries"])[0])
    numbers = {"eps": eps, "adv_class": adv, "queries_used": used}
    if adv != y:
        return Verdict(True, _("done: after {used} queries and no gradient it reads {name} at {eps}.", used=used,
                               name=_name(class_names, adv), eps=eps_text(eps)), numbers)
    return Verdict(False, _("not yet: after {used} queries at {eps} it still reads {name}; raise eps or the query "
                            "budget.", used=used, eps=eps_text(eps), name=_name(class_names, y)), numbers)


def robust_gap(standard, robust, x, y: int, eps: float, steps: int = 20, class_names=None) -> Verdict:
    """Lesson 8: at ``eps`` PGD fools the standard model but not the adversarially trained one."""
    std = int(attacks.run("pgd", standard, x, [y], eps=eps, steps=steps).adv_pred[0])
    rob = int(attacks.run("pgd", robust, x, [y], eps=eps, steps=steps).adv_pred[0])
    at = eps_text(eps)
    return _one_fooled(
        y, std, rob, {"eps": eps, "standard_class": std, "robust_class": rob},
        _("done: at {eps} the standard model reads {name}, the robust one still {true}.", eps=at,
          name=_name(class_names, std), true=_name(class_names, y)),
        _("not yet: at {eps} the standard model resists too; raise eps.", eps=at),
        _("not yet: at {eps} the robust model is fooled too (reads {name}); lower eps.", eps=at,
          name=_name(class_names, rob)))


def defended_attack(model, x, y: int, defence: str, mode: str, eps: float, steps: int = 20,
                    samples: int = 8, norm: str = "linf") -> tuple[int, np.ndarray]:
    """PGD through ``adaptive.attack_model`` (``mode`` none = naive, bpda, eot, bpda+eot) on ``model`` behind
    ``defence``; returns the defended model's class on the result and the adversarial image."""
    defended = defences.apply(model, defence)
    x_adv = attacks.run("pgd", adaptive.attack_model(defended, mode, samples), x, [y], eps=eps, steps=steps,
                        norm=norm).x_adv
    return int(logits_of(defended, x_adv).argmax(axis=1)[0]), x_adv


def distilled_attacks(model, x, y: int, eps: float, steps: int = 20) -> dict:
    """Lesson 9, defensive distillation (Papernot et al. 2016): the class PGD on cross-entropy leaves, the class
    APGD on the DLR loss (Croce & Hein 2020) reaches, and the share of 200 test images whose cross-entropy input
    gradient is all zeros (``evaluate.gradient_check``'s measure)."""
    pgd = attacks.run("pgd", model, x, [y], eps=eps, steps=steps)
    dlr = attacks.run("apgd-dlr", model, x, [y], eps=eps, steps=steps)
    split = data.load("mnist", "test")
    return {"pgd": int(pgd.adv_logits.argmax(axis=1)[0]), "apgd_dlr": int(dlr.adv_logits.argmax(axis=1)[0]),
            "zero_gradient": zero_gradient_share(model, split.x[:200], split.y[:200])}


def adaptive_break(model, x, y: int, defence: str, mode: str, eps: float, budget: float = 0.2, steps: int = 20,
                   class_names=None) -> Verdict:
    """Lesson 9: at ``eps`` <= ``budget`` the naive PGD leaves the defended model right, and PGD with the
    student's ``mode`` (BPDA/EOT, Athalye, Carlini & Wagner 2018) makes it wrong."""
    if (over := _over(eps, budget)) is not None:
        return over
    if mode == "none":
        return Verdict(False, _("not yet: the naive attack is the one that fails here; choose an adaptive mode."))
    naive = defended_attack(model, x, y, defence, "none", eps, steps)[0]
    mine = defended_attack(model, x, y, defence, mode, eps, steps)[0]
    numbers = {"eps": eps, "naive_class": naive, "adaptive_class": mine, "mode": mode}
    if naive != y:
        return Verdict(False, _("not yet: at {eps} even the naive attack gets through {defence}; lower eps to where "
                                "the defence looks strong.", eps=eps_text(eps), defence=defence), numbers)
    if mine != y:
        return Verdict(True, _("done: naive PGD leaves {true}, PGD with {mode} makes it read {name} at {eps}: the "
                               "defence only hid the gradient.", true=_name(class_names, y), mode=mode,
                               name=_name(class_names, mine), eps=eps_text(eps)), numbers)
    return Verdict(False, _("not yet: with {mode} at {eps} the defended model still reads {name}; try another mode "
                            "or a larger eps.", mode=mode, eps=eps_text(eps), name=_name(class_names, y)), numbers)


def certified(model, x, y: int, sigma: float, radius: float = 0.5, n0: int = 100, n: int = 1000,
              alpha: float = 0.001) -> Verdict:
    """Lesson 10: randomized smoothing (Cohen, Rosenfeld & Kolter 2019) with noise ``sigma`` certifies the
    correct class of ``x`` within an L2 radius of at least ``radius``."""
    cert = defences.certify(model, x, sigma, n0, n, alpha)
    got, pred = float(cert.radius[0]), int(cert.pred[0])
    numbers = {"sigma": sigma, "radius": got, "pred": pred, "p_lower": float(cert.p_lower[0])}
    if pred == y and got >= radius:
        return Verdict(True, _("done: with sigma {sigma:g} the smoothed model provably keeps class {true} within L2 "
                               "radius {got:.2f} (at least {radius:g}).", sigma=sigma, true=y, got=got,
                               radius=radius), numbers)
    if pred == defences.ABSTAIN:
        return Verdict(False, _("not yet: with sigma {sigma:g} the smoothed model abstains (no class wins clearly "
                                "under noise); try a smaller sigma or another image.", sigma=sigma), numbers)
    if pred != y:
        return Verdict(False, _("not yet: the smoothed model reads {pred}, not {true}; try a smaller sigma.",
                                pred=pred, true=y), numbers)
    return Verdict(False, _("not yet: the certified radius is {got:.2f}, below {radius:g}; the radius grows with "
                            "sigma and with how clearly the class wins under noise.", got=got, radius=radius), numbers)
