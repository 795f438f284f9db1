"""Norm-specific maths shared by every gradient attack: random start, step, projection.

Following Foolbox's gradient-descent base (Rauber et al. 2017/2020): the attack
loop is written once and a norm only supplies these three operations, combined in
``step_and_project``. All functions work on batches (N, H, W, C) and take
``eps``/``alpha`` in pixel units ([0, 1] scale) as float32 tensors: a scalar, or one
value per example shaped (N, 1, 1, 1).
"""

from __future__ import annotations

import tensorflow as tf

from ..errors import AdvcoreError
from ..i18n import _

NORMS = ("linf", "l2")
_TINY = 1e-12


def _flat_norm(v: tf.Tensor) -> tf.Tensor:
    """Per-example L2 norm, shaped (N, 1, 1, 1) for broadcasting."""
    return tf.sqrt(tf.reduce_sum(tf.square(v), axis=[1, 2, 3], keepdims=True) + _TINY)


def random_start(shape: tf.Tensor, eps: tf.Tensor, norm: str, seed: tf.Tensor) -> tf.Tensor:
    """A random perturbation inside the eps-ball (stateless, so deterministic per seed).

    linf: uniform in [-eps, eps] per pixel. l2: uniform in the L2 ball (direction
    from a Gaussian, radius eps * u^(1/d)).
    """
    if norm == "linf":
        return tf.random.stateless_uniform(shape, seed, -1.0, 1.0) * eps
    direction = tf.random.stateless_normal(shape, seed)
    direction = direction / _flat_norm(direction)
    dims = tf.cast(tf.reduce_prod(shape[1:]), tf.float32)
    radius = tf.random.stateless_uniform(tf.stack([shape[0], 1, 1, 1]), seed + 1) ** (1.0 / dims)
    return direction * radius * eps


def random_surface(shape: tf.Tensor, eps: tf.Tensor, norm: str, seed: tf.Tensor) -> tf.Tensor:
    """A random perturbation on the eps-sphere: the full budget in a random direction.

    linf: +/-eps per pixel (uniform sign noise). l2: a Gaussian direction scaled to norm eps.
    """
    if norm == "linf":
        signs = tf.sign(tf.random.stateless_uniform(shape, seed, -1.0, 1.0))
        return signs * eps
    direction = tf.random.stateless_normal(shape, seed)
    return direction / _flat_norm(direction) * eps


def step_direction(grad: tf.Tensor, norm: str) -> tf.Tensor:
    """Steepest-ascent direction of unit size in the norm: sign(g) for linf, g/||g||_2 for l2."""
    if norm == "linf":
        return tf.sign(grad)
    return grad / _flat_norm(grad)


def project(delta: tf.Tensor, eps: tf.Tensor, norm: str) -> tf.Tensor:
    """Project a perturbation onto the eps-ball of the norm."""
    if norm == "linf":
        return tf.clip_by_value(delta, -eps, eps)
    factor = tf.minimum(1.0, eps / _flat_norm(delta))
    return delta * factor


def clip_to_image(x: tf.Tensor, delta: tf.Tensor) -> tf.Tensor:
    """Return the perturbation that keeps x + delta inside [0, 1].

    Clipping the image after projecting only shrinks the perturbation in every
    coordinate, so it stays in the eps-ball of either norm.
    """
    return tf.clip_by_value(x + delta, 0.0, 1.0) - x


def into_ball(x: tf.Tensor, point: tf.Tensor, eps: tf.Tensor, norm: str) -> tf.Tensor:
    """The image nearest to ``point`` that an attack may return: its perturbation from ``x`` projected
    onto the eps-ball, then clipped so the image stays in [0, 1]."""
    return x + clip_to_image(x, project(point - x, eps, norm))


def step_and_project(x: tf.Tensor, x_from: tf.Tensor, grad: tf.Tensor, alpha: tf.Tensor, eps: tf.Tensor,
                     norm: str) -> tf.Tensor:
    """One steepest-ascent step of length ``alpha`` (pixel units) from ``x_from`` along ``grad``, back
    into the eps-ball around ``x`` and into [0, 1]: the step every gradient attack takes."""
    return into_ball(x, x_from + alpha * step_direction(grad, norm), eps, norm)


def check_norm(norm: str) -> str:
    """Validate a norm name (ValueError with the choices)."""
    if norm not in NORMS:
        raise AdvcoreError(_("unknown norm {norm!r}; choose one of: {choices}", norm=norm, choices=", ".join(NORMS)))
    return norm
