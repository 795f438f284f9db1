"""Explore on a user image set (issue 18): the eps slider read from the set's description, and probability
bars that show the top classes of a 1,000-class model (data-free)."""

import dataclasses

import numpy as np
import pytest

from advcore import data, live
from advcore.ui import results


@pytest.fixture
def photos(monkeypatch):
    """A 224x224x3 user set with 1,000 classes and the natural-image budgets of advcore.imagesets."""
    info = dataclasses.replace(data.DATASETS["cifar10"], name="photos", title="photos", shape=(224, 224, 3),
                               class_names=tuple(f"class_{i}" for i in range(1000)),
                               reference_eps=(1 / 255, 4 / 255), large_eps=16 / 255, user=True)
    monkeypatch.setitem(data.DATASETS, "photos", info)
    return info


def test_a_user_set_eps_slider_follows_its_budgets(photos):
    linf = live.eps_range("photos", "linf")
    grid = linf.grid()
    assert round(1 / 255, 6) in grid and round(4 / 255, 6) in grid and linf.default == pytest.approx(4 / 255)
    assert grid[0] == 0 and grid[-1] == pytest.approx(16 / 255, abs=1e-6)  # up to its large eps, not MNIST's 0.5
    l2 = live.eps_range("photos", "l2")
    assert 4 < l2.high < 8 and 0 < l2.default < l2.high and len(l2.grid()) == 41
    assert live.eps_range("mnist", "linf").high == 0.5  # the built-in sets keep theirs


def test_many_classes_show_only_the_top_ten_with_true_and_target(photos):
    rng = np.random.default_rng(0)
    clean, adv = rng.dirichlet(np.ones(1000)), rng.dirichlet(np.ones(1000))
    shown = results.shown_classes(1000, 7, 999, clean, adv)
    assert len(shown) == results.TOP_K and 7 in shown and 999 in shown and shown == sorted(shown)
    top_adv = int(np.argmax(adv))
    assert top_adv in shown
    figure, note = results.probability_chart(photos.class_names, clean, adv, 7, target=999)
    assert all(len(bar["x"]) == results.TOP_K for bar in figure["data"])
    assert "10 of 1,000 classes" in note


def test_ten_classes_are_all_shown():
    p = np.full(10, 0.1)
    assert results.shown_classes(10, 3, None, p, p) == list(range(10))
    assert results.probability_chart([str(i) for i in range(10)], p, p, 3)[1] == ""
