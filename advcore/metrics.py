"""Perturbation norms, prediction shift and batch-level robustness numbers (NumPy).

Images are float32 in [0, 1]; norms are in that pixel space, and ``*_255``
variants multiply by 255 for people used to 8-bit pixel units.

The two "seed formulas" are the project's founding pair of numbers, shown on every page:
attack strength = ||x - x'|| (how much the image changed, ``attack_strength``) and
defence effect = ||f(x) - f(x')|| (how much the model's output moved, ``defence_effect``),
both per example.
"""

from __future__ import annotations

import numpy as np

from .i18n import N_

L0_TOLERANCE = 0.5 / 255  # a pixel value counts as changed when it moves by half a grey level


def _flat(delta: np.ndarray) -> np.ndarray:
    return np.asarray(delta, np.float64).reshape(len(delta), -1)


def perturbation_norms(x: np.ndarray, x_adv: np.ndarray) -> dict[str, np.ndarray]:
    """Per-example norms of x_adv - x: l0 (changed values), l1, l2, linf, and l2/linf in /255 units."""
    delta = _flat(x_adv) - _flat(x)
    out = {
        "l0": (np.abs(delta) > L0_TOLERANCE).sum(axis=1),
        "l1": np.abs(delta).sum(axis=1),
        "l2": np.sqrt((delta ** 2).sum(axis=1)),
        "linf": np.abs(delta).max(axis=1, initial=0.0),
    }
    out["l2_255"] = out["l2"] * 255
    out["linf_255"] = out["linf"] * 255
    return out


def psnr(x: np.ndarray, x_adv: np.ndarray) -> np.ndarray:
    """Peak signal-to-noise ratio in dB (peak 1.0); inf where nothing changed."""
    mse = ((_flat(x_adv) - _flat(x)) ** 2).mean(axis=1)
    with np.errstate(divide="ignore"):
        return np.where(mse > 0, 10 * np.log10(1.0 / np.maximum(mse, 1e-300)), np.inf)


def softmax(logits: np.ndarray) -> np.ndarray:
    z = np.asarray(logits, np.float64)
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def prediction_shift(clean_logits: np.ndarray, adv_logits: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:
    """Per example: clean/adv class and confidence, true-class probability drop, KL(p_clean || p_adv) in nats."""
    p, q = softmax(clean_logits), softmax(adv_logits)
    y = np.asarray(y).reshape(-1)
    rows = np.arange(len(y))
    kl = (p * (np.log(np.maximum(p, 1e-30)) - np.log(np.maximum(q, 1e-30)))).sum(axis=1)
    return {
        "clean_class": p.argmax(axis=1),
        "clean_confidence": p.max(axis=1),
        "adv_class": q.argmax(axis=1),
        "adv_confidence": q.max(axis=1),
        "true_prob_clean": p[rows, y],
        "true_prob_adv": q[rows, y],
        "true_prob_drop": p[rows, y] - q[rows, y],
        "kl": np.maximum(kl, 0.0),
    }


def attack_strength(x: np.ndarray, x_adv: np.ndarray, ord: float = 2) -> np.ndarray:
    """Seed formula "attack strength = ||x - x_adv||", per example (ord 2 or np.inf), pixel units."""
    return np.linalg.norm(_flat(x) - _flat(x_adv), ord=ord, axis=1)


def defence_effect(clean_logits: np.ndarray, adv_logits: np.ndarray) -> np.ndarray:
    """Seed formula "defence effect = ||f(x) - f(x_adv)||", per example: L2 distance of the
    softmax outputs (so it is bounded by sqrt(2) and comparable across models)."""
    return np.linalg.norm(softmax(clean_logits) - softmax(adv_logits), axis=1)


def accuracy(logits: np.ndarray, y: np.ndarray) -> float:
    """Fraction of examples whose arg-max class is the label."""
    y = np.asarray(y).reshape(-1)
    return float((np.asarray(logits).argmax(axis=1) == y).mean()) if len(y) else float("nan")


def success_rate(clean_logits: np.ndarray, adv_logits: np.ndarray, y: np.ndarray, target=None) -> float:
    """Attack success over the correctly classified points: the fraction the attack flipped
    (untargeted) or sent to ``target`` (targeted)."""
    y = np.asarray(y).reshape(-1)
    correct = np.asarray(clean_logits).argmax(axis=1) == y
    if not correct.any():
        return float("nan")
    adv = np.asarray(adv_logits).argmax(axis=1)
    hit = adv != y if target is None else adv == np.broadcast_to(target, y.shape)
    return float(hit[correct].mean())


def summarise(x, x_adv, clean_logits, adv_logits, y, target=None) -> dict[str, float]:
    """Batch summary: accuracies, success rate, mean/max norms, mean KL and both seed formulas."""
    norms = perturbation_norms(x, x_adv)
    shift = prediction_shift(clean_logits, adv_logits, y)
    return {
        "n": int(len(y)),
        "clean_accuracy": accuracy(clean_logits, y),
        "robust_accuracy": accuracy(adv_logits, y),
        "attack_success_rate": success_rate(clean_logits, adv_logits, y, target),
        "max_linf": float(norms["linf"].max(initial=0.0)),
        "mean_linf": float(norms["linf"].mean()) if len(y) else 0.0,
        "mean_l2": float(norms["l2"].mean()) if len(y) else 0.0,
        "mean_l0": float(norms["l0"].mean()) if len(y) else 0.0,
        "mean_kl": float(shift["kl"].mean()) if len(y) else 0.0,
        "mean_true_prob_drop": float(shift["true_prob_drop"].mean()) if len(y) else 0.0,
        "mean_attack_strength": float(attack_strength(x, x_adv).mean()) if len(y) else 0.0,
        "mean_defence_effect": float(defence_effect(clean_logits, adv_logits).mean()) if len(y) else 0.0,
    }


# One sentence per metric the Explore and Compare pages show, with its unit (pages use these as help texts,
# translated where shown: ``_(METRIC_HELP[key])``).
METRIC_HELP: dict[str, str] = {
    "linf": N_("L∞: the largest change made to any single pixel value, in pixel units of the [0, 1] scale "
               "(×255 gives grey levels); an L∞ attack keeps it at most eps."),
    "l2": N_("L2: the length of the whole change (square root of the sum of squared pixel changes), in pixel "
             "units of the [0, 1] scale; many small changes add up."),
    "l0": N_("L0: how many pixel values changed by at least half a grey level (a count, out of height × width × "
             "channels)."),
    "psnr": N_("PSNR: peak signal-to-noise ratio of the adversarial against the original image, in decibels (dB); "
               "higher means harder to see, above about 30 dB most people see no difference."),
    "kl": N_("KL(clean ‖ adv): how far the model's class probabilities moved, in nats (0 = unchanged; "
             "ln 10 ≈ 2.3 nats is as far as a confident answer moving to a uniform guess)."),
    "true_prob_drop": N_("True-class probability drop: the model's probability for the true class before minus "
                         "after the attack, in percentage points."),
}
