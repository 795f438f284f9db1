"""Faults and sharing: concurrent attacks on one model, no data reachable, a corrupt model file."""

import shutil
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import streamlit as st

from advcore import attacks, data, zoo

from .conftest import metric, start


def test_concurrent_attacks_on_one_model_equal_serial_ones(tiny_model, batch):
    x, y = batch
    jobs = [(name, slice(i * 50, i * 50 + 50), eps) for i in range(8)
            for name, eps in (("pgd", 0.1), ("fgsm", 0.2), ("apgd-ce", 0.1))]

    def run(job):
        name, part, eps = job
        return attacks.run(name, tiny_model, x[part], y[part], eps=eps, seed=3).x_adv if name != "fgsm" else \
            attacks.run(name, tiny_model, x[part], y[part], eps=eps).x_adv

    serial = [run(job) for job in jobs]
    with ThreadPoolExecutor(max_workers=8) as pool:
        parallel = list(pool.map(run, jobs))
    for a, b in zip(serial, parallel):
        np.testing.assert_allclose(a, b, atol=1e-6)


@pytest.fixture
def fresh_caches():
    st.cache_resource.clear()
    st.cache_data.clear()
    data._cache.clear()
    zoo.forget()
    yield
    st.cache_resource.clear()
    st.cache_data.clear()
    data._cache.clear()
    zoo.forget()


@pytest.mark.needs_data
def test_app_without_data_uses_the_shipped_sample_and_says_so(fresh_caches, monkeypatch, tmp_path):
    monkeypatch.setenv(data.DATA_DIR_ENV, str(tmp_path))  # empty folder, and no downloads
    monkeypatch.setenv(data.OFFLINE_ENV, "1")
    at = start()
    notes = " ".join(c.value for c in at.sidebar.caption)
    assert "only the shipped sample" in notes
    assert metric(at, "adversarial prediction")


@pytest.mark.needs_data
def test_app_with_a_corrupt_model_serves_the_others(fresh_caches, monkeypatch, tmp_path):
    for f in zoo.models_dir().glob("mnist-*"):
        shutil.copy(f, tmp_path / f.name)
    blob = (tmp_path / "mnist-fast.keras").read_bytes()
    (tmp_path / "mnist-fast.keras").write_bytes(blob[: len(blob) // 3])  # truncated: sha256 no longer matches
    monkeypatch.setenv(zoo.MODELS_DIR_ENV, str(tmp_path))
    at = start()
    at.selectbox(key="model_mnist").set_value("mnist-fast").run()
    assert not at.exception
    assert any("unavailable" in e.value for e in at.error)
    at.selectbox(key="model_mnist").set_value("mnist-standard").run()
    assert not at.exception and not at.error and metric(at, "adversarial prediction")
    at.switch_page("pages/models/models.py").run()
    assert not at.exception
