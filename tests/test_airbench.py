"""The airbench network (Jordan 2024) and its data-set whitening, and the SGD / label-smoothing recipe."""

import numpy as np
import pytest

from advcore import train, zoo


def _patches(x):
    h, w = x.shape[1] - 1, x.shape[2] - 1
    return np.stack([x[:, i:i + h, j:j + w, :] for i in range(2) for j in range(2)], axis=3).reshape(-1, 12)


def test_airbench_is_a_two_million_parameter_logits_model():
    model = zoo.build("airbench", "cifar10")
    assert 1.9e6 < model.count_params() < 2.1e6
    logits = np.asarray(model(np.random.default_rng(0).random((2, 32, 32, 3), dtype=np.float32)))
    assert logits.shape == (2, 10) and not np.allclose(logits.sum(axis=1), 1)


def test_whitening_makes_2x2_patches_centred_and_white():
    rng = np.random.default_rng(0)
    base = rng.random((64, 32, 32, 1), dtype=np.float32)
    x = np.clip(np.concatenate([base, 0.8 * base + 0.1, 0.5 * base], axis=3)
                + 0.05 * rng.random((64, 32, 32, 3), dtype=np.float32), 0, 1)  # correlated channels
    model = zoo.build("airbench", "cifar10")
    assert zoo.init_whitening(model, x)
    kernel, bias = model.get_layer("whiten").get_weights()
    out = _patches(x) @ kernel.reshape(12, 24)[:, :12] + bias[:12]
    assert np.allclose(out.mean(axis=0), 0, atol=1e-3)
    cov = np.cov(out, rowvar=False)
    variances = np.diag(cov)  # lambda / (lambda + regulariser): 1 for strong directions, below 1 for faint ones
    assert np.all(variances <= 1 + 1e-3) and variances.max() > 0.99 and variances.min() > 0.5
    assert np.allclose(cov - np.diag(np.diag(cov)), 0, atol=1e-3)
    assert not model.get_layer("whiten").trainable
    assert not zoo.init_whitening(zoo.build("cnn-tiny", "mnist"), x)  # nothing to set


@pytest.mark.parametrize("kw,message", [({"optimizer": "rmsprop"}, "optimizer"),
                                        ({"label_smoothing": 1.5}, "label_smoothing")])
def test_bad_recipe_options_are_refused(kw, message):
    with pytest.raises(Exception, match=message):
        train.TrainConfig("x", "cifar10", "airbench", **kw).check()


@pytest.mark.needs_data
def test_a_tiny_airbench_run_trains_with_sgd_and_label_smoothing(private_dirs, tmp_path):
    cfg = train.TrainConfig("air-tiny", "cifar10", "airbench", optimizer="sgd", lr=0.1, weight_decay=5e-3,
                            label_smoothing=0.2, batch_size=256, n_train=512, epochs=1, lr_schedule="cyclic")
    model, state = train.train(cfg, tmp_path, show_progress=False)
    assert (tmp_path / "air-tiny.keras").is_file() and np.isfinite(state.history[0]["loss"])
    kernel = model.get_layer("whiten").get_weights()[0]
    assert np.abs(kernel).max() > 1  # set from the data, not the random initialiser


def test_airbench_plain_has_a_trainable_first_layer_and_no_whitening():
    """For adversarial training: whitening would amplify an 8/255 sign perturbation in the data's weakest
    patch directions, so the first layer is an ordinary trainable convolution."""
    model = zoo.build("airbench-plain", "cifar10")
    assert not zoo.init_whitening(model, np.zeros((4, 32, 32, 3), np.float32))
    assert model.get_layer("stem").trainable
    assert model.count_params() == zoo.build("airbench", "cifar10").count_params()


def test_the_wide_plain_airbench_has_wider_groups():
    import keras
    model = zoo.build("airbench-plain-wide", "cifar10")
    widths = [layer.filters for layer in model.layers if isinstance(layer, keras.layers.Conv2D)][1:]
    assert widths == [96, 96, 384, 384, 384, 384]
    assert model.get_layer("stem").trainable and model.count_params() == 4_427_832


@pytest.mark.parametrize("pad", [2, 4])
def test_crops_move_each_image_on_its_own(pad):
    import tensorflow as tf
    x = np.zeros((64, 16, 16, 1), np.float32)
    x[:, 8, 8] = 1.0  # one bright pixel, away from the edges (a flip moves it to column 7)
    out = np.asarray(train._augment(tf.constant(x), tf.zeros(64, tf.int32), pad)[0])
    assert out.shape == x.shape
    positions = {tuple(np.argwhere(image[..., 0] == 1.0)[0]) for image in out}
    assert len(positions) > 4  # not one offset for the whole batch
    assert all(abs(r - 8) <= pad and (abs(c - 8) <= pad or abs(c - 7) <= pad) for r, c in positions)


def test_flip_averaging_averages_the_mirror_images_logits_and_loads_in_safe_mode(tmp_path):
    import keras
    model = zoo.build("cnn-tiny", "cifar10")
    wrapped = zoo.with_flip_averaging(model)
    x = np.random.default_rng(1).random((3, 32, 32, 3), dtype=np.float32)
    expected = (np.asarray(model(x)) + np.asarray(model(x[:, :, ::-1]))) / 2
    assert np.allclose(np.asarray(wrapped(x)), expected, atol=1e-5)
    assert wrapped.count_params() == model.count_params()
    path = train.save_model(wrapped, tmp_path, "flipped")
    again = zoo._deserialise(path)
    assert np.allclose(np.asarray(again(x)), expected, atol=1e-5)
    assert isinstance(again, keras.Model)
    from advcore import landscape
    assert np.allclose(landscape.features(wrapped, x), landscape.features(model, x), atol=1e-5)  # lesson 4
