"""Process-wide resources for the dashboard: models, test sets, compiled attacks.

Models and data live once per server process (``st.cache_resource``); each model is
warmed up at load, including a first compiled attack so the first slider move is
fast. After loading, the garbage collector's view of TensorFlow's object graph is
frozen (``gc.freeze``): Streamlit's post-run collection over it otherwise costs
hundreds of milliseconds a rerun. Streamlit's call to ``keras.backend.clear_session()``
after every run is switched off (``keep_tensorflow_caches``).
"""

from __future__ import annotations

import gc
import os

import numpy as np
import streamlit as st

from advcore import attacks, data, zoo
from advcore.attacks.base import logits_of
from advcore.errors import AdvcoreError

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def configure_threads() -> None:
    """One thread per TensorFlow op in the server (``ADVLAB_INTRA_OP_THREADS``, default 1).

    The dashboard runs many small requests (one image, a few dozen steps) from many
    sessions at once: splitting each tiny op over cores costs more than it gains
    (measured: single-image PGD-20 on MNIST about 10 ms with one thread, about 30 ms with
    two on this 2-core machine), and concurrent sessions keep the cores busy anyway.
    Must run before TensorFlow's first op; later calls are ignored.
    """
    import tensorflow as tf
    try:
        threads = int(os.environ.get("ADVLAB_INTRA_OP_THREADS", "1"))
        tf.config.threading.set_intra_op_parallelism_threads(max(threads, 0))
    except (RuntimeError, ValueError):
        pass  # TensorFlow already initialised (e.g. inside a test process)


def keep_tensorflow_caches() -> None:
    """Stop Streamlit calling ``keras.backend.clear_session()`` after every script run.

    Streamlit does it (``script_runner._clean_problem_modules``) for scripts that build a
    new Keras model on each run. AdvLab builds its models once per process and shares
    them, and the call empties TensorFlow's kernel cache: the next compiled attack is
    instantiated again (graph optimisation included), measured at 100-120 ms on every
    slider move instead of 10 ms. It also resets Keras' global state under training jobs
    running in other threads. ``tests/test_app.py`` checks that a rerun keeps the cache.
    """
    try:
        from streamlit.runtime.scriptrunner import script_runner
    except ImportError:  # another Streamlit layout: nothing to switch off (the test would notice)
        return
    if hasattr(script_runner, "_clean_problem_modules"):
        script_runner._clean_problem_modules = _keep_state


def use_app_navigation() -> None:
    """Tell Streamlit that ``pages/`` holds app.py's ``st.navigation`` pages, not a v1 multipage folder.

    Streamlit treats a folder named ``pages`` as v1 until ``st.navigation`` first runs in the
    process, so a deep link (``/sweep``) opened first after the server starts runs that page on
    its own: no navigation, layout or sidebar from app.py, for every visitor until someone opens
    the root page. Switching v1 off when advcore.ui loads limits that to the first run of the
    first visitor, which ``run_through_app`` then reruns through app.py.
    """
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:
        return
    PagesManager.uses_pages_directory = False


def run_through_app() -> None:
    """Called first by every page: a page started on its own (the first deep link after the server
    starts, see ``use_app_navigation``) reruns once, now through app.py and its navigation."""
    if not st.session_state.get("app_ran") and not st.session_state.get("app_rerun_tried"):
        st.session_state.app_rerun_tried = True
        st.rerun()


def _keep_state() -> None:
    """Replaces Streamlit's per-run Keras clean-up: models here live for the whole process."""


configure_threads()
keep_tensorflow_caches()
use_app_navigation()


@st.cache_resource(show_spinner="Loading the test set...")
def test_split(name: str) -> data.Split:
    return data.load(name, "test")


def model_key(model_id: str) -> str:
    """'<id>@<weights sha256 prefix>': the cache key of a model, so a retrained user model with the
    same name never serves the old weights or their cached results."""
    return f"{model_id}@{str(zoo.card(model_id).get('weights_sha256'))[:16]}"


@st.cache_resource(show_spinner="Loading the model and compiling its attacks...", max_entries=32)
def model(key: str):
    """The warmed-up model of a ``model_key`` (raises AdvcoreError if it cannot be loaded safely)."""
    model_id = key.split("@")[0]
    net = zoo.load(model_id)
    shape = data.info(zoo.card(model_id)["dataset"]).shape
    x = np.zeros((1, *shape), np.float32)
    for norm in ("linf", "l2"):
        attacks.run("pgd", net, x, [0], eps=0.01, steps=1, norm=norm, trace=True)
        attacks.run("pgd", net, x, [0], eps=0.01, steps=1, norm=norm)
    gc.freeze()
    return net


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
def cards(dataset: str | None = None) -> list[dict]:
    """Zoo cards (refreshed every few seconds so user-trained models appear)."""
    return zoo.list_cards(dataset)


def device_summary() -> str:
    import tensorflow as tf
    gpus = tf.config.list_physical_devices("GPU")
    where = f"GPU ({len(gpus)})" if gpus else "CPU"
    return f"{where} · TensorFlow {tf.__version__}"


def enable_gpu_memory_growth() -> None:
    """Let several processes share a GPU: allocate memory as needed, not all at start."""
    import tensorflow as tf
    for gpu in tf.config.list_physical_devices("GPU"):
        try:
            tf.config.experimental.set_memory_growth(gpu, True)
        except RuntimeError:
            pass  # already initialised
