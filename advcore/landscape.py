"""Why attacks work, as numbers: loss along directions, 2-D loss and decision grids, input-gradient
maps and penultimate-layer feature projections.

- Directions: the sign of the model's own input gradient (the FGSM direction, Goodfellow, Shlens &
  Szegedy 2015, "Explaining and Harnessing Adversarial Examples") against random sign directions of
  the same L∞ size. Along the gradient sign the logits change almost linearly and the loss rises fast;
  along a random direction they barely move (Goodfellow et al. 2015, Sec. 3 and Fig. 4).
- Grids: loss and predicted class over ``x + a·d1 + b·d2`` for a, b in [-radius, radius] (clipped to
  the image range [0, 1]), batched in one forward pass; with two ±1 directions the points with
  |a| + |b| <= radius form the L∞ ball of that radius. Adversarially trained models have a flatter
  loss and a larger region of the true class around the image (Madry et al. 2018, "Towards Deep
  Learning Models Resistant to Adversarial Attacks").
- Gradient maps: input gradients of robust models sit on the digit's strokes, those of standard
  models spread like noise (Tsipras et al. 2019, "Robustness May Be at Odds with Accuracy").
- Features: the activations that feed the last linear layer, projected to 2-D by PCA, to see where
  an adversarial example lands among the classes (the "data projector" of You, Tse & Zhao 2023).

Images are float32 (N, H, W, C) in [0, 1]; radii and eps in pixel units; losses are cross-entropy in
nats. CLI: ``python -m advcore landscape --dataset mnist --model mnist-standard --index 0 --json``.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import weakref
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from PIL import Image

from . import attacks, data, viz_learn, zoo
from .attacks.base import logits_of
from .errors import AdvcoreError
from .permodel import PerModel

BATCH = 1024


def _log_odds(logits, y):
    true = tf.one_hot(y, tf.shape(logits)[1]) > 0
    return (tf.reduce_logsumexp(tf.where(true, -1e9, logits), axis=1)
            - tf.reduce_sum(tf.where(true, logits, 0.0), axis=1))


def _cross_entropy(logits, y):  # the gradient attacks' objective (advcore.attacks.base)
    return tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits)


def _build_gradient(objective):
    def build(model):
        ref = weakref.ref(model)  # the per-model cache must not keep the model alive

        @tf.function(reduce_retracing=True)
        def gradient(x, y):
            with tf.GradientTape() as tape:
                tape.watch(x)
                logits = ref()(x, training=False)
                loss = objective(logits, y)
            return tape.gradient(loss, x), logits
        return gradient
    return build


_GRADIENTS = {"log-odds": PerModel(_build_gradient(_log_odds)), "ce": PerModel(_build_gradient(_cross_entropy))}


def input_gradient(model, x: np.ndarray, y, loss: str = "log-odds") -> np.ndarray:
    """The direction in which the loss of labels ``y`` rises fastest at ``x``: float32 (N, H, W, C).

    By default the gradient of the log-odds against the true class, log Σ_{j≠y} exp(z_j) − z_y, which is the
    cross-entropy's gradient divided by 1 − p_y: the same direction, but it does not vanish in float32
    when a confident model's p_y rounds to 1 (the plain cross-entropy gradient is then exactly 0).
    ``loss="ce"``: the cross-entropy's own gradient, as the gradient attacks take it."""
    x = np.asarray(x, np.float32)
    y = np.broadcast_to(np.asarray(y, np.int32).reshape(-1), (len(x),))
    fn = _GRADIENTS[loss](model)
    parts = [fn(tf.constant(x[i:i + BATCH]), tf.constant(y[i:i + BATCH]))[0].numpy() for i in range(0, len(x), BATCH)]
    return np.concatenate(parts) if parts else np.zeros_like(x)


def sign_direction(model, x: np.ndarray, y) -> np.ndarray:
    """sign(∇x loss): the FGSM direction (Goodfellow et al. 2015); entries in {-1, 0, 1}."""
    return np.sign(input_gradient(model, x, y)).astype(np.float32)


def random_direction(shape, seed: int = 0) -> np.ndarray:
    """A random ±1 direction of ``shape``: the same L∞ size as a gradient sign, no information."""
    return np.random.default_rng(seed).choice(np.array([-1.0, 1.0], np.float32), size=tuple(shape))


def _points(x: np.ndarray, offsets: np.ndarray, clip: bool) -> np.ndarray:
    out = x[None] + offsets
    return np.clip(out, 0.0, 1.0) if clip else out


def logits_along(model, x: np.ndarray, direction: np.ndarray, eps_values, clip: bool = True) -> np.ndarray:
    """Logits at ``x + t·direction`` for every t in ``eps_values``: (len(eps_values), classes).

    x: one image (H, W, C) or (1, H, W, C); direction: same shape. ``clip`` keeps the points valid images.
    """
    x = np.asarray(x, np.float32).reshape(np.shape(direction)[-3:])
    t = np.asarray(eps_values, np.float32).reshape(-1, 1, 1, 1)
    return logits_of(model, _points(x, t * np.asarray(direction, np.float32).reshape(x.shape), clip))


def accuracy_along(model, x: np.ndarray, y, directions: np.ndarray, eps_values) -> np.ndarray:
    """Accuracy over images ``x`` (N, H, W, C) at ``clip(x + t·directions)`` for every t in ``eps_values``: (T,).

    For attacks whose direction does not depend on eps (FGSM's gradient sign, a fixed random ±1 noise) this is the
    whole accuracy-against-eps curve from one attack: ``directions = sign(x_adv - x)`` of the attack run at the
    largest eps gives the same points as running it at each smaller eps (a pixel the clip held at 0 or 1 is held
    there at every eps). One model call per eps value, batched."""
    x = np.asarray(x, np.float32)
    d = np.asarray(directions, np.float32).reshape(x.shape)
    y = np.asarray(y).reshape(-1)
    return np.array([float(np.mean(logits_of(model, np.clip(x + np.float32(t) * d, 0.0, 1.0),
                                             batch_size=BATCH).argmax(1) == y)) for t in eps_values])


def direction_curves(model, x: np.ndarray, y, eps_values, seed: int = 0) -> dict[str, np.ndarray]:
    """Accuracy against eps of FGSM and of random ±eps noise over images ``x``: {"fgsm": (T,), "noise": (T,)}.

    The same accuracies as running ``attacks.run("fgsm")`` and ``attacks.run("noise", seed=seed)`` at every eps,
    from one gradient and one model call per eps and attack: FGSM's step is eps·sign(∇x cross-entropy) whatever
    eps is, and the attack keeps the clean image when its step fails, so an image counts as correct at eps when
    both its clean image and its FGSM step are classified correctly (Goodfellow et al. 2015); the noise's signs
    do not depend on eps either (``accuracy_along``)."""
    x = np.asarray(x, np.float32)
    y = np.asarray(y).reshape(-1)
    clean = logits_of(model, x, batch_size=BATCH).argmax(1) == y
    step = np.sign(input_gradient(model, x, y, loss="ce")).astype(np.float32)
    fgsm = [float(np.mean(clean & (logits_of(model, np.clip(x + np.float32(t) * step, 0.0, 1.0),
                                             batch_size=BATCH).argmax(1) == y))) for t in eps_values]
    top = float(max(eps_values))
    noise = attacks.run("noise", model, x, y, eps=top, seed=seed).x_adv if top > 0 else x
    return {"fgsm": np.array(fgsm), "noise": accuracy_along(model, x, y, np.sign(noise - x), eps_values)}


def cross_entropy(logits: np.ndarray, y) -> np.ndarray:
    """Cross-entropy (nats) of labels ``y`` (one, or one per row) under ``logits`` (N, classes)."""
    logits = np.asarray(logits, np.float64)
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    y = np.broadcast_to(np.asarray(y).reshape(-1), (len(logits),))
    return -log_probs[np.arange(len(logits)), y]


def loss_along(model, x: np.ndarray, y: int, direction: np.ndarray, eps_values, clip: bool = True) -> np.ndarray:
    """Cross-entropy of class ``y`` at ``x + t·direction`` for every t in ``eps_values``."""
    return cross_entropy(logits_along(model, x, direction, eps_values, clip), y)


@dataclass
class Grid:
    """A 2-D slice of input space around one image.

    coords: the (size,) offsets in pixel units along both directions; loss and pred: (size, size)
    with rows along the second direction and columns along the first; the image sits at the centre.
    """

    coords: np.ndarray
    loss: np.ndarray
    pred: np.ndarray
    label: int
    radius: float

    @property
    def inside(self) -> np.ndarray:
        """(size, size) bool: points whose change is at most ``radius`` on every pixel (|a| + |b| <= radius
        for two ±1 directions): the L∞ ball an attack with eps = radius may search."""
        a = np.abs(self.coords.astype(np.float64))
        return a[None, :] + a[:, None] <= self.radius * (1 + 1e-6)

    @property
    def max_loss(self) -> float:
        """The largest loss inside the L∞ ball (nats)."""
        return float(self.loss[self.inside].max())

    @property
    def true_region(self) -> float:
        """Share of the L∞ ball's grid points still classified as the true class."""
        return float(np.mean(self.pred[self.inside] == self.label))

    def to_json(self) -> dict:
        return {"coords": self.coords.tolist(), "loss": self.loss.tolist(), "pred": self.pred.tolist(),
                "label": self.label, "radius": self.radius, "max_loss": self.max_loss,
                "max_loss_grid": float(self.loss.max()), "true_region": self.true_region}


def grid(model, x: np.ndarray, y: int, d1: np.ndarray, d2: np.ndarray, radius: float, size: int = 41,
         clip: bool = True) -> Grid:
    """Loss of class ``y`` and predicted class over ``x + a·d1 + b·d2``, a and b in [-radius, radius]."""
    x = np.asarray(x, np.float32).reshape(np.shape(d1)[-3:])
    coords = np.linspace(-radius, radius, size, dtype=np.float32)
    b, a = np.meshgrid(coords, coords, indexing="ij")  # rows: second direction, columns: first
    offsets = a.reshape(-1, 1, 1, 1) * d1.reshape(x.shape) + b.reshape(-1, 1, 1, 1) * d2.reshape(x.shape)
    logits = logits_of(model, _points(x, offsets.astype(np.float32), clip), batch_size=BATCH)
    return Grid(coords, cross_entropy(logits, y).reshape(size, size), logits.argmax(1).reshape(size, size), int(y),
                float(radius))


def landscape(model, x: np.ndarray, y: int, radius: float = 0.3, size: int = 41, seed: int = 0) -> Grid:
    """The grid over (the sign of the model's own gradient at x, a random sign direction)."""
    x = np.asarray(x, np.float32).reshape(1, *np.shape(x)[-3:])
    return grid(model, x[0], y, sign_direction(model, x, [y])[0], random_direction(x.shape[1:], seed), radius, size)


def near_strokes(x: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """(N, H, W, C) bool: pixels within one pixel (3x3 neighbourhood) of a pixel brighter than ``threshold``."""
    bright = np.asarray(x) > threshold
    padded = np.pad(bright, ((0, 0), (1, 1), (1, 1), (0, 0)))
    h, w = bright.shape[1:3]
    return np.any([padded[:, i:i + h, j:j + w] for i in range(3) for j in range(3)], axis=0)


def gradient_on_digit(model, x: np.ndarray, y) -> np.ndarray:
    """Per image, the share of the input gradient's magnitude that lies on or next to the digit's strokes
    (``near_strokes``). Robust models' gradients sit on the digit; standard models' spread over the
    background like noise (Tsipras et al. 2019, Fig. 2). For dark-background images such as MNIST."""
    g = np.abs(input_gradient(model, x, y)).astype(np.float64)
    total = g.sum(axis=(1, 2, 3))
    return np.where(total > 0, (g * near_strokes(x)).sum(axis=(1, 2, 3)) / np.maximum(total, 1e-30), 0.0)


def _build_features(model):
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    inner = [layer for layer in model.layers if isinstance(layer, keras.Model)]
    if not dense and inner:  # a wrapped network (e.g. flip averaging): the features of the network inside
        return _build_features(inner[0])
    if not dense:
        raise ValueError("the model has no Dense layer to take features from")
    sub = keras.Model(model.inputs, dense[-1].input)
    return tf.function(lambda x: sub(x, training=False), reduce_retracing=True)


_features = PerModel(_build_features)


def features(model, x: np.ndarray) -> np.ndarray:
    """Penultimate features (the input of the last Dense layer): float32 (N, D)."""
    fn = _features(model)
    x = np.asarray(x, np.float32)
    parts = [fn(tf.constant(x[i:i + BATCH])).numpy().reshape(len(x[i:i + BATCH]), -1) for i in range(0, len(x), BATCH)]
    return np.concatenate(parts)


@dataclass
class Projection:
    """A 2-D PCA of features: ``points`` (N, 2) of the images it was fitted on, their ``labels``, and the
    mean and (2, D) components to place new images. ``explained``: variance share of each axis."""

    mean: np.ndarray
    components: np.ndarray
    points: np.ndarray
    labels: np.ndarray
    explained: np.ndarray

    def place(self, feats: np.ndarray) -> np.ndarray:
        return (np.asarray(feats, np.float64) - self.mean) @ self.components.T

    def nearest_class(self, feats: np.ndarray) -> np.ndarray:
        """The class whose mean projected point is nearest to each of ``feats`` (in the 2-D view)."""
        classes = np.unique(self.labels)
        centres = np.stack([self.points[self.labels == c].mean(axis=0) for c in classes])
        d = np.linalg.norm(self.place(feats)[:, None, :] - centres[None], axis=2)
        return classes[d.argmin(axis=1)]


def project(feats: np.ndarray, labels: np.ndarray, k: int = 2) -> Projection:
    """PCA of ``feats`` (N, D) to ``k`` dimensions by SVD."""
    feats = np.asarray(feats, np.float64)
    mean = feats.mean(axis=0)
    _, s, vt = np.linalg.svd(feats - mean, full_matrices=False)
    components = vt[:k]
    var = s ** 2
    return Projection(mean, components, (feats - mean) @ components.T, np.asarray(labels),
                      var[:k] / max(var.sum(), 1e-30))


def feature_projection(model, x: np.ndarray, y: np.ndarray) -> Projection:
    """PCA of the penultimate features of ``x`` (e.g. 1,000 test images)."""
    return project(features(model, x), y)


# Class colours of the PNG's decision panel (Plotly's "Plotly" qualitative palette, 10 colours).
_CLASS_RGB = np.array([[99, 110, 250], [239, 85, 59], [0, 204, 150], [171, 99, 250], [255, 161, 90],
                       [25, 211, 243], [255, 102, 146], [182, 232, 128], [255, 151, 255], [254, 203, 82]], np.uint8)
# Viridis at 5 stops, interpolated linearly: the loss panel's colour scale (dark = low loss).
_VIRIDIS = np.array([[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]], np.float64)


def grid_png(g: Grid, scale: int = 8) -> bytes:
    """A PNG of a grid with no plotting back end: the loss (Viridis, 0 to the grid's maximum) on the left, the
    predicted class (one colour per class) on the right, the L∞ ball's edge in white on both, each grid point
    ``scale`` pixels wide; the image at the centre, the gradient-sign direction to the right, the random one up."""
    loss = np.asarray(g.loss, np.float64)
    t = np.clip(loss / max(float(loss.max()), 1e-12), 0, 1) * (len(_VIRIDIS) - 1)
    lo = np.floor(t).astype(int).clip(0, len(_VIRIDIS) - 2)
    heat = _VIRIDIS[lo] + (t - lo)[..., None] * (_VIRIDIS[lo + 1] - _VIRIDIS[lo])
    classes = _CLASS_RGB[np.asarray(g.pred) % len(_CLASS_RGB)].astype(np.float64)
    inside = g.inside
    edge = inside & ~np.all([np.roll(inside, s, axis=a) for s in (1, -1) for a in (0, 1)], axis=0)
    panels = []
    for panel in (heat, classes):
        panel = np.where(edge[..., None], 255.0, panel)[::-1]  # row 0 at the bottom: the random direction points up
        panels.append(np.repeat(np.repeat(panel, scale, axis=0), scale, axis=1))
    gap = np.full((panels[0].shape[0], scale * 2, 3), 255.0)
    picture = np.concatenate([panels[0], gap, panels[1]], axis=1).round().astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(picture).save(buffer, format="PNG")
    return buffer.getvalue()


def add_arguments(parser: argparse.ArgumentParser, dataset_and_model: bool = True) -> None:
    """The landscape flags (``python -m advcore landscape`` and ``python -m advcore.landscape``); the main CLI
    adds --dataset, --model and --json itself (``dataset_and_model=False``)."""
    if dataset_and_model:
        parser.add_argument("--dataset", default="mnist", choices=list(data.DATASETS))
        parser.add_argument("--model", required=True, help="zoo id, e.g. mnist-standard")
        parser.add_argument("--json", action="store_true", help="print loss and pred grids as JSON")
    parser.add_argument("--index", type=int, default=0, help="test image index")
    parser.add_argument("--radius", type=float, default=None,
                        help="half-width of the grid in pixel units (default: the data set's budget, MNIST 0.3)")
    parser.add_argument("--size", type=int, default=41, help="grid points per axis (2-201; default 41)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random direction")
    parser.add_argument("--out", default=None, help="write the picture: .png (loss | predicted class) or .html "
                                                    "(the interactive Plotly figure)")


def command(args) -> int:
    """Run the landscape command on parsed ``args``; AdvcoreError on bad input (the caller prints one line)."""
    split = data.load(args.dataset, "test")
    if not 0 <= args.index < len(split) or not 2 <= args.size <= 201:
        raise AdvcoreError(f"index must be in [0, {len(split) - 1}] and size in [2, 201]")
    radius = data.info(args.dataset).budget if args.radius is None else args.radius  # MNIST 0.3, CIFAR-10 8/255
    if not 0 < radius <= 1:
        raise AdvcoreError(f"radius must be in (0, 1], got {radius}")
    if args.out and not args.out.lower().endswith((".png", ".html")):
        raise AdvcoreError(f"--out must end in .png or .html, got {args.out}")
    model = zoo.load(args.model)
    shape = tuple(model.input_shape[1:])
    if shape != tuple(split.x.shape[1:]):
        raise AdvcoreError(f"model {args.model} takes {shape} images, {args.dataset}'s are {tuple(split.x.shape[1:])}")
    g = landscape(model, split.x[args.index], int(split.y[args.index]), radius, args.size, args.seed)
    out = dict(g.to_json(), model=args.model, dataset=args.dataset, index=args.index, radius=radius)
    if args.out:
        if args.out.lower().endswith(".png"):
            Path(args.out).write_bytes(grid_png(g))
        else:
            viz_learn.landscape_figure(g, split.class_names, f"{args.model}, test image {args.index}").write_html(
                args.out)
        out["saved"] = str(args.out)
    print(json.dumps(out) if args.json else f"max loss in the L∞ ball {out['max_loss']:.3f} nats; true class on "
          f"{out['true_region']:.0%} of the ball")
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m advcore.landscape`` (the same as ``python -m advcore landscape``): a 2-D loss/decision grid
    around one test image as JSON or a picture."""
    parser = argparse.ArgumentParser(prog="python -m advcore.landscape", description=main.__doc__)
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return command(args)
    except AdvcoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
