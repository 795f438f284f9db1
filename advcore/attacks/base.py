"""The one gradient-attack loop, compiled once per model, and the result type.

FGSM, BIM, PGD and MI-FGSM are all instances of the same iteration
(Madry et al. 2018, "Towards Deep Learning Models Resistant to Adversarial
Attacks", Sec. 2; Dong et al. 2018 for the momentum term):

    g_t     = grad_x objective(x_t)                      (cross-entropy on logits)
    m_t     = decay * m_{t-1} + g_t / ||g_t||_1          (decay 0: plain gradient)
    x_{t+1} = clip_[0,1](x + project_eps(x_t + alpha * dir_norm(m_t) - x))

with an optional random start inside the ball. The objective is the
cross-entropy of the true label (untargeted, ascended) or minus the
cross-entropy of the target (targeted). Per example, the loop returns the
strongest iterate seen: a successful one over an unsuccessful one, then the
higher objective. ``eps``, ``alpha``, ``steps``, ``decay``, the labels and the
seed are tensors, so changing any of them never retraces; only the norm and
whether a per-step trace is recorded are Python-level switches.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass, field

import numpy as np
import tensorflow as tf

from ..errors import AdvcoreError
from ..i18n import gettext
from ..permodel import PerModel
from . import norms


@dataclass
class Trace:
    """Per-step record of an iterative attack; arrays are (steps + 1, n), row 0 = start point.

    loss: cross-entropy of the true class (nats); true_prob: softmax probability
    of the true class; pred: predicted class.
    """

    loss: np.ndarray
    true_prob: np.ndarray
    pred: np.ndarray


@dataclass
class AttackResult:
    """What every attack returns.

    x_adv: adversarial images, float32 (N, H, W, C) in [0, 1];
    clean_logits / adv_logits: float32 (N, classes);
    trace: per-step record when asked for (iterative attacks), else None;
    info: attack-specific extras (e.g. queries used).
    """

    x_adv: np.ndarray
    clean_logits: np.ndarray
    adv_logits: np.ndarray
    attack: str
    params: dict
    trace: Trace | None = None
    info: dict = field(default_factory=dict)

    @property
    def clean_pred(self) -> np.ndarray:
        return self.clean_logits.argmax(axis=1)

    @property
    def adv_pred(self) -> np.ndarray:
        return self.adv_logits.argmax(axis=1)


def stronger(best_obj, best_ok, obj_new, ok_new):
    """Per example, whether a new point beats the best so far: a success beats a failure, then the higher
    objective wins. Tensors; ``*_ok`` bool (N,), ``*_obj`` float (N,); returns bool (N,)."""
    return (ok_new & ~best_ok) | ((ok_new == best_ok) & (obj_new > best_obj))


def keep_strongest(best_x, best_obj, best_ok, x_new, obj_new, ok_new):
    """Per example, keep the stronger (``stronger``) of the best point so far and a new one."""
    better = stronger(best_obj, best_ok, obj_new, ok_new)
    return tf.where(better[:, None, None, None], x_new, best_x), tf.where(better, obj_new, best_obj), best_ok | ok_new


def new_trace(steps, label_dtype, record: bool) -> list:
    """Empty per-step arrays (true-class cross-entropy, true-class probability, prediction) for
    ``steps + 1`` rows, or [] when no trace is recorded."""
    if not record:
        return []
    return [tf.TensorArray(tf.float32, size=steps + 1), tf.TensorArray(tf.float32, size=steps + 1),
            tf.TensorArray(label_dtype, size=steps + 1)]


def record_step(trace: list, i, logits, true_y) -> list:
    """Write row ``i`` of a trace from ``new_trace`` (no-op for an empty one)."""
    if not trace:
        return trace
    true_prob = tf.gather(tf.nn.softmax(logits), true_y, axis=1, batch_dims=1)
    pred = tf.argmax(logits, axis=1, output_type=true_y.dtype)
    return [trace[0].write(i, -tf.math.log(tf.maximum(true_prob, 1e-30))), trace[1].write(i, true_prob),
            trace[2].write(i, pred)]


class _Compiled:
    """The compiled attack loop of one model, plus a count of how often it was traced."""

    def __init__(self, model):
        self.traces = 0
        model_ref = weakref.ref(model)

        def loop(x, labels, true_y, sign, eps, alpha, steps, decay, rand_init, seed, norm, record):
            self.traces += 1  # Python side effect: runs only while tracing
            net = model_ref()

            def objective_of(x_adv):
                logits = net(x_adv, training=False)
                ce = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
                return logits, sign * ce

            def evaluate(x_adv):
                with tf.GradientTape() as tape:
                    tape.watch(x_adv)
                    logits, objective = objective_of(x_adv)
                grad = tape.gradient(objective, x_adv)
                return logits, objective, grad

            def success_of(logits):
                pred = tf.argmax(logits, axis=1, output_type=labels.dtype)
                return tf.where(sign > 0, pred != labels, pred == labels)

            shape = tf.shape(x)
            x_adv = norms.into_ball(x, x + norms.random_start(shape, eps, norm, seed) * rand_init, eps, norm)
            momentum = tf.zeros_like(x)
            best_x = x_adv
            best_obj = tf.fill([shape[0]], -np.inf)
            best_ok = tf.zeros([shape[0]], tf.bool)
            clean_logits = net(x, training=False)
            best_logits = tf.zeros_like(clean_logits)  # the logits of best_x, kept with it: no forward pass at the end
            trace = new_trace(steps, labels.dtype, record)

            def keep_best(i, x_adv, logits, objective, best_x, best_obj, best_ok, best_logits, trace):
                ok = success_of(logits)
                best_logits = tf.where(stronger(best_obj, best_ok, objective, ok)[:, None], logits, best_logits)
                best = keep_strongest(best_x, best_obj, best_ok, x_adv, objective, ok)
                return (*best, best_logits, record_step(trace, i, logits, true_y))

            def body(i, x_adv, momentum, best_x, best_obj, best_ok, best_logits, trace):
                logits, objective, grad = evaluate(x_adv)
                best_x, best_obj, best_ok, best_logits, trace = keep_best(
                    i, x_adv, logits, objective, best_x, best_obj, best_ok, best_logits, trace)
                l1 = tf.reduce_sum(tf.abs(grad), axis=[1, 2, 3], keepdims=True) + 1e-12
                momentum = decay * momentum + grad / l1
                x_adv = norms.step_and_project(x, x_adv, momentum, alpha, eps, norm)
                return i + 1, x_adv, momentum, best_x, best_obj, best_ok, best_logits, trace

            _, x_adv, _, best_x, best_obj, best_ok, best_logits, trace = tf.while_loop(
                lambda i, *_: i < steps, body,
                (tf.constant(0), x_adv, momentum, best_x, best_obj, best_ok, best_logits, trace))
            logits, objective = objective_of(x_adv)  # the last iterate: no step follows, so no gradient
            best_x, best_obj, best_ok, best_logits, trace = keep_best(
                steps, x_adv, logits, objective, best_x, best_obj, best_ok, best_logits, trace)
            stacked = tuple(t.stack() for t in trace) if record else ()
            return best_x, best_obj, best_ok, stacked, clean_logits, best_logits

        self.loop = tf.function(loop, reduce_retracing=True)
        self.forward = tf.function(lambda x: model_ref()(x, training=False), reduce_retracing=True)
        self._prepared: set = set()
        self._lock = threading.Lock()

    def prepare(self, image_shape: tuple, norm: str | None = None, record: bool = False) -> None:
        """Trace the loop (``norm`` given) or the forward pass (``norm`` None) once for any batch size: the
        batch dimension is None in the traced signature, so a call with 1 image and one with the eps curve's
        16 dispatch to the same graph instead of retracing (TensorFlow picks an existing trace whose
        signature covers the call)."""
        key = (tuple(image_shape), norm, bool(record))
        with self._lock:
            if key in self._prepared:
                return
            spec, n = tf.TensorSpec, None
            if norm is None:
                self.forward.get_concrete_function(spec([n, *image_shape], tf.float32))
            else:
                per_image = spec([n, 1, 1, 1], tf.float32)
                self.loop.get_concrete_function(
                    spec([n, *image_shape], tf.float32), spec([n], tf.int32), spec([n], tf.int32),
                    spec([], tf.float32), per_image, per_image, spec([], tf.int32), spec([], tf.float32),
                    spec([], tf.float32), spec([2], tf.int32), norm, bool(record))
            self._prepared.add(key)


compiled_for = PerModel(_Compiled)


def merge_strongest(best: list | None, out: list) -> list:
    """Fold one restart's [x_adv, objective, success, *extras] (NumPy, per example) into the
    best so far: a success beats a failure, then the higher objective wins."""
    if best is None:
        return out
    better = (out[2] & ~best[2]) | ((out[2] == best[2]) & (out[1] > best[1]))
    for kept, new in zip(best, out):
        kept[better] = new[better]
    return best


def logits_of(model, x: np.ndarray, batch_size: int = 1000) -> np.ndarray:
    """Logits of ``model`` on ``x`` through its compiled forward pass (never ``model.predict``).

    Compiled rather than eager: an eager Keras call walks every layer in Python, which holds the
    interpreter lock; with many dashboard sessions at once that cost more than the attacks."""
    compiled = compiled_for(model)
    compiled.prepare(np.shape(x)[1:])
    forward = compiled.forward
    out = [forward(tf.constant(np.asarray(x[i:i + batch_size], np.float32))).numpy()
           for i in range(0, len(x), batch_size)]
    return np.concatenate(out) if out else np.zeros((0, 0), np.float32)


def as_inputs(x, y, target):
    """Validate and convert images, labels and an optional target to tensors."""
    x = np.asarray(x, dtype=np.float32)
    if x.ndim != 4:
        raise AdvcoreError(gettext("images must be (N, H, W, C); got shape {shape}", shape=x.shape))
    if not np.isfinite(x).all() or x.min(initial=0) < 0 or x.max(initial=0) > 1:
        raise AdvcoreError(gettext("images must be finite and inside [0, 1]"))
    y = np.asarray(y, dtype=np.int32).reshape(-1)
    if len(y) != len(x):
        raise AdvcoreError(gettext("{images} images but {labels} labels", images=len(x), labels=len(y)))
    if target is not None:
        target = np.broadcast_to(np.asarray(target, dtype=np.int32).reshape(-1), y.shape).copy()
        if np.any(target == y):
            raise AdvcoreError(gettext("a targeted attack needs a target class different from the true class"))
    return x, y, target


MAX_EPS = {"linf": 1.0, "l2": 64.0}


def check_eps(eps: float, norm: str = "linf") -> float:
    """Epsilon must be finite, >= 0, and at most 1 for linf (64 for l2), in pixel units."""
    eps = float(eps)
    if not np.isfinite(eps) or eps < 0 or eps > MAX_EPS[norm]:
        raise AdvcoreError(gettext("eps must be a number in [0, {most:g}] for {norm} (pixel units), got {eps}",
                                   most=MAX_EPS[norm], norm=norm, eps=eps))
    return eps


def check_budget(eps, norm: str) -> str:
    """Validate a norm name and an eps (a number or one per example); returns the norm."""
    norm = norms.check_norm(norm)
    for value in np.ravel(eps):
        check_eps(value, norm)
    return norm


def per_example(value, n: int) -> np.ndarray:
    """A scalar or (n,) array as a float32 (n, 1, 1, 1) array (per-example eps / step size)."""
    return np.broadcast_to(np.asarray(value, np.float32).reshape(-1), (n,)).reshape(n, 1, 1, 1).copy()


def eps_param(eps):
    """How an eps (scalar or per-example array) is recorded in a result's params."""
    return float(eps) if np.ndim(eps) == 0 else [float(e) for e in np.ravel(eps)]


def gradient_attack(model, x, y, *, name: str, params: dict, eps, norm: str = "linf",
                    steps: int = 10, step_size: float | None = None, decay: float = 0.0,
                    random_start: bool = False, restarts: int = 1, target=None, seed: int = 0,
                    trace: bool = False) -> AttackResult:
    """Run the shared loop; restarts keep the strongest result per example.

    eps (a number, or one per example) and step_size are in pixel units; step_size
    None means 2.5 * eps / steps (Madry et al. 2018). ``target`` (int class per
    example) makes the attack targeted.
    """
    norm = check_budget(eps, norm)
    steps, restarts = int(steps), int(restarts)
    if steps < 1 or restarts < 1:
        raise AdvcoreError(gettext("steps and restarts must be at least 1"))
    x, y, target = as_inputs(x, y, target)
    eps_t = per_example(eps, len(x))
    alpha = 2.5 * eps_t / steps if step_size is None else per_example(step_size, len(x))
    if not np.all(np.isfinite(alpha)) or np.any(alpha < 0):
        raise AdvcoreError(gettext("step size must be a non-negative number, got {step_size}", step_size=step_size))
    labels = y if target is None else target
    sign = 1.0 if target is None else -1.0
    fn = compiled_for(model)
    fn.prepare(x.shape[1:], norm, bool(trace))
    xt, lt, yt = tf.constant(x), tf.constant(labels), tf.constant(y)
    best = traced = clean = None
    for restart in range(restarts):
        out_x, out_obj, out_ok, rec, clean_logits, adv_logits = fn.loop(
            xt, lt, yt, tf.constant(sign), tf.constant(eps_t), tf.constant(alpha),
            tf.constant(steps), tf.constant(float(decay)), tf.constant(1.0 if random_start else 0.0),
            tf.constant([seed, restart], tf.int32), norm, bool(trace))
        if best is None:
            traced, clean = rec, clean_logits.numpy()
        best = merge_strongest(best, [out_x.numpy(), out_obj.numpy(), out_ok.numpy(), adv_logits.numpy()])
    best_x, adv = best[0], best[3]
    rec_trace = Trace(*(t.numpy() for t in traced)) if trace else None
    return AttackResult(best_x, clean, adv, name, dict(params, eps=eps_param(eps), norm=norm), rec_trace)
