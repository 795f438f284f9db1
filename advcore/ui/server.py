"""Process-wide settings of the dashboard server, applied when this module is first imported.

TensorFlow: one thread per op, and GPU memory allocated as needed. Streamlit: its per-run Keras
clean-up, which does not fit an app with shared, long-lived models, is switched off
(``keep_tensorflow_caches``).

Imported by the first page run (it imports TensorFlow). The one Streamlit setting that must
precede the first session, that pages come from ``st.navigation`` and not a v1 ``pages/``
folder, is made at server start by ``advcore.ui.startup``, which imports nothing heavy.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def configure_threads() -> None:
    """One thread per TensorFlow op in the server (``ADVLAB_INTRA_OP_THREADS``, default 1).

    The dashboard runs many small requests (one image, a few dozen steps) from many
    sessions at once: splitting each tiny op over cores costs more than it gains
    (measured: single-image PGD-20 on MNIST about 10 ms with one thread, about 30 ms with
    two on this 2-core machine), and concurrent sessions keep the cores busy anyway.
    Must run before TensorFlow's first op; later calls are ignored.
    """
    import tensorflow as tf  # lazy: start-up time

    from advcore.settings import settings
    try:
        tf.config.threading.set_intra_op_parallelism_threads(settings().intra_op_threads)
    except RuntimeError:
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


def _keep_state() -> None:
    """Replaces Streamlit's per-run Keras clean-up: models here live for the whole process."""


def enable_gpu_memory_growth() -> None:
    """Let several processes share a GPU: allocate memory as needed, not all at start."""
    import tensorflow as tf  # lazy: start-up time
    for gpu in tf.config.list_physical_devices("GPU"):
        try:
            tf.config.experimental.set_memory_growth(gpu, True)
        except RuntimeError:
            pass  # already initialised


def start_tensorflow() -> None:
    """Run TensorFlow's first op in the importing thread, so that its runtime threads are created here.

    Linux threads inherit their creator's nice value, and TensorFlow starts the threads that run
    every later op (its inter-op pool) on its first op. The start-up warm-up thread lowers its own
    priority (``advcore.ui.startup``); had it made the first op, every visitor's attack would run on
    threads at that priority, starved by the browser and the server's other work on a busy machine
    (measured: Explore's single-image PGD-20 took 60-86 ms in the server instead of 17 ms).
    """
    import tensorflow as tf  # lazy: start-up time
    tf.constant(0.0) + 1.0


def apply() -> None:
    configure_threads()
    enable_gpu_memory_growth()
    start_tensorflow()
    keep_tensorflow_caches()


apply()
