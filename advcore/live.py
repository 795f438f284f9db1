"""One-image analysis behind the Explore page: attack, metrics, noise control, eps curve.

Pure functions over a model and one image (float32 (1, H, W, C) in [0, 1]); the
dashboard caches their results. Batched where it helps: the eps curve and the
smallest flipping eps run every eps of a grid in one call (one eps per copy).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from . import attacks, defences, evaluate, metrics
from .attacks import adaptive as adaptive_attacks
from .attacks.base import logits_of
from .i18n import N_, _

CURVE_POINTS = 16  # the refinement uses the same batch size, so the compiled attack is traced once for both
LIVE_TARGET_S = 0.150  # one-image PGD-20 within this keeps an Explore eps move under ~0.4 s in the browser


def verdict(clean_class: int, adv_class: int, label: int, target: int | None = None) -> tuple[str, str]:
    """What happened to one image, as (words, tone): tone is 'bad' (the attack succeeded), 'good' (the
    model held) or 'neutral'. An image the model already gets wrong is never called fooled."""
    if clean_class != label:
        return _("already misclassified"), "neutral"
    if target is not None:
        return (_("target {target} reached", target=target), "bad") if adv_class == target else \
            (_("target {target} not reached", target=target), "good")
    return (_("fooled"), "bad") if adv_class != label else (_("still right"), "good")


@dataclass(frozen=True)
class Setting:
    """The model as the attack meets it: ``judge`` (the model behind the defence: it scores every image),
    ``attacker`` (what the attack differentiates: the judge for a naive attack, its BPDA/EOT stand-in for
    an adaptive one; Athalye, Carlini & Wagner 2018) and ``mode`` ('none', 'bpda', 'eot', 'bpda+eot')."""

    judge: object
    attacker: object
    mode: str

    @property
    def defended(self) -> bool:
        return isinstance(self.judge, defences.Defended)


def setting(model, defence: str = "none", adaptive: bool = False) -> Setting:
    """``model`` behind ``defence`` (a spec string, 'none' for none), attacked naively or adaptively;
    adaptive means the attack the defence calls for (``adaptive.recommended_mode``: BPDA through stages
    with no gradient, EOT over randomized ones)."""
    judge = defences.apply(model, defence)
    mode = adaptive_attacks.recommended_mode(defence) if adaptive else "none"
    return Setting(judge, adaptive_attacks.attack_model(judge, mode), mode)


def _scored(where: Setting, x: np.ndarray, result) -> tuple[np.ndarray, np.ndarray]:
    """Clean and adversarial logits on the judge: fresh forward passes behind a defence (a new draw of any
    randomness; the attacker is never the judge), the attack's own otherwise."""
    if not where.defended:
        return result.clean_logits, result.adv_logits
    return logits_of(where.judge, x), logits_of(where.judge, result.x_adv)


def analyse(model, x: np.ndarray, y: int, attack: str, params: dict, defence: str = "none",
            adaptive: bool = False) -> dict:
    """Run ``attack`` on one image; return images, probabilities, metrics and the trace.

    With a ``defence`` (spec string) the attack runs on the defended model, naive or ``adaptive``
    (see ``setting``), and the predictions are the defended model's; ``undefended_adv_probs`` is what the
    bare model answers on the same adversarial image, ``mode`` which evaluation ran. ``params`` are settings
    as the page holds them: a transfer source as its zoo id, loaded here (``evaluate.run_attack``)."""
    spec = attacks.get(attack)
    if spec.iterative and "trace" in spec.defaults():
        params = dict(params, trace=True)
    where = setting(model, defence, adaptive)
    result = evaluate.run_attack(attack, where.attacker, x, np.array([y]), **params)
    result.clean_logits, result.adv_logits = _scored(where, x, result)
    norms = {k: float(v[0]) for k, v in metrics.perturbation_norms(x, result.x_adv).items()}
    shift = {k: v[0].item() for k, v in metrics.prediction_shift(result.clean_logits, result.adv_logits,
                                                                 np.array([y])).items()}
    out = {
        "x_adv": result.x_adv[0],
        "clean_probs": metrics.softmax(result.clean_logits)[0],
        "adv_probs": metrics.softmax(result.adv_logits)[0],
        "norms": norms,
        "psnr": float(metrics.psnr(x, result.x_adv)[0]),
        "shift": shift,
        "attack_strength_l2": norms["l2"],
        "defence_effect": float(metrics.defence_effect(result.clean_logits, result.adv_logits)[0]),
        "params": result.params,
        "info": {k: (float(v[0]) if np.ndim(v) else v) for k, v in result.info.items()},
        "trace": None,
        "defence": str(defences.parse(defence)),
        "mode": where.mode,
        "undefended_adv_probs": metrics.softmax(logits_of(model, result.x_adv))[0] if where.defended else None,
    }
    if result.trace is not None:
        out["trace"] = {"loss": result.trace.loss[:, 0], "true_prob": result.trace.true_prob[:, 0],
                        "pred": result.trace.pred[:, 0]}
    return out


def noise_control(model, x: np.ndarray, y: int, eps: float, norm: str, seed: int = 0, defence: str = "none") -> dict:
    """The same budget as random noise: its image and class probabilities (of the model behind ``defence``)."""
    result = attacks.run("noise", defences.apply(model, defence), x, np.array([y]), eps=eps, norm=norm, seed=seed)
    return {"x_adv": result.x_adv[0], "probs": metrics.softmax(result.adv_logits)[0]}


def _grid_attack(where: Setting, x, y, attack, params, eps_grid):
    params = {k: v for k, v in params.items() if k not in ("eps", "trace")}
    if params.get("target") is not None:
        params["target"] = np.repeat(np.asarray(params["target"]).reshape(-1)[:1], len(eps_grid))
    batch = np.repeat(x, len(eps_grid), axis=0)
    labels = np.full(len(eps_grid), y)
    result = evaluate.run_attack(attack, where.attacker, batch, labels, eps=np.asarray(eps_grid, np.float32),
                                 **params)
    adv_logits = logits_of(where.judge, result.x_adv) if where.defended else result.adv_logits
    return metrics.softmax(adv_logits), adv_logits.argmax(axis=1)


def _fooled(pred: np.ndarray, y: int, target) -> np.ndarray:
    return pred == int(np.ravel(target)[0]) if target is not None else pred != y


def eps_curve(model, x: np.ndarray, y: int, attack: str, params: dict, eps_max: float,
              points: int = CURVE_POINTS, defence: str = "none", adaptive: bool = False) -> dict:
    """True-class probability and, against it, the top other class's (untargeted) or the target's
    (targeted) probability for eps in [0, eps_max]; and the smallest eps on the grid (refined once
    between grid points) at which the attack succeeds. ``other_name`` says which the second curve is.
    ``defence``/``adaptive`` as in ``analyse``: the probabilities are the defended model's."""
    where = setting(model, defence, adaptive)
    grid = np.linspace(0.0, eps_max, points, dtype=np.float32)
    probs, pred = _grid_attack(where, x, y, attack, params, grid)
    target = params.get("target")
    if target is not None:
        target = int(np.ravel(target)[0])
        other_prob, other_name = probs[:, target], f"target class {target}"
    else:
        other = probs.copy()
        other[:, y] = -1
        other_prob, other_name = other.max(axis=1), N_("top other class")  # cached: translated where shown
    fooled = _fooled(pred, y, target)
    flip = None
    if fooled.any():
        first = int(np.argmax(fooled))
        flip = float(grid[first])
        if first > 0:  # refine between the last unfooled and the first fooled grid point (same batch size)
            fine = np.linspace(grid[first - 1], grid[first], points, dtype=np.float32)
            _, fine_pred = _grid_attack(where, x, y, attack, params, fine)
            fine_fooled = _fooled(fine_pred, y, target)
            if fine_fooled.any():
                flip = float(fine[int(np.argmax(fine_fooled))])
    return {"eps": grid, "true_prob": probs[:, y], "other_prob": other_prob, "other_name": other_name,
            "flip_eps": flip}


def warm(model, shape: tuple[int, ...]) -> float:
    """Compile and run once every path a page load and the first eps moves take, so none of them pays for
    it: the gradient loop for both norms with and without the per-step trace (traced for any batch size,
    ``attacks.base._Compiled.prepare``), the eps curve's batch of ``CURVE_POINTS``, the forward pass and the
    noise control. ``shape`` is one image's (H, W, C). Returns the seconds it took."""
    started = time.perf_counter()
    x = np.zeros((1, *shape), np.float32)
    for norm in ("linf", "l2"):
        for record in (True, False):
            attacks.run("pgd", model, x, [0], eps=0.01, steps=1, norm=norm, trace=record)
        noise_control(model, x, 0, 0.01, norm)
    batch = np.repeat(x, CURVE_POINTS, axis=0)
    attacks.run("pgd", model, batch, np.zeros(CURVE_POINTS, np.int32), eps=np.full(CURVE_POINTS, 0.01, np.float32),
                steps=1)
    return time.perf_counter() - started


def attack_seconds(model, shape: tuple[int, ...], runs: int = 5) -> float:
    """Median wall time in seconds of what an Explore eps move costs most: L∞ PGD-20 (Madry et al. 2018) on
    one image of shape (H, W, C), the attack's default settings. Run after ``warm``, so no compile time."""
    x = np.full((1, *shape), 0.5, np.float32)
    times = []
    for _run in range(runs):
        started = time.perf_counter()
        attacks.run("pgd", model, x, [0], eps=0.03, steps=20, norm="linf")
        times.append(time.perf_counter() - started)
    return float(np.median(times))


@dataclass(frozen=True)
class QuickerDefault:
    """Explore opens a data set on ``model_id`` instead of its first model ``instead_of``, whose live attack
    took ``instead_seconds`` on this server against ``seconds`` for ``model_id`` (both ``attack_seconds``)."""

    model_id: str
    seconds: float
    instead_of: str
    instead_seconds: float

    def sentence(self) -> str:
        return _("Opened on **{model_id}**: one live attack takes {ms:.0f} ms here, {instead_ms:.0f} ms on "
                 "{instead_of} (aim: {aim_ms:.0f} ms); {instead_of} is under Model.", model_id=self.model_id,
                 ms=self.seconds * 1000, instead_ms=self.instead_seconds * 1000, instead_of=self.instead_of,
                 aim_ms=LIVE_TARGET_S * 1000)


def quicker_default(first: str, seconds: dict[str, float], target: float = LIVE_TARGET_S) -> QuickerDefault | None:
    """Which model Explore should open on when the first model's live attack (``seconds[first]``, from
    ``attack_seconds``) is slower than ``target``: the fastest other model timed, if it is faster than the
    first; None when the first meets the target or nothing timed is faster."""
    if seconds[first] <= target:
        return None
    fastest = min(seconds, key=seconds.get)
    if fastest == first:
        return None
    return QuickerDefault(fastest, seconds[fastest], first, seconds[first])
