"""Cross-check with the Adversarial Robustness Toolbox (ART): its preprocessors give the same images as ours."""

import numpy as np
import pytest
import tensorflow as tf

from advcore import defences

preprocessor = pytest.importorskip("art.defences.preprocessor")


@pytest.fixture(scope="module")
def images():
    gen = np.random.default_rng(5)
    levels = gen.integers(0, 256, (4, 28, 28, 3))
    return np.minimum((levels + 0.25) / 255, 1).astype(np.float32)  # ART truncates x * 255, we round: same 8 bits


def test_feature_squeezing_matches_art(images):
    for depth in (1, 3, 5):
        art, _ = preprocessor.FeatureSqueezing(clip_values=(0, 1), bit_depth=depth)(images)
        np.testing.assert_array_equal(defences.bits(tf.constant(images), depth).numpy(), art.astype(np.float32))


def test_spatial_smoothing_matches_art(images):
    for size in (2, 3):
        art, _ = preprocessor.SpatialSmoothing(window_size=size, clip_values=(0, 1))(images)
        np.testing.assert_array_equal(defences.median(tf.constant(images), size).numpy(), art.astype(np.float32))


def test_jpeg_compression_matches_art(images):
    for channels in (images, images[..., :1]):
        art, _ = preprocessor.JpegCompression(clip_values=(0, 1), quality=75)(channels)
        np.testing.assert_array_equal(defences.jpeg(tf.constant(channels), 75).numpy(), art.astype(np.float32))
