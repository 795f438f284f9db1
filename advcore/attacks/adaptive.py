"""Adaptive attacks on defended models: BPDA and EOT as attack models, and the naive/adaptive comparison.

Every gradient attack (PGD, BIM, MI-FGSM, APGD, ...) takes a model and differentiates it. To attack
a defence adaptively we hand the attack a different model whose forward pass is the defence's and
whose gradient is useful (Athalye, Carlini & Wagner 2018, "Obfuscated Gradients Give a False Sense of
Security"; Tramèr, Carlini, Brendel & Madry 2020, "On Adaptive Attacks to Adversarial Example
Defenses"):

- ``bpda``: Backward Pass Differentiable Approximation. The defended model's forward pass, with each
  non-differentiable stage (JPEG, bit-depth reduction) differentiated as the identity and the vote of
  randomized smoothing as the mean class probability over its noisy copies.
- ``eot``: Expectation over Transformation (Athalye, Engstrom, Ilyas & Kwok 2018, "Synthesizing Robust
  Adversarial Examples"). The attack model returns log E_t[softmax(f(t(x)))] over K independent draws
  t of a randomized defence (one batched call), so the attack's cross-entropy is -log E_t[p_y] and its
  gradient is the average of the K draws' gradients, each weighted by its p_y / E_t[p_y].
- ``bpda+eot``: both.

``none`` is the naive evaluation: the attack uses whatever gradient TensorFlow gives through the
defence (zero through JPEG, bit-depth reduction and the vote). Whatever the mode, the adversarial
images are finally scored on the defended model itself (a fresh draw of any randomness), so the
attack model is only the attacker's tool, never the judge.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np
import pandas as pd
import tensorflow as tf

from .. import defences, metrics
from ..errors import AdvcoreError
from ..i18n import gettext
from .base import logits_of
from .batches import attack_batched, check_n
from .checks import Flag, gradient_check

MODES = ("none", "bpda", "eot", "bpda+eot")
MAX_EOT_SAMPLES = 64
DEFAULT_EOT_SAMPLES = 8
MASKING_GAP = 0.2  # accuracy points the adaptive attack must take off the naive figure to flag masking
MAX_BATCH_IMAGES = 2048  # images through the model in one attack step (batch x EOT draws x votes)


class BPDA:
    """Attack model: the defended forward pass, BPDA backward pass (see the module docstring)."""

    def __init__(self, defended: defences.Defended):
        self.defended = defended
        self.name = f"bpda({defended.name})"

    def __call__(self, x, training: bool = False) -> tf.Tensor:
        return self.defended(x, training=False, bpda=True)


class EOT:
    """Attack model: log of the mean softmax of ``model`` over ``samples`` draws of its randomness."""

    def __init__(self, model, samples: int):
        self.model, self.samples = model, int(samples)
        self.name = f"eot{self.samples}({getattr(model, 'name', 'model')})"

    def __call__(self, x, training: bool = False) -> tf.Tensor:
        x = tf.convert_to_tensor(x, tf.float32)
        n, k = tf.shape(x)[0], self.samples
        logits = self.model(tf.tile(x, [k, 1, 1, 1]), training=False)
        log_probs = tf.reshape(tf.nn.log_softmax(logits), [k, n, tf.shape(logits)[1]])
        return tf.reduce_logsumexp(log_probs, axis=0) - math.log(k)


def check_mode(mode: str | None) -> str:
    mode = (mode or "none").strip().lower()
    if mode not in MODES:
        raise AdvcoreError(gettext("adaptive must be one of {modes}; got {mode!r}", modes=", ".join(MODES), mode=mode))
    return mode


def check_samples(samples) -> int:
    try:
        samples = int(samples)
    except (TypeError, ValueError):
        raise AdvcoreError(gettext("eot samples must be a whole number, got {samples!r}", samples=samples)) from None
    if not 1 <= samples <= MAX_EOT_SAMPLES:
        raise AdvcoreError(gettext("eot samples must be in [1, {most}], got {samples}", most=MAX_EOT_SAMPLES,
                                   samples=samples))
    return samples


_wrappers = defences.Recent()


def attack_model(model, mode: str = "none", samples: int = DEFAULT_EOT_SAMPLES):
    """The model an attack should differentiate: ``model`` itself for ``none``; BPDA over a Defended
    model (the model itself if it has no defence); EOT over ``samples`` draws. The same object for the
    same (model, mode, samples) while it is in use, so the attacks' compiled loops are reused."""
    mode = check_mode(mode)
    if mode == "none":
        return model
    samples = check_samples(samples) if "eot" in mode else 0

    def make():
        inner = BPDA(model) if "bpda" in mode and isinstance(model, defences.Defended) else model
        return EOT(inner, samples) if samples else inner

    return _wrappers.get(model, (mode, samples), make)


def images_per_call(model, mode: str, samples: int) -> int:
    """How many model inputs one attacked image costs per step: EOT draws times smoothing votes."""
    votes = 1
    if isinstance(model, defences.Defended):
        votes = max([s.values["samples"] for s in model.defence.stages if s.spec.smoothing] or [1])
    return votes * (samples if "eot" in check_mode(mode) else 1)


def evaluate(model, x: np.ndarray, y: np.ndarray, attack: str, params: dict, defence=None, mode: str = "none",
             samples: int = DEFAULT_EOT_SAMPLES, batch_size: int = 500,
             progress: Callable[[int], None] | None = None) -> dict:
    """Robust accuracy of ``model`` behind ``defence`` under ``attack`` run naive or adaptive.

    Returns ``metrics.summarise`` of the images scored on the defended model (clean and adversarial
    logits from fresh forward passes), plus ``defence`` (canonical spec or 'none'), ``adaptive`` (mode)
    and ``eot_samples``, ``seconds``.
    """
    defence = defences.parse(defence)
    mode = check_mode(mode)
    defended = defences.apply(model, defence)
    attacker = attack_model(defended, mode, samples)
    per_image = images_per_call(defended, mode, samples)
    batch = max(1, min(int(batch_size), MAX_BATCH_IMAGES // per_image))
    started = time.perf_counter()
    x_adv, _, _ = attack_batched(attacker, x, y, attack, params, batch, progress)
    clean, adv = logits_of(defended, x), logits_of(defended, x_adv)
    summary = metrics.summarise(x, x_adv, clean, adv, y, params.get("target"))
    summary.update(defence=str(defence), adaptive=mode, eot_samples=samples if "eot" in mode else 0,
                   seconds=round(time.perf_counter() - started, 3))
    return summary


def recommended_mode(defence) -> str:
    """The adaptive attack a defence calls for: BPDA for stages without a gradient, EOT for randomness."""
    defence = defences.parse(defence)
    parts = (["bpda"] if defence.masks_gradient else []) + (["eot"] if defence.randomized else [])
    return "+".join(parts) or "none"


def masking_flag(naive: dict, adaptive: dict, gap: float = MASKING_GAP):
    """Flag a naive evaluation that an adaptive attack beats by more than ``gap`` accuracy points
    (Athalye et al. 2018): its robustness came from hiding the gradient, not from the model."""
    drop = naive["robust_accuracy"] - adaptive["robust_accuracy"]
    ok = drop <= gap
    return Flag(f"adaptive:{naive.get('defence', 'none')}", ok,
                f"the adaptive attack ({adaptive['adaptive']}) agrees with the naive one within {gap:.0%} "
                f"({naive['robust_accuracy']:.1%} naive, {adaptive['robust_accuracy']:.1%} adaptive)" if ok else
                f"the naive attack leaves {naive['robust_accuracy']:.1%} accuracy but the adaptive attack "
                f"({adaptive['adaptive']}) only {adaptive['robust_accuracy']:.1%}: the defence hid the gradient "
                "(obfuscated gradients, Athalye et al. 2018); only the adaptive figure counts")


def compare(model, x: np.ndarray, y: np.ndarray, attack: str, params: dict, defence, mode: str | None = None,
            samples: int = DEFAULT_EOT_SAMPLES, batch_size: int = 500,
            progress: Callable[[int], None] | None = None) -> dict:
    """Naive against adaptive evaluation of one defence, with the sanity flags that catch masking:
    ``evaluate.gradient_check`` on the defended model (zero gradients, randomness) and
    ``masking_flag``. ``mode`` None takes ``recommended_mode``; ``progress(images)`` after each batch."""
    defence = defences.parse(defence)
    mode = recommended_mode(defence) if mode is None else check_mode(mode)
    naive = evaluate(model, x, y, attack, params, defence, "none", samples, batch_size, progress)
    adaptive = naive if mode == "none" else evaluate(model, x, y, attack, params, defence, mode, samples,
                                                     batch_size, progress)
    probe = slice(0, min(len(x), 64))
    flags = [gradient_check(defences.apply(model, defence), x[probe], np.asarray(y[probe], np.int32)),
             masking_flag(naive, adaptive)]
    return {"defence": str(defence), "attack": attack, "naive": naive, "adaptive": adaptive, "flags": flags}


def sweep(models: dict, split, attack: str, eps_values, params: dict, defence=None, mode: str = "none",
          samples: int = DEFAULT_EOT_SAMPLES, n: int = 1000, batch_size: int = 500,
          progress: Callable[[int], None] | None = None):
    """``evaluate.sweep`` behind a defence, naive or adaptive: one row per (model, eps) with the same
    columns plus ``defence``, ``adaptive`` and ``eot_samples``, scored on the defended model, so
    ``evaluate.sanity_checks`` reads it as any sweep."""
    n = check_n(n, len(split))
    x, y = split.x[:n], split.y[:n]
    rows = []
    for model_id, model in models.items():
        for eps in eps_values:
            summary = evaluate(model, x, y, attack, dict(params, eps=float(eps)), defence, mode, samples, batch_size,
                               progress)
            rows.append({"model": model_id, "attack": attack, "eps": float(eps), "eps_255": float(eps) * 255,
                         **summary})
    return pd.DataFrame(rows)
