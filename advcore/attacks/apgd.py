"""APGD-CE and APGD-DLR: step-size-free PGD, the core of AutoAttack.

Croce & Hein 2020, "Reliable evaluation of adversarial robustness with an ensemble
of diverse parameter-free attacks" (ICML), Algorithm 1. The step size starts at
2*eps and is halved at checkpoints w_j (p_0 = 0, p_1 = 0.22,
p_{j+1} = p_j + max(p_j - p_{j-1} - 0.03, 0.06)) when either (1) the loss rose in
fewer than rho = 75% of the steps since the last checkpoint, or (2) neither the step
size nor the best loss changed since then; after a halving the iterate restarts
from the best point. Each step mixes the projected gradient step with momentum
alpha = 0.75. The DLR loss (difference of logits ratio) is invariant to shifts and
rescaling of the logits, so it does not suffer from the saturation that makes CE
attacks look weaker than they are on some defences.

Everything per example is vectorised; eps, the checkpoint mask and the target are
tensors, so new values never retrace.
"""

from __future__ import annotations

import weakref

import numpy as np
import tensorflow as tf

from ..errors import AdvcoreError
from ..i18n import N_, gettext
from . import norms
from .base import (
    AttackResult,
    PerModel,
    Trace,
    as_inputs,
    check_budget,
    eps_param,
    keep_strongest,
    logits_of,
    merge_strongest,
    new_trace,
    per_example,
    record_step,
)
from .registry import EPS, NORM, RESTARTS, SEED, TRACE, AttackSpec, Param, register

RHO = 0.75
MOMENTUM = 0.75


def checkpoints(steps: int) -> np.ndarray:
    """Boolean mask over iterations 0..steps, True at the checkpoints.

    The paper's p_j schedule in the integer form of the authors' code: the first
    window is 22% of the steps, each next one 3% shorter, never below 6%.
    """
    window, shrink, floor = max(int(0.22 * steps), 1), max(int(0.03 * steps), 1), max(int(0.06 * steps), 1)
    mask = np.zeros(steps + 1, bool)
    k = window
    while k <= steps:
        mask[k] = True
        window = max(window - shrink, floor)
        k += window
    return mask


def dlr_loss(logits: tf.Tensor, y: tf.Tensor, target: tf.Tensor | None) -> tf.Tensor:
    """Difference of logits ratio (Croce & Hein 2020, eq. 6 and its targeted form), per example.

    Untargeted: -(z_y - max_{i != y} z_i) / (z_pi1 - z_pi3); targeted:
    -(z_y - z_t) / (z_pi1 - (z_pi3 + z_pi4) / 2). Higher is better for the attacker.
    """
    top = tf.math.top_k(logits, k=4).values
    z_y = tf.gather(logits, y, axis=1, batch_dims=1)
    if target is None:
        others = tf.where(tf.one_hot(y, tf.shape(logits)[1]) > 0, -np.inf, logits)
        return -(z_y - tf.reduce_max(others, axis=1)) / (top[:, 0] - top[:, 2] + 1e-12)
    z_t = tf.gather(logits, target, axis=1, batch_dims=1)
    return -(z_y - z_t) / (top[:, 0] - 0.5 * (top[:, 2] + top[:, 3]) + 1e-12)


class _CompiledAPGD:
    def __init__(self, model):
        self.traces = 0
        model_ref = weakref.ref(model)

        def loop(x, y, target, targeted, eps, ckpt, seed, norm, loss_name, record):
            self.traces += 1
            net = model_ref()
            n = tf.shape(x)[0]
            steps = tf.shape(ckpt)[0] - 1

            def forward(x_adv):
                logits = net(x_adv, training=False)
                if loss_name == "dlr":
                    loss = tf.where(targeted > 0, dlr_loss(logits, y, target), dlr_loss(logits, y, None))
                else:
                    ce_true = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits)
                    ce_target = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=target, logits=logits)
                    loss = tf.where(targeted > 0, -ce_target, ce_true)
                pred = tf.argmax(logits, axis=1, output_type=y.dtype)
                return logits, loss, tf.where(targeted > 0, pred == target, pred != y)

            def objective(x_adv):
                with tf.GradientTape() as tape:
                    tape.watch(x_adv)
                    logits, loss, ok = forward(x_adv)
                return logits, loss, tape.gradient(loss, x_adv), ok

            trace = new_trace(steps, y.dtype, record)
            x0 = norms.into_ball(x, x + norms.random_start(tf.shape(x), eps, norm, seed), eps, norm)
            logits0, f0, g0, ok0 = objective(x0)
            trace = record_step(trace, 0, logits0, y)
            eta = 2.0 * eps * tf.ones([n, 1, 1, 1])
            x1 = norms.step_and_project(x, x0, g0, eta, eps, norm)
            # loop state: current and previous iterate, gradient and loss at current, best-loss point for
            # restarts (x_max, f_max), strongest point to return (best_*), checkpoint bookkeeping
            state = dict(k=tf.constant(1), x_k=x1, x_prev=x0, eta=eta, x_max=x0, g_max=g0, f_max=f0, f_prev=f0,
                         best_x=x0, best_f=f0, best_ok=ok0, increases=tf.zeros([n]),
                         f_max_ckpt=f0, eta_ckpt=eta, last_ckpt=tf.constant(0), trace=trace)

            def body(s):
                logits, f_k, g_k, ok_k = objective(s["x_k"])
                trace = record_step(s["trace"], s["k"], logits, y)
                best_x, best_f, best_ok = keep_strongest(s["best_x"], s["best_f"], s["best_ok"], s["x_k"], f_k, ok_k)
                increases = s["increases"] + tf.cast(f_k > s["f_prev"], tf.float32)
                improved = f_k > s["f_max"]
                improved4 = improved[:, None, None, None]
                x_max = tf.where(improved4, s["x_k"], s["x_max"])
                g_max = tf.where(improved4, g_k, s["g_max"])
                f_max = tf.where(improved, f_k, s["f_max"])
                eta = s["eta"]
                # checkpoint: halve the step where the loss stalled, restart those from the best point
                at_ckpt = tf.gather(ckpt, s["k"])
                span = tf.cast(s["k"] - s["last_ckpt"], tf.float32)
                cond1 = increases < RHO * span
                cond2 = tf.equal(tf.squeeze(s["eta_ckpt"], [1, 2, 3]), tf.squeeze(eta, [1, 2, 3])) & tf.equal(
                    s["f_max_ckpt"], f_max)
                halve = at_ckpt & (cond1 | cond2)
                halve4 = halve[:, None, None, None]
                eta = tf.where(halve4, eta / 2, eta)
                x_k = tf.where(halve4, x_max, s["x_k"])  # restart from the best point, with its gradient
                g = tf.where(halve4, g_max, g_k)
                z = norms.step_and_project(x, x_k, g, eta, eps, norm)
                momentum_point = x_k + MOMENTUM * (z - x_k) + (1 - MOMENTUM) * (x_k - s["x_prev"])
                x_next = norms.into_ball(x, momentum_point, eps, norm)
                return (dict(
                    k=s["k"] + 1, x_k=x_next, x_prev=x_k, eta=eta, x_max=x_max, g_max=g_max, f_max=f_max, f_prev=f_k,
                    best_x=best_x, best_f=best_f, best_ok=best_ok,
                    increases=tf.where(at_ckpt, tf.zeros_like(increases), increases),
                    f_max_ckpt=tf.where(at_ckpt, f_max, s["f_max_ckpt"]),
                    eta_ckpt=tf.where(at_ckpt, eta, s["eta_ckpt"]),
                    last_ckpt=tf.where(at_ckpt, s["k"], s["last_ckpt"]), trace=trace),)

            state = tf.while_loop(lambda s: s["k"] < steps, body, (state,))[0]
            logits, f_k, ok_k = forward(state["x_k"])  # the last iterate: no step follows, so no gradient
            trace = record_step(state["trace"], steps, logits, y)
            best_x, best_f, best_ok = keep_strongest(state["best_x"], state["best_f"], state["best_ok"], state["x_k"],
                                                     f_k, ok_k)
            stacked = tuple(t.stack() for t in trace) if record else ()
            return best_x, best_f, best_ok, stacked

        self.loop = tf.function(loop, reduce_retracing=True)


_compiled_for = PerModel(_CompiledAPGD)


def apgd(model, x, y, *, eps, norm: str = "linf", steps: int = 100, restarts: int = 1, loss: str = "ce",
         seed: int = 0, target=None, trace: bool = False, name: str = "apgd-ce") -> AttackResult:
    """Auto-PGD with the CE or DLR loss.

    eps: budget in pixel units (scalar or per example); steps: iterations (gradient
    evaluations ~ steps + checkpoints); restarts: random restarts, strongest kept;
    loss: 'ce' or 'dlr'; target: optional target class per example.
    """
    norm = check_budget(eps, norm)
    steps, restarts = int(steps), int(restarts)
    if steps < 2 or restarts < 1:
        raise AdvcoreError(gettext("APGD needs at least 2 steps and 1 restart"))
    x, y, target = as_inputs(x, y, target)
    fn = _compiled_for(model)
    tgt = y if target is None else target
    args = (tf.constant(x), tf.constant(y), tf.constant(tgt), tf.constant(0.0 if target is None else 1.0),
            tf.constant(per_example(eps, len(x))), tf.constant(checkpoints(steps)))
    best = recorded = None
    for restart in range(restarts):
        out_x, out_f, out_ok, rec = fn.loop(*args, tf.constant([seed, restart], tf.int32), norm, loss, bool(trace))
        recorded = rec if recorded is None else recorded
        best = merge_strongest(best, [out_x.numpy(), out_f.numpy(), out_ok.numpy()])
    rec_trace = Trace(*(t.numpy() for t in recorded)) if trace else None
    params = {"eps": eps_param(eps), "norm": norm, "steps": steps, "restarts": restarts, "seed": seed}
    return AttackResult(best[0], logits_of(model, x), logits_of(model, best[0]), name, params, rec_trace)


def apgd_ce(model, x, y, **kw) -> AttackResult:
    """APGD with the cross-entropy loss (Croce & Hein 2020)."""
    return apgd(model, x, y, loss="ce", name="apgd-ce", **kw)


def apgd_dlr(model, x, y, **kw) -> AttackResult:
    """APGD with the difference-of-logits-ratio loss (Croce & Hein 2020); needs >= 4 classes."""
    return apgd(model, x, y, loss="dlr", name="apgd-dlr", **kw)


APGD_STEPS = Param("steps", "int", 100, 2, 1000, N_("iterations"),
                   N_("number of APGD iterations (100 in AutoAttack)"))
PAPER = "Croce & Hein 2020, Reliable Evaluation of Adversarial Robustness with an Ensemble of Diverse Attacks"
register(AttackSpec("apgd-ce", "APGD-CE", "gradient", ("linf", "l2"), (EPS, NORM, APGD_STEPS, RESTARTS, SEED, TRACE),
                    PAPER, apgd_ce, order=40,
                    summary=N_("PGD whose step size adapts by itself (halved when progress stalls), with momentum")))
register(AttackSpec("apgd-dlr", "APGD-DLR", "gradient", ("linf", "l2"), (EPS, NORM, APGD_STEPS, RESTARTS, SEED, TRACE),
                    PAPER, apgd_dlr, order=41,
                    summary=N_("APGD on the logit-ratio loss, immune to logit scaling and saturated softmax")))
