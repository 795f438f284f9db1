"""advcore.defences and advcore.attacks.adaptive on random images and an untrained cnn-tiny (no data).

Outputs of each defence against independent references (NumPy, SciPy, Pillow), spec strings and
validation, attacks running unchanged on defended models, the gradients naive / BPDA / EOT give,
the masking flag, and smoothing certificates on a linear model whose exact robust radius is known.
"""

import io

import numpy as np
import pytest
import tensorflow as tf

from advcore import attacks, defences
from advcore.attacks import adaptive
from advcore.errors import AdvcoreError


@pytest.fixture(scope="module")
def images():
    gen = np.random.default_rng(1)
    return gen.random((6, 28, 28, 1), dtype=np.float32), gen.integers(0, 10, 6)


def grad_of(model, x, y):
    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        loss = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=tf.constant(y, tf.int32),
                                                              logits=model(xt, training=False))
    return tape.gradient(loss, xt).numpy()


# --- outputs ---------------------------------------------------------------------------------

def test_bits_equals_numpy_rounding(images):
    x = images[0]
    for depth in (1, 3, 8):
        levels = 2 ** depth - 1
        np.testing.assert_array_equal(defences.bits(tf.constant(x), depth).numpy(),
                                      (np.rint(x * levels) / levels).astype(np.float32))


@pytest.mark.parametrize("size", [1, 2, 3, 4])
def test_median_equals_scipy(size):
    from scipy.ndimage import median_filter
    x = np.random.default_rng(size).random((2, 9, 11, 3), dtype=np.float32)
    ours = defences.median(tf.constant(x), size).numpy()
    np.testing.assert_array_equal(ours, median_filter(x, size=(1, size, size, 1), mode="reflect"))


def test_jpeg_matches_pillow():
    from PIL import Image
    gen = np.random.default_rng(2)
    x = np.clip(gen.normal(0.5, 0.2, (3, 32, 32, 3)), 0, 1).astype(np.float32)
    ours = defences.jpeg(tf.constant(x), 75).numpy()
    for image, out in zip(x, ours):
        buffer = io.BytesIO()
        Image.fromarray(np.rint(image * 255).astype(np.uint8)).save(buffer, format="jpeg", quality=75)
        reference = np.asarray(Image.open(buffer), np.float32) / 255
        np.testing.assert_array_equal(out, reference)
    assert np.abs(ours - x).max() > 2 / 255  # it does change the image
    assert np.allclose(ours * 255, np.rint(ours * 255), atol=1e-4)  # decoded to 8-bit levels


def test_resize_pad_is_random_and_identity_on_a_unit_canvas(images):
    x = tf.constant(images[0])
    np.testing.assert_allclose(defences.resize_pad(x, 1.0).numpy(), images[0], atol=1e-5)
    first, second = defences.resize_pad(x, 1.3).numpy(), defences.resize_pad(x, 1.3).numpy()
    assert first.shape == images[0].shape and not np.allclose(first, second)
    assert first.min() >= 0 and first.max() <= 1


# --- spec strings, registry, validation --------------------------------------------------------

def test_specs_parse_compose_and_print():
    chain = defences.parse("bits:3+median:2")
    assert chain == defences.parse("bits:3") + "median:2" == "bits:3" + defences.parse("median:2")
    assert str(chain) == "bits:3+median:2"
    assert str(defences.parse("jpeg")) == "jpeg:75"  # the key parameter is always stated
    assert str(defences.parse("resize-pad")) == "resize-pad"
    assert str(defences.parse("smooth:sigma=0.5:samples=64")) == "smooth:0.5:64"
    assert not defences.parse("none") and str(defences.parse(None)) == "none"
    assert defences.parse("smooth:0.25").randomized and defences.parse("bits:3").masks_gradient
    assert not defences.parse("median:3").masks_gradient
    for spec in defences.DEFENCES.values():  # the registry describes every parameter
        assert spec.paper and spec.summary and all(p.low is not None and p.high is not None for p in spec.params)


@pytest.mark.parametrize("spec, message", [
    ("jpeg:0", "quality must be in [1, 100]"), ("bits:9", "depth must be in [1, 8]"), ("bits:2.5", "bits"),
    ("blur:3", "unknown defence 'blur'"), ("median:2:3", "at most 1 value"), ("smooth:0", "sigma"),
    ("smooth:0.25+smooth:0.5", "only once"), ("jpeg:quality=50:quality=60", "given twice"),
    ("bits:level=2", "no parameter(s) level"), ("bits:1+bits:2+bits:3+bits:4+bits:5", "at most 4"),
])
def test_bad_specs_are_refused_clearly(spec, message):
    with pytest.raises(AdvcoreError, match=message.replace("[", r"\[").replace("(", r"\(").replace(")", r"\)")):
        defences.parse(spec)


# --- a defended model is a model ---------------------------------------------------------------

def test_defended_model_runs_every_gradient_attack(untrained_model, images):
    x, y = images
    defended = defences.apply(untrained_model, "bits:3+median:2")
    assert defended is defences.apply(untrained_model, "bits:3+median:2")  # one per (model, defence)
    assert defences.apply(untrained_model, "none") is untrained_model
    logits = np.asarray(defended(x))
    np.testing.assert_allclose(logits, untrained_model(defences.median(defences.bits(x, 3), 2)).numpy(), atol=1e-5)
    for name in ("fgsm", "bim", "pgd", "mifgsm", "apgd-ce"):
        params = attacks.accepted(name, {"eps": 0.1, "steps": 3})
        result = attacks.run(name, adaptive.attack_model(defended, "bpda"), x, y, **params)
        assert np.abs(result.x_adv - x).max() <= 0.1 + 1e-6


def test_naive_gradients_vanish_where_tensorflow_has_none(untrained_model, images):
    x, y = images
    for spec in ("jpeg:75", "bits:3", "smooth:0.25:4"):
        assert np.all(grad_of(defences.apply(untrained_model, spec), x, y) == 0), spec
    assert np.abs(grad_of(defences.apply(untrained_model, "median:3"), x, y)).max() > 0


def test_bpda_gradient_is_the_models_gradient_at_the_transformed_point(untrained_model, images):
    x, y = images
    bpda = adaptive.attack_model(defences.apply(untrained_model, "bits:3"), "bpda")
    np.testing.assert_allclose(grad_of(bpda, x, y), grad_of(untrained_model, defences.bits(x, 3).numpy(), y),
                               rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(np.asarray(bpda(x)), untrained_model(defences.bits(x, 3)).numpy(), atol=1e-5)


def test_eot_averages_probabilities_over_draws_in_order(untrained_model, images):
    x, y = images
    k, n = 3, len(x)
    scales = np.repeat(np.array([1.0, 0.5, 0.2], np.float32), n)  # draw j = rows j*n ... (j+1)*n - 1

    class Drawn:  # a "randomized" model whose j-th draw scales the image by scales[j]
        def __call__(self, xs, training=False):
            return untrained_model(xs * scales[:, None, None, None], training=False)

    eot = adaptive.EOT(Drawn(), k)
    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        probs = tf.add_n([tf.nn.softmax(untrained_model(xt * s, training=False)) for s in (1.0, 0.5, 0.2)]) / k
        expected = -tf.math.log(tf.gather(probs, y, axis=1, batch_dims=1))
    np.testing.assert_allclose(grad_of(eot, x, y), tape.gradient(expected, xt).numpy(), rtol=1e-3, atol=1e-7)
    deterministic = adaptive.EOT(untrained_model, 4)
    np.testing.assert_allclose(np.asarray(deterministic(x)), tf.nn.log_softmax(untrained_model(x)).numpy(),
                               atol=1e-5)


def test_eot_gradient_steadies_with_more_draws(untrained_model, images):
    x, y = images
    defended = defences.apply(untrained_model, "resize-pad:1.5")

    def agreement(samples):
        model = adaptive.attack_model(defended, "eot", samples)
        a, b = grad_of(model, x, y).reshape(len(x), -1), grad_of(model, x, y).reshape(len(x), -1)
        return float(np.mean((a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)))

    assert agreement(32) > agreement(1) + 0.1


def test_smoothing_votes(untrained_model, images):
    x, _ = images
    tiny_noise = defences.apply(untrained_model, "smooth:0.01:8")
    agree = np.asarray(tiny_noise(x)).argmax(1) == untrained_model(x).numpy().argmax(1)
    assert agree.mean() >= 0.8
    shares = np.exp(np.asarray(defences.apply(untrained_model, "smooth:0.5:16")(x)))
    np.testing.assert_allclose(shares.sum(1), 1.0, rtol=1e-5)  # add-one vote shares
    assert np.allclose(shares * 26, np.rint(shares * 26), atol=1e-3)  # (votes + 1) / (16 + 10)


def test_masking_flag_fires_on_naive_and_not_on_adaptive(untrained_model, images):
    x, _ = images
    y = untrained_model(defences.bits(x, 3)).numpy().argmax(1)  # labels the defended model gets right
    params = {"eps": 0.3, "steps": 10, "random_start": False}
    out = adaptive.compare(untrained_model, x, y, "pgd", params, "bits:3")
    assert out["naive"]["adaptive"] == "none" and out["adaptive"]["adaptive"] == "bpda"
    assert out["naive"]["robust_accuracy"] == 1.0  # a zero gradient never moves the image
    assert out["adaptive"]["robust_accuracy"] <= 0.5
    gradients, masking = out["flags"]
    assert not gradients.ok and "zero input gradient" in gradients.message
    assert not masking.ok and "obfuscated" in masking.message
    from advcore.evaluate import gradient_check
    assert gradient_check(adaptive.attack_model(defences.apply(untrained_model, "bits:3"), "bpda"), x, y).ok
    assert adaptive.masking_flag(out["adaptive"], out["adaptive"]).ok


def test_adaptive_modes_are_validated():
    with pytest.raises(AdvcoreError, match="adaptive must be one of"):
        adaptive.check_mode("bdpa")
    with pytest.raises(AdvcoreError, match="eot samples"):
        adaptive.check_samples(0)
    assert adaptive.recommended_mode("jpeg:75+resize-pad") == "bpda+eot"
    assert adaptive.recommended_mode("median:3") == "none"


# --- certification -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def linear():
    """f(x) = class 1 iff w.x + b > 0 on 4x4 images: the smoothed classifier's exact L2 robust radius at x
    is the distance |w.x + b| / ||w|| to the hyperplane."""
    import keras
    gen = np.random.default_rng(3)
    w = gen.normal(size=16).astype(np.float32)
    b = -float(w.sum()) / 2  # the hyperplane through the grey image
    model = keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Flatten(), keras.layers.Dense(2)])
    model.layers[-1].set_weights([np.stack([np.zeros(16), w], 1).astype(np.float32), np.array([0, b], np.float32)])
    x = gen.random((40, 4, 4, 1), dtype=np.float32)
    x[:4] = 0.5  # on the hyperplane: the vote is a coin toss
    margin = x.reshape(len(x), -1) @ w + b
    return model, x, (margin > 0).astype(int), np.abs(margin) / np.linalg.norm(w)


def test_certificate_is_never_beaten_and_not_loose(linear):
    model, x, side, distance = linear
    cert = defences.certify(model, x, sigma=0.25, n0=100, n=2000, alpha=0.001, seed=0)
    certified = cert.pred != defences.ABSTAIN
    assert certified.sum() >= 25
    assert np.all(cert.pred[certified] == side[certified])
    # the closest adversarial point (projection onto the hyperplane) lies outside every certified radius
    assert np.all(cert.radius[certified] <= distance[certified])
    # ... and the bound is not vacuous where the vote is not saturated (p_A < 0.995)
    open_vote = certified & (distance < 0.25 * 2.5)
    assert np.all(cert.radius[open_vote] >= distance[open_vote] - 0.1)
    assert np.all(cert.pred[:4] == defences.ABSTAIN) and np.all(cert.radius[:4] == 0)


def test_clopper_pearson_and_certified_accuracy():
    from scipy.stats import binomtest
    for k, n in ((990, 1000), (500, 1000), (1, 10), (10, 10)):
        expected = binomtest(k, n).proportion_ci(0.998, method="exact").low  # two-sided 1 - 2 alpha
        assert defences.lower_confidence_bound(k, n, 0.001) == pytest.approx(expected, abs=1e-9)
    assert defences.lower_confidence_bound(0, 10, 0.001) == 0
    cert = defences.Certificate(np.array([1, 2, -1]), np.array([0.7, 0.2, 0.0]), np.zeros(3), np.zeros(3), 0.25,
                                100, 0.001)
    assert defences.certified_accuracy(cert, [1, 2, 0], [0, 0.5, 1.0]) == {0.0: 2 / 3, 0.5: 1 / 3, 1.0: 0.0}
    with pytest.raises(AdvcoreError, match="alpha"):
        defences.certify(None, np.zeros((1, 4, 4, 1)), 0.25, alpha=0.7)


def test_wrapper_cache_reuses_while_in_use_and_lets_models_go():
    import gc
    import weakref

    class Model:  # stands in for a Keras model
        pass

    class Wrapper:
        def __init__(self, owner):
            self.owner = owner

    def wrap(cache, owner):
        return cache.get(owner, "bits:3", lambda: Wrapper(owner))

    cache = defences.Recent(size=1)
    owner = Model()
    first = wrap(cache, owner)
    assert wrap(cache, owner) is first
    gone = weakref.ref(owner)
    del owner, first
    wrap(cache, Model())  # pushes the first wrapper out of the recent list
    gc.collect()
    assert gone() is None  # nothing pins the first model any more
