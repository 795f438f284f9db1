"""Explore on a user image set (issue 18): the eps slider read from the set's description, and probability
bars that show the top classes of a 1,000-class model (data-free)."""

import dataclasses

import numpy as np
import pytest

from advcore import data
from advcore.ui import results


@pytest.fixture
def photos(monkeypatch):
    """A 224x224x3 user set with 1,000 classes and the natural-image budgets of advcore.imagesets."""
    info = dataclasses.replace(data.DATASETS["cifar10"], name="photos", title="photos", shape=(224, 224, 3),
                               class_names=tuple(f"class_{i}" for i in range(1000)),
                               reference_eps=(1 / 255, 4 / 255), large_eps=16 / 255, user=True,
                               linf=None, l2=None)
    monkeypatch.setitem(data.DATASETS, "photos", info)
    return info


def test_a_user_set_eps_slider_follows_its_budgets(photos):
    linf = data.info("photos").eps_range("linf")
    grid = linf.grid()
    assert round(1 / 255, 6) in grid and round(4 / 255, 6) in grid and linf.default == pytest.approx(4 / 255)
    assert grid[0] == 0 and grid[-1] == pytest.approx(16 / 255, abs=1e-6)  # up to its large eps, not MNIST's 0.5
    l2 = data.info("photos").eps_range("l2")
    assert 4 < l2.high < 8 and 0 < l2.default < l2.high and len(l2.grid()) == 41
    assert data.info("mnist").eps_range("linf").high == 0.5  # the built-in sets keep theirs


def test_many_classes_show_only_the_top_ten_with_true_and_target(photos):
    rng = np.random.default_rng(0)
    clean, adv = rng.dirichlet(np.ones(1000)), rng.dirichlet(np.ones(1000))
    shown = results.shown_classes(1000, 7, 999, clean, adv)
    assert len(shown) == results.TOP_K and 7 in shown and 999 in shown and shown == sorted(shown)
    top_adv = int(np.argmax(adv))
    assert top_adv in shown
    markup, note = results.probability_chart(photos.class_names, clean, adv, 7, target=999)
    assert markup.count('<div title="') == results.TOP_K and markup.count("flex:0 1 12px") == 2 * results.TOP_K
    assert "10 of 1,000 classes" in note


def test_ten_classes_are_all_shown():
    p = np.full(10, 0.1)
    assert results.shown_classes(10, 3, None, p, p) == list(range(10))
    assert results.probability_chart([str(i) for i in range(10)], p, p, 3)[1] == ""


@pytest.fixture
def tiles(tmp_path, monkeypatch):
    """A 32x32x3 user image set with 1,000 classes and an untrained 1,000-class user model on it."""
    import keras

    from advcore import byo, imagesets, zoo
    monkeypatch.setenv(zoo.USER_MODELS_ENV, str(tmp_path / "user-models"))
    monkeypatch.setenv(imagesets.USER_DATA_ENV, str(tmp_path / "user-data"))
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "tiles.npz", x_test=rng.integers(0, 256, (6, 32, 32, 3), dtype=np.uint8),
             y_test=np.array([5, 7, 999, 5, 12, 400]))
    (tmp_path / "names.txt").write_text("\n".join(f"class_{i}" for i in range(1000)) + "\n")
    imagesets.add_dataset("tiles", tmp_path / "tiles.npz", classes=tmp_path / "names.txt")
    data.refresh_user_datasets()
    keras.utils.set_random_seed(0)
    net = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Conv2D(4, 3, strides=2, activation="relu"),
                            keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(1000)])
    net.save(tmp_path / "tiny1000.keras")
    byo.add_model(tmp_path / "tiny1000.keras", "tiles", "tiny1000", eval_n=6, log=lambda message: None)
    yield
    monkeypatch.undo()
    data.refresh_user_datasets()
    zoo.forget()


@pytest.mark.needs_data  # AppTest of the whole app
def test_explore_on_a_1000_class_user_set(tiles, monkeypatch):

    from . import conftest
    monkeypatch.setattr(conftest, "TIMEOUT", 600)
    at = conftest.start({"dataset": "tiles", "model": "tiny1000"})
    slider = at.select_slider(key="eps_linf")
    assert slider.value == pytest.approx(8 / 255, abs=1e-6)  # the set's larger budget, not MNIST's 0.1
    assert float(slider.options[-1].split(" ")[0]) == pytest.approx(32 / 255, abs=1e-3)  # its large eps
    bars = [h.value for h in at.html if "advlab-bars" in h.value]
    assert bars and bars[0].count('<div title="') == results.TOP_K
    assert any("10 of 1,000 classes" in c.value for c in at.caption)
