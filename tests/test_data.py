"""Data loading: the data folder, clear errors, and the shipped offline sample."""

import numpy as np
import pytest

from advcore import data
from advcore.errors import DataError


@pytest.fixture
def fresh_cache(monkeypatch):
    monkeypatch.setattr(data, "_cache", {})


@pytest.mark.needs_data
@pytest.mark.parametrize("name,shape", [("mnist", (28, 28, 1)), ("fashion", (28, 28, 1)), ("cifar10", (32, 32, 3))])
def test_full_test_sets_load_as_float_channels_last(name, shape):
    split = data.load(name, "test")
    assert split.full and len(split) == 10_000
    assert split.x.shape == (10_000, *shape) and split.x.dtype == np.float32
    assert 0 <= split.x.min() and split.x.max() <= 1 and split.x.max() > 0.9
    assert split.y.dtype == np.int64 and set(np.unique(split.y)) == set(range(10))
    assert len(split.class_names) == 10


@pytest.mark.needs_data
def test_first_mnist_test_labels_are_the_usual_ones():
    assert list(data.load("mnist", "test").y[:5]) == [7, 2, 1, 0, 4]


@pytest.mark.parametrize("name", list(data.DATASETS))
def test_sample_fallback_when_nothing_else(monkeypatch, fresh_cache, tmp_path, name):
    monkeypatch.setenv(data.DATA_DIR_ENV, str(tmp_path))
    monkeypatch.setenv(data.OFFLINE_ENV, "1")
    split = data.load(name, "test")
    assert not split.full and "sample" in split.source
    counts = np.bincount(split.y, minlength=10)
    assert counts.min() == counts.max() == data.SAMPLE_PER_CLASS
    with pytest.raises(DataError, match="no training data"):
        data.load(name, "train")


def test_corrupt_file_names_the_file(monkeypatch, fresh_cache, tmp_path):
    (tmp_path / "mnist.npz").write_bytes(b"not a zip archive")
    monkeypatch.setenv(data.DATA_DIR_ENV, str(tmp_path))
    with pytest.raises(DataError, match="mnist.npz.*not a readable"):
        data.load("mnist", "test")


def test_wrong_layout_says_what_was_expected(monkeypatch, fresh_cache, tmp_path):
    np.savez(tmp_path / "mnist.npz", images=np.zeros((2, 28, 28), np.uint8))
    monkeypatch.setenv(data.DATA_DIR_ENV, str(tmp_path))
    with pytest.raises(DataError, match="x_test.*keras.datasets layout"):
        data.load("mnist", "test")


def test_wrong_shape_is_refused(monkeypatch, fresh_cache, tmp_path):
    np.savez(tmp_path / "mnist.npz", x_test=np.zeros((2, 32, 32), np.uint8), y_test=np.zeros(2, np.uint8))
    monkeypatch.setenv(data.DATA_DIR_ENV, str(tmp_path))
    with pytest.raises(DataError, match="shape"):
        data.load("mnist", "test")


def test_unknown_data_set():
    with pytest.raises(DataError, match="unknown data set"):
        data.load("imagenet")
