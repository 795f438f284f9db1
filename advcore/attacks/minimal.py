"""Minimal-perturbation attacks: DeepFool and Carlini & Wagner L2.

They search for the smallest perturbation that changes the prediction, so their
natural output is a norm, not an image at a fixed budget. To fit the common shape
``(model, x, y, *, eps, ...)``, ``eps`` is a ceiling: an example whose minimal
perturbation is larger than eps is returned unchanged (the attack failed at that
budget), and ``info["min_norm"]`` reports the norm each example needed (inf where
none was found). Robust accuracy at eps is then comparable with PGD's.
"""

from __future__ import annotations

import weakref

import numpy as np
import tensorflow as tf

from ..i18n import N_
from .base import AttackResult, PerModel, as_inputs, check_budget, eps_param, logits_of, per_example
from .registry import AttackSpec, Param, register


def _within_budget(x, x_adv, found, eps, norm):
    """Keep adversarial points whose norm is within eps; others fall back to x. Returns (x_out, norms)."""
    delta = (x_adv - x).reshape(len(x), -1)
    norms = np.abs(delta).max(axis=1) if norm == "linf" else np.sqrt((delta ** 2).sum(axis=1))
    norms = np.where(found, norms, np.inf)
    keep = norms <= np.ravel(per_example(eps, len(x))) + 1e-7
    return np.where(keep[:, None, None, None], x_adv, x).astype(np.float32), norms


# --- DeepFool -------------------------------------------------------------------------

def _build_deepfool(model):
    model_ref = weakref.ref(model)

    @tf.function(reduce_retracing=True)
    def run(x, y, steps, overshoot, norm_is_l2):
        net = model_ref()
        classes = net.output_shape[-1]

        def linearised_step(x_adv):
            with tf.GradientTape(persistent=True) as tape:
                tape.watch(x_adv)
                logits = net(x_adv, training=False)
                z_y = tf.gather(logits, y, axis=1, batch_dims=1)
                diffs = [logits[:, k] - z_y for k in range(classes)]
            grads = tf.stack([tape.gradient(d, x_adv) for d in diffs], axis=1)  # (N, K, H, W, C)
            del tape
            f = tf.stack(diffs, axis=1)  # (N, K); f_y = 0
            w = tf.reshape(grads, [tf.shape(x)[0], classes, -1])
            w_norm = tf.where(norm_is_l2, tf.norm(w, axis=2), tf.reduce_sum(tf.abs(w), axis=2)) + 1e-8
            distance = tf.abs(f) / w_norm
            distance = tf.where(tf.one_hot(y, classes) > 0, np.inf, distance)
            best = tf.argmin(distance, axis=1, output_type=tf.int32)
            d_best = tf.gather(distance, best, axis=1, batch_dims=1)
            w_best = tf.gather(w, best, axis=1, batch_dims=1)
            direction = tf.where(norm_is_l2, w_best / tf.gather(w_norm, best, axis=1, batch_dims=1)[:, None],
                                 tf.sign(w_best))
            r = (d_best + 1e-4)[:, None] * direction
            pred = tf.argmax(logits, axis=1, output_type=tf.int32)
            return tf.reshape(r, tf.shape(x)), pred

        def body(i, r_total, done):
            x_adv = tf.clip_by_value(x + (1 + overshoot) * r_total, 0.0, 1.0)
            r, pred = linearised_step(x_adv)
            done = done | (pred != y)
            r_total = tf.where(done[:, None, None, None], r_total, r_total + r)
            return i + 1, r_total, done

        _, r_total, _ = tf.while_loop(lambda i, r, done: (i < steps) & ~tf.reduce_all(done), body,
                                      (tf.constant(0), tf.zeros_like(x), tf.zeros(tf.shape(y), tf.bool)))
        x_adv = tf.clip_by_value(x + (1 + overshoot) * r_total, 0.0, 1.0)
        found = tf.argmax(net(x_adv, training=False), axis=1, output_type=tf.int32) != y
        return x_adv, found

    return run


_deepfool_for = PerModel(_build_deepfool)


def deepfool(model, x, y, *, eps, norm: str = "l2", steps: int = 50, overshoot: float = 0.02) -> AttackResult:
    """DeepFool (Moosavi-Dezfooli, Fawzi & Frossard 2016, "DeepFool: a simple and accurate method
    to fool deep neural networks", CVPR): repeatedly step to the nearest linearised decision
    boundary over all classes, then overshoot by (1 + overshoot).

    eps: ceiling on the perturbation (pixel units; norm 'l2' or 'linf'); steps: at most this
    many linearisations; overshoot: relative overshoot (0.02 in the paper).
    """
    if norm == "linf":  # no linf perturbation inside [0, 1] exceeds 1: a larger ceiling means none
        eps = np.minimum(eps, 1.0) if np.ndim(eps) else min(float(eps), 1.0)
    norm = check_budget(eps, norm)
    x, y, _ = as_inputs(x, y, None)
    x_adv, found = _deepfool_for(model)(tf.constant(x), tf.constant(y), tf.constant(int(steps)),
                                         tf.constant(float(overshoot)), tf.constant(norm == "l2"))
    x_out, norms = _within_budget(x, x_adv.numpy(), found.numpy(), eps, norm)
    return AttackResult(x_out, logits_of(model, x), logits_of(model, x_out), "deepfool",
                        {"eps": eps_param(eps), "norm": norm, "steps": int(steps), "overshoot": float(overshoot)},
                        info={"min_norm": norms})


# --- Carlini & Wagner L2 ------------------------------------------------------------------

def _build_cw(model):
    model_ref = weakref.ref(model)

    @tf.function(reduce_retracing=True)
    def run(x, y, const, steps, lr, kappa):
        """Adam on w (x_adv = (tanh(w) + 1) / 2) for one value of c per example; returns the
        smallest-L2 successful point found and its squared norm (inf where none)."""
        net = model_ref()
        w0 = tf.atanh(tf.clip_by_value(x * 2 - 1, -1 + 1e-6, 1 - 1e-6))
        classes = net.output_shape[-1]
        onehot = tf.one_hot(y, classes)

        def body(i, w, m, v, best_l2, best_x):
            with tf.GradientTape() as tape:
                tape.watch(w)
                x_adv = (tf.tanh(w) + 1) / 2
                logits = net(x_adv, training=False)
                z_y = tf.reduce_sum(logits * onehot, axis=1)
                z_other = tf.reduce_max(logits - 1e9 * onehot, axis=1)
                margin = tf.maximum(z_y - z_other, -kappa)
                l2 = tf.reduce_sum(tf.square(x_adv - x), axis=[1, 2, 3])
                loss = tf.reduce_sum(l2 + const * margin)
            g = tape.gradient(loss, w)
            ok = (z_y - z_other) < 0
            improve = ok & (l2 < best_l2)
            best_l2 = tf.where(improve, l2, best_l2)
            best_x = tf.where(improve[:, None, None, None], x_adv, best_x)
            t = tf.cast(i + 1, tf.float32)
            m = 0.9 * m + 0.1 * g
            v = 0.999 * v + 0.001 * tf.square(g)
            w = w - lr * (m / (1 - 0.9 ** t)) / (tf.sqrt(v / (1 - 0.999 ** t)) + 1e-8)
            return i + 1, w, m, v, best_l2, best_x

        init = (tf.constant(0), w0, tf.zeros_like(x), tf.zeros_like(x), tf.fill(tf.shape(y), np.inf), x)
        _, _, _, _, best_l2, best_x = tf.while_loop(lambda i, *_: i < steps, body, init)
        return best_x, best_l2

    return run


_cw_for = PerModel(_build_cw)


def cw_l2(model, x, y, *, eps, steps: int = 100, search_steps: int = 5, initial_const: float = 1.0,
          confidence: float = 0.0, learning_rate: float = 0.05) -> AttackResult:
    """Carlini & Wagner 2017, "Towards Evaluating the Robustness of Neural Networks" (IEEE S&P), L2.

    Minimises ||x' - x||_2^2 + c * max(Z_y - max_{i!=y} Z_i, -kappa) over x' = (tanh(w)+1)/2
    (always inside [0, 1]) with Adam, and binary-searches c per example. eps: ceiling on
    the L2 norm (pixel units); steps: Adam steps per value of c; search_steps: values of c;
    initial_const: first c; confidence: kappa (logit margin); learning_rate: Adam's rate.
    """
    check_budget(eps, "l2")
    x, y, _ = as_inputs(x, y, None)
    run = _cw_for(model)
    const = np.full(len(x), initial_const, np.float32)
    low, high = np.zeros(len(x), np.float32), np.full(len(x), np.inf, np.float32)
    best_l2, best_x = np.full(len(x), np.inf), x.copy()
    for _ in range(int(search_steps)):
        x_found, l2 = run(tf.constant(x), tf.constant(y), tf.constant(const), tf.constant(int(steps)),
                          tf.constant(float(learning_rate)), tf.constant(float(confidence)))
        x_found, l2 = x_found.numpy(), l2.numpy()
        success = np.isfinite(l2)
        better = success & (l2 < best_l2)
        best_l2[better], best_x[better] = l2[better], x_found[better]
        high = np.where(success, np.minimum(high, const), high)  # success: try a smaller c
        low = np.where(success, low, np.maximum(low, const))
        const = np.where(np.isfinite(high), (low + high) / 2, const * 10).astype(np.float32)
    x_out, norms = _within_budget(x, best_x, np.isfinite(best_l2), eps, "l2")
    return AttackResult(x_out, logits_of(model, x), logits_of(model, x_out), "cw-l2",
                        {"eps": eps_param(eps), "steps": int(steps), "search_steps": int(search_steps),
                         "initial_const": float(initial_const), "confidence": float(confidence)},
                        info={"min_norm": norms})


MAX_EPS = Param("eps", "float", 64.0, 0.0, 64.0, N_("pixel units ([0,1] scale)"),
                N_("ceiling: examples that need a larger perturbation are left unchanged (64 = no ceiling)"),
                per_example=True)
register(AttackSpec(
    "deepfool", "DeepFool (minimal)", "minimal", ("l2", "linf"),
    (MAX_EPS, Param("norm", "choice", "l2", help=N_("norm of the perturbation"), choices=("l2", "linf")),
     Param("steps", "int", 50, 1, 500, N_("linearisations"), N_("at most this many steps")),
     Param("overshoot", "float", 0.02, 0.0, 1.0, N_("fraction"), N_("step this much past the boundary"))),
    "Moosavi-Dezfooli et al. 2016, DeepFool: a Simple and Accurate Method to Fool Deep Neural Networks",
    deepfool, iterative=False, targeted=False, order=60,
    summary=N_("walks to the nearest linearised decision boundary: the smallest change that flips the class")))
register(AttackSpec(
    "cw-l2", "Carlini & Wagner L2 (minimal)", "minimal", ("l2",),
    (MAX_EPS, Param("steps", "int", 100, 1, 1000, N_("Adam steps"), N_("optimisation steps per value of c")),
     Param("search_steps", "int", 5, 1, 10, N_("values of c"), N_("binary search over the trade-off constant c")),
     Param("initial_const", "float", 1.0, 1e-4, 100.0, "", N_("first value of c")),
     Param("confidence", "float", 0.0, 0.0, 50.0, N_("logits"), N_("kappa: required logit margin")),
     Param("learning_rate", "float", 0.05, 1e-4, 1.0, "", N_("Adam learning rate"))),
    "Carlini & Wagner 2017, Towards Evaluating the Robustness of Neural Networks", cw_l2,
    iterative=False, targeted=False, order=61,
    summary=N_("optimises for the smallest L2 change that flips the class (tanh box, binary search on c)")))
