"""Process-wide resources for the dashboard: models, test sets, compiled attacks.

Models and data live once per server process (``st.cache_resource``); each model is
warmed up at load, including a first compiled attack so the first slider move is
fast. After loading, the garbage collector's view of TensorFlow's object graph is
frozen (``gc.freeze``): Streamlit's post-run collection over it otherwise costs
hundreds of milliseconds a rerun.
"""

from __future__ import annotations

import gc
import threading
import weakref

import numpy as np
import streamlit as st

from advcore import attacks, data, zoo
from advcore.attacks.base import logits_of
from advcore.errors import AdvcoreError

from . import server  # noqa: F401  (its TensorFlow and Streamlit settings precede any model load)


@st.cache_resource(show_spinner="Loading the test set...")
def test_split(name: str) -> data.Split:
    return data.load(name, "test")


def model_key(model_id: str) -> str:
    """'<id>@<weights sha256 prefix>': the cache key of a model, so a retrained user model with the
    same name never serves the old weights or their cached results."""
    return f"{model_id}@{str(zoo.card(model_id).get('weights_sha256'))[:16]}"


_warmed: weakref.WeakSet = weakref.WeakSet()
_warm_lock = threading.Lock()


def model(key: str):
    """The warmed-up model of a ``model_key`` (raises AdvcoreError if it cannot be loaded safely).

    Models are cached by ``zoo.load`` alone (one bounded cache per process); this adds the warm-up:
    a first compiled attack of each kind, so the first slider move is fast."""
    model_id = key.split("@")[0]
    if zoo.is_loaded(model_id):
        net = zoo.load(model_id)
    else:
        with st.spinner("Loading the model and compiling its attacks..."):
            net = zoo.load(model_id)
    with _warm_lock:
        if net in _warmed:
            return net
        shape = data.info(zoo.card(model_id)["dataset"]).shape
        x = np.zeros((1, *shape), np.float32)
        for norm in ("linf", "l2"):
            attacks.run("pgd", net, x, [0], eps=0.01, steps=1, norm=norm, trace=True)
            attacks.run("pgd", net, x, [0], eps=0.01, steps=1, norm=norm)
        gc.freeze()
        _warmed.add(net)
    return net


def checked_model(model_id: str):
    """The warmed-up model of ``model_id`` (AdvcoreError if it cannot be used)."""
    return model(model_key(model_id))


def usable_models(ids) -> tuple[dict, list[str]]:
    """The models of ``ids`` that load, in order, and one message per model that does not."""
    models, errors = {}, []
    for model_id in ids:
        net, error = try_model(model_id)
        if error:
            errors.append(f"Skipping {model_id}: {error}")
        else:
            models[model_id] = net
    return models, errors


def try_model(model_id: str):
    """(model, None) or (None, message) when the model cannot be used."""
    try:
        return model(model_key(model_id)), None
    except AdvcoreError as exc:
        return None, str(exc)


@st.cache_resource(show_spinner="Checking which test images the model gets right...", max_entries=32)
def correct_mask(key: str, dataset: str) -> np.ndarray:
    split = test_split(dataset)
    return logits_of(model(key), split.x).argmax(axis=1) == split.y


@st.cache_data(ttl=10, show_spinner=False)
def _cards(dataset: str | None, folders: tuple[str, str]) -> list[dict]:
    """``folders`` (shipped, user) is part of the cache key only: cards listed for one user-models folder are
    never served for another (tests and servers that point ADVCORE_USER_MODELS elsewhere)."""
    return zoo.list_cards(dataset)


def model_cards(dataset: str | None = None) -> list[dict]:
    """Zoo cards (refreshed every few seconds so user-trained models appear); ``model_cards.clear()`` empties
    the cache at once (after adding or deleting a model)."""
    return _cards(dataset, (str(zoo.models_dir()), str(zoo.user_models_dir())))


model_cards.clear = _cards.clear


def model_ids(dataset: str) -> list[str]:
    """The ids of ``dataset``'s models, in the zoo's order (the first is where pickers open)."""
    return [c["id"] for c in model_cards(dataset)]


def device_summary() -> str:
    import tensorflow as tf  # lazy: start-up time
    gpus = tf.config.list_physical_devices("GPU")
    where = f"GPU ({len(gpus)})" if gpus else "CPU"
    return f"{where} · TensorFlow {tf.__version__}"
