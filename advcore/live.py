"""One-image analysis behind the Explore page: attack, metrics, noise control, eps curve.

Pure functions over a model and one image (float32 (1, H, W, C) in [0, 1]); the
dashboard caches their results. Batched where it helps: the eps curve and the
smallest flipping eps run every eps of a grid in one call (one eps per copy).
"""

from __future__ import annotations

import numpy as np

from . import attacks, metrics

CURVE_POINTS = 16
REFINE_POINTS = 8


def analyse(model, x: np.ndarray, y: int, attack: str, params: dict) -> dict:
    """Run ``attack`` on one image; return images, probabilities, metrics and the trace."""
    spec = attacks.get(attack)
    if spec.iterative and "trace" in spec.defaults():
        params = dict(params, trace=True)
    result = attacks.run(attack, model, x, np.array([y]), **params)
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
    }
    if result.trace is not None:
        out["trace"] = {"loss": result.trace.loss[:, 0], "true_prob": result.trace.true_prob[:, 0],
                        "pred": result.trace.pred[:, 0]}
    return out


def noise_control(model, x: np.ndarray, y: int, eps: float, norm: str, seed: int = 0) -> dict:
    """The same budget as random noise: its image and class probabilities."""
    result = attacks.run("noise", model, x, np.array([y]), eps=eps, norm=norm, seed=seed)
    return {"x_adv": result.x_adv[0], "probs": metrics.softmax(result.adv_logits)[0]}


def _grid_attack(model, x, y, attack, params, eps_grid):
    params = {k: v for k, v in params.items() if k not in ("eps", "trace")}
    if params.get("target") is not None:
        params["target"] = np.repeat(np.asarray(params["target"]).reshape(-1)[:1], len(eps_grid))
    batch = np.repeat(x, len(eps_grid), axis=0)
    labels = np.full(len(eps_grid), y)
    result = attacks.run(attack, model, batch, labels, eps=np.asarray(eps_grid, np.float32), **params)
    return metrics.softmax(result.adv_logits), result.adv_pred


def _fooled(pred: np.ndarray, y: int, target) -> np.ndarray:
    return pred == int(np.ravel(target)[0]) if target is not None else pred != y


def eps_curve(model, x: np.ndarray, y: int, attack: str, params: dict, eps_max: float,
              points: int = CURVE_POINTS) -> dict:
    """True-class and top-other-class probability against eps in [0, eps_max], and the
    smallest eps on the grid (refined once between grid points) at which the attack succeeds."""
    grid = np.linspace(0.0, eps_max, points, dtype=np.float32)
    probs, pred = _grid_attack(model, x, y, attack, params, grid)
    other = probs.copy()
    other[:, y] = -1
    fooled = _fooled(pred, y, params.get("target"))
    flip = None
    if fooled.any():
        first = int(np.argmax(fooled))
        flip = float(grid[first])
        if first > 0:  # refine between the last unfooled and the first fooled grid point
            fine = np.linspace(grid[first - 1], grid[first], REFINE_POINTS + 2, dtype=np.float32)[1:-1]
            _, fine_pred = _grid_attack(model, x, y, attack, params, fine)
            fine_fooled = _fooled(fine_pred, y, params.get("target"))
            if fine_fooled.any():
                flip = float(fine[int(np.argmax(fine_fooled))])
    return {"eps": grid, "true_prob": probs[:, y], "other_prob": other.max(axis=1), "flip_eps": flip}
