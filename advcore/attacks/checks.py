"""Signs that a model hides its gradient from attacks, and the flag every sanity check returns.

``gradient_check`` looks for the classic signs of gradient masking (Carlini et al. 2019, "On Evaluating
Adversarial Robustness", Sec. 5; Athalye, Carlini & Wagner 2018, "Obfuscated Gradients Give a False Sense
of Security"): input gradients that vanish, outputs that are probabilities rather than logits, and outputs
that change between two calls (randomness). ``advcore.evaluate.sanity_checks`` returns the same ``Flag``
over sweep tables.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import tensorflow as tf


@dataclass(frozen=True)
class Flag:
    """One sanity check: ok False means the evaluation looks unreliable for the reason given."""

    check: str
    ok: bool
    message: str
    model: str = ""  # the model (or models) the flag concerns, "" for all
    attack: str = ""
    level: str = ""  # "info" for a note that is no warning; otherwise "ok" or "warning" from ``ok``

    @property
    def severity(self) -> str:
        """"ok", "info" or "warning"."""
        return self.level or ("ok" if self.ok else "warning")

    def as_dict(self) -> dict:
        return {"check": self.check, "ok": self.ok, "message": self.message, "model": self.model,
                "attack": self.attack, "severity": self.severity}


def _zero_gradients(model, xt, y) -> tuple[float, object]:
    """(share of images whose cross-entropy input gradient is all zeros, the logits)."""
    with tf.GradientTape() as tape:
        tape.watch(xt)
        logits = model(xt, training=False)
        loss = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=tf.constant(y, tf.int32), logits=logits)
    grad = tape.gradient(loss, xt).numpy().reshape(len(y), -1)
    return float((np.abs(grad).max(axis=1) == 0).mean()), logits


def zero_gradient_share(model, x: np.ndarray, y: np.ndarray) -> float:
    """The share of images (float32 NHWC in [0, 1]) whose cross-entropy input gradient is exactly zero: the
    sign of a saturated softmax (defensive distillation) or a non-differentiable defence."""
    return _zero_gradients(model, tf.constant(x), y)[0]


def gradient_check(model, x: np.ndarray, y: np.ndarray) -> Flag:
    """Flag models whose input gradients vanish on many points, whose outputs look like
    probabilities (rows summing to 1, all in [0, 1]) rather than logits, or whose outputs
    change between two calls on the same input (randomness defeats fixed gradients)."""
    xt = tf.constant(x)
    zero, logits = _zero_gradients(model, xt, y)
    out = np.asarray(logits)
    probs = bool(np.all(out >= 0) and np.all(out <= 1) and np.allclose(out.sum(axis=1), 1, atol=1e-3))
    random = not np.allclose(out, np.asarray(model(xt, training=False)), atol=1e-5)
    ok = zero < 0.1 and not probs and not random
    message = (f"{zero:.0%} of points have an all-zero input gradient"
               + ("; the outputs look like probabilities, not logits (softmax in the model masks gradients)"
                  if probs else "")
               + ("; the outputs change between two calls on the same image (randomised model: use "
                  "expectation over transformation)" if random else ""))
    return Flag("gradients", ok, message)
