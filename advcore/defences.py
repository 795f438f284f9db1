"""Input-transformation defences and randomized smoothing, as models; smoothing certificates.

A defence wraps any zoo model and is itself a model: float32 images (N, H, W, C) in [0, 1]
in, logits out, called as ``defended(x, training=False)``. So every attack, evaluation and
page runs on it unchanged. Defences are described by one registry, ``DEFENCES`` (name,
parameters with ranges and defaults, paper), from which the CLI and the pages build their
controls, and are written as a spec string: ``name[:value[:value...]]`` (values in the
order of the registry's parameters, or ``key=value``), chained with ``+`` and applied left
to right, e.g. ``bits:3+median:2`` (squeeze the bit depth, then a 2x2 median filter).

- ``jpeg:Q``   JPEG compression at quality Q (Dziugaite et al. 2016; Das et al. 2017);
- ``bits:B``   bit-depth reduction to B bits (Xu, Evans & Qi 2018, feature squeezing);
- ``median:K`` K x K median filter (Xu et al. 2018);
- ``resize-pad:S`` random resizing and zero padding on a canvas S times the image side,
  resampled to the model's input size (Xie et al. 2018); random on every call;
- ``smooth:SIGMA[:M]`` randomized smoothing: the prediction is the majority vote of the
  model over M copies with Gaussian noise of standard deviation SIGMA (Cohen et al. 2019).

What an attack sees (Athalye, Carlini & Wagner 2018, "Obfuscated Gradients Give a False
Sense of Security"): through a JPEG or a bit-depth reduction TensorFlow has no gradient, and
the vote of a smoothed model is a count; a defended model then gives the attacker a gradient
of exactly zero through them (the "naive" evaluation). ``defended(x, bpda=True)`` keeps the
same forward pass but differentiates those stages as the identity (BPDA) and the vote as the
mean class probability over the noisy copies; ``advcore.attacks.adaptive`` builds the
adaptive attack models (BPDA, EOT) from this.

``certify`` is Cohen, Rosenfeld & Kolter 2019's CERTIFY: a Monte-Carlo prediction of the
smoothed classifier with a certified L2 radius, or an abstention.
"""

from __future__ import annotations

import math
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from .errors import AdvcoreError
from .i18n import N_, _
from .params import Param, check_params, lookup
from .permodel import PerModel

MAX_STAGES = 4


# --- the transformations (TensorFlow, batched, float32 (N, H, W, C) in [0, 1]) --------------

def jpeg(x: tf.Tensor, quality: int) -> tf.Tensor:
    """JPEG encode and decode each image at ``quality`` (1-100); pixels rounded to 8 bits first. The
    accurate integer DCT on decoding gives the same pixels as Pillow (libjpeg's default)."""
    channels = x.shape[-1]

    def one(image):
        code = tf.io.encode_jpeg(tf.cast(tf.round(tf.clip_by_value(image, 0.0, 1.0) * 255.0), tf.uint8),
                                 quality=int(quality))
        return tf.cast(tf.io.decode_jpeg(code, channels=channels, dct_method="INTEGER_ACCURATE"), tf.float32) / 255.0

    return tf.ensure_shape(tf.map_fn(one, x, fn_output_signature=tf.float32), x.shape)


def bits(x: tf.Tensor, depth: int) -> tf.Tensor:
    """Round every pixel to one of 2**depth evenly spaced levels in [0, 1] (ties to even, as NumPy)."""
    levels = float(2 ** int(depth) - 1)
    return tf.round(tf.clip_by_value(x, 0.0, 1.0) * levels) / levels


def median(x: tf.Tensor, size: int) -> tf.Tensor:
    """Per-channel ``size`` x ``size`` median filter, edges mirrored; the same output as
    ``scipy.ndimage.median_filter(x, size=(1, size, size, 1), mode="reflect")`` (for an even size
    the window reaches one pixel further up/left, and the upper of the two middle values is taken)."""
    size = int(size)
    before, after = size // 2, size - 1 - size // 2
    padded = tf.pad(x, [[0, 0], [before, after], [before, after], [0, 0]], mode="SYMMETRIC")
    patches = tf.image.extract_patches(padded, sizes=[1, size, size, 1], strides=[1, 1, 1, 1],
                                       rates=[1, 1, 1, 1], padding="VALID")
    shape = tf.shape(patches)
    patches = tf.reshape(patches, [shape[0], shape[1], shape[2], size * size, x.shape[-1]])
    return tf.sort(patches, axis=3)[:, :, :, (size * size) // 2, :]


def resize_pad(x: tf.Tensor, canvas: float) -> tf.Tensor:
    """Xie et al. 2018 for a fixed input size: per image, resize to a random side r in [H, canvas*H],
    place it at a random offset on a zero canvas of side canvas*H, resize the canvas back to H
    (one bilinear resampling; differentiable, random on every call)."""
    n = tf.shape(x)[0]
    h, w = x.shape[1], x.shape[2]
    side = h * float(canvas)
    r = tf.random.uniform([n], h, side + 1e-6)  # resized side, canvas pixels
    zoom = side / r  # input pixels per output pixel
    top = tf.random.uniform([n]) * (side - r) * h / side  # offsets, output pixels
    left = tf.random.uniform([n]) * (side - r) * w / side
    zero = tf.zeros([n])
    transforms = tf.stack([zoom, zero, (0.5 - left) * zoom - 0.5, zero, zoom, (0.5 - top) * zoom - 0.5,
                           zero, zero], axis=1)
    return tf.raw_ops.ImageProjectiveTransformV3(images=x, transforms=transforms, output_shape=[h, w],
                                                 interpolation="BILINEAR", fill_mode="CONSTANT", fill_value=0.0)


# --- the registry ------------------------------------------------------------------------------

@dataclass(frozen=True)
class DefenceSpec:
    """Registry entry. ``transform(x, **params)`` is the forward pass of a preprocessing defence;
    ``smoothing`` marks the classifier-level vote instead. ``differentiable``: TensorFlow's own
    gradient through the transform is meaningful (else the naive attack sees zero, BPDA uses
    ``approx`` or the identity). ``shown``: how many parameters the short spec always states."""

    name: str
    title: str
    params: tuple[Param, ...]
    paper: str
    transform: Callable | None = None
    approx: Callable | None = None
    differentiable: bool = False
    randomized: bool = False
    smoothing: bool = False
    summary: str = ""
    shown: int = 1

    def defaults(self) -> dict:
        return {p.name: p.default for p in self.params}


DEFENCES: dict[str, DefenceSpec] = {}


def register(spec: DefenceSpec) -> DefenceSpec:
    DEFENCES[spec.name] = spec
    return spec


def get(name: str) -> DefenceSpec:
    return lookup(DEFENCES, name, "defence")


def validate(name: str, params: dict) -> dict:
    """Fill defaults and range-check the parameters of defence ``name`` (AdvcoreError if bad)."""
    spec, owner = get(name), _("defence {name}", name=name)
    try:
        return check_params(owner, spec.params, params)
    except AdvcoreError as exc:  # a value out of range: say which defence it was for
        message = str(exc)
        raise AdvcoreError(message if message.startswith(owner) else
                           _("{owner}: {message}", owner=owner, message=message)) from None


register(DefenceSpec(
    "jpeg", N_("JPEG compression"),
    (Param("quality", "int", 75, 1, 100, N_("JPEG quality"), N_("lower = stronger compression")),),
    "Dziugaite, Ghahramani & Roy 2016, A study of the effect of JPG compression on adversarial images; "
    "Das et al. 2017, Keeping the Bad Guys Out", jpeg,
    summary=N_("re-encode the image as a JPEG: drops fine detail, and with it some of the perturbation")))
register(DefenceSpec(
    "bits", N_("Bit-depth reduction"),
    (Param("depth", "int", 3, 1, 8, N_("bits per pixel value"), N_("2**depth grey levels")),),
    "Xu, Evans & Qi 2018, Feature Squeezing: Detecting Adversarial Examples in Deep Neural Networks", bits,
    summary=N_("round every pixel to a few grey levels: small changes round away, and the gradient is zero")))
register(DefenceSpec(
    "median", N_("Median filter"), (Param("size", "int", 2, 1, 7, N_("pixels"), N_("side of the square window")),),
    "Xu, Evans & Qi 2018, Feature Squeezing: Detecting Adversarial Examples in Deep Neural Networks", median,
    differentiable=True, summary=N_("replace each pixel by the median of its window: removes isolated spikes")))
register(DefenceSpec(
    "resize-pad", N_("Random resize and pad"),
    (Param("canvas", "float", 1.11, 1.0, 2.0, N_("x image side"),
           N_("canvas side as a multiple of the image side (Xie et al.: 331/299 = 1.11)")),),
    "Xie, Wang, Zhang, Ren & Yuille 2018, Mitigating Adversarial Effects Through Randomization", resize_pad,
    differentiable=True, randomized=True, shown=0,
    summary=N_("shrink the image by a random amount and shift it randomly: a new draw on every call")))
register(DefenceSpec(
    "smooth", N_("Randomized smoothing"),
    (Param("sigma", "float", 0.25, 0.01, 2.0, N_("pixel units"), N_("standard deviation of the Gaussian noise")),
     Param("samples", "int", 32, 1, 1000, N_("noisy copies"), N_("copies voting on each prediction"))),
    "Cohen, Rosenfeld & Kolter 2019, Certified Adversarial Robustness via Randomized Smoothing",
    randomized=True, smoothing=True,
    summary=N_("classify many noisy copies and return the majority vote; its L2 robustness can be certified")))


# --- spec strings and chains -------------------------------------------------------------------

@dataclass(frozen=True)
class Stage:
    """One defence with checked parameters (``params`` as sorted (name, value) pairs: hashable)."""

    name: str
    params: tuple

    @property
    def spec(self) -> DefenceSpec:
        return get(self.name)

    @property
    def values(self) -> dict:
        return dict(self.params)

    def __str__(self) -> str:
        spec, values = self.spec, self.values
        shown = spec.shown
        for i, p in enumerate(spec.params):
            if values[p.name] != p.default:
                shown = max(shown, i + 1)
        return ":".join([self.name] + [_format(values[p.name]) for p in spec.params[:shown]])

    def apply(self, x: tf.Tensor, bpda: bool = False) -> tf.Tensor:
        """The transform on the forward pass. Backward: TensorFlow's gradient for a differentiable
        transform; else zero (naive), or with ``bpda`` the gradient of ``approx`` (identity if None)."""
        spec = self.spec
        out = spec.transform(x, **self.values)
        if spec.differentiable:
            return out
        if bpda:
            surrogate = x if spec.approx is None else spec.approx(x, **self.values)
            return surrogate + tf.stop_gradient(out - surrogate)
        return tf.stop_gradient(out) + 0.0 * x


def _format(value) -> str:
    return str(value) if isinstance(value, int | np.integer) else f"{value:g}"


def make_stage(name: str, **params) -> Stage:
    return Stage(name, tuple(sorted(validate(name, params).items())))


@dataclass(frozen=True)
class Defence:
    """A chain of defences applied left to right; ``Defence + Defence`` (or + a spec string) chains
    them, and ``defence(model)`` (or ``apply``) wraps a model."""

    stages: tuple[Stage, ...] = ()

    def __post_init__(self):
        if len(self.stages) > MAX_STAGES:
            raise AdvcoreError(_("at most {most} defences in a chain, got {count}", most=MAX_STAGES,
                                   count=len(self.stages)))
        if sum(s.spec.smoothing for s in self.stages) > 1:
            raise AdvcoreError(_("randomized smoothing can appear only once in a chain"))

    def __add__(self, other) -> Defence:
        return Defence(self.stages + parse(other).stages)

    def __radd__(self, other) -> Defence:
        return parse(other) + self

    def __str__(self) -> str:
        return "+".join(map(str, self.stages)) or "none"

    def __bool__(self) -> bool:
        return bool(self.stages)

    @property
    def randomized(self) -> bool:
        return any(s.spec.randomized for s in self.stages)

    @property
    def masks_gradient(self) -> bool:
        """True if some stage gives the naive attacker no gradient (BPDA has something to replace)."""
        return any(not s.spec.differentiable for s in self.stages)

    def __call__(self, model) -> Defended:
        return apply(model, self)


def parse(spec) -> Defence:
    """A ``Defence`` from a spec string like ``bits:3+median:2`` (or a Defence, or None/'none')."""
    if isinstance(spec, Defence):
        return spec
    if spec is None:
        return Defence()
    if not isinstance(spec, str):
        raise AdvcoreError(_("a defence is a spec string like 'bits:3+median:2', got {spec!r}", spec=spec))
    text = spec.strip().lower()
    if text in ("", "none"):
        return Defence()
    stages = []
    for part in text.split("+"):
        name, *tokens = [t.strip() for t in part.split(":")]
        params = get(name).params
        given = {}
        for i, token in enumerate(tokens):
            key, sep, value = token.partition("=")
            if not sep:
                if i >= len(params):
                    raise AdvcoreError(_("defence {name} takes at most {most} value(s), got {part!r}", name=name,
                                          most=len(params), part=part))
                key, value = params[i].name, token
            if key in given:
                raise AdvcoreError(_("defence {name}: {key} given twice in {part!r}", name=name, key=key, part=part))
            given[key] = value
        stages.append(make_stage(name, **given))
    return Defence(tuple(stages))


# --- the defended model ------------------------------------------------------------------------

class Defended:
    """A model behind a chain of defences: ``defended(x, training=False) -> logits``.

    Images float32 (N, H, W, C) in [0, 1]. With ``bpda=True`` the forward pass is the same and
    the backward pass replaces non-differentiable stages by their approximation (Athalye et al.
    2018); the smoothing vote is then differentiated as log of the mean softmax over its copies.
    """

    def __init__(self, model, defence: Defence):
        self.model, self.defence = model, defence
        self.name = f"{getattr(model, 'name', 'model')}+{defence}"

    @property
    def input_shape(self):
        return self.model.input_shape

    @property
    def output_shape(self):
        return self.model.output_shape

    def __repr__(self) -> str:
        return f"Defended({self.name})"

    def __call__(self, x, training: bool = False, bpda: bool = False) -> tf.Tensor:
        x = tf.convert_to_tensor(x, tf.float32)
        stages = self.defence.stages
        for i, stage in enumerate(stages):
            if stage.spec.smoothing:
                return self._vote(x, stage, stages[i + 1:], bpda)
            x = stage.apply(x, bpda)
        return self.model(x, training=False)

    def _vote(self, x, stage: Stage, rest, bpda: bool) -> tf.Tensor:
        """Majority vote over ``samples`` noisy copies; logits = log of the (add-one) vote shares."""
        sigma, m = stage.values["sigma"], stage.values["samples"]
        n = tf.shape(x)[0]
        noisy = tf.repeat(x, m, axis=0)
        noisy = noisy + sigma * tf.random.normal(tf.shape(noisy))
        for later in rest:
            noisy = later.apply(noisy, bpda)
        logits = self.model(noisy, training=False)
        classes = tf.shape(logits)[1]
        logits = tf.reshape(logits, [n, m, classes])
        votes = tf.reduce_sum(tf.one_hot(tf.argmax(logits, axis=2), classes), axis=1)
        hard = tf.math.log((votes + 1.0) / tf.cast(m + classes, tf.float32))
        if not bpda:
            return tf.stop_gradient(hard) + 0.0 * tf.reduce_sum(x, axis=[1, 2, 3])[:, None]
        soft = tf.reduce_logsumexp(tf.nn.log_softmax(logits), axis=1) - math.log(m)
        return soft + tf.stop_gradient(hard - soft)


class Recent:
    """Wrappers made per (owner, key): found again while anyone holds them (weakly), and the last ``size``
    kept alive (strongly), so attacks compiled for a wrapper are reused without pinning every model a
    server ever loaded (a wrapper holds its model; a plain per-model cache would never let it go)."""

    def __init__(self, size: int = 16):
        self._weak: weakref.WeakValueDictionary = weakref.WeakValueDictionary()
        self._recent: OrderedDict = OrderedDict()
        self._size, self._lock = size, threading.Lock()

    def get(self, owner, key, make: Callable):
        # id(owner) is stable while an entry lives: every wrapper holds its owner
        slot = (id(owner), key)
        with self._lock:
            made = self._weak.get(slot)
            if made is None:
                made = self._weak[slot] = make()
            self._recent[slot] = made
            self._recent.move_to_end(slot)
            while len(self._recent) > self._size:
                self._recent.popitem(last=False)
            return made


_defended = Recent()


def apply(model, defence) -> Defended | object:
    """``model`` behind ``defence`` (a spec string or Defence); the model itself for no defence.
    The same Defended object for the same (model, defence) while it is in use (see ``Recent``)."""
    defence = parse(defence)
    if not defence:
        return model
    return _defended.get(model, defence, lambda: Defended(model, defence))


def base_model(model):
    """The undefended model under a Defended (or the model itself)."""
    return model.model if isinstance(model, Defended) else model


# --- randomized smoothing certificates (Cohen, Rosenfeld & Kolter 2019) -------------------------

def lower_confidence_bound(successes, trials: int, alpha: float) -> np.ndarray:
    """One-sided (1 - alpha) Clopper-Pearson lower bound on a binomial proportion: the alpha quantile
    of Beta(k, n - k + 1) (0 where k = 0)."""
    from scipy.stats import beta  # lazy: scipy.stats takes a second to import; only certificates use it
    k = np.asarray(successes, np.float64)
    return np.where(k > 0, beta.ppf(alpha, np.maximum(k, 1), trials - k + 1), 0.0)


def _build_counter(model):
    ref = weakref.ref(model)  # the per-model cache must not keep the model alive

    @tf.function(reduce_retracing=True)
    def count(x, copies, sigma, seed):
        """Class counts (B, classes) int32 of the model over ``copies`` noisy copies of each of the B images:
        noise drawn, model run, votes counted in one compiled call (no noise array crosses into Python)."""
        noisy = tf.repeat(x, copies, axis=0)
        noisy += sigma * tf.random.stateless_normal(tf.shape(noisy), seed)
        logits = ref()(noisy, training=False)
        pred = tf.reshape(tf.argmax(logits, axis=1, output_type=tf.int32), [tf.shape(x)[0], copies])
        return tf.reduce_sum(tf.one_hot(pred, tf.shape(logits)[1], dtype=tf.int32), axis=1)
    return count


_counter = PerModel(_build_counter)


def noise_counts(model, x: np.ndarray, sigma: float, n: int, batch: int = 1000, seed: int = 0) -> np.ndarray:
    """Class counts of ``model`` over ``n`` Gaussian-noise copies (std ``sigma``, pixel units, not
    clipped) of each image: int (N, classes).

    About ``batch`` noisy images go through the model per call: ``min(n, batch)`` copies of each of
    ``batch // copies`` images; the noise is TensorFlow's stateless normal, seeded by (``seed``, call number),
    so the counts are reproducible for the same ``seed`` and ``batch``."""
    x = np.asarray(x, np.float32)
    if int(n) < 1:
        raise AdvcoreError(_("n must be at least 1, got {n}", n=n))
    if len(x) == 0:
        return np.zeros((0, 0), np.int64)
    counter = _counter(model)
    copies = max(1, min(int(n), int(batch)))
    group = max(1, int(batch) // copies)
    sigma_t = tf.constant(float(sigma), tf.float32)
    rows, call = [], 0
    for i in range(0, len(x), group):
        part = tf.constant(x[i:i + group])
        total, done = None, 0
        while done < n:
            k = min(copies, n - done)
            votes = counter(part, tf.constant(k, tf.int32), sigma_t, tf.constant([int(seed), call], tf.int64))
            total = votes if total is None else total + votes
            done, call = done + k, call + 1
        rows.append(total.numpy())
    return np.concatenate(rows).astype(np.int64)


@dataclass
class Certificate:
    """Per image: ``pred`` the smoothed classifier's class (-1 = abstain), ``radius`` the certified L2
    radius in pixel units (0 on abstention), ``p_lower`` the lower confidence bound on the top class's
    probability under noise, ``counts`` the estimation votes for that class out of ``n``."""

    pred: np.ndarray
    radius: np.ndarray
    p_lower: np.ndarray
    counts: np.ndarray
    sigma: float
    n: int
    alpha: float


ABSTAIN = -1


def check_certify(sigma, n0, n, alpha) -> tuple[float, int, int, float]:
    try:
        sigma, alpha = float(sigma), float(alpha)
        n0, n = int(n0), int(n)
    except (TypeError, ValueError):
        raise AdvcoreError(_("sigma and alpha must be numbers, n0 and n whole numbers")) from None
    if not (math.isfinite(sigma) and 0 < sigma <= 2):
        raise AdvcoreError(_("sigma must be in (0, 2] pixel units, got {sigma}", sigma=sigma))
    if not 1 <= n0 <= 100_000 or not 1 <= n <= 100_000:
        raise AdvcoreError(_("n0 and n must be in [1, 100000], got n0={n0}, n={n}", n0=n0, n=n))
    if not (math.isfinite(alpha) and 0 < alpha < 0.5):
        raise AdvcoreError(_("alpha must be in (0, 0.5), got {alpha}", alpha=alpha))
    return sigma, n0, n, alpha


def certify(model, x, sigma: float, n0: int = 100, n: int = 1000, alpha: float = 0.001, batch: int = 1000,
            seed: int = 0) -> Certificate:
    """CERTIFY (Cohen et al. 2019, Algorithm "certify") for each image of ``x`` (float32 (N, H, W, C)
    in [0, 1]) around the base classifier ``model``.

    Guess the top class from ``n0`` noisy copies, count its votes in ``n`` fresh copies, bound its
    probability from below (one-sided Clopper-Pearson at level 1 - alpha); abstain if that bound is
    at most 1/2, else certify that the smoothed classifier's prediction is constant within L2 radius
    sigma * Phi^-1(p_lower) (pixel units), with probability at least 1 - alpha over the sampling.
    """
    from scipy.stats import norm  # lazy: scipy.stats takes a second to import; only certificates use it
    sigma, n0, n, alpha = check_certify(sigma, n0, n, alpha)
    x = np.asarray(x, np.float32)
    if x.ndim != 4:
        raise AdvcoreError(_("images must be (N, H, W, C); got shape {shape}", shape=x.shape))
    guess = noise_counts(model, x, sigma, n0, batch, seed).argmax(axis=1)
    counts = noise_counts(model, x, sigma, n, batch, seed + 1)[np.arange(len(x)), guess]
    p_lower = lower_confidence_bound(counts, n, alpha)
    certified = p_lower > 0.5
    radius = np.where(certified, sigma * norm.ppf(np.clip(p_lower, 0.5, 1.0)), 0.0)
    return Certificate(np.where(certified, guess, ABSTAIN), radius, p_lower, counts, sigma, n, alpha)


def certified_accuracy(cert: Certificate, y, radii) -> dict[float, float]:
    """Share of images whose certified prediction is correct with a radius of at least r, per r."""
    y = np.asarray(y).reshape(-1)
    correct = cert.pred == y
    return {float(r): float(np.mean(correct & (cert.radius >= r))) if len(y) else 0.0 for r in radii}


DEFAULT_RADII = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0)


def certify_report(model, x, y, sigma: float, n0: int = 100, n: int = 1000, alpha: float = 0.001,
                   batch: int = 1000, radii=DEFAULT_RADII, seed: int = 0) -> dict:
    """``certify`` over labelled images: the smoothed classifier's accuracy (an abstention counts as an
    error), abstention rate, certified accuracy per L2 radius (pixel units) and the per-image radii."""
    started = time.perf_counter()
    y = np.asarray(y).reshape(-1)
    cert = certify(model, x, sigma, n0, n, alpha, batch, seed)
    correct = cert.pred == y
    return {"images": int(len(y)), "sigma": cert.sigma, "n0": int(n0), "n": cert.n, "alpha": cert.alpha,
            "clean_accuracy": float(correct.mean()) if len(y) else 0.0,
            "abstain_rate": float((cert.pred == ABSTAIN).mean()) if len(y) else 0.0,
            "certified_accuracy": {f"{r:g}": a for r, a in certified_accuracy(cert, y, radii).items()},
            "radius": {"mean": float(cert.radius.mean()) if len(y) else 0.0,
                       "median_correct": float(np.median(cert.radius[correct])) if correct.any() else 0.0,
                       "per_image": [round(float(r), 4) for r in cert.radius]},
            "pred": cert.pred.tolist(), "seconds": round(time.perf_counter() - started, 3)}
