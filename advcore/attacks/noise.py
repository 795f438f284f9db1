"""Random noise of the same budget: the control that shows direction matters.

linf: every pixel moved by +/- eps with a random sign; l2: a random Gaussian
direction scaled to norm eps. Clipped to [0, 1] like every attack. A model
that noise fools as often as PGD is a sign of a broken evaluation (Carlini
et al. 2019, "On Evaluating Adversarial Robustness", Sec. 5).
"""

import numpy as np
import tensorflow as tf

from ..i18n import N_
from . import norms
from .base import AttackResult, as_inputs, check_budget, eps_param, logits_of, per_example
from .registry import EPS, NORM, SEED, AttackSpec, register


def noise(model, x, y, *, eps: float, norm: str = "linf", seed: int = 0) -> AttackResult:
    """Random perturbation on the eps-sphere (no gradient); eps in pixel units."""
    norm = check_budget(eps, norm)
    x, y, _ = as_inputs(x, y, None)
    xt = tf.constant(x)
    delta = norms.random_surface(tf.shape(xt), tf.constant(per_example(eps, len(x))), norm, tf.constant([seed, 0]))
    x_adv = (xt + norms.clip_to_image(xt, delta)).numpy()
    return AttackResult(np.asarray(x_adv, np.float32), logits_of(model, x), logits_of(model, x_adv),
                        "noise", {"eps": eps_param(eps), "norm": norm, "seed": seed})


register(AttackSpec(
    "noise", "Random noise (control)", "control", ("linf", "l2"), (EPS, NORM, SEED),
    "Carlini et al. 2019, On Evaluating Adversarial Robustness (random-noise baseline)", noise,
    iterative=False, targeted=False, order=90,
    summary=N_("the same budget in a random direction: barely moves a prediction")))
